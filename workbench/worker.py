"""``workbench worker``: an RQ worker for the job queue, and the scheduled reconcile.

Every ``WORKBENCH_SYNC_INTERVAL`` seconds each worker tries to queue a sync; the sync lock
(taken when the job is queued, given back when it ends) lets one be queued or running at a
time however many workers there are, so the others skip that turn.

A job whose process dies mid-run is queued again under the same id: by its own worker when only
the work horse died (``run_again_when_killed``), by whichever worker notices first when the worker
died too (``Recovery``). It then adopts the job's lock and carries on where the dead run
stopped (a push links the tasks Label Studio already has before it imports the rest; a sync
repairs only what is missing).
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from typing import Any

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
    queue = Queue(QUEUE, connection=connection)
    # RQ's own check for jobs whose worker stopped sending heartbeats (on any machine) runs at
    # this interval; Recovery below then queues them again.
    worker = Worker(
        [queue],
        connection=connection,
        maintenance_interval=MAINTENANCE_INTERVAL,
        work_horse_killed_handler=run_again_when_killed,
    )
    stop = threading.Event()
    threads = [
        threading.Thread(
            target=recover_orphans,
            args=(app, Recovery(Redis.from_url(url), worker.name, grace=orphan_grace(app)), stop),
            name="recover-orphans",
            daemon=True,
        )
    ]
    interval = float(app.config.get("SYNC_INTERVAL") or 0)
    if interval > 0:
        threads.append(
            threading.Thread(
                target=schedule_sync, args=(app, interval, stop), name="sync-schedule", daemon=True
            )
        )
    for thread in threads:
        thread.start()
    try:
        # The scheduler runs jobs queued for later: outbound-event retries wait out their backoff.
        worker.work(burst=burst, with_scheduler=True)
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=5)


#: Seconds between two looks for jobs whose process died.
RECOVER_EVERY = 2.0
#: How often a job is queued again after its process died before it is left failed (a job that
#: kills its process each time, by running out of memory say, must not loop for ever).
MAX_REQUEUES = 3
#: Seconds between RQ's registry clean-ups (its default is 10 minutes).
MAINTENANCE_INTERVAL = 60
#: What RQ writes when a job's work horse died under a live worker, and when a job's worker
#: stopped sending heartbeats (RQ's clean-up moved it to the failed jobs).
DEATHS = ("Work-horse terminated unexpectedly", "AbandonedJobError")


def orphan_grace(app: Flask) -> float:
    """Seconds a dead job waits before it is queued again: Label Studio's timeout and a margin,
    so that an import the dead run had in flight has landed (and is linked, not imported again)."""
    return float(app.config.get("LABEL_STUDIO_TIMEOUT") or 15.0) + 5.0


def run_again_when_killed(job, retpid: int, ret_val: int, rusage: Any) -> None:
    """RQ calls this when a job's work horse died under a live worker, just before it would mark
    the job failed: have RQ queue it again at once instead (``run_job`` then waits out what is
    left of ``orphan_grace`` before it starts, so that an import the dead run had in flight has
    landed). A job that lost its process ``MAX_REQUEUES`` times is left to fail."""
    if not _ours(job):
        return
    requeues = int(job.meta.get("requeues", 0)) + 1
    if requeues > MAX_REQUEUES:
        log.error("job %s (%s) lost its process %d times: left failed", job.id, _name_of(job), requeues)
        return
    job.meta["requeues"] = requeues
    job.meta["died_at"] = time.time()
    job.meta.pop("runner", None)
    job.save_meta()
    # RQ's own retry: handle_job_failure queues the job again rather than failing it.
    job.retries_left = 1
    job.retry_intervals = [0]
    log.warning(
        "job %s (%s): its work horse (pid %s) died; queued again (%d of %d)",
        job.id,
        _name_of(job),
        retpid,
        requeues,
        MAX_REQUEUES,
    )


def recover_orphans(app: Flask, recovery: Recovery, stop: threading.Event) -> None:
    """Look for jobs whose process died every ``RECOVER_EVERY`` seconds until ``stop`` is set."""
    while True:
        try:
            for _job_id, lock in recovery.run_once():
                if lock is not None:  # given up on: free its lock now rather than when it expires
                    with app.app_context():
                        from workbench import locks
                        from workbench.db import db

                        try:
                            locks.release(*lock)
                        finally:
                            db.session.remove()
        except Exception:  # the look-out must outlive one bad turn (Redis restarting, say)
            log.exception("looking for jobs whose process died failed")
        if stop.wait(RECOVER_EVERY):
            return


def _alive(pid: Any) -> bool:
    if not isinstance(pid, int) or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: alive
        return True
    return True


class Recovery:
    """Find the jobs whose process died and queue them again (each once, whoever finds it first).

    Two ways a job loses its process:

    - its work horse and its worker both died (killed, the machine restarted): the job stays in
      RQ's started registry. When the job ran on this machine (``run_job`` noted its pids), it is
      seen at once; elsewhere RQ's clean-up moves it to the failed jobs once its heartbeat is
      90 s late, and it is then handled as below.
    - only the work horse died, or RQ's clean-up found the job abandoned: RQ marks it failed, with
      one of ``DEATHS`` as the reason.

    Either way the job is queued again under its id ``orphan_grace`` seconds after it was first
    seen dead, at most ``MAX_REQUEUES`` times. Only ``workbench.jobs.run_job``'s jobs are (each is
    safe to run again); a job stopped by its own error is never retried.
    """

    def __init__(self, connection, me: str, *, grace: float, clock=time.monotonic):
        from rq import Queue

        from workbench.jobs import QUEUE

        self.connection = connection
        self.queue = Queue(QUEUE, connection=connection)
        self.me = me
        self.grace = grace
        self.clock = clock
        self.host = socket.gethostname()
        self._first_seen: dict[str, float] = {}
        self._not_deaths: set[str] = set()

    def run_once(self) -> list[tuple[str, tuple[str, str] | None]]:
        """Queue again what has been dead long enough; return ``(job id, lock to free or None)``."""
        self._bury_dead_workers()
        return self._from_started() + self._from_failed()

    # -- what counts as dead

    def _runner_gone(self, runner: dict[str, Any]) -> bool:
        """Is the process that ran the job, and the worker that forked it, gone (this machine)?"""
        if runner.get("host") != self.host:
            return False
        if _alive(runner.get("pid")):
            return False
        worker_pid = runner.get("worker_pid")
        if worker_pid == os.getpid():
            # This very process: its worker is us (still alive) unless the name differs (a worker
            # restarted under the same pid, as in a container).
            return runner.get("worker") != self.me
        return not _alive(worker_pid)

    def _dead_for_long_enough(self, key: str) -> bool:
        first = self._first_seen.setdefault(key, self.clock())
        return self.clock() - first >= self.grace

    # -- the two registries

    def _from_started(self) -> list[tuple[str, tuple[str, str] | None]]:
        from rq.exceptions import NoSuchJobError
        from rq.job import Job

        registry = self.queue.started_job_registry
        done = []
        for job_id, execution_id in registry.get_job_and_execution_ids(cleanup=False):
            key = f"{job_id}:{execution_id}"
            try:
                job = Job.fetch(job_id, connection=self.connection)
            except NoSuchJobError:
                continue
            runner = job.meta.get("runner") or {}
            if not _ours(job) or not runner or not self._runner_gone(runner):
                self._first_seen.pop(key, None)
                continue
            if not self._dead_for_long_enough(key):
                continue
            # Whoever removes the entry handles the job: two workers never both queue it.
            if not self.connection.zrem(registry.key, key):
                continue
            self._first_seen.pop(key, None)
            done.append(self._again(job, f"its process (pid {runner.get('pid')}) died"))
        return done

    def _from_failed(self) -> list[tuple[str, tuple[str, str] | None]]:
        from rq.exceptions import InvalidJobOperation, NoSuchJobError
        from rq.job import Job

        from workbench.jobs import FAILURE_TTL

        registry = self.queue.failed_job_registry
        # Failed in the last hour: each failed job keeps FAILURE_TTL seconds from its failure.
        since = time.time() + FAILURE_TTL - 3600
        done = []
        for raw in self.connection.zrangebyscore(registry.key, since, "+inf"):
            job_id = raw.decode() if isinstance(raw, bytes) else str(raw)
            if job_id in self._not_deaths:
                continue
            try:
                job = Job.fetch(job_id, connection=self.connection)
            except NoSuchJobError:
                continue
            result = job.latest_result()
            reason = (result.exc_string or "") if result is not None else ""
            if not _ours(job) or not any(death in reason for death in DEATHS):
                self._not_deaths.add(job_id)
                continue
            if not self._dead_for_long_enough(f"failed:{job_id}"):
                continue
            if int(job.meta.get("requeues", 0)) >= MAX_REQUEUES:
                self._not_deaths.add(job_id)
                done.append((job_id, _lock_of(job)))
                log.error("job %s lost its process %d times: left failed", job_id, MAX_REQUEUES + 1)
                continue
            job.meta["requeues"] = int(job.meta.get("requeues", 0)) + 1
            job.meta.pop("runner", None)
            job.save_meta()
            try:
                registry.requeue(job)  # removes it from the failed jobs first: one worker wins
            except InvalidJobOperation:
                continue
            self._first_seen.pop(f"failed:{job_id}", None)
            log.warning(
                "job %s (%s) lost its process (%s): queued again (%d of %d)",
                job_id,
                _name_of(job),
                reason.strip().splitlines()[-1][:200] if reason.strip() else "no reason",
                job.meta["requeues"],
                MAX_REQUEUES,
            )
            done.append((job_id, None))
        return done

    def _again(self, job, why: str) -> tuple[str, tuple[str, str] | None]:
        """Queue a job taken off the started registry again, or leave it failed after too many deaths."""
        from rq.job import JobStatus

        requeues = int(job.meta.get("requeues", 0)) + 1
        if requeues > MAX_REQUEUES:
            job.set_status(JobStatus.FAILED)
            self.queue.failed_job_registry.add(
                job, ttl=job.failure_ttl, exc_string=f"{why}; lost its process {requeues} times"
            )
            log.error(
                "job %s (%s) %s: lost its process %d times, left failed", job.id, _name_of(job), why, requeues
            )
            return job.id, _lock_of(job)
        job.meta["requeues"] = requeues
        job.meta.pop("runner", None)
        job.started_at = None
        job.ended_at = None
        self.queue.enqueue_job(job)
        log.warning(
            "job %s (%s) %s: queued again (%d of %d)", job.id, _name_of(job), why, requeues, MAX_REQUEUES
        )
        return job.id, None

    def _bury_dead_workers(self) -> None:
        """Unregister the workers of this machine whose process is gone (so a restarted one may
        take the name, and ``rq info`` lists only live workers)."""
        from rq import Worker

        for worker in Worker.all(connection=self.connection):
            if worker.name == self.me or worker.hostname != self.host or worker.pid is None:
                continue
            if worker.pid == os.getpid() or not _alive(worker.pid):
                log.warning("worker %s (pid %s) is gone: unregistered", worker.name, worker.pid)
                worker.register_death()


def _ours(job) -> bool:
    """Is this a job of ``workbench.jobs`` (each of them safe to run again)?"""
    return job.func_name == "workbench.jobs.run_job"


def _name_of(job) -> str:
    args = job.args or ()
    return str(args[0]) if args else job.func_name


def _lock_of(job) -> tuple[str, str] | None:
    """The job lock a dead run of ``job`` may hold: ``(name, job id)``, or None."""
    from workbench.jobs import LOCKED

    args: tuple[Any, ...] = tuple(job.args or ())
    if len(args) == 2 and args[0] in LOCKED and isinstance(args[1], dict) and args[1].get("job_id"):
        return str(args[0]), str(args[1]["job_id"])
    return None
