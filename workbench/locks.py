"""One push and one sync at a time, across threads, processes and machines (table ``job_locks``).

The lock is a row whose primary key is the job's name: a second taker's INSERT fails on every
database, and the first is told who holds it. A holder that died leaves its row behind; it
expires (``LOCK_TTL`` after the holder last showed life) and is then taken over.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from workbench.db import begin_write, changed_rows, db
from workbench.errors import Conflict
from workbench.models import JobLock
from workbench.models.base import iso, utcnow

LOCK_TTL = timedelta(minutes=15)


def _busy(name: str) -> Conflict:
    db.session.rollback()
    row = db.session.get(JobLock, name)
    holder = (
        {}
        if row is None
        else {
            "holder": row.holder,
            "job_id": row.job_id,
            "started_at": iso(row.acquired_at),
            "expires_at": iso(row.expires_at),
        }
    )
    who = f" (started by {holder['holder']} at {holder['started_at']})" if holder else ""
    return Conflict(f"{name} is already running{who}; try again when it ends", errors={"running": holder})


def acquire(name: str, holder: str, *, job_id: str | None = None) -> None:
    """Take the lock or raise Conflict (409) naming the running job. Commits."""
    begin_write()
    now = utcnow()
    db.session.execute(sa.delete(JobLock).where(JobLock.name == name, JobLock.expires_at < now))
    try:
        with db.session.begin_nested():
            db.session.add(
                JobLock(name=name, holder=holder, job_id=job_id, acquired_at=now, expires_at=now + LOCK_TTL)
            )
    except IntegrityError:
        raise _busy(name) from None
    db.session.commit()


def adopt(name: str, job_id: str | None) -> bool:
    """Take over a lock taken for this job when it was queued (an RQ worker runs it now)."""
    if job_id is None:
        return False
    begin_write()
    found = changed_rows(
        sa.update(JobLock)
        .where(JobLock.name == name, JobLock.job_id == job_id)
        .values(expires_at=utcnow() + LOCK_TTL)
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    return found == 1


def renew(name: str, job_id: str | None) -> None:
    """Show life: push this holder's expiry on (call it between batches; the caller commits).

    Raises Conflict when the lock is no longer this holder's (it expired and another run took
    it over): the caller stops rather than run beside the new holder.
    """
    if job_id is None:
        return
    found = changed_rows(
        sa.update(JobLock)
        .where(JobLock.name == name, JobLock.job_id == job_id)
        .values(expires_at=utcnow() + LOCK_TTL)
        .execution_options(synchronize_session=False)
    )
    if found != 1:
        raise Conflict(f"{name} lost its lock (it expired and another run took over); stopping")


def release(name: str, job_id: str | None = None) -> None:
    """Give the lock back (only this job's, when a job id is given). Commits."""
    db.session.rollback()
    stmt = sa.delete(JobLock).where(JobLock.name == name)
    if job_id is not None:
        stmt = stmt.where(JobLock.job_id == job_id)
    db.session.execute(stmt)
    db.session.commit()


@contextmanager
def held(name: str, holder: str, *, job_id: str | None = None) -> Iterator[str]:
    """Run the block holding the lock (taken now, or adopted from the door that queued the job);
    the block gets the holder's token, for ``renew``."""
    token = job_id or f"inline-{uuid.uuid4().hex}"
    if not adopt(name, job_id):
        acquire(name, holder, job_id=token)
    try:
        yield token
    finally:
        # Only our own row: if ours expired and another run took over, theirs stays.
        release(name, token)
