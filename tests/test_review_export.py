"""Exports: each record carries its provenance, in every format."""

from __future__ import annotations

import csv
import io
import json

import pytest
import sqlalchemy as sa

from tests.factories import annotation_payload, link_claim, make_article
from tests.test_webhook import post
from workbench.db import db
from workbench.models import AuditEvent, Claim


@pytest.fixture
def annotated(app, client):
    """A claim pushed to task 777 and labelled by two annotators (Label Studio ids 9 and 10)."""
    article = make_article(url="https://news.example.org/port-ellis", title="Port Ellis budget")
    claim = next(c for c in article.claims if c.checkworthy)
    link_claim(claim, task_id=777, project_id=3)
    post(client, annotation_payload(31, 777, user_id=9, verdict="Mostly false", project_id=3))
    post(client, annotation_payload(32, 777, user_id=10, verdict="Mostly false", project_id=3))
    return db.session.get(Claim, claim.id)


def version_of(claim_id: int) -> int:
    db.session.expire_all()
    return db.session.get(Claim, claim_id).version


def verify(client, reviewer, claim, rating="Mostly false"):
    response = client.post(
        f"/api/v1/claims/{claim.id}/verdict",
        headers=reviewer.headers,
        json={
            "rating": rating,
            "rationale": "Ministry data show 3.9%.",
            "claim_version": version_of(claim.id),
        },
    )
    assert response.status_code == 201, response.json
    return response.json


def test_jsonl_export_carries_provenance(client, reviewer, annotated):
    verify(client, reviewer, annotated)
    response = client.get("/api/v1/exports/verified-claims?format=jsonl", headers=reviewer.headers)
    assert response.status_code == 200 and response.mimetype == "application/x-ndjson"
    records = [json.loads(line) for line in response.get_data(as_text=True).splitlines()]
    assert len(records) == 1
    r = records[0]
    assert r["claim"]["uuid"] == annotated.uuid
    assert r["article"]["url"] == "https://news.example.org/port-ellis"
    assert len(r["article"]["text_sha256"]) == 64
    assert (r["claim"]["start"], r["claim"]["end"]) == (annotated.start, annotated.end)
    assert sorted(a["annotator_ls_id"] for a in r["annotations"]) == [9, 10]
    assert all(a["ls_updated_at"] for a in r["annotations"])
    assert r["verdict"]["reviewer"]["email"] == reviewer.user.email
    assert r["verdict"]["rating"] == "Mostly false"
    assert r["label_studio"] == {"project_id": 3, "task_id": 777, "label_config_sha256": "0" * 64}
    export_event = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "export.created"))
    assert r["audit_hash"] == export_event.hash == response.headers["X-Audit-Hash"]


def test_csv_json_and_claimreview_exports(client, reviewer, annotated):
    verify(client, reviewer, annotated)
    url = "/api/v1/exports/verified-claims?format="
    text = client.get(url + "csv", headers=reviewer.headers).get_data(as_text=True)
    rows = list(csv.DictReader(io.StringIO(text)))
    assert rows[0]["claim_uuid"] == annotated.uuid and "label-studio id 9" in rows[0]["annotators"]
    as_json = client.get(url + "json", headers=reviewer.headers).json
    assert as_json[0]["claim"]["uuid"] == annotated.uuid
    review = client.get(url + "claimreview", headers=reviewer.headers).json[0]
    assert review["@type"] == "ClaimReview" and review["reviewRating"]["alternateName"] == "Mostly false"
    assert review["reviewRating"]["ratingValue"] == 2
    assert review["itemReviewed"]["appearance"]["url"] == "https://news.example.org/port-ellis"


def test_export_filters_and_bad_parameters(client, reviewer, annotated):
    verify(client, reviewer, annotated)
    url = "/api/v1/exports/verified-claims"
    assert client.get(url + "?format=jsonl&rating=True", headers=reviewer.headers).get_data() == b""
    assert client.get(url + "?format=jsonl&published=true", headers=reviewer.headers).get_data() == b""
    assert client.get(url + "?format=xml", headers=reviewer.headers).status_code == 422
    assert client.get(url + "?rating=Maybe", headers=reviewer.headers).status_code == 422
    assert client.get(url + "?since=last-week", headers=reviewer.headers).status_code == 422


def test_each_finished_export_is_listed_for_the_claims_it_carried(client, reviewer, annotated):
    from workbench.export.manifest import exports_of_claim

    verify(client, reviewer, annotated)
    other = next(c for c in make_article().claims if c.checkworthy)
    response = client.get("/api/v1/exports/verified-claims?format=csv", headers=reviewer.headers)
    response.get_data()
    unread = client.get("/api/v1/exports/verified-claims?format=json", headers=reviewer.headers)
    unread.close()  # a reader that stopped: never sealed, carries nothing
    exports = exports_of_claim(annotated.id)
    assert [e["id"] for e in exports] == [response.headers["X-Export-Id"]]
    assert exports[0]["format"] == "csv" and exports_of_claim(other.id) == []


def test_cli_export_writes_a_file(runner, client, reviewer, annotated, tmp_path):
    verify(client, reviewer, annotated)
    out = tmp_path / "out.jsonl"
    result = runner.invoke(args=["export", "--format", "jsonl", "--output", str(out)])
    assert result.exit_code == 0, result.output
    assert json.loads(out.read_text().splitlines()[0])["claim"]["uuid"] == annotated.uuid


def test_csv_cells_that_a_spreadsheet_would_run_are_neutralised(client, reviewer, annotated):
    from workbench.export.formats import _cell

    assert _cell('=HYPERLINK("http://x")') == '\'=HYPERLINK("http://x")'
    assert _cell("-5 percent") == "'-5 percent" and _cell("Exports rose") == "Exports rose" and _cell(3) == 3
    db.session.execute(sa.update(Claim).where(Claim.id == annotated.id).values(text="=1+1"))
    db.session.commit()
    verify(client, reviewer, annotated)
    text = client.get("/api/v1/exports/verified-claims?format=csv", headers=reviewer.headers).get_data(
        as_text=True
    )
    assert list(csv.DictReader(io.StringIO(text)))[0]["claim_text"] == "'=1+1"


def test_until_includes_its_day(client, reviewer, annotated):
    from datetime import UTC, datetime

    verify(client, reviewer, annotated)
    today = datetime.now(UTC).date().isoformat()
    url = f"/api/v1/exports/verified-claims?format=jsonl&since={today}&until={today}"
    assert len(client.get(url, headers=reviewer.headers).get_data(as_text=True).splitlines()) == 1
