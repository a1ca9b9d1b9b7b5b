"""Claims extracted from an article, and their link to a Label Studio task."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from workbench.db import Model
from workbench.models.base import new_uuid, utcnow

if TYPE_CHECKING:
    from workbench.models.annotation import Annotation
    from workbench.models.article import Article
    from workbench.models.verdict import Verdict


class ClaimStatus:
    """The claim life cycle (DESIGN.md).

    extracted → queued → in_annotation → annotated → in_review → verified | rejected,
    and needs_rework back to annotation.
    """

    EXTRACTED = "extracted"
    QUEUED = "queued"
    IN_ANNOTATION = "in_annotation"
    ANNOTATED = "annotated"
    IN_REVIEW = "in_review"
    VERIFIED = "verified"
    REJECTED = "rejected"
    NEEDS_REWORK = "needs_rework"
    ALL = (EXTRACTED, QUEUED, IN_ANNOTATION, ANNOTATED, IN_REVIEW, VERIFIED, REJECTED, NEEDS_REWORK)


def _current_scorer() -> str:
    """The model this process scores with (ingest should pass ExtractedClaim.scored_by itself)."""
    from workbench.extraction.pipeline import active_scorer

    return active_scorer().name


class Claim(Model):
    __tablename__ = "claims"
    __table_args__ = (
        sa.UniqueConstraint("article_id", "ordinal", name="uq_claims_article_ordinal"),
        sa.Index("ix_claims_status", "status"),
        # The review queue's order (disagreements first, then check-worthiness, then age), over
        # the queue's claims only (review.service.QUEUE_ORDER and QUEUE_STATUSES): a page is the
        # index's first rows. The count reads annotator_count, article_id and status (the status
        # filter) from the index alone on PostgreSQL (migration 0013 added status).
        sa.Index(
            "ix_claims_review_queue",
            "agreement_rank",
            sa.text("checkworthiness DESC"),
            "created_at",
            "id",
            postgresql_where=sa.text("status IN ('annotated', 'in_review')"),
            sqlite_where=sa.text("status IN ('annotated', 'in_review')"),
            postgresql_include=["annotator_count", "article_id", "status"],
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    uuid: Mapped[str] = mapped_column(sa.String(36), unique=True, default=new_uuid)
    article_id: Mapped[int] = mapped_column(sa.ForeignKey("articles.id"), index=True)
    ordinal: Mapped[int]
    text: Mapped[str] = mapped_column(sa.Text)
    start: Mapped[int]
    end: Mapped[int]
    paragraph_index: Mapped[int] = mapped_column(default=0)
    speaker: Mapped[str | None] = mapped_column(sa.String(300))
    is_quote: Mapped[bool] = mapped_column(default=False)
    checkworthiness: Mapped[float]
    checkworthy: Mapped[bool] = mapped_column(default=False)
    claim_type: Mapped[str] = mapped_column(sa.String(40))
    reasons: Mapped[list] = mapped_column(sa.JSON, default=list)
    context_before: Mapped[str] = mapped_column(sa.Text, default="")
    # Leans on a pronoun or "this": annotators get resolving_context and may rewrite it standalone.
    needs_rewrite: Mapped[bool] = mapped_column(default=False)
    resolving_context: Mapped[str] = mapped_column(sa.Text, default="")
    status: Mapped[str] = mapped_column(sa.String(20), default=ClaimStatus.EXTRACTED)
    extractor_version: Mapped[str] = mapped_column(sa.String(100))
    # The check-worthiness model (and version) that gave checkworthiness: "cw-3" or "cw-2" (the encoders),
    # "cw-1" for claims scored before migration 0012, "cw-1 (fallback: ...)" if the encoder failed.
    scored_by: Mapped[str] = mapped_column(sa.String(100), server_default="cw-1", default=_current_scorer)
    # Bumped on every state change; reviewers send it back so stale decisions get 409.
    version: Mapped[int] = mapped_column(default=1)
    # Distinct annotators (latest, not cancelled) and how their verdicts agree; kept up to date
    # as annotations arrive so the queue can sort and filter in SQL.
    annotator_count: Mapped[int] = mapped_column(default=0)
    agreement: Mapped[str | None] = mapped_column(sa.String(20))  # unanimous | majority | split
    agreement_rank: Mapped[int] = mapped_column(default=3)  # 0 split, 1 majority, 2 unanimous, 3 none
    published_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
    # Set (and committed) just before an import call, so an unrecorded import can be reconciled.
    push_attempted_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), default=utcnow)

    article: Mapped[Article] = relationship(back_populates="claims")
    link: Mapped[LabelStudioLink | None] = relationship(back_populates="claim", uselist=False)
    annotations: Mapped[list[Annotation]] = relationship(back_populates="claim", order_by="Annotation.id")
    verdicts: Mapped[list[Verdict]] = relationship(back_populates="claim", order_by="Verdict.version")


class LabelStudioLink(Model):
    __tablename__ = "label_studio_links"
    __table_args__ = (sa.UniqueConstraint("project_id", "task_id", name="uq_ls_links_project_task"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    claim_id: Mapped[int] = mapped_column(sa.ForeignKey("claims.id"), unique=True)
    project_id: Mapped[int]
    task_id: Mapped[int] = mapped_column(index=True)
    label_config_sha256: Mapped[str] = mapped_column(sa.String(64))
    pushed_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), default=utcnow)

    claim: Mapped[Claim] = relationship(back_populates="link")


class ClaimMatch(Model):
    """A new claim found to repeat or paraphrase a claim verified earlier (any article)."""

    __tablename__ = "claim_matches"
    __table_args__ = (sa.UniqueConstraint("claim_id", "matched_claim_id", name="uq_claim_matches_pair"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    claim_id: Mapped[int] = mapped_column(sa.ForeignKey("claims.id"), index=True)
    matched_claim_id: Mapped[int] = mapped_column(sa.ForeignKey("claims.id"), index=True)
    score: Mapped[float]
    threshold: Mapped[float]
    method: Mapped[str] = mapped_column(sa.String(100))
    created_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), default=utcnow)


class ClaimEmbedding(Model):
    """A claim's sentence embedding, by the embedder (name and version) that made it.

    Claim texts never change, so a vector is made once per claim and embedder and kept; the
    matcher reads the stored vectors of the few candidates the search index offers
    (workbench.matching.embeddings). float16, unit length: 768 bytes for 384 dimensions.
    """

    __tablename__ = "claim_embeddings"

    claim_id: Mapped[int] = mapped_column(sa.ForeignKey("claims.id"), primary_key=True)
    model: Mapped[str] = mapped_column(sa.String(100), primary_key=True)
    vector: Mapped[bytes] = mapped_column(sa.LargeBinary)
    created_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), default=utcnow)
