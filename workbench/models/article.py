"""An ingested news article, stored exactly as received (claim offsets refer to it)."""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from workbench.db import Model
from workbench.models.base import new_uuid, utcnow

if TYPE_CHECKING:
    from workbench.models.claim import Claim


class Article(Model):
    __tablename__ = "articles"

    id: Mapped[int] = mapped_column(primary_key=True)
    uuid: Mapped[str] = mapped_column(sa.String(36), unique=True, default=new_uuid)
    title: Mapped[str | None] = mapped_column(sa.String(1000))
    url: Mapped[str | None] = mapped_column(sa.String(2000))
    publisher: Mapped[str | None] = mapped_column(sa.String(300))
    byline: Mapped[str | None] = mapped_column(sa.String(300))
    published_at: Mapped[date | None] = mapped_column(sa.Date)
    dateline: Mapped[str | None] = mapped_column(sa.String(200))
    language: Mapped[str] = mapped_column(sa.String(16), default="en")
    text: Mapped[str] = mapped_column(sa.Text)
    text_sha256: Mapped[str] = mapped_column(sa.String(64), unique=True)
    raw_input: Mapped[dict] = mapped_column(sa.JSON)
    extractor_version: Mapped[str] = mapped_column(sa.String(100))
    ingested_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    ingested_via: Mapped[str] = mapped_column(sa.String(20), default="api")
    created_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), default=utcnow)

    claims: Mapped[list[Claim]] = relationship(
        back_populates="article", order_by="Claim.ordinal", cascade="all, delete-orphan"
    )
