"""The Label Studio webhook receiver: secret, idempotency, versions, and keeping what it cannot place."""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa

from tests.conftest import WEBHOOK_SECRET
from tests.factories import annotation_payload, link_claim, make_article
from workbench.db import db
from workbench.labelstudio.service import WEBHOOK_HEADER
from workbench.models import Annotation, Claim, WebhookEvent

HOOK = "/api/v1/hooks/label-studio"
GOOD = {WEBHOOK_HEADER: WEBHOOK_SECRET}


@pytest.fixture
def linked_claim(app):
    article = make_article()
    claim = next(c for c in article.claims if c.checkworthy)
    link_claim(claim, task_id=501)
    return claim


def post(client, body, headers=GOOD):
    data = body if isinstance(body, str | bytes) else json.dumps(body)
    return client.post(HOOK, data=data, headers=headers, content_type="application/json")


@pytest.mark.parametrize(
    "headers",
    [{}, {WEBHOOK_HEADER: "wrong"}, {WEBHOOK_HEADER: ""}, {"Authorization": f"Bearer {WEBHOOK_SECRET}"}],
)
def test_wrong_or_missing_secret_is_a_401_and_stores_nothing(client, linked_claim, headers):
    response = post(client, annotation_payload(1, 501), headers)
    assert response.status_code == 401
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Annotation)) == 0


def test_without_a_configured_secret_webhooks_are_refused(app, client, linked_claim):
    app.config["WEBHOOK_SECRET"] = None
    response = post(client, annotation_payload(1, 501))
    assert response.status_code == 401
    assert "WORKBENCH_WEBHOOK_SECRET" in response.json["message"]


def test_annotation_is_stored_with_parsed_fields(client, linked_claim):
    response = post(client, annotation_payload(11, 501, user_id=7, verdict="Mostly false"))
    assert response.status_code == 200 and response.json["status"] == "processed"
    row = db.session.scalar(sa.select(Annotation))
    assert (row.ls_annotation_id, row.annotator_ls_id, row.verdict) == (11, 7, "Mostly false")
    assert row.checkworthy is True and row.confidence == 4 and row.source == "webhook"
    assert row.evidence_urls == ["https://stats.example.org/table-1", "https://example.org/b"]
    # With the default overlap of two, one annotation is not enough to enter the review queue.
    assert db.session.get(Claim, linked_claim.id).status == "in_annotation"
    post(client, annotation_payload(12, 501, user_id=8, verdict="False"))
    db.session.expire_all()
    claim = db.session.get(Claim, linked_claim.id)
    assert (claim.status, claim.annotator_count, claim.agreement) == ("annotated", 2, "split")


def test_a_prefilled_answer_left_untouched_is_not_the_annotator_s_judgement(client, linked_claim):
    """Label Studio marks a pre-filled item the annotator did not touch ``origin: prediction``."""
    body = annotation_payload(11, 501, user_id=7, verdict="False")
    for item in body["annotation"]["result"]:
        if item["from_name"] == "checkworthy":
            item["origin"] = "prediction"
        elif item["from_name"] == "verdict":
            item["origin"] = "prediction-changed"  # touched: the annotator's own
    assert post(client, body).status_code == 200
    row = db.session.scalar(sa.select(Annotation))
    assert row.checkworthy is None and row.verdict == "False"
    assert any(i.get("origin") == "prediction" for i in row.result)  # kept as sent


def test_repeated_delivery_changes_nothing(client, linked_claim):
    for _ in range(3):
        assert post(client, annotation_payload(11, 501)).status_code == 200
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Annotation)) == 1
    statuses = list(db.session.scalars(sa.select(WebhookEvent.status).order_by(WebhookEvent.id)))
    assert statuses == ["processed", "duplicate", "duplicate"]


def test_an_updated_annotation_is_a_new_version_and_the_old_one_is_kept(client, linked_claim):
    post(client, annotation_payload(11, 501, verdict="False"))
    post(client, annotation_payload(11, 501, verdict="Half true", action="ANNOTATION_UPDATED"))
    rows = list(db.session.scalars(sa.select(Annotation).order_by(Annotation.version)))
    assert [(r.version, r.verdict) for r in rows] == [(1, "False"), (2, "Half true")]


def test_claim_is_found_by_uuid_when_the_task_link_is_unknown(client, linked_claim):
    response = post(client, annotation_payload(12, 99999, claim_uuid=linked_claim.uuid))
    assert response.json["status"] == "processed"


@pytest.mark.parametrize(
    ("body", "status", "kept_as"),
    [
        ("{not json", 400, "malformed"),
        (b"\xff\xfe", 400, "malformed"),
        ([1, 2], 400, "malformed"),
        ({"no_action": True}, 400, "malformed"),
        ({"action": "ANNOTATION_CREATED"}, 400, "malformed"),
        ({"action": "PROJECT_UPDATED", "project": {"id": 1}}, 200, "unknown_action"),
        (annotation_payload(13, 424242), 200, "unplaced"),
    ],
)
def test_events_it_cannot_use_are_kept_for_inspection(client, linked_claim, body, status, kept_as):
    response = post(client, body)
    assert response.status_code == status
    event = db.session.scalar(sa.select(WebhookEvent))
    assert event.status == kept_as and event.detail
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Annotation)) == 0


def test_deleted_annotations_are_recorded_not_erased(client, linked_claim):
    post(client, annotation_payload(11, 501))
    response = post(
        client, {"action": "ANNOTATIONS_DELETED", "annotations": [{"id": 11}], "project": {"id": 1}}
    )
    assert response.status_code == 200
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Annotation)) == 1


def test_kept_events_can_be_inspected_by_admins(client, linked_claim, admin, reviewer):
    post(client, "{broken")
    post(client, annotation_payload(13, 424242))
    post(client, annotation_payload(11, 501))
    body = client.get("/api/v1/hooks/label-studio/events?status=unplaced", headers=admin.headers).json
    assert body["total"] == 1 and body["items"][0]["status"] == "unplaced"
    assert json.loads(body["items"][0]["body"])["annotation"]["id"] == 13
    everything = client.get("/api/v1/hooks/label-studio/events", headers=admin.headers).json
    assert [e["status"] for e in everything["items"]] == ["processed", "unplaced", "malformed"]
    assert client.get("/api/v1/hooks/label-studio/events", headers=reviewer.headers).status_code == 403


def test_a_task_id_reused_in_another_project_is_placed_by_project(client, linked_claim):
    other = next(c for c in make_article().claims if c.checkworthy)
    link_claim(other, task_id=501, project_id=2)  # Label Studio reuses ids after deletions
    assert post(client, annotation_payload(21, 501, project_id=2)).json["status"] == "processed"
    assert (
        db.session.scalar(sa.select(Annotation.claim_id).where(Annotation.ls_annotation_id == 21)) == other.id
    )
    ambiguous = annotation_payload(22, 501)
    del ambiguous["project"], ambiguous["task"]["project"], ambiguous["annotation"]["project"]
    assert post(client, ambiguous).json["status"] == "unplaced"


@pytest.mark.parametrize(
    "mutate",
    [
        lambda a: a.update(result=5),
        lambda a: a.update(result=[1, 2]),
        lambda a: a["result"].append({"from_name": "confidence", "value": {"rating": "high"}}),
        lambda a: a["result"].append({"from_name": "verdict", "value": {"choices": "False"}}),
        lambda a: a.update(lead_time="slow"),
    ],
)
def test_malformed_annotations_are_kept_and_refused(client, linked_claim, mutate):
    body = annotation_payload(14, 501)
    mutate(body["annotation"])
    response = post(client, body)
    assert response.status_code == 400 and "annotation 14" in response.json["message"]
    assert db.session.scalar(sa.select(WebhookEvent.status)) == "malformed"
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Annotation)) == 0


def test_a_verdict_off_the_published_scale_is_not_taken_as_one(client, linked_claim):
    post(client, annotation_payload(15, 501, verdict="Pants on fire"))
    row = db.session.scalar(sa.select(Annotation))
    assert row.verdict is None and row.result[1]["value"]["choices"] == ["Pants on fire"]
