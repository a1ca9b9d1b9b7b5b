"""The exports page: format and filters, a download, and the earlier exports with their content hash."""

from __future__ import annotations

import hashlib

import pytest

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


def test_a_long_export_stream_does_not_keep_writers_waiting(app, client, reviewer, annotated):  # noqa: F811
    """SQLite has one writer at a time: the export takes the write lock for its audit events
    only, so webhooks are not kept waiting while a big file streams."""
    import sqlite3

    import sqlalchemy as sa

    from workbench.db import db

    if db.engine.dialect.name != "sqlite":
        pytest.skip("the single write lock is SQLite's")
    verify(client, reviewer, annotated)
    url = "/api/v1/exports/verified-claims?format=json"
    with app.test_request_context(url, headers=reviewer.headers):
        app.preprocess_request()  # the app's own before-request hooks, as for a real request
        response = app.view_functions["exports.VerifiedClaims"]()
        chunks = iter(response.response)
        next(chunks), next(chunks)  # the stream is open and reading its records
        path = sa.engine.make_url(app.config["SQLALCHEMY_DATABASE_URI"]).database
        other = sqlite3.connect(path, timeout=0.5, isolation_level=None)
        try:
            other.execute("BEGIN IMMEDIATE")  # a webhook's transaction begins like this
            other.execute("ROLLBACK")
        finally:
            other.close()
        assert b"".join(chunks).endswith(b"]\n")
        response.close()


def test_the_page_offers_each_finished_exports_manifest_for_verify(
    client,
    reviewer,
    annotated,  # noqa: F811
    tmp_path,
    runner,
):
    import json

    verify(client, reviewer, annotated)
    sign_in(client, reviewer)
    response = client.get("/exports/download?format=jsonl")
    body = response.get_data()
    export_id = response.headers["X-Export-Id"]
    page = client.get("/exports").get_data(as_text=True)
    link = f"/exports/{export_id}/manifest.json"
    assert link in page
    manifest = client.get(link)
    assert manifest.status_code == 200 and "attachment" in manifest.headers["Content-Disposition"]
    assert json.loads(manifest.get_data())["sha256"] == hashlib.sha256(body).hexdigest()
    (tmp_path / "x.jsonl").write_bytes(body)
    (tmp_path / "m.json").write_bytes(manifest.get_data())
    checked = runner.invoke(
        args=["export", "verify", str(tmp_path / "x.jsonl"), "--manifest", str(tmp_path / "m.json")]
    )
    assert checked.exit_code == 0, checked.output
    assert client.get("/exports/unknown/manifest.json").status_code == 404
