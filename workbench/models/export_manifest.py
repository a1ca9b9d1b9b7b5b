"""Export manifests: what each export held, the sha256 of its bytes, and where the chain stood."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from workbench.db import Model
from workbench.models.base import new_uuid, utcnow


class ExportManifest(Model):
    """One export: recorded when it starts, sealed (sha256, bytes, count) when its last byte is out.

    An export whose reader stopped before the end is never sealed: ``finished_at`` stays empty.
    """

    __tablename__ = "export_manifests"

    id: Mapped[int] = mapped_column(primary_key=True)
    uuid: Mapped[str] = mapped_column(sa.String(36), unique=True, default=new_uuid)
    format: Mapped[str] = mapped_column(sa.String(20))
    filters: Mapped[dict] = mapped_column(sa.JSON)
    # Records in the file (known at the end); records_expected is the count when it started.
    records: Mapped[int | None]
    records_expected: Mapped[int]
    sha256: Mapped[str | None] = mapped_column(sa.String(64), index=True)
    bytes: Mapped[int | None] = mapped_column(sa.BigInteger)
    # The chain's head when the export began: the hash of its own export.created event.
    audit_head_seq: Mapped[int]
    audit_head_hash: Mapped[str] = mapped_column(sa.String(64))
    actor: Mapped[str] = mapped_column(sa.String(320))
    # How it was asked for: api, page, cli or job.
    via: Mapped[str] = mapped_column(sa.String(20))
    created_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
    # Which claims it held, as runs of ids [[first, last], ...]: each claim's history lists the
    # exports that carried it without an audit event per claim per export.
    claim_ranges: Mapped[list | None] = mapped_column(sa.JSON)
    # An export run as a job keeps its file in the instance folder, under this name.
    file_name: Mapped[str | None] = mapped_column(sa.String(200))
