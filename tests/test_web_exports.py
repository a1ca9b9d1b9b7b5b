"""The exports page: format and filters, a download, and the earlier exports with their content hash."""

from __future__ import annotations

import hashlib

from tests.test_review_export import annotated, verify  # noqa: F401 - fixture
from tests.test_web import sign_in
from workbench import audit


def test_a_download_is_listed_with_who_when_count_and_its_content_hash(client, reviewer, annotated):  # noqa: F811
    verify(client, reviewer, annotated)
    sign_in(client, reviewer)
    response = client.get("/exports/download?format=csv&rating=Mostly+false")
    assert response.status_code == 200
    body = response.get_data()
    count = int(response.headers["X-Record-Count"])
    page = client.get("/exports").get_data(as_text=True)
    assert reviewer.user.email in page and hashlib.sha256(body).hexdigest()[:16] in page
    assert count == 1 and "<td>csv</td><td>1</td>" in page and "rating=Mostly false" in page
    assert audit.verify().ok


def test_a_bad_filter_is_refused_with_its_reason(client, reviewer):
    sign_in(client, reviewer)
    response = client.get("/exports/download?format=csv&since=yesterday")
    assert response.status_code == 422 and "since" in response.get_data(as_text=True)
