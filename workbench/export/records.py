"""Build export records from plain rows: one streamed query (a server-side cursor on PostgreSQL),
read in batches, with each batch's annotations fetched by one more query.

No ORM objects: an export of 100,000 claims builds 100,000 dicts, not an object graph per claim.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any

import orjson
import sqlalchemy as sa

from workbench.db import db, mark_reader, unmark_writer
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
    Claim.scored_by,
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
    sa.cast(Verdict.evidence, sa.Text).label("evidence"),
    sa.cast(Verdict.agreement, sa.Text).label("agreement"),
    sa.cast(Verdict.annotation_ids, sa.Text).label("annotation_ids"),
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
    sa.cast(Annotation.evidence_urls, sa.Text).label("evidence_urls"),
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
    """Yield lists of provenance-carrying records, one per verified claim, ordered by claim id.

    JSON columns are read as their stored text and carried as ``orjson.Fragment``: written into
    the JSON formats as stored (canonical JSON), never decoded and encoded again.
    """
    # The records are read in a reader's transaction even when a writer (a job, the CLI) exports:
    # on SQLite a writer's BEGIN IMMEDIATE would hold the write lock for the whole export.
    reading = mark_reader()
    try:
        connection = db.session.connection()
    finally:
        unmark_writer(reading)
    # Webhooks carry only the annotator's Label Studio id; sync caches the emails.
    ls_emails = dict(connection.execute(sa.select(LabelStudioUser.id, LabelStudioUser.email)).all())
    stmt = _selection(filters, _COLUMNS).order_by(Claim.id).execution_options(yield_per=batch)
    result = connection.execute(stmt)
    try:
        for rows in result.partitions():
            annotations: dict[int, list[Any]] = defaultdict(list)
            for a in connection.execute(
                sa.select(*_ANNOTATION_COLUMNS)
                .where(Annotation.claim_id.in_([r[0] for r in rows]))
                .order_by(Annotation.id)
            ):
                annotations[a[1]].append(a)
            yield [_record(r, annotations.get(r[0], ()), audit_hash, ls_emails) for r in rows]
    finally:
        result.close()


def _date(value: date | None) -> str | None:
    return value.isoformat() if value is not None else None


def _raw(text: str | None) -> Any:
    return None if text is None else orjson.Fragment(text)


def _record(r: Any, annotations: Any, audit_hash: str, ls_emails: dict[int, str]) -> dict[str, Any]:
    (
        claim_id, claim_uuid, claim_text, start, end, speaker, is_quote, claim_type, checkworthiness,
        extractor_version, scored_by, claim_published_at, article_uuid, article_url, article_title,
        article_publisher, article_sha256, article_published_at, verdict_version, rating, decision,
        rationale, evidence, agreement, annotation_ids, verdict_at, reviewer_email, reviewer_name,
        ls_project_id, ls_task_id, label_config_sha256,
    ) = r  # fmt: skip
    rests_on = set(orjson.loads(annotation_ids)) if annotation_ids else set()
    return {
        "claim": {
            "id": claim_id,
            "uuid": claim_uuid,
            "text": claim_text,
            "start": start,
            "end": end,
            "speaker": speaker,
            "is_quote": is_quote,
            "claim_type": claim_type,
            "checkworthiness": checkworthiness,
            "extractor_version": extractor_version,
            "scored_by": scored_by,
        },
        "article": {
            "uuid": article_uuid,
            "url": article_url,
            "title": article_title,
            "publisher": article_publisher,
            "text_sha256": article_sha256,
            "published_at": _date(article_published_at),
        },
        "verdict": {
            "version": verdict_version,
            "rating": rating,
            "decision": decision,
            "rationale": rationale,
            "evidence": _raw(evidence),
            "agreement": _raw(agreement),
            "created_at": iso(verdict_at),
            "published_at": iso(claim_published_at),
            "reviewer": {"email": reviewer_email, "name": reviewer_name} if reviewer_email else None,
        },
        "annotations": [_annotation(a, ls_emails) for a in annotations if a[0] in rests_on],
        "label_studio": (
            {"project_id": ls_project_id, "task_id": ls_task_id, "label_config_sha256": label_config_sha256}
            if ls_task_id is not None
            else None
        ),
        "audit_hash": audit_hash,
    }


def _annotation(a: Any, ls_emails: dict[int, str]) -> dict[str, Any]:
    (
        _id, _claim_id, ls_annotation_id, version, annotator_ls_id, updated_by_ls_id, annotator_email,
        verdict, checkworthy, rationale, confidence, evidence_text, evidence_urls, rewritten_claim,
        ls_created_at, ls_updated_at, received_at, source, payload_sha256,
    ) = a  # fmt: skip
    return {
        "ls_annotation_id": ls_annotation_id,
        "version": version,
        "annotator_ls_id": annotator_ls_id,
        "updated_by_ls_id": updated_by_ls_id,
        "edited_by_someone_else": updated_by_ls_id is not None and updated_by_ls_id != annotator_ls_id,
        "annotator_email": annotator_email or ls_emails.get(annotator_ls_id),
        "verdict": verdict,
        "checkworthy": checkworthy,
        "rationale": rationale,
        "confidence": confidence,
        "evidence_text": evidence_text,
        "evidence_urls": _raw(evidence_urls),
        "rewritten_claim": rewritten_claim,
        "ls_created_at": ls_created_at,
        "ls_updated_at": ls_updated_at,
        "received_at": iso(received_at),
        "source": source,
        "payload_sha256": payload_sha256,
    }
