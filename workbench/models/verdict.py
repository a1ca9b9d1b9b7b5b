"""Reviewers' final decisions, versioned: re-deciding appends, never overwrites."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from workbench.db import Model
from workbench.models.base import utcnow

if TYPE_CHECKING:
    from workbench.models.claim import Claim
    from workbench.models.user import User


class Verdict(Model):
    __tablename__ = "verdicts"
    __table_args__ = (sa.UniqueConstraint("claim_id", "version", name="uq_verdicts_claim_version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    claim_id: Mapped[int] = mapped_column(sa.ForeignKey("claims.id"), index=True)
    version: Mapped[int]
    decision: Mapped[str] = mapped_column(sa.String(20))  # accept | override | reject
    rating: Mapped[str | None] = mapped_column(sa.String(40))
    rationale: Mapped[str] = mapped_column(sa.Text, default="")
    evidence: Mapped[list] = mapped_column(sa.JSON, default=list)
    annotation_ids: Mapped[list] = mapped_column(sa.JSON, default=list)
    agreement: Mapped[dict] = mapped_column(sa.JSON, default=dict)
    reviewer_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), default=utcnow)

    claim: Mapped[Claim] = relationship(back_populates="verdicts")
    reviewer: Mapped[User] = relationship()


def newest_versions(*, claim_ids: list[int] | None = None, up_to_verdict_id: int | None = None) -> sa.Select:
    """Select each claim's newest verdict version (of ``claim_ids``; as of a verdict id, when given)."""
    newest = sa.select(Verdict.claim_id, sa.func.max(Verdict.version).label("v")).group_by(Verdict.claim_id)
    if claim_ids is not None:
        newest = newest.where(Verdict.claim_id.in_(claim_ids))
    if up_to_verdict_id is not None:
        newest = newest.where(Verdict.id <= up_to_verdict_id)
    latest = newest.subquery()
    return sa.select(Verdict).join(
        latest, sa.and_(latest.c.claim_id == Verdict.claim_id, latest.c.v == Verdict.version)
    )
