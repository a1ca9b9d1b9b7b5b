"""``workbench worker``: an RQ worker for the job queue, and the scheduled reconcile.

Every ``WORKBENCH_SYNC_INTERVAL`` seconds each worker tries to queue a sync; the sync lock
(taken when the job is queued, given back when it ends) lets one be queued or running at a
time however many workers there are, so the others skip that turn.
"""

from __future__ import annotations

import logging
import threading

from flask import Flask

from workbench.errors import Conflict, WorkbenchError

log = logging.getLogger("workbench.worker")


def schedule_sync(app: Flask, interval: float, stop: threading.Event) -> None:
    """Queue a sync every ``interval`` seconds until ``stop`` is set (one at a time, by the lock)."""
    from workbench import jobs
    from workbench.db import db

    while not stop.wait(interval):
        with app.app_context():
            try:
                started = jobs.enqueue("labelstudio.sync", actor="schedule")
                log.info("scheduled sync queued as job %s", started["id"])
            except Conflict:
                log.info("scheduled sync skipped: a sync is already queued or running")
            except WorkbenchError as exc:
                log.warning("scheduled sync not queued: %s", exc.message)
            except Exception:  # the schedule must outlive one bad turn (Redis restarting, say)
                log.exception("scheduled sync not queued")
            finally:
                db.session.remove()


def run(app: Flask, *, burst: bool = False) -> None:
    """Work the queue until stopped, queueing the reconcile on its schedule meanwhile."""
    from redis import Redis
    from rq import Queue, Worker

    from workbench.jobs import QUEUE

    url = app.config.get("REDIS_URL")
    if not url:
        raise WorkbenchError("workbench worker needs WORKBENCH_REDIS_URL (jobs run inline without it)")
    connection = Redis.from_url(url)
    stop = threading.Event()
    interval = float(app.config.get("SYNC_INTERVAL") or 0)
    scheduler = None
    if interval > 0:
        scheduler = threading.Thread(
            target=schedule_sync, args=(app, interval, stop), name="sync-schedule", daemon=True
        )
        scheduler.start()
    try:
        Worker([Queue(QUEUE, connection=connection)], connection=connection).work(burst=burst)
    finally:
        stop.set()
        if scheduler is not None:
            scheduler.join(timeout=5)
