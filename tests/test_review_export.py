"""Queue, verdicts and exports: the minimal review loop and the provenance each record carries."""

from __future__ import annotations

import csv
import io
import json

import pytest
import sqlalchemy as sa

from tests.factories import annotation_payload, link_claim, make_article
from tests.test_webhook import post
from workbench.db import db
from workbench.models import AuditEvent, Verdict


@pytest.fixture
def annotated(app, client):
    article = make_article(url="https://news.example.org/port-ellis", title="Port Ellis budget")
    claim = next(c for c in article.claims if c.checkworthy)
    link_claim(claim, task_id=777, project_id=3)
    post(client, annotation_payload(31, 777, user_id=9, verdict="Mostly false"))
    return claim


def test_queue_lists_annotated_claims_without_verdict(client, reviewer, annotated):
    body = client.get("/api/v1/review/queue", headers=reviewer.headers).json
    assert [i["id"] for i in body["items"]] == [annotated.id]
    assert body["items"][0]["annotations"][0]["verdict"] == "Mostly false"
    assert body["items"][0]["agreement"]["kind"] == "unanimous"


def test_annotators_cannot_see_the_queue(client, annotator, annotated):
    assert client.get("/api/v1/review/queue", headers=annotator.headers).status_code == 403


def test_verdict_records_reviewer_rating_and_annotations(client, reviewer, annotated):
    response = client.post(
        f"/api/v1/claims/{annotated.id}/verdict",
        headers=reviewer.headers,
        json={"rating": "Mostly false", "rationale": "Ministry data show 3.9%."},
    )
    assert response.status_code == 201, response.json
    verdict = db.session.scalar(sa.select(Verdict))
    assert verdict.reviewer_id == reviewer.user.id and verdict.decision == "accept"
    assert len(verdict.annotation_ids) == 1
    assert client.get("/api/v1/review/queue", headers=reviewer.headers).json["items"] == []
    assert "verdict.recorded" in db.session.scalars(sa.select(AuditEvent.action)).all()


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({}, 422),
        ({"rating": "Pants on fire"}, 422),
        ({"rating": "False", "annotation_ids": [123456]}, 422),
        ({"rating": "False", "evidence": ["not a url"]}, 422),
        ({"rating": "False", "claim_version": 999}, 409),
    ],
)
def test_bad_verdicts_are_refused(client, reviewer, annotated, body, status):
    response = client.post(f"/api/v1/claims/{annotated.id}/verdict", headers=reviewer.headers, json=body)
    assert response.status_code == status, response.json
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Verdict)) == 0


def test_a_second_verdict_needs_the_current_version_and_keeps_the_first(client, reviewer, annotated):
    url = f"/api/v1/claims/{annotated.id}/verdict"
    first = client.post(url, headers=reviewer.headers, json={"rating": "False"})
    assert first.status_code == 201
    assert client.post(url, headers=reviewer.headers, json={"rating": "True"}).status_code == 409
    version = client.get(f"/api/v1/claims/{annotated.id}", headers=reviewer.headers).json["version"]
    again = client.post(url, headers=reviewer.headers, json={"rating": "Half true", "claim_version": version})
    assert again.status_code == 201 and again.json["version"] == 2
    assert [v.rating for v in db.session.scalars(sa.select(Verdict).order_by(Verdict.version))] == [
        "False",
        "Half true",
    ]


def test_verdict_on_unannotated_claim_is_refused(client, reviewer):
    article = make_article()
    response = client.post(
        f"/api/v1/claims/{article.claims[0].id}/verdict", headers=reviewer.headers, json={"rating": "False"}
    )
    assert response.status_code == 422


def _verify(client, reviewer, claim):
    client.post(
        f"/api/v1/claims/{claim.id}/verdict",
        headers=reviewer.headers,
        json={"rating": "Mostly false", "rationale": "Ministry data show 3.9%."},
    )


def test_jsonl_export_carries_provenance(client, reviewer, annotated):
    _verify(client, reviewer, annotated)
    response = client.get("/api/v1/exports/verified-claims?format=jsonl", headers=reviewer.headers)
    assert response.status_code == 200 and response.mimetype == "application/x-ndjson"
    records = [json.loads(line) for line in response.get_data(as_text=True).splitlines()]
    assert len(records) == 1
    r = records[0]
    assert r["claim"]["uuid"] == annotated.uuid
    assert r["article"]["url"] == "https://news.example.org/port-ellis"
    assert len(r["article"]["text_sha256"]) == 64
    assert (r["claim"]["start"], r["claim"]["end"]) == (annotated.start, annotated.end)
    assert r["annotations"][0]["annotator_ls_id"] == 9 and r["annotations"][0]["ls_updated_at"]
    assert r["verdict"]["reviewer"]["email"] == reviewer.user.email
    assert r["verdict"]["rating"] == "Mostly false"
    assert r["label_studio"] == {"project_id": 3, "task_id": 777, "label_config_sha256": "0" * 64}
    export_event = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "export.created"))
    assert r["audit_hash"] == export_event.hash == response.headers["X-Audit-Hash"]


def test_csv_json_and_claimreview_exports(client, reviewer, annotated):
    _verify(client, reviewer, annotated)
    url = "/api/v1/exports/verified-claims?format="
    rows = list(
        csv.DictReader(io.StringIO(client.get(url + "csv", headers=reviewer.headers).get_data(as_text=True)))
    )
    assert rows[0]["claim_uuid"] == annotated.uuid and "label-studio id 9" in rows[0]["annotators"]
    as_json = client.get(url + "json", headers=reviewer.headers).json
    assert as_json[0]["claim"]["uuid"] == annotated.uuid
    review = client.get(url + "claimreview", headers=reviewer.headers).json[0]
    assert review["@type"] == "ClaimReview" and review["reviewRating"]["alternateName"] == "Mostly false"
    assert review["reviewRating"]["ratingValue"] == 2
    assert review["itemReviewed"]["appearance"]["url"] == "https://news.example.org/port-ellis"


def test_export_filters_and_bad_parameters(client, reviewer, annotated):
    _verify(client, reviewer, annotated)
    url = "/api/v1/exports/verified-claims"
    assert client.get(url + "?format=jsonl&rating=True", headers=reviewer.headers).get_data() == b""
    assert client.get(url + "?format=xml", headers=reviewer.headers).status_code == 422
    assert client.get(url + "?rating=Maybe", headers=reviewer.headers).status_code == 422
    assert client.get(url + "?since=last-week", headers=reviewer.headers).status_code == 422


def test_cli_export_writes_a_file(runner, client, reviewer, annotated, tmp_path):
    _verify(client, reviewer, annotated)
    out = tmp_path / "out.jsonl"
    result = runner.invoke(args=["export", "--format", "jsonl", "--output", str(out)])
    assert result.exit_code == 0, result.output
    assert json.loads(out.read_text().splitlines()[0])["claim"]["uuid"] == annotated.uuid
