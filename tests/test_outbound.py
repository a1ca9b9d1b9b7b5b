"""Outbound events: signed per Standard Webhooks, retried with backoff, paused when an endpoint
keeps failing, resumed by hand; against a real receiver on 127.0.0.1 that fails, times out and
recovers, and verifies every signature with the standardwebhooks library."""

from __future__ import annotations

import json
import threading
import time
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import sqlalchemy as sa
from standardwebhooks.webhooks import Webhook

from tests.factories import annotated_claim
from workbench import signals
from workbench.db import db
from workbench.errors import ValidationError
from workbench.models import AuditEvent, Claim, Verdict
from workbench.models.outbound import OutboundAttempt, OutboundDelivery, OutboundEndpoint, OutboundEvent
from workbench.outbound import delivery, endpoints, signing

_tasks = iter(range(700, 10**6))

OUTBOUND = {
    "OUTBOUND_ALLOW_PRIVATE": True,
    "OUTBOUND_TIMEOUT": 1.0,
    "OUTBOUND_INLINE_TIMEOUT": 1.0,
    "OUTBOUND_RETRY_BASE": 0.2,
    "OUTBOUND_RETRY_MAX": 5.0,
    "OUTBOUND_MAX_ATTEMPTS": 10,
    "OUTBOUND_PAUSE_AFTER_FAILURES": 4,
}


class Receiver:
    """An integrator's endpoint on 127.0.0.1: answers as told (ok, fail, slow), verifies signatures."""

    def __init__(self) -> None:
        self.mode = "ok"
        self.secret: str | None = None
        self.received: list[dict] = []
        self.verified: list[dict] = []
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers.get("content-length") or 0))
                headers = {k.lower(): v for k, v in self.headers.items()}
                with receiver.lock:
                    receiver.received.append({"headers": headers, "body": body, "mode": receiver.mode})
                    mode, secret = receiver.mode, receiver.secret
                if mode == "slow":
                    time.sleep(2.5)
                if mode == "fail":
                    self.send_response(503)
                    self.end_headers()
                    self.wfile.write(b"down for maintenance")
                    return
                if secret:
                    payload = Webhook(secret).verify(body, headers)  # raises on a bad signature
                    with receiver.lock:
                        receiver.verified.append(payload)
                try:
                    self.send_response(204)
                    self.end_headers()
                except OSError:
                    pass

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_port}/hooks"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.close()


@pytest.fixture
def outbound_app(app):
    app.config.update(OUTBOUND)
    return app


def register(url: str, **kwargs) -> tuple[int, str]:
    endpoint, secret = endpoints.register(url, actor="admin@example.org", **kwargs)
    db.session.commit()
    return endpoint.id, secret


def publish(client, reviewer) -> Claim:
    """A labelled claim, accepted and published by a reviewer over the API."""
    claim = annotated_claim(task_id=next(_tasks))
    first = db.session.scalars(sa.select(Claim).where(Claim.id == claim.id)).one().annotations[0]
    for body in ({"action": "accept", "annotation_id": first.id}, {"action": "publish"}):
        db.session.expire_all()
        body["claim_version"] = db.session.get(Claim, claim.id).version
        answer = client.post(f"/api/v1/claims/{claim.id}/review", headers=reviewer.headers, json=body)
        assert answer.status_code == 201, answer.json
    db.session.expire_all()
    return db.session.get(Claim, claim.id)


def fresh():
    db.session.rollback()
    db.session.expire_all()


def deliveries() -> list[OutboundDelivery]:
    fresh()
    return list(db.session.scalars(sa.select(OutboundDelivery).order_by(OutboundDelivery.id)))


def attempts() -> list[OutboundAttempt]:
    fresh()
    return list(db.session.scalars(sa.select(OutboundAttempt).order_by(OutboundAttempt.id)))


def test_signatures_match_the_standard_webhooks_test_vector():
    # Published with the spec (standard-webhooks, libraries' "sign function works" test).
    when = datetime.fromtimestamp(1614265330, UTC)
    headers = signing.headers(
        "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "msg_p5jXN8AQM9LWM0D4loKWxJek", when, '{"test": 2432232314}'
    )
    assert headers == {
        "webhook-id": "msg_p5jXN8AQM9LWM0D4loKWxJek",
        "webhook-timestamp": "1614265330",
        "webhook-signature": "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=",
    }
    secret = signing.new_secret()
    assert secret.startswith("whsec_") and len(secret) == len("whsec_") + 44
    assert signing.new_secret() != secret


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("ftp://example.org/x", "not http(s)"),
        ("file:///etc/passwd", "not http(s)"),
        ("http:///nohost", "no host"),
        ("https://user:pw@example.org/", "credentials in URL"),
        ("http://127.0.0.1:8080/", "private address"),
        ("http://localhost/", "private address"),
        ("http://10.1.2.3/", "private address"),
        ("http://169.254.169.254/latest", "private address"),
        ("http://[::1]/", "private address"),
        ("", "required"),
    ],
)
def test_register_refuses_urls_it_must_not_call(app, url, problem):
    with pytest.raises(ValidationError) as refused:
        endpoints.register(url, actor="admin@example.org")
    assert refused.value.errors["url"] == [problem]
    db.session.rollback()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(OutboundEndpoint)) == 0


def test_private_addresses_are_allowed_by_the_setting(app):
    app.config["OUTBOUND_ALLOW_PRIVATE"] = True
    endpoint_id, _ = register("http://127.0.0.1:9/hooks")
    assert db.session.get(OutboundEndpoint, endpoint_id).status == "active"


def test_a_published_verdict_is_delivered_signed_inline(outbound_app, client, receiver, reviewer):
    endpoint_id, receiver.secret = register(receiver.url, event_types=["verdict.published"])
    claim = publish(client, reviewer)

    assert len(receiver.verified) == 1, receiver.received
    event = receiver.verified[0]
    assert event["type"] == "verdict.published" and event["timestamp"].endswith("Z")
    data = event["data"]
    assert data["claim"]["uuid"] == claim.uuid and data["claim"]["text"] == claim.text
    assert data["verdict"]["rating"] == "False" and data["verdict"]["published_at"].endswith("Z")
    assert data["verdict"]["reviewer"]["email"] == reviewer.user.email
    review = data["claim_review"]
    assert review["@type"] == "ClaimReview" and review["claimReviewed"] == claim.text
    assert review["reviewRating"]["alternateName"] == "False"
    headers = receiver.received[0]["headers"]
    assert headers["webhook-id"].startswith("msg_") and headers["content-type"] == "application/json"
    (sent,) = deliveries()
    assert (sent.state, sent.attempts, sent.endpoint_id) == ("delivered", 1, endpoint_id)
    (attempt,) = attempts()
    assert (attempt.ok, attempt.status_code, attempt.error) == (True, 204, None)


def test_only_subscribed_endpoints_get_an_event_and_reopening_sends_its_own(
    outbound_app, client, receiver, reviewer
):
    _, receiver.secret = register(receiver.url, event_types=["verdict.reopened"])
    claim = publish(client, reviewer)
    assert receiver.received == []
    answer = client.post(
        f"/api/v1/claims/{claim.id}/review",
        headers=reviewer.headers,
        json={"action": "reopen", "reason": "new evidence", "claim_version": claim.version},
    )
    assert answer.status_code == 201
    (event,) = receiver.verified
    assert event["type"] == "verdict.reopened" and event["data"]["reason"] == "new evidence"
    assert event["data"]["claim"]["uuid"] == claim.uuid


def test_an_event_is_written_with_its_change_or_not_at_all(outbound_app, receiver):
    register(receiver.url)
    signals.export_finished.send({"format": "jsonl", "count": 3, "sha256": "ab" * 32}, actor="cli")
    db.session.rollback()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(OutboundEvent)) == 0
    assert receiver.received == []

    signals.export_finished.send({"format": "jsonl", "count": 3, "sha256": "ab" * 32}, actor="cli")
    db.session.commit()
    (got,) = [json.loads(r["body"]) for r in receiver.received]
    assert got["type"] == "export.finished" and got["data"]["manifest"]["count"] == 3


def test_failures_are_retried_with_backoff_then_the_endpoint_pauses_and_resumes_by_hand(
    outbound_app, client, receiver, admin
):
    endpoint_id, receiver.secret = register(receiver.url, event_types=["export.finished"])
    receiver.mode = "fail"
    signals.export_finished.send({"format": "csv", "count": 1}, actor="cli")
    db.session.commit()  # attempt 1, inline: 503
    (first,) = deliveries()
    assert (first.state, first.attempts, first.retries) == ("pending", 1, 1)
    waited = [(first.next_attempt_at, attempts()[-1])]

    assert delivery.deliver_due() == {"attempted": 0, "delivered": 0, "failed": 0, "skipped": 0}  # not due
    receiver.mode = "slow"  # longer than OUTBOUND_TIMEOUT
    time.sleep(0.25)
    assert delivery.deliver_due()["failed"] == 1
    (d,) = deliveries()
    waited.append((d.next_attempt_at, attempts()[-1]))
    receiver.close()  # nothing listens: connection refused
    time.sleep(0.45)
    assert delivery.deliver_due()["failed"] == 1

    errors = [a.error for a in attempts()]
    assert errors[0] == "answered HTTP 503" and attempts()[0].response_excerpt == "down for maintenance"
    assert errors[1] == "timed out after 1 s" and errors[2].startswith("could not connect")
    assert all(a.duration_ms >= 0 and a.started_at is not None for a in attempts())
    # Exponential: counted from the end of the failed attempt, the second wait is twice the first.
    gaps = [(due - a.started_at).total_seconds() - a.duration_ms / 1000 for due, a in waited]
    assert 0.2 <= gaps[0] < 0.35 and 0.4 <= gaps[1] < 0.55, gaps

    # A second event while failing: the fourth failure in a row pauses the endpoint.
    signals.export_finished.send({"format": "csv", "count": 2}, actor="cli")
    db.session.commit()
    fresh()
    endpoint = db.session.get(OutboundEndpoint, endpoint_id)
    assert endpoint.status == "paused" and endpoint.consecutive_failures == 4
    assert "4 failed attempts in a row" in endpoint.paused_reason
    paused = db.session.scalars(
        sa.select(AuditEvent).where(AuditEvent.action == "outbound.endpoint_paused")
    ).one()
    assert paused.actor == "outbound" and paused.subject_id == str(endpoint_id)

    # Paused: more events wait, nothing is attempted, not even when due.
    signals.export_finished.send({"format": "csv", "count": 3}, actor="cli")
    db.session.commit()
    time.sleep(1.0)
    assert delivery.deliver_due()["attempted"] == 0
    assert [d.state for d in deliveries()] == ["pending"] * 3 and len(attempts()) == 4

    # The receiver recovers; an admin resumes: everything pending goes out, same ids as before.
    again = Receiver()
    try:
        again.secret = receiver.secret
        db.session.execute(sa.update(OutboundEndpoint).values(url=again.url))
        db.session.commit()
        answer = client.post(f"/api/v1/outbound/endpoints/{endpoint_id}/resume", headers=admin.headers)
        assert answer.status_code == 200, answer.json
        assert answer.json["redelivering"] == 3 and answer.json["endpoint"]["status"] == "active"
        assert sorted(p["data"]["manifest"]["count"] for p in again.verified) == [1, 2, 3]
        ids = {r["headers"]["webhook-id"] for r in again.received}
        assert ids == {d.event.message_id for d in deliveries()}
        assert {r["headers"]["webhook-id"] for r in receiver.received} <= ids
        assert [d.state for d in deliveries()] == ["delivered"] * 3
        fresh()
        assert db.session.get(OutboundEndpoint, endpoint_id).consecutive_failures == 0
        # Resuming an active endpoint is a conflict that changes nothing.
        assert (
            client.post(f"/api/v1/outbound/endpoints/{endpoint_id}/resume", headers=admin.headers).status_code
            == 409
        )
    finally:
        again.close()


def test_a_delivery_out_of_attempts_fails_and_is_audited(outbound_app, receiver):
    outbound_app.config.update(OUTBOUND_MAX_ATTEMPTS=2, OUTBOUND_PAUSE_AFTER_FAILURES=100)
    register(receiver.url)
    receiver.mode = "fail"
    signals.export_finished.send({"format": "csv"}, actor="cli")
    db.session.commit()
    time.sleep(0.25)
    delivery.deliver_due()
    (d,) = deliveries()
    assert (d.state, d.attempts) == ("failed", 2)
    time.sleep(0.5)
    assert delivery.deliver_due()["attempted"] == 0
    failed = db.session.scalars(
        sa.select(AuditEvent).where(AuditEvent.action == "outbound.delivery_failed")
    ).one()
    assert failed.payload["last_error"] == "answered HTTP 503"


def test_the_sweep_keeps_a_dead_endpoint_to_one_timeout_per_pass(outbound_app, receiver):
    outbound_app.config["OUTBOUND_DELIVERY"] = "off"
    register(receiver.url)
    for n in range(5):
        signals.export_finished.send({"n": n}, actor="cli")
    db.session.commit()
    receiver.mode = "fail"
    assert delivery.deliver_due() == {"attempted": 1, "delivered": 0, "failed": 1, "skipped": 4}


def test_two_sweeps_at_once_send_each_event_once(outbound_app, receiver):
    outbound_app.config["OUTBOUND_DELIVERY"] = "off"
    _, receiver.secret = register(receiver.url)
    for n in range(40):
        signals.export_finished.send({"n": n}, actor="cli")
    db.session.commit()
    start = threading.Barrier(3)
    failures: list[BaseException] = []

    def sweep():
        try:
            with outbound_app.app_context():
                start.wait()
                while delivery.deliver_due(limit=7)["attempted"]:
                    pass
                db.session.remove()
        except BaseException as exc:  # noqa: BLE001 - reported below
            failures.append(exc)

    threads = [threading.Thread(target=sweep) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not failures, failures
    sent = [r["headers"]["webhook-id"] for r in receiver.received]
    assert len(sent) == 40 and len(set(sent)) == 40
    assert len(receiver.verified) == 40
    assert [d.state for d in deliveries()] == ["delivered"] * 40
    assert len(attempts()) == 40


def test_a_claim_left_by_a_dead_worker_is_taken_over_once_it_expires(outbound_app, receiver):
    outbound_app.config["OUTBOUND_DELIVERY"] = "off"
    register(receiver.url)
    signals.export_finished.send({}, actor="cli")
    db.session.commit()
    (d,) = deliveries()
    assert delivery._claim(d.id, "dead-worker", timeout=-delivery.CLAIM_MARGIN - 1) is not None
    result = delivery.deliver_one(d.id)
    assert result is not None and result.ok and result.attempt == 2
    assert delivery.deliver_one(d.id) is None  # delivered: nothing more to do


def test_the_api_shows_the_secret_once_and_every_attempt(outbound_app, client, admin, reviewer, receiver):
    answer = client.post(
        "/api/v1/outbound/endpoints",
        headers=admin.headers,
        json={"url": receiver.url, "event_types": ["export.finished"], "description": "CMS"},
    )
    assert answer.status_code == 201, answer.json
    endpoint_id, receiver.secret = answer.json["id"], answer.json["secret"]
    assert receiver.secret.startswith("whsec_")

    listed = client.get("/api/v1/outbound/endpoints", headers=admin.headers).json
    assert listed["total"] == 1 and "secret" not in listed["items"][0]
    assert "secret" not in client.get(f"/api/v1/outbound/endpoints/{endpoint_id}", headers=admin.headers).json
    assert receiver.secret not in json.dumps([e.payload for e in db.session.scalars(sa.select(AuditEvent))])

    receiver.mode = "fail"
    signals.export_finished.send({"format": "json"}, actor="cli")
    db.session.commit()
    receiver.mode = "ok"
    time.sleep(0.25)
    delivery.deliver_due()
    page = client.get(f"/api/v1/outbound/endpoints/{endpoint_id}/deliveries", headers=admin.headers).json
    (item,) = page["items"]
    assert item["state"] == "delivered" and item["type"] == "export.finished"
    assert [(a["number"], a["ok"], a["status_code"]) for a in item["attempt_log"]] == [
        (1, False, 503),
        (2, True, 204),
    ]
    assert item["attempt_log"][0]["error"] == "answered HTTP 503" and item["attempt_log"][0][
        "started_at"
    ].endswith("Z")
    detail = client.get(f"/api/v1/outbound/deliveries/{item['id']}", headers=admin.headers).json
    assert json.loads(detail["body"])["type"] == "export.finished"
    assert (
        client.get(
            f"/api/v1/outbound/endpoints/{endpoint_id}/deliveries?state=pending", headers=admin.headers
        ).json["total"]
        == 0
    )

    rotated = client.post(f"/api/v1/outbound/endpoints/{endpoint_id}/secret", headers=admin.headers).json
    assert rotated["secret"] != receiver.secret and rotated["secret_rotated_at"].endswith("Z")
    receiver.secret = rotated["secret"]
    signals.export_finished.send({"format": "csv"}, actor="cli")
    db.session.commit()
    assert len(receiver.verified) == 2  # signed with the new secret

    paused = client.post(
        f"/api/v1/outbound/endpoints/{endpoint_id}/pause", headers=admin.headers, json={"reason": "migrating"}
    )
    assert (
        paused.status_code == 200
        and paused.json["status"] == "paused"
        and paused.json["paused_reason"] == "migrating"
    )

    assert client.get("/api/v1/outbound/endpoints", headers=reviewer.headers).status_code == 403
    assert client.get("/api/v1/outbound/endpoints").status_code == 401
    bad = client.post(
        "/api/v1/outbound/endpoints",
        headers=admin.headers,
        json={"url": "gopher://x", "event_types": ["nope"]},
    )
    assert bad.status_code == 422 and "event_types" in bad.json["errors"]
    bad = client.post("/api/v1/outbound/endpoints", headers=admin.headers, json={"url": "gopher://x"})
    assert bad.status_code == 422 and bad.json["errors"] == {"url": ["not http(s)"]}

    assert (
        client.delete(f"/api/v1/outbound/endpoints/{endpoint_id}", headers=admin.headers).status_code == 204
    )
    assert client.get(f"/api/v1/outbound/endpoints/{endpoint_id}", headers=admin.headers).status_code == 404
    assert deliveries() == [] and attempts() == []
    actions = [e.action for e in db.session.scalars(sa.select(AuditEvent).order_by(AuditEvent.seq))]
    assert [a for a in actions if a.startswith("outbound.")] == [
        "outbound.endpoint_registered",
        "outbound.secret_rotated",
        "outbound.endpoint_paused",
        "outbound.endpoint_deleted",
    ]


def test_the_cli_registers_lists_resumes_and_delivers(outbound_app, runner, receiver):
    outbound_app.config["OUTBOUND_DELIVERY"] = "off"
    made = runner.invoke(args=["outbound", "register", receiver.url, "--event", "export.finished"])
    assert made.exit_code == 0, made.output
    assert "whsec_" in made.output
    endpoint_id = db.session.scalar(sa.select(OutboundEndpoint.id))
    listed = runner.invoke(args=["outbound", "list"])
    assert receiver.url in listed.output and "whsec_" not in listed.output
    assert runner.invoke(args=["outbound", "pause", str(endpoint_id)]).exit_code == 0
    signals.export_finished.send({"format": "csv"}, actor="cli")
    db.session.commit()
    assert (
        runner.invoke(args=["outbound", "deliver"])
        .output.strip()
        .endswith("0 attempted, 0 delivered, 0 failed")
    )
    resumed = runner.invoke(args=["outbound", "resume", str(endpoint_id)])
    assert resumed.exit_code == 0 and "1 pending" in resumed.output, resumed.output
    delivered = runner.invoke(args=["outbound", "deliver"])
    assert "1 attempted, 1 delivered, 0 failed" in delivered.output, delivered.output
    shown = runner.invoke(args=["outbound", "attempts", str(endpoint_id)])
    assert "204" in shown.output
    again = runner.invoke(args=["outbound", "resume", str(endpoint_id)])
    assert again.exit_code != 0 and "not paused" in again.output


def test_verdict_rows_are_untouched_when_nobody_subscribed(app, client, reviewer):
    publish(client, reviewer)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(OutboundEvent)) == 0
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Verdict)) == 2
