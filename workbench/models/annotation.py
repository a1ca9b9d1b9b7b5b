"""Annotation versions received from Label Studio, and the webhook inbox."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from workbench.db import Model
from workbench.models.base import utcnow

if TYPE_CHECKING:
    from workbench.models.claim import Claim


class Annotation(Model):
    """One version of one Label Studio annotation; a changed annotation is a new row."""

    __tablename__ = "annotations"
    __table_args__ = (
        # A version is the annotation's content as Label Studio stamped it (updated_at): delivered
        # again, it is stored once; changed back to earlier content later, it is a new version.
        sa.UniqueConstraint(
            "ls_annotation_id", "payload_sha256", "ls_updated_key", name="uq_annotations_version"
        ),
        sa.Index("ix_annotations_claim_id", "claim_id"),
        # The queue's rating and annotator filters are semi-joins on these.
        sa.Index("ix_annotations_verdict_claim", "verdict", "claim_id"),
        sa.Index("ix_annotations_annotator_claim", "annotator_ls_id", "claim_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    claim_id: Mapped[int] = mapped_column(sa.ForeignKey("claims.id"))
    ls_annotation_id: Mapped[int]
    ls_task_id: Mapped[int]
    ls_project_id: Mapped[int | None]
    version: Mapped[int] = mapped_column(default=1)
    annotator_ls_id: Mapped[int | None]
    annotator_email: Mapped[str | None] = mapped_column(sa.String(320))
    # Label Studio lets any member edit anyone's annotation: who last changed it, if not the author.
    updated_by_ls_id: Mapped[int | None]
    result: Mapped[list] = mapped_column(sa.JSON)
    checkworthy: Mapped[bool | None]
    verdict: Mapped[str | None] = mapped_column(sa.String(40))
    evidence_urls: Mapped[list] = mapped_column(sa.JSON, default=list)
    # The evidence as the annotator typed it; evidence_urls are the http(s) links found in it.
    evidence_text: Mapped[str | None] = mapped_column(sa.Text)
    rationale: Mapped[str | None] = mapped_column(sa.Text)
    confidence: Mapped[int | None]
    rewritten_claim: Mapped[str | None] = mapped_column(sa.Text)
    was_cancelled: Mapped[bool] = mapped_column(default=False)
    lead_time: Mapped[float | None]
    ls_created_at: Mapped[str | None] = mapped_column(sa.String(40))
    ls_updated_at: Mapped[str | None] = mapped_column(sa.String(40))
    # Label Studio's updated_at in one fixed UTC form ("" when absent): sorts as time does, so
    # the current version is the newest by Label Studio's clock, never by arrival order.
    ls_updated_key: Mapped[str] = mapped_column(sa.String(32), default="")
    source: Mapped[str] = mapped_column(sa.String(10))  # "webhook" or "sync"
    payload_sha256: Mapped[str] = mapped_column(sa.String(64))
    received_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), default=utcnow)

    claim: Mapped[Claim] = relationship(back_populates="annotations")


class WebhookEvent(Model):
    """Every webhook delivery, kept as received so nothing is dropped silently."""

    __tablename__ = "webhook_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    received_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), default=utcnow)
    action: Mapped[str | None] = mapped_column(sa.String(100))
    body: Mapped[str] = mapped_column(sa.Text)
    # The delivery as received: its length in bytes and sha256, and whether ``body`` holds it
    # as sent or an escaped form (bytes the database cannot store, such as NUL, are escaped).
    body_length: Mapped[int | None]
    body_sha256: Mapped[str | None] = mapped_column(sa.String(64))
    body_stored_as: Mapped[str] = mapped_column(sa.String(20), default="as_sent")
    # received (kept, not placed yet) → processed | duplicate | unplaced | malformed | recorded |
    # failed; unknown_action and malformed deliveries are final when received. ``placing`` is
    # only ever seen inside the placer's own transaction (webhook.py).
    status: Mapped[str] = mapped_column(sa.String(20), index=True)
    detail: Mapped[str | None] = mapped_column(sa.Text)
    annotation_id: Mapped[int | None] = mapped_column(sa.ForeignKey("annotations.id"))
    # When the delivery was placed (its final status set); None while it waits.
    placed_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
    # A delivery first kept on disk while the database was busy: the spool file's key, so that
    # moving it into this table twice stores it once (webhook_spool.py).
    spool_key: Mapped[str | None] = mapped_column(sa.String(64), unique=True)
