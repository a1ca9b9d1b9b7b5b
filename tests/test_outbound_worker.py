"""Outbound events through Redis and a real ``workbench worker`` process: queued after commit,
attempted by the worker, its retry scheduled with RQ at the backoff, a resume sent again."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.conftest import REPO, fresh_redis
from tests.served import stop
from tests.test_outbound import OUTBOUND, Receiver, attempts, deliveries, register
from workbench import signals
from workbench.db import db
from workbench.models import OutboundDelivery
from workbench.outbound import delivery, endpoints

REDIS_URL = os.environ.get("WORKBENCH_TEST_OUTBOUND_REDIS_URL", "redis://127.0.0.1:6379/9")


@pytest.fixture
def redis_db():
    with fresh_redis(REDIS_URL) as connection:
        yield connection


@pytest.fixture
def worker(app, redis_db, database_url, tmp_path):
    app.config.update(OUTBOUND, REDIS_URL=REDIS_URL)
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("WORKBENCH_")},
        "WORKBENCH_DATABASE_URL": database_url,
        "WORKBENCH_INSTANCE_PATH": str(tmp_path),
        "WORKBENCH_REDIS_URL": REDIS_URL,
        "WORKBENCH_SYNC_INTERVAL": "0",
        "WORKBENCH_SECRET_KEY": "test",
        "WORKBENCH_LABEL_STUDIO_URL": "http://127.0.0.1:9",
        "WORKBENCH_OUTBOUND_ALLOW_PRIVATE": "1",
        "WORKBENCH_OUTBOUND_TIMEOUT": "1",
        # Long enough that the retry the worker schedules stays scheduled while the test runs:
        # the test reads it in RQ's registry, then lets the sweep deliver it (see below).
        "WORKBENCH_OUTBOUND_RETRY_BASE": "60",
    }
    log = open(tmp_path / "worker.log", "w+b")  # noqa: SIM115 - closed below
    process = subprocess.Popen(
        [str(Path(sys.executable).with_name("workbench")), "worker"],
        env=env,
        cwd=REPO,
        stdin=subprocess.DEVNULL,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    yield process, tmp_path / "worker.log"
    stop(process, timeout=20)
    log.close()


def wait_for(check, process, log: Path, seconds: float = 30):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        db.session.rollback()
        db.session.expire_all()
        if check():
            return
        assert process.poll() is None, log.read_text(errors="replace")
        time.sleep(0.2)
    raise AssertionError(
        f"not reached in {seconds} s; worker log:\n{log.read_text(errors='replace')[-3000:]}"
    )


def test_events_go_through_the_queue_to_a_real_worker(app, worker, redis_db):
    from rq import Queue
    from rq.registry import ScheduledJobRegistry

    process, log = worker
    receiver = Receiver()
    try:
        endpoint_id, receiver.secret = register(receiver.url)
        receiver.mode = "fail"
        signals.export_finished.send({"format": "jsonl", "count": 1}, actor="cli")
        db.session.commit()  # queued, not sent here
        wait_for(lambda: len(attempts()) == 1, process, log)
        (d,) = deliveries()
        assert (d.state, d.retries) == ("pending", 1) and attempts()[0].error == "answered HTTP 503"
        # The worker schedules the retry with RQ at the backoff (RQ's scheduler releases it), just
        # after it commits the attempt: wait for it, then check it is set for the next attempt.
        scheduled = ScheduledJobRegistry(queue=Queue("workbench", connection=redis_db))
        wait_for(lambda: len(scheduled.get_job_ids()) == 1, process, log)
        (job_id,) = scheduled.get_job_ids()
        due = d.next_attempt_at if d.next_attempt_at.tzinfo else d.next_attempt_at.replace(tzinfo=UTC)
        at = scheduled.get_scheduled_time(job_id)
        at = at if at.tzinfo else at.replace(tzinfo=UTC)
        assert abs((at - due).total_seconds()) < 1.5 and due > datetime.now(UTC) + timedelta(seconds=30)

        # The sweep, where no scheduler runs, delivers it once it is due: its time is moved to
        # now rather than waited for.
        receiver.mode = "ok"
        assert delivery.deliver_due()["delivered"] == 0  # not due yet
        db.session.execute(
            sa.update(OutboundDelivery)
            .where(OutboundDelivery.id == d.id)
            .values(next_attempt_at=datetime.now(UTC))
        )
        db.session.commit()
        assert delivery.deliver_due()["delivered"] == 1
        assert len(receiver.verified) == 1 and deliveries()[0].state == "delivered"

        # Paused, an event waits; resumed, it goes to the worker and out.
        endpoints.pause(endpoint_id, actor="test")
        db.session.commit()
        signals.export_finished.send({"format": "csv", "count": 2}, actor="cli")
        db.session.commit()
        time.sleep(1.0)
        assert [x.state for x in deliveries()] == ["delivered", "pending"]
        assert endpoints.resume(endpoint_id, actor="test") == 1
        db.session.commit()
        wait_for(lambda: [x.state for x in deliveries()] == ["delivered", "delivered"], process, log)
        assert sorted(p["data"]["manifest"]["count"] for p in receiver.verified) == [1, 2]
        received = [r["headers"]["webhook-id"] for r in receiver.received]
        assert len(set(received)) == 2 and len(received) == 3  # the failed attempt, then one of each
        assert db.session.scalar(sa.select(sa.func.count()).select_from(sa.table("outbound_attempts"))) == 3
    finally:
        receiver.close()
