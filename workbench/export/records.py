"""Build export records in batches, so memory stays flat however many claims there are."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import sqlalchemy as sa

from workbench.db import db
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
from workbench.models.verdict import newest_versions


@dataclass(frozen=True)
class ExportFilters:
    article_id: int | None = None
    rating: str | None = None
    since: date | None = None
    until: date | None = None
    published_only: bool = False
    # Set when the export starts, so verdicts recorded while it streams do not slip in.
    up_to_verdict_id: int | None = None


def latest_verdicts(up_to_verdict_id: int | None = None):
    """Select each claim's newest verdict version (as of a verdict id, when given)."""
    return newest_versions(up_to_verdict_id=up_to_verdict_id)


def _selection(filters: ExportFilters):
    stmt = (
        latest_verdicts(filters.up_to_verdict_id)
        .join(Claim, Claim.id == Verdict.claim_id)
        .where(Claim.status == ClaimStatus.VERIFIED)
    )
    if filters.published_only:
        stmt = stmt.where(Claim.published_at.is_not(None))
    if filters.article_id is not None:
        stmt = stmt.where(Claim.article_id == filters.article_id)
    if filters.rating:
        stmt = stmt.where(Verdict.rating == filters.rating)
    if filters.since:
        stmt = stmt.where(Verdict.created_at >= filters.since)
    if filters.until:
        # Inclusive: verdicts recorded on the "until" day are in.
        stmt = stmt.where(Verdict.created_at < filters.until + timedelta(days=1))
    return stmt


def claim_ids(filters: ExportFilters) -> list[int]:
    """Return the ids of the claims an export with these filters will hold."""
    sub = _selection(filters).subquery()
    return list(db.session.scalars(sa.select(sub.c.claim_id).order_by(sub.c.claim_id)))


def max_verdict_id() -> int:
    return db.session.scalar(sa.select(sa.func.max(Verdict.id))) or 0


def iter_records(filters: ExportFilters, audit_hash: str, batch: int = 500) -> Iterator[dict[str, Any]]:
    """Yield one provenance-carrying record per verified claim, ordered by claim id."""
    last_id = 0
    while True:
        verdicts = list(
            db.session.scalars(
                _selection(filters).where(Verdict.claim_id > last_id).order_by(Verdict.claim_id).limit(batch)
            )
        )
        if not verdicts:
            return
        claim_ids = [v.claim_id for v in verdicts]
        claims = {c.id: c for c in db.session.scalars(sa.select(Claim).where(Claim.id.in_(claim_ids)))}
        articles = {
            a.id: a
            for a in db.session.scalars(
                sa.select(Article).where(Article.id.in_({c.article_id for c in claims.values()}))
            )
        }
        links = {
            lk.claim_id: lk
            for lk in db.session.scalars(
                sa.select(LabelStudioLink).where(LabelStudioLink.claim_id.in_(claim_ids))
            )
        }
        reviewers = {
            u.id: u
            for u in db.session.scalars(sa.select(User).where(User.id.in_({v.reviewer_id for v in verdicts})))
        }
        annotations: dict[int, list[Annotation]] = defaultdict(list)
        # Webhooks carry only the annotator's Label Studio id; sync caches the emails.
        ls_emails = dict(db.session.execute(sa.select(LabelStudioUser.id, LabelStudioUser.email)).all())
        for a in db.session.scalars(
            sa.select(Annotation).where(Annotation.claim_id.in_(claim_ids)).order_by(Annotation.id)
        ):
            annotations[a.claim_id].append(a)
        for v in verdicts:
            claim = claims[v.claim_id]
            yield _record(
                claim,
                articles[claim.article_id],
                v,
                reviewers.get(v.reviewer_id),
                links.get(claim.id),
                annotations[claim.id],
                audit_hash,
                ls_emails,
            )
        last_id = claim_ids[-1]
        db.session.expunge_all()


def _record(
    claim: Claim,
    article: Article,
    verdict: Verdict,
    reviewer: User | None,
    link: LabelStudioLink | None,
    annotations: list[Annotation],
    audit_hash: str,
    ls_emails: dict[int, str],
) -> dict[str, Any]:
    rests_on = set(verdict.annotation_ids or [])
    return {
        "claim": {
            "id": claim.id,
            "uuid": claim.uuid,
            "text": claim.text,
            "start": claim.start,
            "end": claim.end,
            "speaker": claim.speaker,
            "is_quote": claim.is_quote,
            "claim_type": claim.claim_type,
            "checkworthiness": claim.checkworthiness,
            "extractor_version": claim.extractor_version,
        },
        "article": {
            "uuid": article.uuid,
            "url": article.url,
            "title": article.title,
            "publisher": article.publisher,
            "text_sha256": article.text_sha256,
            "published_at": article.published_at.isoformat() if article.published_at else None,
        },
        "verdict": {
            "version": verdict.version,
            "rating": verdict.rating,
            "decision": verdict.decision,
            "rationale": verdict.rationale,
            "evidence": verdict.evidence,
            "agreement": verdict.agreement,
            "created_at": iso(verdict.created_at),
            "published_at": iso(claim.published_at),
            "reviewer": {"email": reviewer.email, "name": reviewer.name} if reviewer else None,
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
                "project_id": link.project_id,
                "task_id": link.task_id,
                "label_config_sha256": link.label_config_sha256,
            }
            if link
            else None
        ),
        "audit_hash": audit_hash,
    }
