"""Build export records from plain rows: one streamed query (a server-side cursor on PostgreSQL),
read in batches, with each batch's annotations fetched by one more query.

No ORM objects: an export of 100,000 claims builds 100,000 dicts, not an object graph per claim.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any

import sqlalchemy as sa

from workbench.db import db
from workbench.export.filters import ExportFilters
from workbench.models import (
    Annotation,
    Article,
    Claim,
    ClaimStatus,
    LabelStudioLink,
    LabelStudioUser,
    User,
    Verdict,
)
from workbench.models.base import iso

# Claims per batch: 250 keeps an export's working set to a few MB (1,000 took ~30 MB more RSS
# in the serving process, measured by bench/export.py, and was no faster).
BATCH = 250

_COLUMNS = (
    Claim.id.label("claim_id"),
    Claim.uuid.label("claim_uuid"),
    Claim.text.label("claim_text"),
    Claim.start,
    Claim.end,
    Claim.speaker,
    Claim.is_quote,
    Claim.claim_type,
    Claim.checkworthiness,
    Claim.extractor_version,
    Claim.published_at.label("claim_published_at"),
    Article.uuid.label("article_uuid"),
    Article.url.label("article_url"),
    Article.title.label("article_title"),
    Article.publisher.label("article_publisher"),
    Article.text_sha256.label("article_sha256"),
    Article.published_at.label("article_published_at"),
    Verdict.version.label("verdict_version"),
    Verdict.rating,
    Verdict.decision,
    Verdict.rationale,
    Verdict.evidence,
    Verdict.agreement,
    Verdict.annotation_ids,
    Verdict.created_at.label("verdict_at"),
    User.email.label("reviewer_email"),
    User.name.label("reviewer_name"),
    LabelStudioLink.project_id.label("ls_project_id"),
    LabelStudioLink.task_id.label("ls_task_id"),
    LabelStudioLink.label_config_sha256,
)

_ANNOTATION_COLUMNS = (
    Annotation.id,
    Annotation.claim_id,
    Annotation.ls_annotation_id,
    Annotation.version,
    Annotation.annotator_ls_id,
    Annotation.updated_by_ls_id,
    Annotation.annotator_email,
    Annotation.verdict,
    Annotation.checkworthy,
    Annotation.rationale,
    Annotation.confidence,
    Annotation.evidence_text,
    Annotation.evidence_urls,
    Annotation.rewritten_claim,
    Annotation.ls_created_at,
    Annotation.ls_updated_at,
    Annotation.received_at,
    Annotation.source,
    Annotation.payload_sha256,
)


def _selection(filters: ExportFilters, columns: Any) -> sa.Select:
    """Select each verified claim's newest verdict (as of ``up_to_verdict_id``) with the filters."""
    versions = sa.select(Verdict.claim_id, sa.func.max(Verdict.version).label("v")).group_by(Verdict.claim_id)
    if filters.up_to_verdict_id is not None:
        versions = versions.where(Verdict.id <= filters.up_to_verdict_id)
    newest = versions.subquery()
    stmt = (
        sa.select(*columns)
        .select_from(Verdict)
        .join(newest, sa.and_(newest.c.claim_id == Verdict.claim_id, newest.c.v == Verdict.version))
        .join(Claim, Claim.id == Verdict.claim_id)
        .join(Article, Article.id == Claim.article_id)
        .outerjoin(User, User.id == Verdict.reviewer_id)
        .outerjoin(LabelStudioLink, LabelStudioLink.claim_id == Claim.id)
        .where(Claim.status == ClaimStatus.VERIFIED)
    )
    if filters.published is True:
        stmt = stmt.where(Claim.published_at.is_not(None))
    elif filters.published is False:
        stmt = stmt.where(Claim.published_at.is_(None))
    if filters.article_id is not None:
        stmt = stmt.where(Claim.article_id == filters.article_id)
    if filters.rating:
        stmt = stmt.where(Verdict.rating == filters.rating)
    if filters.reviewer:
        stmt = stmt.where(sa.func.lower(User.email) == filters.reviewer.lower())
    if filters.since:
        stmt = stmt.where(Verdict.created_at >= filters.since)
    if filters.until:
        # Inclusive: verdicts recorded on the "until" day are in.
        stmt = stmt.where(Verdict.created_at < filters.until + timedelta(days=1))
    return stmt


def count_records(filters: ExportFilters) -> int:
    """Count the claims an export with these filters holds."""
    sub = _selection(filters, (Claim.id,)).subquery()
    return db.session.scalar(sa.select(sa.func.count()).select_from(sub)) or 0


def max_verdict_id() -> int:
    return db.session.scalar(sa.select(sa.func.max(Verdict.id))) or 0


def iter_batches(
    filters: ExportFilters, audit_hash: str, batch: int = BATCH
) -> Iterator[list[dict[str, Any]]]:
    """Yield lists of provenance-carrying records, one per verified claim, ordered by claim id."""
    connection = db.session.connection()
    # Webhooks carry only the annotator's Label Studio id; sync caches the emails.
    ls_emails = dict(connection.execute(sa.select(LabelStudioUser.id, LabelStudioUser.email)).all())
    stmt = _selection(filters, _COLUMNS).order_by(Claim.id).execution_options(yield_per=batch)
    result = connection.execute(stmt)
    try:
        for rows in result.mappings().partitions():
            annotations: dict[int, list[Any]] = defaultdict(list)
            for a in connection.execute(
                sa.select(*_ANNOTATION_COLUMNS)
                .where(Annotation.claim_id.in_([r["claim_id"] for r in rows]))
                .order_by(Annotation.id)
            ):
                annotations[a.claim_id].append(a)
            yield [_record(r, annotations.get(r["claim_id"], ()), audit_hash, ls_emails) for r in rows]
    finally:
        result.close()


def _date(value: date | None) -> str | None:
    return value.isoformat() if value is not None else None


def _record(r: Any, annotations: Any, audit_hash: str, ls_emails: dict[int, str]) -> dict[str, Any]:
    rests_on = set(r["annotation_ids"] or ())
    return {
        "claim": {
            "id": r["claim_id"],
            "uuid": r["claim_uuid"],
            "text": r["claim_text"],
            "start": r["start"],
            "end": r["end"],
            "speaker": r["speaker"],
            "is_quote": r["is_quote"],
            "claim_type": r["claim_type"],
            "checkworthiness": r["checkworthiness"],
            "extractor_version": r["extractor_version"],
        },
        "article": {
            "uuid": r["article_uuid"],
            "url": r["article_url"],
            "title": r["article_title"],
            "publisher": r["article_publisher"],
            "text_sha256": r["article_sha256"],
            "published_at": _date(r["article_published_at"]),
        },
        "verdict": {
            "version": r["verdict_version"],
            "rating": r["rating"],
            "decision": r["decision"],
            "rationale": r["rationale"],
            "evidence": r["evidence"],
            "agreement": r["agreement"],
            "created_at": iso(r["verdict_at"]),
            "published_at": iso(r["claim_published_at"]),
            "reviewer": (
                {"email": r["reviewer_email"], "name": r["reviewer_name"]} if r["reviewer_email"] else None
            ),
        },
        "annotations": [
            {
                "ls_annotation_id": a.ls_annotation_id,
                "version": a.version,
                "annotator_ls_id": a.annotator_ls_id,
                "updated_by_ls_id": a.updated_by_ls_id,
                "edited_by_someone_else": a.updated_by_ls_id is not None
                and a.updated_by_ls_id != a.annotator_ls_id,
                "annotator_email": a.annotator_email or ls_emails.get(a.annotator_ls_id),
                "verdict": a.verdict,
                "checkworthy": a.checkworthy,
                "rationale": a.rationale,
                "confidence": a.confidence,
                "evidence_text": a.evidence_text,
                "evidence_urls": a.evidence_urls,
                "rewritten_claim": a.rewritten_claim,
                "ls_created_at": a.ls_created_at,
                "ls_updated_at": a.ls_updated_at,
                "received_at": iso(a.received_at),
                "source": a.source,
                "payload_sha256": a.payload_sha256,
            }
            for a in annotations
            if a.id in rests_on
        ],
        "label_studio": (
            {
                "project_id": r["ls_project_id"],
                "task_id": r["ls_task_id"],
                "label_config_sha256": r["label_config_sha256"],
            }
            if r["ls_task_id"] is not None
            else None
        ),
        "audit_hash": audit_hash,
    }
