"""Reviewers' final decisions, versioned: re-deciding appends, never overwrites."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from workbench.db import db
from workbench.models.base import utcnow

if TYPE_CHECKING:
    from workbench.models.claim import Claim
    from workbench.models.user import User


class Verdict(db.Model):
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
