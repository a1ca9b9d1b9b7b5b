"""The review rules: which claims wait for a reviewer, and how a verdict is recorded."""

from __future__ import annotations

from collections import Counter
from typing import Any

import sqlalchemy as sa

from workbench import audit
from workbench.db import db
from workbench.errors import Conflict, NotFound, ValidationError
from workbench.models import Annotation, Claim, ClaimStatus, User, Verdict
from workbench.models.base import utcnow


def queue(
    *, overlap: int, limit: int = 50, offset: int = 0, article_id: int | None = None
) -> tuple[list[Claim], int]:
    """Return claims with at least ``overlap`` annotations and no verdict, best first, and the total."""
    annotated = (
        sa.select(Annotation.claim_id, sa.func.count(sa.distinct(Annotation.annotator_ls_id)).label("n"))
        .where(Annotation.was_cancelled.is_(False))
        .group_by(Annotation.claim_id)
        .subquery()
    )
    stmt = (
        sa.select(Claim)
        .join(annotated, annotated.c.claim_id == Claim.id)
        .where(annotated.c.n >= overlap)
        .where(~sa.exists().where(Verdict.claim_id == Claim.id))
        .where(Claim.status.in_((ClaimStatus.ANNOTATED, ClaimStatus.IN_REVIEW, ClaimStatus.IN_ANNOTATION)))
    )
    if article_id is not None:
        stmt = stmt.where(Claim.article_id == article_id)
    total = db.session.scalar(sa.select(sa.func.count()).select_from(stmt.subquery())) or 0
    rows = db.session.scalars(
        stmt.order_by(Claim.checkworthiness.desc(), Claim.created_at, Claim.id).limit(limit).offset(offset)
    )
    return list(rows), total


def agreement(annotations: list[Annotation]) -> dict[str, Any]:
    """Summarise how the latest version of each annotator's verdict agrees."""
    latest: dict[int, Annotation] = {}
    for a in annotations:
        if not a.was_cancelled:
            latest[a.ls_annotation_id] = a
    votes = Counter(a.verdict for a in latest.values() if a.verdict)
    if not votes:
        return {"kind": "none", "votes": {}}
    top, n = votes.most_common(1)[0]
    total = sum(votes.values())
    kind = "unanimous" if n == total else ("majority" if n * 2 > total else "split")
    return {"kind": kind, "votes": dict(votes), "leading": top, "annotations": total}


def record_verdict(claim_id: int, reviewer: User, data: dict[str, Any]) -> Verdict:
    """Append a verdict version for a claim; a stale ``claim_version`` gets 409."""
    claim = db.session.get(Claim, claim_id, with_for_update=True)
    if claim is None:
        raise NotFound(f"no claim with id {claim_id}")
    expected = data.get("claim_version")
    if expected is not None and expected != claim.version:
        raise Conflict(
            f"claim {claim_id} changed: you sent version {expected}, it is at {claim.version}",
            errors={"claim_version": [f"current is {claim.version}"]},
        )
    if claim.status == ClaimStatus.VERIFIED and expected is None:
        raise Conflict(
            f"claim {claim_id} already has a verdict; send claim_version to supersede it",
            errors={"claim_version": [f"current is {claim.version}"]},
        )
    annotations = list(db.session.scalars(sa.select(Annotation).where(Annotation.claim_id == claim.id)))
    if not annotations:
        raise ValidationError(
            f"claim {claim_id} has no annotations to rest a verdict on", errors={"claim": ["not annotated"]}
        )
    known = {a.id for a in annotations}
    rests_on = data.get("annotation_ids")
    if rests_on is None:
        rests_on = sorted(known)
    unknown = [i for i in rests_on if i not in known]
    if unknown or not rests_on:
        raise ValidationError(
            f"annotation_ids {unknown or rests_on} are not annotations of claim {claim_id}",
            errors={"annotation_ids": ["unknown for this claim"]},
        )
    version = (
        db.session.scalar(sa.select(sa.func.max(Verdict.version)).where(Verdict.claim_id == claim.id)) or 0
    ) + 1
    chosen = [a for a in annotations if a.id in set(rests_on)]
    decision = "accept" if all(a.verdict == data["rating"] for a in chosen) else "override"
    verdict = Verdict(
        claim_id=claim.id,
        version=version,
        decision=decision,
        rating=data["rating"],
        rationale=data.get("rationale") or "",
        evidence=list(data.get("evidence") or []),
        annotation_ids=sorted(rests_on),
        agreement=agreement(annotations),
        reviewer_id=reviewer.id,
    )
    db.session.add(verdict)
    claim.status = ClaimStatus.VERIFIED
    claim.version += 1
    claim.updated_at = utcnow()
    db.session.flush()
    audit.append(
        reviewer.email,
        "verdict.recorded",
        "claim",
        claim.id,
        {
            "verdict_id": verdict.id,
            "version": version,
            "rating": verdict.rating,
            "decision": decision,
            "annotation_ids": verdict.annotation_ids,
            "claim_version": claim.version,
        },
    )
    return verdict
