"""Odd bytes, big numbers and versions out of order at the webhook: every delivery is kept."""

from __future__ import annotations

import hashlib
import json

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.factories import annotation_payload
from tests.test_webhook import linked_claim, post  # noqa: F401 - fixture
from workbench.db import db
from workbench.models import Annotation, WebhookEvent
from workbench.review.agreement import current_votes


@pytest.fixture
def claim(linked_claim):  # noqa: F811 - the imported fixture, under this file's name
    """A check-worthy claim pushed to task 501 (the webhook tests' fixture)."""
    return linked_claim


def events() -> list[WebhookEvent]:
    db.session.expire_all()
    return list(db.session.scalars(sa.select(WebhookEvent).order_by(WebhookEvent.id)))


def stamped(annotation_id, verdict, stamp, action="ANNOTATION_UPDATED", user=7):
    body = annotation_payload(annotation_id, 501, user_id=user, verdict=verdict, action=action)
    body["annotation"]["updated_at"] = stamp
    return body


def current(claim_id: int) -> dict[int, str]:
    db.session.expire_all()
    rows = db.session.scalars(sa.select(Annotation).where(Annotation.claim_id == claim_id))
    return {a.ls_annotation_id: a.verdict for a in current_votes(rows).values()}


def test_an_update_that_arrives_before_its_creation_stays_current(client, claim):
    post(client, stamped(11, "False", "2031-04-03T11:00:00Z"))
    post(client, stamped(11, "True", "2031-04-03T10:00:00Z", action="ANNOTATION_CREATED"))
    assert current(claim.id) == {11: "False"}


def test_going_back_to_an_earlier_verdict_is_a_new_version(client, claim):
    for verdict, stamp in (("True", "10:00"), ("False", "11:00"), ("True", "12:00")):
        assert post(client, stamped(11, verdict, f"2031-04-03T{stamp}:00Z")).json["status"] == "processed"
    assert current(claim.id) == {11: "True"}
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Annotation)) == 3
    # The same version delivered again (its time written another way) is still one version.
    assert post(client, stamped(11, "True", "2031-04-03T12:00:00.000000+00:00")).json["status"] == "duplicate"


def test_a_nul_and_a_lone_surrogate_in_an_annotation_are_kept_and_stored_readably(client, claim):
    body = annotation_payload(11, 501, rationale="before\u0000after \ud800 end")
    response = post(client, json.dumps(body))  # json.dumps writes \\u0000 and \\ud800 escapes
    assert response.status_code == 200 and response.json["status"] == "processed"
    row = db.session.scalar(sa.select(Annotation))
    assert row.rationale == "before\ufffdafter \ufffd end"
    assert events()[-1].body_stored_as == "as_sent"


def test_raw_nul_bytes_and_invalid_utf8_are_kept_escaped_with_the_originals_digest(client, claim):
    raw = b'{"action": "ANNOTATION_CREATED", "x": "\x00\xff"}'
    response = post(client, raw)
    assert response.status_code == 400
    event = events()[-1]
    assert (event.status, event.body_stored_as, event.body_length) == ("malformed", "escaped", len(raw))
    assert event.body_sha256 == hashlib.sha256(raw).hexdigest()
    assert "\x00" not in event.body and "\\x00" in event.body and "\\xff" in event.body


@pytest.mark.parametrize(
    ("change", "what"),
    [
        (lambda a: a.update(id=10**30), "'id'"),
        (lambda a: a.update(id=9999999999999999999), "'id'"),
        (lambda a: a.update(task=10**30), "'task'"),
        (lambda a: a.update(created_at="2031-04-03T10:00:00" + "0" * 40), "'created_at'"),
        (lambda a: a.update(updated_at="yesterday"), "'updated_at'"),
        (lambda a: a["result"][-1]["value"].update(rating=10**30), "'rating'"),
        (lambda a: a.update(updated_at="0001-01-01T00:00:00+01:00"), "'updated_at'"),
        (lambda a: a.update(lead_time=10**400), "'lead_time'"),
        # bool("no") is True: it was stored as a skipped task.
        (lambda a: a.update(was_cancelled="no"), "'was_cancelled'"),
        (lambda a: a.update(was_cancelled=0), "'was_cancelled'"),
    ],
)
def test_numbers_and_stamps_that_cannot_be_stored_are_kept_as_malformed(client, claim, change, what):
    body = annotation_payload(11, 501)
    change(body["annotation"])
    response = post(client, json.dumps(body).replace("Infinity", "1e400"))
    assert response.status_code == 400 and what in response.json["message"]
    assert events()[-1].status == "malformed"
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Annotation)) == 0


def test_an_email_too_long_is_not_taken_and_the_annotation_is_kept(client, claim):
    body = annotation_payload(11, 501)
    body["annotation"]["completed_by"] = {"id": 7, "email": "a" * 400 + "@example.org"}
    assert post(client, body).json["status"] == "processed"
    assert db.session.scalar(sa.select(Annotation)).annotator_email is None


def test_an_overlong_action_is_kept_cut_and_said_so(client, claim):
    response = post(client, {"action": "X" * 5000})
    assert response.status_code == 200
    event = events()[-1]
    assert (event.status, len(event.action)) == ("unknown_action", 100)
    assert "5000 characters" in event.detail


def test_json_nested_a_hundred_thousand_deep_is_kept_as_malformed(client, claim):
    response = post(client, "[" * 100_000 + "]" * 100_000)
    assert response.status_code == 400
    assert events()[-1].status == "malformed"


@pytest.mark.parametrize("number", ["NaN", "Infinity", "1e999"])
def test_numbers_no_database_can_hold_are_not_json(client, claim, number):
    body = json.dumps(annotation_payload(11, 501)).replace('"rating": 4', f'"rating": {number}')
    assert number in body
    assert post(client, body).status_code == 400
    assert events()[-1].status == "malformed"


def test_created_username_is_never_taken_for_an_email(client, claim):
    body = annotation_payload(11, 501)
    body["annotation"]["created_username"] = "ann1 x ann1-a66ac4@probe.test, 5"
    post(client, body)
    assert db.session.scalar(sa.select(Annotation)).annotator_email is None


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    body=st.one_of(
        st.binary(max_size=300),
        st.text(max_size=300).map(lambda t: t.encode("utf-8", "surrogatepass")),
        json_values.map(lambda v: json.dumps(v).encode()),
        st.tuples(
            st.sampled_from(["id", "task", "result", "completed_by", "updated_at", "lead_time"]), json_values
        ).map(
            lambda kv: json.dumps(
                {
                    **annotation_payload(77, 501),
                    "annotation": {**annotation_payload(77, 501)["annotation"], kv[0]: kv[1]},
                }
            ).encode()
        ),
    )
)
def test_any_delivery_is_kept_and_never_answered_with_a_5xx(client, claim, body):
    before = db.session.scalar(sa.select(sa.func.count()).select_from(WebhookEvent))
    response = post(client, body)
    assert response.status_code < 500, response.get_data(as_text=True)
    db.session.rollback()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(WebhookEvent)) == before + 1
    event = db.session.scalar(sa.select(WebhookEvent).order_by(WebhookEvent.id.desc()).limit(1))
    assert event.body_sha256 == hashlib.sha256(body).hexdigest() and event.body_length == len(body)


@pytest.mark.parametrize("annotations", [None, "x", [], [{"id": "5"}], [{"id": True}]])
def test_a_deletion_that_names_no_annotation_is_kept_as_malformed(client, claim, annotations):
    body: dict = {"action": "ANNOTATIONS_DELETED"}
    if annotations is not None:
        body["annotations"] = annotations
    response = post(client, body)
    assert response.status_code == 400 and "integer ids" in response.json["message"]
    assert events()[-1].status == "malformed"
    named = post(client, {"action": "ANNOTATIONS_DELETED", "annotations": [{"id": 5}]})
    assert named.status_code == 200 and events()[-1].status == "recorded"


def test_a_task_id_that_is_not_an_integer_is_named_as_sent(client, claim):
    body = annotation_payload(11, 501)
    body["task"]["id"] = "501"
    body["annotation"]["task"] = "501"
    post(client, body)
    assert events()[-1].status == "unplaced"
    assert "no integer id: '501'" in events()[-1].detail
