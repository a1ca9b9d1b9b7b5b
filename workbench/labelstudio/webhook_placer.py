"""Who places kept webhook deliveries when the request does not: a thread of the web process, or
an RQ worker.

Each web process (each gunicorn worker) starts one placer thread at its first request, with its
own app context and database session. The request wakes it and answers; the thread places every
delivery that waits, a few per transaction, in the table's order, whichever process kept them
(placers skip each other's rows, see ``webhook._place_batch``), until none is left. It also
wakes on its own every few seconds, to move deliveries kept on disk into the table and to place
any a process left behind (it died, the server restarted). With ``WEBHOOK_PLACING=queue`` the
request queues one RQ job instead (one queued at a time is enough: a job places everything that
waits) and the thread only does those rounds; a Redis that fails falls back to the thread.
Whatever still slips is placed by sync and by the worker's schedule.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from typing import Any

from flask import Flask

log = logging.getLogger("workbench.webhook")

#: Seconds the thread sleeps when nobody wakes it, before it looks for deliveries anyway.
ROUND_EVERY = 2.0
#: Redis key set while a placing job is queued and not yet started.
QUEUED_KEY = "workbench:webhook:placing-queued"

_lock = threading.Lock()


class Placer:
    """One process's placer thread, woken by each kept delivery."""

    def __init__(self, app: Flask):
        self.app = app
        self.pid = os.getpid()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._busy = threading.Event()
        self._thread = threading.Thread(target=self._run, name="webhook-placer", daemon=True)
        self._thread.start()

    @property
    def alive(self) -> bool:
        return self._thread.is_alive() and self.pid == os.getpid()

    def wake(self) -> None:
        """Say that a delivery was kept (in the table or on disk)."""
        self._wake.set()

    def wait_idle(self, timeout: float = 30.0) -> bool:
        """Wait until the thread has placed everything it was woken for; say whether in time."""
        deadline = time.monotonic() + timeout
        while self._wake.is_set() or self._busy.is_set():
            if time.monotonic() > deadline:
                return False
            time.sleep(0.01)
        return True

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self._wake.set()
        self._thread.join(timeout)

    def _run(self) -> None:
        from workbench.db import db
        from workbench.labelstudio.webhook import place_pending

        while not self._stop.is_set():
            self._wake.wait(ROUND_EVERY)
            if self._stop.is_set():
                break
            self._busy.set()
            self._wake.clear()  # a delivery kept from now on wakes the next round
            try:
                with self.app.app_context():
                    try:
                        place_pending()
                    finally:
                        db.session.remove()
            except Exception:  # the thread must outlive a database that is down for a while
                log.exception("webhook placer: a round failed; the deliveries wait for the next")
                self._stop.wait(1.0)
            finally:
                self._busy.clear()


def placer(app: Flask) -> Placer:
    """Return this process's placer for ``app``, starting it (again, after a fork) when needed."""
    current = app.extensions.get("webhook_placer")
    if current is not None and current.alive:
        return current
    with _lock:
        current = app.extensions.get("webhook_placer")
        if current is None or not current.alive:
            current = Placer(app)
            app.extensions["webhook_placer"] = current
        return current


def stop(app: Flask) -> None:
    """Stop ``app``'s placer thread, if it has one (tests; a server just exits)."""
    current = app.extensions.pop("webhook_placer", None)
    if current is not None:
        current.stop()


def hand_over(app: Flask, event_id: int | None, mode: str) -> None:
    """Have a kept delivery placed: queue a job (``queue`` with Redis), else the process's thread."""
    if mode == "queue" and event_id is not None and app.config.get("REDIS_URL"):
        try:
            _queue_job(app)
            return
        except Exception as exc:  # noqa: BLE001 - Redis down: the thread places it instead
            log.warning("webhook placing job not queued (%r); placing in this process", exc)
    placer(app).wake()


def _redis(app: Flask):
    from redis import Redis

    connection = app.extensions.get("webhook_redis")
    if connection is None:
        connection = Redis.from_url(app.config["REDIS_URL"], socket_timeout=0.5, socket_connect_timeout=0.5)
        app.extensions["webhook_redis"] = connection
    return connection


def _queue_job(app: Flask) -> None:
    """Queue one placing job unless one is queued and not started yet (it will place this one)."""
    from rq import Queue

    from workbench.jobs import QUEUE

    connection = _redis(app)
    if not connection.set(QUEUED_KEY, "1", nx=True, ex=300):
        return
    try:
        Queue(QUEUE, connection=connection).enqueue(
            place_job, job_timeout=3600, result_ttl=3600, failure_ttl=7 * 24 * 3600
        )
    except Exception:
        connection.delete(QUEUED_KEY)
        raise


def place_job() -> dict[str, Any]:
    """Entry point for RQ workers: place every delivery that waits."""
    from rq import get_current_job

    from workbench import create_app
    from workbench.db import db
    from workbench.labelstudio.webhook import place_pending

    job = get_current_job()
    if job is not None:
        # First: a delivery kept from now on queues another job, which will find it.
        job.connection.delete(QUEUED_KEY)
    app = create_app()
    with app.app_context():
        try:
            return {"placed": place_pending()}
        finally:
            db.session.remove()
            db.engine.dispose()


def ensure_started(app: Flask) -> None:
    """Start this process's placer (it sweeps what an earlier process left) unless placing is inline."""
    from workbench.labelstudio.webhook import placing_mode

    if placing_mode(app.config) != "inline":
        placer(app)
