"""The webhook keeps up: a delivery is kept and answered at once, and placed after.

A slow database or a long sync never costs a delivery (Label Studio waits about 1 s and never
sends it again); a placer that dies leaves its deliveries for the next placer or sync; two placers
never place one delivery twice. Runs on SQLite and, under ``make test``, on PostgreSQL.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

import pytest
import requests
import sqlalchemy as sa

from tests.conftest import REPO
from tests.factories import annotation_payload
from tests.served import stop, workbench_serve
from tests.test_concurrency_http import SPOOLS, deliver, fresh, linked_claims, until_placed
from tests.test_sync_repairs import ScriptedLabelStudio
from tests.test_webhook import post
from workbench.db import db
from workbench.labelstudio import service, webhook, webhook_placer, webhook_spool
from workbench.models import Annotation, AuditEvent, Claim, WebhookEvent

#: How long the tests hold a claim's lock: three times what Label Studio waits for an answer.
HELD = 3.0


def statuses() -> Counter:
    fresh()
    return Counter(db.session.scalars(sa.select(WebhookEvent.status)))


def count(model, *where) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(model).where(*where))


def kept(app, bodies: list[dict]) -> list[webhook.Receipt]:
    """Keep deliveries as the request does, placing none of them."""
    with app.app_context():
        return [webhook.keep(json.dumps(body).encode()) for body in bodies]


def until_unlocked(timeout: float = 30) -> None:
    """Wait until no transaction holds a delivery's row (a killed client's, on PostgreSQL, ends
    when the server notices the connection is gone)."""
    if db.engine.dialect.name != "postgresql":
        return
    deadline = time.monotonic() + timeout
    total = count(WebhookEvent)
    while True:
        with db.engine.connect() as other, other.begin():
            free = other.execute(sa.select(WebhookEvent.id).with_for_update(skip_locked=True)).all()
        if len(free) == total:
            return
        assert time.monotonic() < deadline, "the killed placer's rows stay locked"
        time.sleep(0.1)


@contextmanager
def held(claim_ids: list[int]):
    """Hold the claims' row locks as a long sync or a slow database would: ``SELECT … FOR UPDATE``
    on PostgreSQL; on SQLite, where a writer's lock is the whole database's, ``BEGIN IMMEDIATE``."""
    if db.engine.dialect.name == "sqlite":
        raw = db.engine.raw_connection()  # the driver's own: no BEGIN of ours in the way
        try:
            raw.execute("BEGIN IMMEDIATE")
            yield
        finally:
            raw.execute("ROLLBACK")
            raw.close()
    else:
        with db.engine.connect() as other:
            with other.begin():
                other.execute(
                    sa.select(Claim.id).where(Claim.id.in_(claim_ids)).with_for_update(key_share=True)
                ).all()
                yield


@pytest.fixture
def served(app, database_url, tmp_path):
    """``workbench serve`` (gunicorn, two workers) placing as it does by default: on a thread."""
    instance = tmp_path / "served"
    instance.mkdir()
    with workbench_serve(database_url, instance, WORKBENCH_WEBHOOK_PLACING="background") as url:
        SPOOLS[url] = instance / "webhook-spool"
        yield url


@pytest.fixture
def background(app):
    """The test app placing on a thread of its own, stopped after the test."""
    app.config["WEBHOOK_PLACING"] = "background"
    yield app
    webhook_placer.stop(app)


# ------------------------------------------------------------------ over real HTTP, under a lock


def test_deliveries_while_the_claims_are_locked_are_answered_fast_and_placed_once_the_lock_goes(served):
    claim_ids = linked_claims(4, first_task=3000)
    bodies = [
        annotation_payload(9000 + n, 3000 + n % 4, user_id=60 + n, verdict="Mostly false") for n in range(24)
    ]

    def timed(body):
        started = time.monotonic()
        response = deliver(served, body)
        return response, time.monotonic() - started

    with held(claim_ids):
        locked_at = time.monotonic()
        with ThreadPoolExecutor(max_workers=6) as pool:
            answers = list(pool.map(timed, bodies))
        answered_within = time.monotonic() - locked_at
        assert statuses()["processed"] == 0  # nothing could be placed meanwhile
        time.sleep(max(0.0, HELD - answered_within))

    assert answered_within < HELD, "every delivery was answered while the lock was still held"
    assert [r.status_code for r, _ in answers] == [202] * 24, [r.text for r, _ in answers]
    assert max(seconds for _, seconds in answers) < 1.0, sorted(seconds for _, seconds in answers)
    assert {r.json()["status"] for r, _ in answers} == {"received"}
    if db.engine.dialect.name == "postgresql":
        # A row lock on the claims keeps nobody from inserting the delivery itself.
        assert all(r.json()["event_id"] for r, _ in answers)
    else:
        # SQLite's one write lock was held: the deliveries were kept on disk, and said so.
        assert all(
            "kept on disk" in (r.json()["detail"] or "") for r, _ in answers if not r.json()["event_id"]
        )

    until_placed(served)
    assert statuses() == {"processed": 24}
    assert count(Annotation) == 24
    claims = db.session.scalars(sa.select(Claim).where(Claim.id.in_(claim_ids))).all()
    assert sorted(c.annotator_count for c in claims) == [6, 6, 6, 6]
    assert db.session.scalar(sa.select(sa.func.count()).where(WebhookEvent.placed_at.is_(None))) == 0


# ---------------------------------------------------------------------- a placer that dies


KILLED_PLACER = r"""
import sys, time
from pathlib import Path

from workbench import create_app
from workbench.labelstudio import webhook

marker = Path(sys.argv[1])


def stuck(*args, **kwargs):
    marker.write_text("placing")  # inside the placer's transaction, rows claimed
    time.sleep(600)


webhook.store_versions_rows = stuck
app = create_app()
with app.app_context():
    webhook.place_pending()
"""


def test_a_placer_killed_mid_way_leaves_every_delivery_for_sync_which_places_each_once(
    app, database_url, tmp_path
):
    linked_claims(2, first_task=3100)
    kept(app, [annotation_payload(9100 + n, 3100 + n % 2, user_id=70 + n) for n in range(6)])

    marker = tmp_path / "placing"
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("WORKBENCH_")},
        "WORKBENCH_DATABASE_URL": database_url,
        "WORKBENCH_INSTANCE_PATH": str(tmp_path / "placer"),
        "WORKBENCH_LABEL_STUDIO_URL": "http://127.0.0.1:9",
        "WORKBENCH_SECRET_KEY": "test",
    }
    placer = subprocess.Popen(
        [sys.executable, "-c", KILLED_PLACER, str(marker)],
        env=env,
        cwd=REPO,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while not marker.exists():
            assert placer.poll() is None, "the placer exited before it began placing"
            assert time.monotonic() < deadline, "the placer never began placing"
            time.sleep(0.05)
        placer.kill()  # SIGKILL, mid-transaction: nothing it did is committed
        placer.wait(30)
    finally:
        if placer.poll() is None:
            stop(placer)

    until_unlocked()
    assert statuses() == {"received": 6}
    assert count(Annotation) == 0
    # A placer of another design that committed its claim before it died: the row says "placing".
    first = db.session.scalar(sa.select(sa.func.min(WebhookEvent.id)))
    db.session.execute(sa.update(WebhookEvent).where(WebhookEvent.id == first).values(status="placing"))
    db.session.commit()

    result = service.sync(ScriptedLabelStudio([], []), actor="test")
    assert result.repaired == 0  # they were placed as deliveries, not pulled as repairs
    assert statuses() == {"processed": 6}
    assert count(Annotation) == 6
    received = db.session.scalars(
        sa.select(AuditEvent).where(AuditEvent.action == "annotation.received")
    ).all()
    assert sorted(e.payload["ls_annotation_id"] for e in received) == [9100 + n for n in range(6)]
    assert service.sync(ScriptedLabelStudio([], []), actor="test").total_repaired == 0


# ------------------------------------------------------------------------- two placers at once


def test_two_placers_at_once_never_place_a_delivery_twice(app, monkeypatch):
    linked_claims(5, first_task=3200)
    receipts = kept(app, [annotation_payload(9200 + n, 3200 + n % 5, user_id=80 + n % 7) for n in range(60)])
    assert all(k.status == "received" and k.event_id for k in receipts)
    placed: list[int] = []
    real = webhook._place

    def counted(event, overlap):
        placed.append(event.id)
        return real(event, overlap)

    monkeypatch.setattr(webhook, "_place", counted)
    start = threading.Barrier(2)

    def placer() -> int:
        with app.app_context():
            start.wait(10)
            try:
                return webhook.place_pending()
            finally:
                db.session.remove()

    with ThreadPoolExecutor(max_workers=2) as pool:
        done = list(pool.map(lambda _: placer(), range(2)))
    assert sum(done) == 60
    assert sorted(placed) == sorted(k.event_id for k in receipts)  # each placed once, by one of them
    assert statuses() == {"processed": 60}
    assert count(Annotation) == 60
    assert count(AuditEvent, AuditEvent.action == "annotation.received") == 60


# ------------------------------------------------------------------------- the contract


def test_a_delivery_is_answered_202_once_kept_and_placed_by_the_thread(background):
    client = background.test_client()
    (claim_id,) = linked_claims(1, first_task=3300)
    response = post(client, annotation_payload(9300, 3300, user_id=90))
    assert response.status_code == 202
    assert response.json["status"] == "received" and response.json["event_id"]
    assert webhook_placer.placer(background).wait_idle(30)
    fresh()
    event = db.session.get(WebhookEvent, response.json["event_id"])
    assert event.status == "processed" and event.placed_at is not None and event.annotation_id
    assert db.session.get(Claim, claim_id).annotator_count == 1


@pytest.mark.parametrize(
    ("body", "code", "status"),
    [
        ("{not json", 400, "malformed"),
        ({"action": "ANNOTATION_CREATED"}, 400, "malformed"),
        ({"action": "PROJECT_UPDATED", "project": {"id": 1}}, 200, "unknown_action"),
        ({"action": "ANNOTATIONS_DELETED", "annotations": [{"id": 5}]}, 202, "received"),
    ],
)
def test_what_can_be_told_without_the_database_is_answered_as_before(background, body, code, status):
    response = post(background.test_client(), body)
    assert response.status_code == code
    event = db.session.scalar(sa.select(WebhookEvent))
    assert event.status == status
    if status != "received":
        assert event.placed_at is not None  # final as it arrives


def test_a_fault_of_ours_while_placing_inline_is_a_500_and_the_delivery_is_kept_failed(app, monkeypatch):
    linked_claims(1, first_task=3400)

    def broken(*args, **kwargs):
        raise RuntimeError("a bug of ours")

    monkeypatch.setattr(webhook, "store_versions_rows", broken)
    app.config["PROPAGATE_EXCEPTIONS"] = False
    response = post(app.test_client(), annotation_payload(9400, 3400))
    assert response.status_code == 500
    fresh()
    (event,) = db.session.scalars(sa.select(WebhookEvent)).all()
    assert (event.status, event.detail) == ("failed", "could not be stored: RuntimeError")


def test_a_fault_while_placing_one_delivery_takes_back_only_that_one(background, monkeypatch):
    linked_claims(2, first_task=3500)
    real = webhook.store_versions_rows

    def broken_for_one(items, **kwargs):
        # The batch's one store fails, then each delivery is stored on its own: only 9501 fails.
        if any(p.ls_id == 9501 for _, p in items):
            raise RuntimeError("a bug of ours")
        return real(items, **kwargs)

    monkeypatch.setattr(webhook, "store_versions_rows", broken_for_one)
    kept(background, [annotation_payload(9500 + n, 3500 + n % 2) for n in range(3)])
    with background.app_context():
        assert webhook.place_pending() == 3
    assert statuses() == {"processed": 2, "failed": 1}
    assert count(Annotation) == 2


def test_a_delivery_the_database_cannot_take_in_time_is_kept_on_disk_and_stored_once(app, monkeypatch):
    linked_claims(1, first_task=3600)
    client = app.test_client()  # placing inline: what is kept on disk waits for the next placer

    @contextmanager
    def unavailable(*wait):
        raise sa.exc.OperationalError("INSERT", {}, Exception("server closed the connection unexpectedly"))
        yield

    monkeypatch.setattr(webhook, "_intake_connection", unavailable)
    response = post(client, annotation_payload(9600, 3600))
    assert response.status_code == 202 and response.json["event_id"] is None
    assert "kept on disk" in response.json["detail"]
    monkeypatch.undo()
    folder = webhook_spool.directory(app)
    (kept,) = webhook_spool.pending(folder)
    copy = kept.read_bytes()
    with app.app_context():
        assert webhook.place_pending() == 1
        # A placer that died after committing the move but before removing the file: moved again,
        # it is stored once.
        (folder / kept.name).write_bytes(copy)
        assert webhook.place_pending() == 0
    assert not webhook_spool.pending(folder)
    fresh()
    (event,) = db.session.scalars(sa.select(WebhookEvent)).all()
    assert event.status == "processed" and event.spool_key == kept.name.removesuffix(".body")
    assert event.body_sha256 and event.body_length == len(copy)


def test_without_redis_queued_placing_falls_back_to_the_thread(background):
    background.config.update(WEBHOOK_PLACING="queue", REDIS_URL="redis://127.0.0.1:9/0")
    linked_claims(1, first_task=3700)
    response = post(background.test_client(), annotation_payload(9700, 3700))
    assert response.status_code == 202
    assert webhook_placer.placer(background).wait_idle(30)
    assert statuses() == {"processed": 1}


REDIS_URL = os.environ.get("WORKBENCH_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


def test_queued_placing_queues_one_job_for_many_deliveries_and_a_worker_places_them(
    background, database_url, tmp_path, monkeypatch
):
    from redis import Redis
    from redis.exceptions import ConnectionError as RedisDown
    from rq import Queue, SimpleWorker

    from workbench.jobs import QUEUE

    redis = Redis.from_url(REDIS_URL)
    try:
        redis.flushdb()
    except RedisDown:
        pytest.skip(f"no Redis at {REDIS_URL}")
    try:
        background.config.update(WEBHOOK_PLACING="queue", REDIS_URL=REDIS_URL)
        linked_claims(2, first_task=3800)
        client = background.test_client()
        for n in range(5):
            assert post(client, annotation_payload(9800 + n, 3800 + n % 2)).status_code == 202
        queue = Queue(QUEUE, connection=redis)
        assert queue.count == 1  # one job places them all
        # The worker builds its app from the environment, as `workbench worker` does.
        monkeypatch.setenv("WORKBENCH_DATABASE_URL", database_url)
        monkeypatch.setenv("WORKBENCH_INSTANCE_PATH", str(tmp_path / "worker"))
        monkeypatch.setenv("WORKBENCH_LABEL_STUDIO_URL", "http://127.0.0.1:9")
        SimpleWorker([queue], connection=redis).work(burst=True)
        assert statuses() == {"processed": 5}
        assert post(client, annotation_payload(9805, 3800)).status_code == 202
        assert queue.count == 1  # the job began by clearing its mark: the next delivery queues another
    finally:
        redis.flushdb()
        redis.close()


def test_an_unknown_placing_mode_is_refused_in_one_line(monkeypatch, tmp_path):
    from workbench import create_app

    monkeypatch.setenv("WORKBENCH_WEBHOOK_PLACING", "later")
    with pytest.raises(
        ValueError, match="WORKBENCH_WEBHOOK_PLACING must be one of background, queue, inline"
    ):
        create_app()


def test_the_placer_thread_places_what_an_earlier_process_left(background):
    linked_claims(1, first_task=3900)
    kept(background, [annotation_payload(9900, 3900)])
    # Any request starts this process's placer; its first round finds the delivery.
    assert background.test_client().get("/health").status_code == 200
    deadline = time.monotonic() + 30
    while statuses() != {"processed": 1}:
        assert time.monotonic() < deadline, statuses()
        time.sleep(0.1)


def test_served_over_http_the_events_list_says_when_each_was_placed(served):
    from tests.factories import make_user

    linked_claims(1, first_task=4000)
    assert deliver(served, annotation_payload(9990, 4000)).status_code == 202
    until_placed(served)
    admin = make_user("admin")
    items = requests.get(
        f"{served}/api/v1/hooks/label-studio/events", headers=admin.headers, timeout=30
    ).json()["items"]
    assert items[0]["status"] == "processed" and items[0]["placed_at"] >= items[0]["received_at"]


# ------------------------------------------------------------------ PostgreSQL: one round trip


def test_on_postgresql_intake_is_one_bounded_statement_that_leaves_the_app_s_connections_alone(background):
    """Keeping a delivery on PostgreSQL runs on a pool of its own whose connections commit each
    statement and carry the timeouts: a table locked by someone else costs at most the wait (the
    delivery goes to disk, answered), and no connection of the app's own pool inherits a timeout."""
    if db.engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL's intake pool (SQLite keeps a delivery in a transaction of its own)")
    linked_claims(2, first_task=3700)
    with background.app_context():
        first = webhook.keep(json.dumps(annotation_payload(9700, 3700)).encode())
        assert first.event_id is not None
        engine = webhook.intake_engine(background, webhook.INTAKE_WAIT["postgresql"])
        with engine.connect() as conn:
            assert conn.exec_driver_sql("SHOW statement_timeout").scalar() == "500ms"
            assert conn.exec_driver_sql("SHOW lock_timeout").scalar() == "500ms"
        with db.engine.connect() as conn:
            assert conn.exec_driver_sql("SHOW statement_timeout").scalar() == "0"
        with db.engine.connect() as locker, locker.begin():
            locker.exec_driver_sql("LOCK TABLE webhook_events IN ACCESS EXCLUSIVE MODE")
            started = time.monotonic()
            second = webhook.keep(json.dumps(annotation_payload(9701, 3701)).encode())
            waited = time.monotonic() - started
        assert second.event_id is None and second.spooled, second
        assert 0.4 < waited < 1.0, waited
        # Released: the next placer round moves it into the table and places it, once.
        webhook_placer.placer(background).wake()
        assert webhook_placer.placer(background).wait_idle(30)
    deadline = time.monotonic() + 30
    while statuses() != {"processed": 2} and time.monotonic() < deadline:
        webhook_placer.placer(background).wake()
        time.sleep(0.2)
    assert statuses() == {"processed": 2}
