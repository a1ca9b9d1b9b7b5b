"""Read Label Studio annotation results into the workbench's fields, and store versions idempotently."""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from workbench import audit
from workbench.config import RATINGS
from workbench.db import db
from workbench.models import Annotation, Claim, ClaimStatus, LabelStudioLink, LabelStudioUser
from workbench.models.base import utcnow

_URL = re.compile(r"https?://\S+")


@dataclass(frozen=True)
class ParsedResult:
    checkworthy: bool | None
    verdict: str | None
    evidence_urls: list[str]
    rationale: str | None
    confidence: int | None
    rewritten_claim: str | None


class MalformedAnnotation(ValueError):
    """An annotation whose result does not have the shape the labelling interface produces."""


def _texts(value: dict) -> list[str]:
    text = value.get("text") or []
    if isinstance(text, str):
        return [text]
    if not isinstance(text, list):
        raise MalformedAnnotation("a text area's 'text' is neither a string nor a list")
    return [t for t in text if isinstance(t, str)]


def _first_choice(value: dict) -> str | None:
    choices = value.get("choices") or []
    if not isinstance(choices, list) or not all(isinstance(c, str) for c in choices):
        raise MalformedAnnotation("'choices' must be a list of strings")
    return choices[0] if choices else None


def parse_result(result: Any) -> ParsedResult:
    """Pick the labelling interface's fields (see label_config.xml) out of a result list.

    Raises MalformedAnnotation when the shape is wrong. A verdict outside the published scale
    is not taken as a verdict (the raw result keeps it).
    """
    if not isinstance(result, list):
        raise MalformedAnnotation(f"'result' must be a list, not {type(result).__name__}")
    fields: dict[str, Any] = {
        "checkworthy": None,
        "verdict": None,
        "evidence_urls": [],
        "rationale": None,
        "confidence": None,
        "rewritten_claim": None,
    }
    for item in result:
        if not isinstance(item, dict):
            raise MalformedAnnotation("every result item must be an object")
        name = item.get("from_name")
        value = item.get("value") or {}
        if not isinstance(value, dict):
            raise MalformedAnnotation(f"the value of {name!r} must be an object")
        if name == "checkworthy":
            choice = _first_choice(value)
            fields["checkworthy"] = None if choice is None else choice == "Check-worthy"
        elif name == "verdict":
            choice = _first_choice(value)
            fields["verdict"] = choice if choice in RATINGS else None
        elif name == "evidence":
            fields["evidence_urls"] = [u for t in _texts(value) for u in _URL.findall(t)]
        elif name == "rationale":
            fields["rationale"] = "\n".join(_texts(value)) or None
        elif name == "rewrite":
            fields["rewritten_claim"] = "\n".join(_texts(value)) or None
        elif name == "confidence" and value.get("rating") is not None:
            rating = value["rating"]
            if isinstance(rating, bool) or not isinstance(rating, int | float):
                raise MalformedAnnotation("'rating' must be a number")
            fields["confidence"] = int(rating)
    return ParsedResult(**fields)


def annotator_id(annotation: dict[str, Any]) -> int | None:
    """Return the Label Studio user id of an annotation's author (an int or a nested object)."""
    return _user_id(annotation.get("completed_by"))


def _user_id(value: Any) -> int | None:
    """Read a Label Studio user reference: an id, a numeric string or an object with an id."""
    if isinstance(value, dict):
        value = value.get("id")
    return int(value) if isinstance(value, int | str) and str(value).isdigit() else None


def annotator_email(annotation: dict[str, Any]) -> str | None:
    """Return the author's email when the payload carries it."""
    completed_by = annotation.get("completed_by")
    if isinstance(completed_by, dict) and completed_by.get("email"):
        return str(completed_by["email"]).lower()
    # Label Studio adds "created_username": "email, id" to serialised annotations.
    username = annotation.get("created_username")
    if isinstance(username, str) and "@" in username:
        return username.split(",")[0].strip().lower()
    return None


def content_hash(annotation: dict[str, Any]) -> str:
    """Hash what makes an annotation version: its result, author and cancellation flag."""
    body = {
        "result": annotation.get("result") or [],
        "completed_by": annotator_id(annotation),
        "was_cancelled": bool(annotation.get("was_cancelled")),
    }
    return hashlib.sha256(
        json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
    ).hexdigest()


def find_claim(
    task_id: int | None, task_data: dict[str, Any] | None, project_id: int | None = None
) -> Claim | None:
    """Place an annotation: by the claim uuid the task carries, else by the recorded (project, task) link.

    Label Studio reuses task ids once tasks are deleted, so a task id alone can name two
    claims: then the annotation is not placed (the event is kept) rather than guessed.
    """
    claim_uuid = (task_data or {}).get("claim_uuid")
    if isinstance(claim_uuid, str):
        claim = db.session.scalar(sa.select(Claim).where(Claim.uuid == claim_uuid))
        if claim is not None:
            return claim
    if task_id is None:
        return None
    stmt = sa.select(Claim).join(LabelStudioLink).where(LabelStudioLink.task_id == task_id)
    if project_id is not None:
        stmt = stmt.where(LabelStudioLink.project_id == project_id)
    found = db.session.scalars(stmt.limit(2)).all()
    return found[0] if len(found) == 1 else None


def store_annotation(
    claim: Claim,
    annotation: dict[str, Any],
    *,
    source: str,
    project_id: int | None,
    overlap: int,
    email_lookup: dict[int, str] | None = None,
) -> Annotation | None:
    """Store this version of the annotation unless it is already stored; return the new row or None.

    Runs in a savepoint so a concurrent duplicate (webhook and sync racing) is
    answered by the unique constraint, not by a second row.
    """
    ls_id = int(annotation["id"])
    digest = content_hash(annotation)
    exists = db.session.scalar(
        sa.select(Annotation.id).where(
            Annotation.ls_annotation_id == ls_id, Annotation.payload_sha256 == digest
        )
    )
    if exists is not None:
        return None
    previous = (
        db.session.scalar(
            sa.select(sa.func.count()).select_from(Annotation).where(Annotation.ls_annotation_id == ls_id)
        )
        or 0
    )
    parsed = parse_result(annotation.get("result") if annotation.get("result") is not None else [])
    lead_time = annotation.get("lead_time")
    if lead_time is not None and (isinstance(lead_time, bool) or not isinstance(lead_time, int | float)):
        raise MalformedAnnotation("'lead_time' must be a number")
    for stamp in ("created_at", "updated_at"):
        if annotation.get(stamp) is not None and not isinstance(annotation[stamp], str):
            raise MalformedAnnotation(f"'{stamp}' must be a string")
    who = annotator_id(annotation)
    email = annotator_email(annotation) or (email_lookup or {}).get(who or -1)
    if email is None and who is not None:
        cached = db.session.get(LabelStudioUser, who)
        email = cached.email if cached else None
    task_id = annotation.get("task")
    if isinstance(task_id, dict):
        task_id = task_id.get("id")
    row = Annotation(
        claim_id=claim.id,
        ls_annotation_id=ls_id,
        ls_task_id=int(task_id) if task_id is not None else (claim.link.task_id if claim.link else 0),
        ls_project_id=project_id,
        updated_by_ls_id=_user_id(annotation.get("updated_by")),
        version=previous + 1,
        annotator_ls_id=who,
        annotator_email=email,
        result=annotation.get("result") or [],
        checkworthy=parsed.checkworthy,
        verdict=parsed.verdict,
        evidence_urls=parsed.evidence_urls,
        rationale=parsed.rationale,
        confidence=parsed.confidence,
        rewritten_claim=parsed.rewritten_claim,
        was_cancelled=bool(annotation.get("was_cancelled")),
        lead_time=annotation.get("lead_time"),
        ls_created_at=annotation.get("created_at"),
        ls_updated_at=annotation.get("updated_at"),
        source=source,
        payload_sha256=digest,
    )
    try:
        with db.session.begin_nested():
            db.session.add(row)
            db.session.flush()
    except IntegrityError:
        return None

    _advance_claim(claim, overlap)
    audit.append(
        f"label-studio:{who}" if who is not None else "label-studio",
        "annotation.received",
        "claim",
        claim.id,
        {
            "annotation_id": row.id,
            "ls_annotation_id": ls_id,
            "version": row.version,
            "source": source,
            "annotator_ls_id": who,
            "annotator_email": email,
            "verdict": parsed.verdict,
            "payload_sha256": digest,
            "claim_status": claim.status,
        },
    )
    return row


def _advance_claim(claim: Claim, overlap: int) -> None:
    """Refresh the claim's agreement; move it to ``annotated`` once enough annotators answered.

    A claim sent back for rework returns to the queue with the next annotation version
    that arrives (Label Studio was asked for one more annotation on its task).
    """
    from workbench.review.agreement import refresh_claim

    refresh_claim(claim)
    waiting = (ClaimStatus.QUEUED, ClaimStatus.IN_ANNOTATION)
    if (
        claim.status in waiting and claim.annotator_count >= overlap
    ) or claim.status == ClaimStatus.NEEDS_REWORK:
        claim.status = ClaimStatus.ANNOTATED
    # New evidence changes the claim: a reviewer deciding on the old state gets a 409. Bumped in
    # SQL (version = version + 1) so a concurrent reviewer's conditional bump is never undone.
    db.session.flush()
    db.session.execute(
        sa.update(Claim)
        .where(Claim.id == claim.id)
        .values(version=Claim.version + 1, updated_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    db.session.refresh(claim, ["version", "updated_at"])
