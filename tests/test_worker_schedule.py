"""``workbench worker`` reconciles on its schedule: missed webhooks repaired with nobody running sync."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.conftest import LS_KEY, LS_URL, REPO, fresh_redis
from tests.factories import make_article, verdict_result
from tests.served import stop
from tests.test_concurrency_http import fresh
from workbench.db import db
from workbench.labelstudio import service
from workbench.models import AuditEvent, Claim, JobLock, LabelStudioLink

pytestmark = pytest.mark.labelstudio

REDIS_URL = os.environ.get("WORKBENCH_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


@pytest.fixture
def redis_db():
    with fresh_redis(REDIS_URL):
        yield REDIS_URL


def test_the_worker_repairs_missed_annotations_on_its_schedule(
    ls_project, redis_db, database_url, tmp_path, ls_client
):
    title, _ = ls_project
    make_article()
    service.push(actor="test")
    fresh()
    link = db.session.scalar(sa.select(LabelStudioLink).order_by(LabelStudioLink.id).limit(1))
    for n in range(2):
        who = int(ls_client.create_user(f"sched-{n}-{os.getpid()}-{time.time_ns()}@example.org")["id"])
        ls_client.create_annotation(
            link.task_id, verdict_result("False", "r", "https://e.org", 3), completed_by=who
        )
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("WORKBENCH_")},
        "WORKBENCH_DATABASE_URL": database_url,
        "WORKBENCH_INSTANCE_PATH": str(tmp_path),
        "WORKBENCH_REDIS_URL": redis_db,
        "WORKBENCH_LABEL_STUDIO_URL": LS_URL,
        "WORKBENCH_LABEL_STUDIO_API_KEY": LS_KEY,
        "WORKBENCH_LABEL_STUDIO_PROJECT": title,
        "WORKBENCH_ANNOTATION_OVERLAP": "2",
        "WORKBENCH_SYNC_INTERVAL": "1",
        "WORKBENCH_SECRET_KEY": "test",
    }
    fresh()
    log = open(tmp_path / "worker.log", "w+b")  # noqa: SIM115 - closed below
    worker = subprocess.Popen(
        [str(Path(sys.executable).with_name("workbench")), "worker"],
        env=env,
        cwd=REPO,
        stdin=subprocess.DEVNULL,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            fresh()
            synced = db.session.scalars(
                sa.select(AuditEvent).where(AuditEvent.action == "labelstudio.synced")
            ).all()
            if synced:
                break
            assert worker.poll() is None, (tmp_path / "worker.log").read_text(errors="replace")
            time.sleep(0.5)
        claim = db.session.get(Claim, link.claim_id)
        assert (claim.annotator_count, claim.status) == (2, "annotated")
        assert synced and synced[0].actor == "schedule" and synced[0].payload["repaired"] == 2
        # Later turns find nothing to repair and leave no lock behind.
        time.sleep(3)
        fresh()
        assert (
            len(
                db.session.scalars(
                    sa.select(AuditEvent).where(AuditEvent.action == "labelstudio.synced")
                ).all()
            )
            == 1
        )
    finally:
        stop(worker, timeout=20)
        log.close()
    # A lock left behind belongs to a sync still queued (taken when queued, freed when it runs), or
    # to one the worker was running when it was stopped (the next worker's recovery re-queues it).
    fresh()
    from redis import Redis
    from rq import Queue
    from rq.registry import StartedJobRegistry

    queue = Queue("workbench", connection=Redis.from_url(redis_db))
    pending = set(queue.job_ids) | set(StartedJobRegistry(queue=queue).get_job_ids())
    assert {lock.job_id for lock in db.session.scalars(sa.select(JobLock))} <= pending
