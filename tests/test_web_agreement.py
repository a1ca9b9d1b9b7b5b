"""The agreement page: alpha for the project and per annotator, split claims, the weekly chart."""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa

from tests.factories import annotated_claim
from tests.test_web import sign_in
from workbench.db import db
from workbench.models import Annotation
from workbench.review.agreement_chart import svg, weekly


def test_weeks_count_claims_when_their_second_vote_arrived(app):
    first = annotated_claim(501)
    second = annotated_claim(502)
    db.session.execute(
        sa.update(Annotation)
        .where(Annotation.claim_id == first.id)
        .values(received_at=datetime(2031, 3, 4, 12, tzinfo=UTC))  # a Tuesday
    )
    db.session.execute(
        sa.update(Annotation)
        .where(Annotation.claim_id == second.id)
        .values(received_at=datetime(2031, 3, 12, 9, tzinfo=UTC))
    )
    db.session.commit()
    weeks = weekly()
    assert [(w.start.isoformat(), w.claims, w.unanimous_share) for w in weeks] == [
        ("2031-03-03", 1, 1.0),
        ("2031-03-10", 1, 1.0),
    ]
    chart = str(svg(weeks))
    assert chart.startswith("<svg") and "03 Mar" in chart and "<script" not in chart


def test_the_page_shows_alpha_per_annotator_and_the_chart(client, reviewer):
    annotated_claim(501)
    sign_in(client, reviewer)
    page = client.get("/agreement").get_data(as_text=True)
    assert "Krippendorff" in page and "<svg" in page and "Per annotator" in page
    assert "Label Studio user 1" in page  # no e-mail known for that annotator: said so


def test_annotators_may_not_see_it(client, annotator):
    sign_in(client, annotator)
    assert client.get("/agreement").status_code == 403
