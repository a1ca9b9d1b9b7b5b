"""One job API for background work: inline by default, RQ workers on Redis when configured."""

from __future__ import annotations

import os
import socket
import time
import uuid
from collections.abc import Callable
from contextvars import ContextVar
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


def _ingest_part(items: list[dict[str, Any]], actor: str, user_id: int | None, via: str) -> dict[str, Any]:
    from workbench.ingest.bulk import ingest_items

    return ingest_items(items, current_app.config, actor=actor, user_id=user_id, via=via, progress=progress)


def _ingest_gather(
    results: list[dict[str, Any]], actor: str, user_id: int | None, via: str, job_id: str | None = None
) -> dict[str, Any]:
    from workbench.ingest.bulk import gather

    return gather(results, actor=actor, via=via, job_id=job_id)


def _export(actor: str, query: dict[str, Any], export_id: str) -> dict[str, Any]:
    from workbench.export.jobs import export_file

    return export_file(actor=actor, query=query, export_id=export_id, progress=progress)


# Every job by name. A job reports how far it has got with ``progress(done, total)``.
JOBS: dict[str, Callable[..., dict[str, Any]]] = {
    "labelstudio.push": _push,
    "labelstudio.sync": _sync,
    # One part of a bulk ingest, and the step that merges the parts' results (enqueue_parts).
    "ingest.bulk": _ingest_part,
    "ingest.bulk.gather": _ingest_gather,
    # An export written to a file of the instance folder, with its manifest.
    "export.file": _export,
}
# Jobs that run one at a time hold the lock of their name (workbench/locks.py).
LOCKED = {"labelstudio.push", "labelstudio.sync"}
# How long RQ keeps a failed job (and so how far back `workbench worker` looks for jobs whose
# process died, to queue them again).
FAILURE_TTL = 30 * 24 * 3600


Progress = Callable[[int, int], None]
# Where the running job's progress goes: the inline caller's callback, or the RQ job's meta.
_progress_sink: ContextVar[Progress | None] = ContextVar("workbench_job_progress", default=None)
# Seconds between two progress writes to Redis (the last one is always written).
PROGRESS_EVERY = 0.5


def progress(done: int, total: int) -> None:
    """Report how far the running job has got (``GET /api/v1/jobs/<id>``, the CLI's bar)."""
    sink = _progress_sink.get()
    if sink is not None:
        sink(done, total)


def _plain(result: Any) -> dict[str, Any]:
    data = asdict(result) if is_dataclass(result) and not isinstance(result, type) else dict(result)
    data.pop("task_ids", None)  # can be thousands of ids; the links table has them
    return data


def _queue():
    from redis import Redis
    from rq import Queue

    return Queue(QUEUE, connection=Redis.from_url(current_app.config["REDIS_URL"]))


def _inline(name: str, kwargs: dict[str, Any], on_progress: Progress | None) -> dict[str, Any]:
    token = _progress_sink.set(on_progress)
    try:
        return JOBS[name](**kwargs)
    finally:
        _progress_sink.reset(token)


def enqueue(name: str, *, on_progress: Progress | None = None, **kwargs: Any) -> dict[str, Any]:
    """Run a job now (no Redis configured) or queue it for an RQ worker; describe what happened.

    ``on_progress(done, total)`` is called as an inline job goes (a queued job's progress is
    read with ``status``).
    """
    if name not in JOBS:
        raise ValidationError(f"unknown job {name!r}")
    if not current_app.config.get("REDIS_URL"):
        return {
            "id": None,
            "mode": "inline",
            "status": "finished",
            "result": _inline(name, kwargs, on_progress),
        }
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
    return {"id": job.id, "mode": "rq", "status": _status_name(job), "result": None}


def enqueue_parts(
    name: str,
    parts: list[dict[str, Any]],
    *,
    gather: str,
    total: int,
    on_progress: Progress | None = None,
    **common: Any,
) -> dict[str, Any]:
    """Run a job as parts (in parallel, one per free RQ worker) and a ``gather`` job that merges
    their results; describe it as one job whose progress (out of ``total``) sums the parts'.

    Each part is called with ``**part, **common``; ``gather`` with ``results`` (a part that
    failed as a whole gives ``{"failed_part": why, **part}``), ``job_id`` and ``**common``.
    """
    if name not in JOBS or gather not in JOBS:
        raise ValidationError(f"unknown job {name!r} or {gather!r}")
    if not current_app.config.get("REDIS_URL"):
        results, before = [], 0

        def shifted(done: int, _part_total: int) -> None:
            if on_progress is not None:
                on_progress(before + done, total)

        for part in parts:
            results.append(_inline(name, {**part, **common}, shifted))
            before += int(results[-1].get("total", 0))
        result = _inline(gather, {"results": results, "job_id": None, **common}, None)
        return {
            "id": None,
            "mode": "inline",
            "status": "finished",
            "result": result,
            "progress": {"done": total, "total": total},
        }
    from rq.job import Dependency

    queue = _queue()
    job_id = uuid.uuid4().hex
    part_ids = [f"{job_id}-{n}" for n in range(len(parts))]
    for part_id, part in zip(part_ids, parts, strict=True):
        queue.enqueue(run_job, name, {**part, **common}, job_id=part_id, **_KEEP)
    job = queue.enqueue(
        run_job,
        gather,
        {"part_ids": part_ids, "job_id": job_id, **common},
        job_id=job_id,
        depends_on=Dependency(jobs=part_ids, allow_failure=True),
        meta={"parts": part_ids, "total": total},
        **_KEEP,
    )
    return {
        "id": job.id,
        "mode": "rq",
        "status": "queued",
        "result": None,
        "progress": {"done": 0, "total": total},
    }


# How long RQ runs and keeps a job.
_KEEP = {"job_timeout": 3600, "result_ttl": 7 * 24 * 3600, "failure_ttl": FAILURE_TTL}


def _part_results(part_ids: list[str], connection: Any) -> list[dict[str, Any]]:
    """The parts' results, in order; a part that failed as a whole names why, with its items."""
    from rq.job import Job

    results = []
    for part_id, part in zip(part_ids, Job.fetch_many(part_ids, connection=connection), strict=True):
        value = part.return_value() if part is not None else None
        if isinstance(value, dict):
            results.append(value)
            continue
        why = _error_line(part) if part is not None else f"job {part_id} is gone"
        kwargs = part.args[1] if part is not None and len(part.args) > 1 else {}
        results.append({"failed_part": why or "failed", **{k: v for k, v in kwargs.items() if k == "items"}})
    return results


def _status_name(job: Any) -> str | None:
    """RQ's status as its plain name (``queued``, ``started``, ``finished``…): RQ 2 returns an
    enum whose ``str()`` is ``JobStatus.FINISHED``."""
    value = job.get_status()
    return getattr(value, "value", value)


def _error_line(job: Any) -> str:
    latest = job.latest_result()
    lines = (latest.exc_string or "").strip().splitlines() if latest is not None else []
    return lines[-1] if lines else ""


def status(job_id: str) -> dict[str, Any]:
    """Describe a queued job: its status, progress (done/total, or null before it reports), its
    result, or why it failed."""
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
        "status": _status_name(job),
        "result": job.return_value(),
        "progress": job.meta.get("progress"),
    }
    if "parts" in job.meta:
        body.update(_parts_status(job, queue.connection))
    if body["status"] == "failed":
        body["error"] = [_error_line(job)] if _error_line(job) else []
    return body


def _parts_status(job: Any, connection: Any) -> dict[str, Any]:
    """A job run as parts: its progress sums theirs; while it waits for them it is started
    once one of them is."""
    from rq.job import Job, JobStatus

    parts = [p for p in Job.fetch_many(job.meta["parts"], connection=connection) if p is not None]
    done = 0
    for part in parts:
        reported = part.meta.get("progress") or {}
        done += int(reported.get("done", 0))
    total = int(job.meta.get("total", 0))
    body: dict[str, Any] = {"progress": {"done": min(done, total), "total": total}}
    if job.get_status() == JobStatus.DEFERRED:
        begun = any(p.get_status() not in (JobStatus.QUEUED, JobStatus.DEFERRED) for p in parts)
        body["status"] = "started" if begun else "queued"
    return body


def run_job(name: str, kwargs: dict[str, Any]) -> dict[str, Any]:
    """Entry point for RQ workers: build the app from the environment and run one job in it."""
    from workbench import create_app
    from workbench.db import db, writer

    job = _record_runner()
    app = create_app()
    _wait_after_a_death(job, app)
    if "part_ids" in kwargs:
        from redis import Redis

        part_ids = kwargs["part_ids"]
        kwargs = {k: v for k, v in kwargs.items() if k != "part_ids"}
        connection = job.connection if job is not None else Redis.from_url(app.config["REDIS_URL"])
        kwargs["results"] = _part_results(part_ids, connection)
    token = _progress_sink.set(_saving_progress(job) if job is not None else None)
    with app.app_context(), writer():
        try:
            return JOBS[name](**kwargs)
        except WorkbenchError:
            db.session.rollback()
            raise
        finally:
            _progress_sink.reset(token)
            if name in LOCKED and kwargs.get("job_id"):
                # The door took the lock for this job: give it back even when the job failed
                # before adopting it (Label Studio down, say), or it would answer 409 until it expires.
                locks.release(name, kwargs["job_id"])
            # Each job builds its own app and engine: close its connections rather than leak them.
            db.session.remove()
            db.engine.dispose()


def _saving_progress(job: Any) -> Progress:
    """A progress sink that keeps ``{done, total}`` in the RQ job's meta, at most every
    PROGRESS_EVERY seconds (and always the last report)."""
    last = [0.0]

    def save(done: int, total: int) -> None:
        now = time.monotonic()
        if done < total and now - last[0] < PROGRESS_EVERY:
            return
        last[0] = now
        job.meta["progress"] = {"done": done, "total": total}
        job.save_meta()

    return save


def _record_runner():
    """Note in the RQ job which process runs it (this work horse and its worker), so that a
    ``workbench worker`` on this machine queues the job again if both die mid-run
    (``workbench.worker.Recovery``). Every job here is safe to run again: a push links what an
    earlier attempt imported before it imports the rest, a sync repairs only what is missing, and
    a bulk ingest part finds the articles an earlier attempt stored (reported as duplicates)."""
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
