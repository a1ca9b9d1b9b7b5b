"""Locks that let one push or one sync run at a time, across processes and machines."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from workbench.db import Model
from workbench.models.base import utcnow


class JobLock(Model):
    """A running job's claim on its name; the primary key makes a second claim fail."""

    __tablename__ = "job_locks"

    name: Mapped[str] = mapped_column(sa.String(60), primary_key=True)
    holder: Mapped[str] = mapped_column(sa.String(320))
    job_id: Mapped[str | None] = mapped_column(sa.String(64))
    acquired_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), default=utcnow)
    # A holder that died leaves its lock behind: past this time the lock is taken over.
    expires_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True))
