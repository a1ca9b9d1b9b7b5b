"""A claim's derived state: counts, agreement and status, recomputed from its stored rows.

Nothing here adds to a stored value read earlier: the claim row is locked (``lock_rows``) and
its state derived again from every annotation and verdict, so two deliveries at once, a
version that arrives late, or a lost webhook repaired by sync all end in the same state.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm.attributes import set_committed_value

from workbench.db import db
from workbench.models import Annotation, Claim, ClaimStatus, LabelStudioLink, Verdict
from workbench.models.base import as_utc, utcnow
from workbench.models.verdict import newest_versions
from workbench.review.agreement import RANK, claim_agreement

_DECIDED = {
    "accept": ClaimStatus.VERIFIED,
    "override": ClaimStatus.VERIFIED,
    "publish": ClaimStatus.VERIFIED,
    "reject": ClaimStatus.REJECTED,
    "reopen": ClaimStatus.IN_REVIEW,
}


@dataclass(frozen=True)
class DerivedState:
    status: str
    annotator_count: int
    agreement: str | None
    agreement_rank: int

    @classmethod
    def of(cls, claim: Claim) -> DerivedState:
        """The state as the claim row stores it now."""
        return cls(claim.status, claim.annotator_count, claim.agreement, claim.agreement_rank)


def derive(
    claim: Claim,
    annotations: Sequence[Annotation],
    latest_verdict: Verdict | None,
    *,
    linked: bool,
    overlap: int,
) -> DerivedState:
    """Say what the claim's state must be, given its stored annotations and newest verdict."""
    summary = claim_agreement(annotations)
    count, kind = summary["annotators"], summary["kind"]
    status = claim.status
    if latest_verdict is not None and latest_verdict.decision in _DECIDED:
        status = _DECIDED[latest_verdict.decision]
    elif latest_verdict is not None and latest_verdict.decision == "send_back":
        sent = as_utc(latest_verdict.created_at)
        newer = any(as_utc(a.received_at) > sent for a in annotations)  # type: ignore[operator]
        status = ClaimStatus.ANNOTATED if newer else ClaimStatus.NEEDS_REWORK
    elif linked:
        # Forward only: a claim that reached the queue stays there when a vote is withdrawn or
        # the overlap is raised (the queue itself asks for enough annotators).
        enough = count >= overlap or claim.status == ClaimStatus.ANNOTATED
        status = ClaimStatus.ANNOTATED if enough else ClaimStatus.IN_ANNOTATION
    # An unlinked claim keeps its status (queued): sync links it first, from Label Studio's tasks.
    return DerivedState(status, count, kind, RANK[kind])


def _inputs(claim: Claim) -> tuple[list[Annotation], Verdict | None, bool]:
    annotations = list(db.session.scalars(sa.select(Annotation).where(Annotation.claim_id == claim.id)))
    latest = db.session.scalar(
        sa.select(Verdict).where(Verdict.claim_id == claim.id).order_by(Verdict.version.desc()).limit(1)
    )
    linked = db.session.scalar(sa.select(LabelStudioLink.id).where(LabelStudioLink.claim_id == claim.id))
    return annotations, latest, linked is not None


def refresh_state(claim: Claim, overlap: int, *, bump: bool) -> dict[str, Any]:
    """Derive the (locked) claim's state again and store it; return what changed, field by field.

    The version moves on in SQL (``version + 1``) when ``bump`` is set or anything changed, so
    a reviewer's conditional bump is never undone and a stale page gets its 409.
    """
    annotations, latest, linked = _inputs(claim)
    new = derive(claim, annotations, latest, linked=linked, overlap=overlap)
    old = DerivedState.of(claim)
    changes = {
        name: [getattr(old, name), getattr(new, name)]
        for name in ("status", "annotator_count", "agreement", "agreement_rank")
        if getattr(old, name) != getattr(new, name)
    }
    claim.status, claim.annotator_count = new.status, new.annotator_count
    claim.agreement, claim.agreement_rank = new.agreement, new.agreement_rank
    if bump or changes:
        db.session.flush()
        db.session.execute(
            sa.update(Claim)
            .where(Claim.id == claim.id)
            .values(version=Claim.version + 1, updated_at=utcnow())
            .execution_options(synchronize_session=False)
        )
        db.session.refresh(claim, ["version", "updated_at"])
    return changes


def refresh_many(claims: Sequence[Claim], overlap: int, *, bump: bool) -> dict[int, dict[str, Any]]:
    """``refresh_state`` for many (locked) claims at once: four queries and one version UPDATE.

    Returns each claim's changes (an empty dict when nothing changed), by claim id.
    """
    if not claims:
        return {}
    ids = [c.id for c in claims]
    annotations, latest, linked = _inputs_many(ids)
    out: dict[int, dict[str, Any]] = {}
    for claim in claims:
        new = derive(
            claim, annotations[claim.id], latest.get(claim.id), linked=claim.id in linked, overlap=overlap
        )
        old = DerivedState.of(claim)
        out[claim.id] = {
            name: [getattr(old, name), getattr(new, name)]
            for name in ("status", "annotator_count", "agreement", "agreement_rank")
            if getattr(old, name) != getattr(new, name)
        }
        claim.status, claim.annotator_count = new.status, new.annotator_count
        claim.agreement, claim.agreement_rank = new.agreement, new.agreement_rank
    moved = [c.id for c in claims if bump or out[c.id]]
    if moved:
        db.session.flush()
        by_id = {c.id: c for c in claims}
        for start in range(0, len(moved), 1000):
            rows = db.session.execute(
                sa.update(Claim)
                .where(Claim.id.in_(moved[start : start + 1000]))
                .values(version=Claim.version + 1, updated_at=utcnow())
                .returning(Claim.id, Claim.version, Claim.updated_at)
                .execution_options(synchronize_session=False)
            )
            for claim_id, version, updated_at in rows:
                set_committed_value(by_id[claim_id], "version", version)
                set_committed_value(by_id[claim_id], "updated_at", updated_at)
    return out


#: What deriving a state reads of an annotation: claim_agreement's current votes, and the arrival
#: times a send-back compares. tests/test_locks_and_state.py derives from these and from whole rows.
DERIVE_COLUMNS = (
    Annotation.id,
    Annotation.claim_id,
    Annotation.ls_annotation_id,
    Annotation.ls_updated_key,
    Annotation.annotator_ls_id,
    Annotation.was_cancelled,
    Annotation.verdict,
    Annotation.received_at,
)


def _inputs_many(
    claim_ids: list[int], *, columns_only: bool = False
) -> tuple[dict[int, list[Any]], dict[int, Verdict], set[int]]:
    """Each claim's annotations, newest verdict and link. ``columns_only``: the annotations as
    rows of ``DERIVE_COLUMNS`` (no ORM objects, no JSON decoded), for a look that only derives."""
    annotations: dict[int, list[Any]] = {i: [] for i in claim_ids}
    found: Any = (
        db.session.execute(sa.select(*DERIVE_COLUMNS).where(Annotation.claim_id.in_(claim_ids)))
        if columns_only
        else db.session.scalars(sa.select(Annotation).where(Annotation.claim_id.in_(claim_ids)))
    )
    for a in found:
        annotations[a.claim_id].append(a)
    latest = {v.claim_id: v for v in db.session.scalars(newest_versions(claim_ids=claim_ids))}
    linked = set(
        db.session.scalars(sa.select(LabelStudioLink.claim_id).where(LabelStudioLink.claim_id.in_(claim_ids)))
    )
    return annotations, latest, linked


def find_drift(claim_ids: list[int], overlap: int) -> list[int]:
    """Return the claims among ``claim_ids`` whose stored state is not what their rows say.

    Four queries for the whole chunk, no locks: a quick look that the caller confirms under lock.
    """
    claims = db.session.scalars(sa.select(Claim).where(Claim.id.in_(claim_ids))).all()
    annotations, latest, linked = _inputs_many(claim_ids, columns_only=True)
    drifted = []
    for claim in claims:
        new = derive(
            claim, annotations[claim.id], latest.get(claim.id), linked=claim.id in linked, overlap=overlap
        )
        if new != DerivedState.of(claim):
            drifted.append(claim.id)
    return sorted(drifted)
