"""One job API for background work: inline by default, RQ workers on Redis when configured."""

from __future__ import annotations

import os
import socket
import time
import uuid
from collections.abc import Callable
from dataclasses import asdict, is_dataclass
from typing import Any

from flask import current_app

from workbench import locks
from workbench.errors import NotFound, ValidationError, WorkbenchError

QUEUE = "workbench"


def _push(actor: str, job_id: str | None = None) -> dict[str, Any]:
    from workbench.labelstudio import service

    return _plain(service.push(actor=actor, job_id=job_id))


def _sync(actor: str, job_id: str | None = None) -> dict[str, Any]:
    from workbench.labelstudio import service

    result = service.sync(actor=actor, job_id=job_id)
    return {**_plain(result), "total_repaired": result.total_repaired}


JOBS: dict[str, Callable[..., dict[str, Any]]] = {"labelstudio.push": _push, "labelstudio.sync": _sync}
# Jobs that run one at a time hold the lock of their name (workbench/locks.py).
LOCKED = {"labelstudio.push", "labelstudio.sync"}
# How long RQ keeps a failed job (and so how far back `workbench worker` looks for jobs whose
# process died, to queue them again).
FAILURE_TTL = 30 * 24 * 3600


def _plain(result: Any) -> dict[str, Any]:
    data = asdict(result) if is_dataclass(result) else dict(result)
    data.pop("task_ids", None)  # can be thousands of ids; the links table has them
    return data


def _queue():
    from redis import Redis
    from rq import Queue

    return Queue(QUEUE, connection=Redis.from_url(current_app.config["REDIS_URL"]))


def enqueue(name: str, **kwargs: Any) -> dict[str, Any]:
    """Run a job now (no Redis configured) or queue it for an RQ worker; describe what happened."""
    if name not in JOBS:
        raise ValidationError(f"unknown job {name!r}")
    if not current_app.config.get("REDIS_URL"):
        return {"id": None, "mode": "inline", "status": "finished", "result": JOBS[name](**kwargs)}
    job_id = uuid.uuid4().hex
    if name in LOCKED:
        # Taken here, so a second request answers 409 while the first is still queued; the
        # worker adopts it by the job id and gives it back when the job ends.
        locks.acquire(name, str(kwargs.get("actor") or "api"), job_id=job_id)
        kwargs = {**kwargs, "job_id": job_id}
    try:
        job = _queue().enqueue(
            run_job,
            name,
            kwargs,
            job_id=job_id,
            job_timeout=3600,
            result_ttl=7 * 24 * 3600,
            failure_ttl=FAILURE_TTL,
        )
    except Exception:
        if name in LOCKED:
            locks.release(name, job_id)
        raise
    return {"id": job.id, "mode": "rq", "status": job.get_status(), "result": None}


def status(job_id: str) -> dict[str, Any]:
    """Describe a queued job: its status, its result, or why it failed."""
    from rq.exceptions import NoSuchJobError
    from rq.job import Job

    if not current_app.config.get("REDIS_URL"):
        raise NotFound("jobs run inline here (WORKBENCH_REDIS_URL is not set): there is nothing to look up")
    queue = _queue()
    try:
        job = Job.fetch(job_id, connection=queue.connection)
    except NoSuchJobError:
        raise NotFound(f"no job {job_id}") from None
    body: dict[str, Any] = {
        "id": job.id,
        "mode": "rq",
        "status": job.get_status(),
        "result": job.return_value(),
    }
    if body["status"] == "failed":
        body["error"] = (
            (job.latest_result().exc_string or "").strip().splitlines()[-1:] if job.latest_result() else []
        )
    return body


def run_job(name: str, kwargs: dict[str, Any]) -> dict[str, Any]:
    """Entry point for RQ workers: build the app from the environment and run one job in it."""
    from workbench import create_app
    from workbench.db import db, writer

    job = _record_runner()
    app = create_app()
    _wait_after_a_death(job, app)
    with app.app_context(), writer():
        try:
            return JOBS[name](**kwargs)
        except WorkbenchError:
            db.session.rollback()
            raise
        finally:
            if name in LOCKED and kwargs.get("job_id"):
                # The door took the lock for this job: give it back even when the job failed
                # before adopting it (Label Studio down, say), or it would answer 409 until it expires.
                locks.release(name, kwargs["job_id"])
            # Each job builds its own app and engine: close its connections rather than leak them.
            db.session.remove()
            db.engine.dispose()


def _record_runner():
    """Note in the RQ job which process runs it (this work horse and its worker), so that a
    ``workbench worker`` on this machine queues the job again if both die mid-run
    (``workbench.worker.Recovery``). Every job here is safe to run again: a push links what an
    earlier attempt imported before it imports the rest, and a sync repairs only what is missing."""
    from rq import get_current_job

    job = get_current_job()
    if job is None:  # called directly, not by a worker
        return None
    job.meta["runner"] = {
        "host": socket.gethostname(),
        "pid": os.getpid(),
        "worker_pid": os.getppid(),
        "worker": os.environ.get("RQ_WORKER_ID"),
    }
    job.save_meta()
    return job


def _wait_after_a_death(job, app) -> None:
    """A job queued again at once after its work horse died (``workbench.worker``) starts only
    once ``orphan_grace`` has passed since the death: a Label Studio import the dead run had in
    flight has landed by then, and the push links those tasks instead of importing them twice."""
    died_at = job.meta.get("died_at") if job is not None else None
    if not isinstance(died_at, int | float):
        return
    from workbench.worker import orphan_grace

    remaining = float(died_at) + orphan_grace(app) - time.time()
    if remaining > 0:
        time.sleep(min(remaining, orphan_grace(app)))
