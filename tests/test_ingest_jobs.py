"""Bulk ingest on RQ: real ``workbench worker`` processes on the Redis at 127.0.0.1, progress
(done/total) reported while the parts run, the per-item errors in the result."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from contextlib import ExitStack, contextmanager
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.conftest import REPO, fresh_redis
from tests.served import stop
from tests.test_ingest_bulk import article_text, jsonl
from workbench import jobs
from workbench.db import db
from workbench.ingest import bulk
from workbench.models import Article, AuditEvent

REDIS_URL = os.environ.get("WORKBENCH_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


@pytest.fixture
def redis_url(app):
    with fresh_redis(REDIS_URL):
        app.config["REDIS_URL"] = REDIS_URL
        yield REDIS_URL


@contextmanager
def workers(database_url: str, instance: Path, count: int = 2):
    """Start ``count`` real ``workbench worker`` processes; stop them by their pids."""
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("WORKBENCH_")},
        "WORKBENCH_DATABASE_URL": database_url,
        "WORKBENCH_INSTANCE_PATH": str(instance),
        "WORKBENCH_REDIS_URL": REDIS_URL,
        "WORKBENCH_SYNC_INTERVAL": "0",
        "WORKBENCH_SECRET_KEY": "test",
    }
    with ExitStack() as stack:
        procs = []
        for n in range(count):
            log = stack.enter_context(open(instance / f"worker-{n}.log", "w+b"))  # noqa: SIM115
            proc = subprocess.Popen(
                [str(Path(sys.executable).with_name("workbench")), "worker"],
                env=env,
                cwd=REPO,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
            stack.callback(stop, proc, 20)
            procs.append(proc)
        yield procs


def wait_for_workers(count: int, procs, log_dir: Path) -> None:
    """Wait until ``count`` workers are registered with Redis (ready to take jobs)."""
    from redis import Redis
    from rq import Worker

    deadline = time.monotonic() + 60
    while len(Worker.all(connection=Redis.from_url(REDIS_URL))) < count:
        assert time.monotonic() < deadline, (log_dir / "worker-0.log").read_text(errors="replace")
        assert all(p.poll() is None for p in procs), (log_dir / "worker-0.log").read_text(errors="replace")
        time.sleep(0.1)


def fresh() -> None:
    db.session.remove()


def test_a_bulk_ingest_runs_on_two_workers_and_reports_progress_and_errors(
    app, redis_url, database_url, tmp_path
):
    lines = [{"text": article_text(n)} for n in range(8)]
    lines.insert(3, "{broken")
    lines.insert(7, {"text": article_text(1)})  # a duplicate of line 2
    items = bulk.items_from_jsonl(jsonl(*lines))
    seen = []
    with workers(database_url, tmp_path) as procs:
        wait_for_workers(2, procs, tmp_path)
        started = jobs.enqueue_parts(
            "ingest.bulk",
            [{"items": part} for part in bulk.parts_of(items, size=3)],
            gather="ingest.bulk.gather",
            total=len(items),
            actor="admin@example.org",
            user_id=None,
            via="api",
        )
        assert started["mode"] == "rq" and started["progress"] == {"done": 0, "total": 10}
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            state = jobs.status(started["id"])
            seen.append((state["status"], state["progress"]["done"]))
            if state["status"] in ("finished", "failed"):
                break
            assert all(p.poll() is None for p in procs), (tmp_path / "worker-0.log").read_text(
                errors="replace"
            )
            time.sleep(0.1)
    assert state["status"] == "finished", state
    assert state["progress"] == {"done": 10, "total": 10}
    assert [done for _, done in seen] == sorted(done for _, done in seen)
    result = state["result"]
    assert (result["created"], result["duplicates"], result["failed"]) == (8, 1, 1)
    assert result["errors"][0]["source"] == "line 4" and "not valid JSON" in result["errors"][0]["message"]
    assert [a["source"] for a in result["articles"]][:3] == ["line 1", "line 2", "line 3"]
    fresh()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Article)) == 8
    event = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "articles.bulk_ingested"))
    assert event.subject_id == started["id"] and event.payload["failed"] == 1
    # Both workers took parts: the parts ran side by side, not one after the other.
    from redis import Redis
    from rq.job import Job

    runners = {
        job.meta["runner"]["worker_pid"]
        for job in Job.fetch_many(
            [f"{started['id']}-{n}" for n in range(4)], connection=Redis.from_url(REDIS_URL)
        )
    }
    assert runners <= {p.pid for p in procs} and len(runners) == 2


def test_the_cli_waits_for_the_queued_job_and_prints_its_result(
    app, redis_url, database_url, tmp_path, runner
):
    path = tmp_path / "articles.jsonl"
    path.write_bytes(jsonl({"text": article_text(1)}, "[]", {"text": article_text(2)}))
    queued = runner.invoke(args=["ingest", "--jsonl", str(path), "--no-wait"])
    assert queued.exit_code == 0 and queued.output.startswith("queued as job ")
    job_id = queued.output.split()[3].rstrip(":")
    state = jobs.status(job_id)
    assert (state["status"], state["progress"], state["result"]) == ("queued", {"done": 0, "total": 3}, None)
    with workers(database_url, tmp_path, count=1):
        result = runner.invoke(args=["ingest", "--jsonl", str(path), "--format", "json"])
    assert result.exit_code == 1, result.output
    body = json.loads(result.output)
    assert (body["created"] + body["duplicates"], body["failed"]) == (2, 1)
    assert body["errors"][0]["source"] == "articles.jsonl line 2"
