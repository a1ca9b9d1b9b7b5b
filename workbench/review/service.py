"""The review rules: the queue, the reviewer's actions, the publish lock, a claim's history."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from workbench import audit, signals
from workbench.audit.rows import attest
from workbench.db import begin_write, changed_rows, db
from workbench.errors import Conflict, NotFound, ValidationError
from workbench.models import Annotation, AuditEvent, Claim, ClaimStatus, LabelStudioUser, User, Verdict
from workbench.models.base import iso, utcnow
from workbench.review.agreement import claim_agreement, current_votes

QUEUE_STATUSES = (ClaimStatus.ANNOTATED, ClaimStatus.IN_REVIEW)
ACTIONS = ("accept", "override", "reject", "send_back", "publish", "reopen")


@dataclass(frozen=True)
class QueueFilters:
    article_id: int | None = None
    rating: str | None = None
    annotator: str | None = None  # a Label Studio user id or an email
    status: str | None = None


def _annotator_id(value: str) -> int:
    from workbench.validation import MAX_INT

    value = value.strip()
    if value.isascii() and value.isdigit():  # str.isdigit() also takes "²", which int() refuses
        if len(value.lstrip("0")) > len(str(MAX_INT)) or int(value) > MAX_INT:
            raise ValidationError(
                f"annotator id {value[:40]} is too large (at most {MAX_INT})",
                errors={"annotator": ["out of range"]},
            )
        return int(value)
    email = value.strip().lower()
    found = db.session.scalar(sa.select(LabelStudioUser.id).where(LabelStudioUser.email == email))
    if found is None:
        found = db.session.scalar(sa.select(User.label_studio_user_id).where(User.email == email))
    if found is None:
        raise ValidationError(
            f"no Label Studio annotator known with email {email}", errors={"annotator": ["unknown"]}
        )
    return found


def queue(
    *, overlap: int, filters: QueueFilters = QueueFilters(), limit: int = 50, offset: int = 0
) -> tuple[list[Claim], int]:
    """Claims with at least ``overlap`` annotators and no final verdict: disagreements first,
    then check-worthiness, then age. Returns a page and the total."""
    statuses = QUEUE_STATUSES if filters.status is None else (filters.status,)
    if filters.status is not None and filters.status not in QUEUE_STATUSES:
        raise ValidationError(
            f"status filter must be one of {', '.join(QUEUE_STATUSES)}",
            errors={"status": ["not a queue status"]},
        )
    # Both read the partial index ix_claims_review_queue (models/claim.py), whose key is
    # QUEUE_ORDER and whose predicate is QUEUE_STATUSES: the page is its first offset + limit
    # entries; the exact total is an index-only count on PostgreSQL (it INCLUDEs annotator_count,
    # article_id and status), about 15-30 ms for 80,000 queued claims. tests/test_review_queue_index.py
    # checks both plans.
    count = sa.select(sa.func.count()).select_from(Claim)
    total = db.session.scalar(_queue_statement(count, statuses, overlap, filters)) or 0
    page = db.session.scalars(
        _queue_statement(sa.select(Claim), statuses, overlap, filters)
        .options(selectinload(Claim.annotations))
        .order_by(*QUEUE_ORDER)
        .limit(limit)
        .offset(offset)
    )
    return list(page), total


def _queue_statement(stmt, statuses, overlap: int, filters: QueueFilters):
    """The queue's selection (its order is QUEUE_ORDER), shared by the page and the neighbours."""
    # The partial index's own predicate, as literals: a planner proves the index applies only
    # from values it can see (SQLite never sees a bound parameter's value; PostgreSQL's generic
    # plans of prepared statements do not either). A status filter narrows it further.
    stmt = stmt.where(IN_QUEUE, Claim.annotator_count >= overlap)
    if tuple(statuses) != QUEUE_STATUSES:
        stmt = stmt.where(Claim.status.in_(statuses))
    if filters.article_id is not None:
        stmt = stmt.where(Claim.article_id == filters.article_id)
    if filters.rating is not None:
        stmt = stmt.where(
            sa.exists().where(Annotation.claim_id == Claim.id, Annotation.verdict == filters.rating)
        )
    if filters.annotator is not None:
        who = _annotator_id(filters.annotator)
        stmt = stmt.where(
            sa.exists().where(Annotation.claim_id == Claim.id, Annotation.annotator_ls_id == who)
        )
    return stmt


QUEUE_ORDER = (Claim.agreement_rank, Claim.checkworthiness.desc(), Claim.created_at, Claim.id)
# The queue's claims, rendered "status IN ('annotated', 'in_review')" like the index's WHERE.
IN_QUEUE = Claim.status.in_(
    sa.bindparam("queue_statuses", QUEUE_STATUSES, expanding=True, literal_execute=True)
)


def queue_neighbours(claim_id: int, *, overlap: int, window: int = 500) -> dict[str, int | None]:
    """The claims before and after this one in the queue's order (within its first ``window``)."""
    ids = list(
        db.session.scalars(
            _queue_statement(sa.select(Claim.id), QUEUE_STATUSES, overlap, QueueFilters())
            .order_by(*QUEUE_ORDER)
            .limit(window)
        )
    )
    if claim_id not in ids:
        return {"previous": None, "next": ids[0] if ids else None}
    at = ids.index(claim_id)
    return {"previous": ids[at - 1] if at > 0 else None, "next": ids[at + 1] if at + 1 < len(ids) else None}


def current_verdict(claim_id: int) -> Verdict | None:
    """Return the claim's newest verdict version."""
    return db.session.scalar(
        sa.select(Verdict).where(Verdict.claim_id == claim_id).order_by(Verdict.version.desc()).limit(1)
    )


def _stale(claim: Claim, sent: Any) -> Conflict:
    db.session.rollback()
    fresh = db.session.get(Claim, claim.id)
    if fresh is None:  # deleted meanwhile (its article was removed)
        raise NotFound(f"claim {claim.id} no longer exists")
    verdict = current_verdict(claim.id)
    last = db.session.scalar(
        sa.select(AuditEvent)
        .where(AuditEvent.subject_type == "claim", AuditEvent.subject_id == str(claim.id))
        .order_by(AuditEvent.seq.desc())
        .limit(1)
    )
    # Say what changed, by whom and when, not only the version numbers.
    what = "" if last is None else f": {_described(last)} by {last.actor} at {iso(last.created_at)}"
    return Conflict(
        f"claim {claim.id} changed since you loaded it{what} "
        f"(you sent version {sent}, it is at {fresh.version})",
        errors={
            "claim_version": [f"current is {fresh.version}"],
            "current": {
                "version": fresh.version,
                "status": fresh.status,
                "published": fresh.published_at is not None,
                "verdict": None
                if verdict is None
                else {"version": verdict.version, "decision": verdict.decision, "rating": verdict.rating},
            },
        },
    )


_DESCRIBED = {
    "annotation.received": "a new annotation arrived",
    "claim.reconciled": "its state was repaired by sync",
    "claim.pushed": "it was pushed to Label Studio",
    "verdict.accept": "an annotation's verdict was accepted",
    "verdict.override": "the verdict was overridden",
    "verdict.reject": "it was rejected",
    "verdict.send_back": "it was sent back to annotators",
    "verdict.publish": "it was published",
    "verdict.reopen": "it was reopened",
}


def _described(event: AuditEvent) -> str:
    return _DESCRIBED.get(event.action, event.action)


def _bump(claim: Claim, expected: int) -> None:
    """Take the claim's next version, or fail if another decision got there first.

    A conditional UPDATE rather than a read-then-write: whichever of two concurrent
    reviewers commits second matches no row and is told, on every database.
    """
    result = changed_rows(
        sa.update(Claim)
        .where(Claim.id == claim.id, Claim.version == expected)
        .values(version=Claim.version + 1, updated_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    if result != 1:
        raise _stale(claim, expected)
    db.session.refresh(claim)


def _note_task_reopened_unrecorded(claim_id: int, task_id: int | None, actor: str) -> None:
    db.session.rollback()
    begin_write()
    audit.append(
        actor,
        "labelstudio.task_reopened",
        "claim",
        claim_id,
        {
            "ls_task_id": task_id,
            "verdict_recorded": False,
            "why": "the claim changed while Label Studio was asked to serve the task again; "
            "the send-back was not recorded (the reviewer was told the claim changed)",
        },
    )
    db.session.commit()


def _require(data: dict[str, Any], name: str, what: str) -> Any:
    value = data.get(name)
    if value is None or (isinstance(value, str) and not value.strip()):
        raise ValidationError(f"{what}: '{name}' is required", errors={name: ["required"]})
    return value


def decide(claim_id: int, reviewer: User, data: dict[str, Any], *, send_back_hook=None) -> Verdict:
    """Apply one reviewer action and append the Verdict version that records it.

    ``data`` holds ``action``, ``claim_version`` and the action's fields. ``send_back_hook``
    is called with the claim before anything is written when the claim goes back to
    annotators (it asks Label Studio to serve the task again, and may raise).
    """
    action = data.get("action")
    if action not in ACTIONS:
        raise ValidationError(
            f"unknown action {action!r}; use one of {', '.join(ACTIONS)}", errors={"action": ["unknown"]}
        )
    expected = data.get("claim_version")
    if not isinstance(expected, int) or isinstance(expected, bool):
        raise ValidationError(
            "'claim_version' (the version of the claim you reviewed) is required",
            errors={"claim_version": ["required integer"]},
        )
    claim = db.session.get(Claim, claim_id)
    if claim is None:
        raise NotFound(f"no claim with id {claim_id}")
    if expected != claim.version:
        raise _stale(claim, expected)
    if action not in ("publish", "reopen") and claim.status in (
        ClaimStatus.EXTRACTED,
        ClaimStatus.QUEUED,
        ClaimStatus.IN_ANNOTATION,
    ):
        raise Conflict(
            f"claim {claim_id} is {claim.status}: it has not reached review yet",
            errors={"status": [claim.status]},
        )
    if claim.published_at is not None and action != "reopen":
        raise Conflict(
            f"claim {claim_id}'s verdict is published; reopen it with a reason before changing it",
            errors={"action": ["published: reopen first"]},
        )

    annotations = list(db.session.scalars(sa.select(Annotation).where(Annotation.claim_id == claim.id)))
    by_id = {a.id: a for a in annotations}
    previous = current_verdict(claim.id)
    fields: dict[str, Any] = {"rating": None, "rationale": "", "evidence": [], "annotation_ids": []}

    if action == "accept":
        ids = data.get("annotation_ids") or [
            _require(data, "annotation_id", "accepting an annotator's verdict")
        ]
        found = [by_id.get(i) for i in ids]
        chosen = [a for a in found if a is not None]
        if len(chosen) != len(found):
            raise ValidationError(
                f"annotations {ids} are not all annotations of claim {claim_id}",
                errors={"annotation_id": ["unknown for this claim"]},
            )
        ratings = {a.verdict for a in chosen}
        if len(ratings) != 1 or None in ratings:
            raise ValidationError(
                "the accepted annotations must carry one and the same verdict "
                f"(they carry {sorted(map(str, ratings))}); override instead",
                errors={"annotation_id": ["no single verdict"]},
            )
        first = chosen[0]
        fields.update(
            rating=first.verdict,
            rationale=data.get("rationale") or first.rationale or "",
            evidence=list(data.get("evidence") or first.evidence_urls or []),
            annotation_ids=sorted(a.id for a in chosen),
        )
        status = ClaimStatus.VERIFIED
    elif action == "override":
        rating = _require(data, "rating", "overriding")
        rationale = _require(data, "rationale", "an override needs the reviewer's rationale")
        rests_on = data.get("annotation_ids")
        if rests_on is None:
            rests_on = sorted(a.id for a in current_votes(annotations).values())
        unknown = [i for i in rests_on if i not in by_id]
        if unknown:
            raise ValidationError(
                f"annotation_ids {unknown} are not annotations of claim {claim_id}",
                errors={"annotation_ids": ["unknown for this claim"]},
            )
        fields.update(
            rating=rating,
            rationale=rationale,
            evidence=list(data.get("evidence") or []),
            annotation_ids=sorted(rests_on),
        )
        status = ClaimStatus.VERIFIED
    elif action in ("reject", "send_back"):
        fields.update(
            rationale=_require(data, "reason", "rejecting or sending back"),
            annotation_ids=sorted(a.id for a in current_votes(annotations).values()),
        )
        status = ClaimStatus.REJECTED if action == "reject" else ClaimStatus.NEEDS_REWORK
    elif action == "publish":
        if claim.status != ClaimStatus.VERIFIED or previous is None:
            raise Conflict(
                f"claim {claim_id} is {claim.status}: only a verified claim can be published",
                errors={"action": ["not verified"]},
            )
        fields.update(
            rating=previous.rating,
            rationale=previous.rationale,
            evidence=previous.evidence,
            annotation_ids=previous.annotation_ids,
        )
        status = ClaimStatus.VERIFIED
    else:  # reopen
        if claim.published_at is None:
            raise Conflict(
                f"claim {claim_id} is not published: there is nothing to reopen",
                errors={"action": ["not published"]},
            )
        fields.update(
            rationale=_require(data, "reason", "reopening a published verdict"),
            annotation_ids=previous.annotation_ids if previous else [],
        )
        status = ClaimStatus.IN_REVIEW

    if action in ("accept", "override") and not annotations:
        raise ValidationError(
            f"claim {claim_id} has no annotations to rest a verdict on", errors={"claim": ["not annotated"]}
        )
    asked_label_studio = action == "send_back" and send_back_hook is not None
    if asked_label_studio:
        task_id = claim.link.task_id if claim.link is not None else None
        send_back_hook(claim)
    try:
        _bump(claim, expected)
    except Conflict:
        if asked_label_studio:
            # Label Studio serves the task again already; the claim changed meanwhile (a webhook
            # landed while it was asked), so no send-back is recorded: the chain still says so.
            _note_task_reopened_unrecorded(claim_id, task_id, reviewer.email)
        raise
    version = (previous.version if previous else 0) + 1
    verdict = Verdict(
        claim_id=claim.id,
        version=version,
        decision=action,
        agreement=claim_agreement(annotations),
        reviewer_id=reviewer.id,
        **fields,
    )
    db.session.add(verdict)
    claim.status = status
    if action == "publish":
        claim.published_at = utcnow()
    elif action == "reopen":
        claim.published_at = None
    db.session.flush()
    audit.append(
        reviewer.email,
        f"verdict.{action}",
        "claim",
        claim.id,
        {
            "verdict_id": verdict.id,
            "version": version,
            "decision": action,
            "rating": verdict.rating,
            "rationale": verdict.rationale,
            "annotation_ids": verdict.annotation_ids,
            "status": claim.status,
            "claim_version": claim.version,
            "rows": attest(verdict, claim),
        },
    )
    # In this transaction, so what subscribers write (the outbound outbox) lands with the verdict.
    if claim.status == ClaimStatus.VERIFIED:
        signals.claim_verified.send(claim, verdict=verdict, actor=reviewer.email)
    if action == "publish":
        signals.verdict_published.send(claim, verdict=verdict, actor=reviewer.email)
    elif action == "reopen":
        signals.verdict_reopened.send(claim, verdict=verdict, actor=reviewer.email)
    return verdict


def record_verdict(claim_id: int, reviewer: User, data: dict[str, Any]) -> Verdict:
    """Record a rating: an accept when the annotations it rests on all gave it, else an override."""
    annotations = list(db.session.scalars(sa.select(Annotation).where(Annotation.claim_id == claim_id)))
    rests_on = data.get("annotation_ids") or sorted(a.id for a in current_votes(annotations).values())
    unknown = sorted(set(rests_on) - {a.id for a in annotations})
    # Said first (an override's "rationale is required" would hide it); no claim: decide's 404.
    if unknown and db.session.get(Claim, claim_id) is not None:
        raise ValidationError(
            f"annotation_ids {unknown} are not annotations of claim {claim_id}",
            errors={"annotation_ids": ["unknown for this claim"]},
        )
    chosen = [a for a in annotations if a.id in set(rests_on)]
    if chosen and len(chosen) == len(rests_on) and all(a.verdict == data.get("rating") for a in chosen):
        return decide(claim_id, reviewer, {**data, "action": "accept", "annotation_ids": rests_on})
    return decide(claim_id, reviewer, {**data, "action": "override", "annotation_ids": rests_on})


def history(claim_id: int) -> list[dict[str, Any]]:
    """The claim's whole timeline, from the audit chain."""
    if db.session.get(Claim, claim_id) is None:
        raise NotFound(f"no claim with id {claim_id}")
    # Exports are not one event per claim (an export of 100,000 claims would write 100,000): the
    # manifest keeps the claims it carried, and its export.finished event joins the timeline.
    from workbench.export.manifest import exports_of_claim

    exports = [m["id"] for m in exports_of_claim(claim_id)]
    about_the_claim = sa.and_(AuditEvent.subject_type == "claim", AuditEvent.subject_id == str(claim_id))
    carried_it = sa.and_(
        AuditEvent.subject_type == "export",
        AuditEvent.action == "export.finished",
        AuditEvent.subject_id.in_(exports),
    )
    rows = db.session.scalars(
        sa.select(AuditEvent)
        .where(sa.or_(about_the_claim, carried_it) if exports else about_the_claim)
        .order_by(AuditEvent.seq)
    )
    return [
        {
            "seq": e.seq,
            "at": iso(e.created_at),
            "actor": e.actor,
            "action": e.action,
            "payload": e.payload,
            "hash": e.hash,
        }
        for e in rows
    ]
