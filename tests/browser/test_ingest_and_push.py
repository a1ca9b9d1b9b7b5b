"""An editor's morning in the browser: sign in, ingest an article through the form, see its claims
highlighted, push them to the real Label Studio from the operations desk."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from tests.browser.conftest import sign_in
from tests.factories import make_user
from workbench.db import db
from workbench.models import Article, Claim, LabelStudioLink

pytestmark = [pytest.mark.browser, pytest.mark.labelstudio]

TEXT = (
    "HARBOUR TOWN: The port authority said on Monday that cargo volumes rose 18 percent in 2030, "
    "the fastest growth since 2012.\n\n"
    "“We handled 2.4 million containers last year,” director Amal Reyes said.\n\n"
    "Critics say the new terminal will cost taxpayers 300 million dollars more than planned.\n"
)


def test_ingest_in_the_form_see_the_claims_and_push_them(ls_project, ls_client, new_tab):
    _, project_id = ls_project
    admin = make_user("admin")
    tab = new_tab(1280)
    sign_in(tab, admin.token)
    page = tab.page
    page.goto("/articles/new")
    page.get_by_label("Article text").fill(TEXT)
    page.get_by_label("Title").fill("Cargo volumes at Harbour Town")
    page.get_by_label("URL", exact=True).fill("https://news.example/harbour-cargo")
    page.get_by_label("Publisher").fill("Harbour Herald")
    with page.expect_navigation():
        page.get_by_role("button", name="Ingest").click()
    landed = re.search(r"/articles/(\d+)(\?|$)", page.url)
    assert landed, page.url

    # The claims are highlighted in the text, with a legend; speaker and score in the list.
    highlighted = page.locator("a.claim")
    assert highlighted.count() >= 2
    assert page.locator(".legend").count() == 1
    assert "Amal Reyes" in page.content()
    article_id = int(landed.group(1))
    db.session.rollback()
    queued = db.session.scalars(
        sa.select(Claim.id).where(Claim.article_id == article_id, Claim.status == "queued")
    ).all()
    assert queued, "the article queued no claim for Label Studio"
    assert db.session.get(Article, article_id).title == "Cargo volumes at Harbour Town"

    # Push from the operations desk (a job: inline here, without Redis).
    page.goto("/operations")
    assert f"{len(queued)} claims" in page.locator("section", has_text="Waiting to be pushed").inner_text()
    with page.expect_navigation():
        page.get_by_role("button", name="Push now").click()
    assert "push finished" in page.content()
    assert "0 claims" in page.locator("section", has_text="Waiting to be pushed").inner_text()
    db.session.rollback()
    links = db.session.scalars(sa.select(LabelStudioLink).where(LabelStudioLink.claim_id.in_(queued))).all()
    assert sorted(link.claim_id for link in links) == sorted(queued)
    # Every queued claim is in Label Studio exactly once.
    tasks = list(ls_client.iter_tasks(project_id))
    assert sorted(t["data"]["claim_id"] for t in tasks) == sorted(queued)
    assert tab.page_errors == [] and tab.dialogs == []
