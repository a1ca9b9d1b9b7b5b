"""Read Label Studio annotation results into the workbench's fields, and store versions idempotently."""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from workbench import audit
from workbench.audit.rows import attest, attest_ids
from workbench.config import RATINGS
from workbench.db import db, lock_rows
from workbench.models import Annotation, Claim, LabelStudioLink, LabelStudioUser
from workbench.validation import MAX_INT, sanitize_json

_URL = re.compile(r"https?://\S+")
_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,255}$")


@dataclass(frozen=True)
class ParsedResult:
    checkworthy: bool | None
    verdict: str | None
    evidence_urls: list[str]
    evidence_text: str | None
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
    is not taken as a verdict, nor is an item a prediction pre-filled and the annotator left
    untouched (``"origin": "prediction"``); the raw result keeps both.
    """
    if not isinstance(result, list):
        raise MalformedAnnotation(f"'result' must be a list, not {type(result).__name__}")
    fields: dict[str, Any] = {
        "checkworthy": None,
        "verdict": None,
        "evidence_urls": [],
        "evidence_text": None,
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
        if item.get("origin") == "prediction":
            # A machine's pre-filled answer the annotator submitted untouched ("prediction-changed"
            # once they change it): not their judgement. The raw result keeps it.
            continue
        if name == "checkworthy":
            choice = _first_choice(value)
            fields["checkworthy"] = None if choice is None else choice == "Check-worthy"
        elif name == "verdict":
            choice = _first_choice(value)
            fields["verdict"] = choice if choice in RATINGS else None
        elif name == "evidence":
            # Kept as typed ("Ministry press release, 3 Jan" is evidence too); only http(s)
            # addresses become links.
            texts = _texts(value)
            fields["evidence_text"] = "\n".join(texts) or None
            fields["evidence_urls"] = [u for t in texts for u in _URL.findall(t)]
        elif name == "rationale":
            fields["rationale"] = "\n".join(_texts(value)) or None
        elif name == "rewrite":
            fields["rewritten_claim"] = "\n".join(_texts(value)) or None
        elif name == "confidence" and value.get("rating") is not None:
            rating = value["rating"]
            if isinstance(rating, bool) or not isinstance(rating, int | float) or not -1e9 < rating < 1e9:
                raise MalformedAnnotation("'rating' must be a number between 0 and 100")
            fields["confidence"] = int(rating)
    return ParsedResult(**fields)


def annotator_id(annotation: dict[str, Any]) -> int | None:
    """Return the Label Studio user id of an annotation's author (an int or a nested object)."""
    return _user_id(annotation.get("completed_by"))


def editor_id(annotation: dict[str, Any]) -> int | None:
    """Return the Label Studio user id of whoever last changed an annotation, if it says."""
    return _user_id(annotation.get("updated_by"))


def _user_id(value: Any) -> int | None:
    """Read a Label Studio user reference: an id, a numeric string or an object with an id."""
    if isinstance(value, dict):
        value = value.get("id")
    if isinstance(value, bool) or not isinstance(value, int | str):
        return None
    text = str(value)
    if not text.isascii() or not text.isdigit() or len(text) > 10:
        return None
    number = int(text)
    return number if 0 < number <= MAX_INT else None


def plausible_email(value: Any) -> str | None:
    """Return ``value`` lower-cased when it looks like one e-mail address that fits the column."""
    if not isinstance(value, str):
        return None
    value = value.strip().lower()
    return value if len(value) <= 320 and _EMAIL.match(value) else None


def annotator_email(annotation: dict[str, Any]) -> str | None:
    """Return the author's email when the payload carries it as an email field.

    Label Studio's ``created_username`` ("first last email, id") is a display name, not an
    address: the email comes from ``completed_by`` or from Label Studio's user list.
    """
    completed_by = annotation.get("completed_by")
    if isinstance(completed_by, dict):
        return plausible_email(completed_by.get("email"))
    return None


def updated_key(value: Any, field: str = "updated_at") -> str:
    """Put a Label Studio timestamp in one fixed UTC form that sorts as time does ("" when absent).

    Raises MalformedAnnotation when it is not an ISO 8601 date-time.
    """
    if value is None or value == "":
        return ""
    if not isinstance(value, str) or len(value) > 40:
        raise MalformedAnnotation(f"'{field}' must be an ISO 8601 date-time of at most 40 characters")
    try:
        stamp = datetime.fromisoformat(value.strip())
    except ValueError:
        raise MalformedAnnotation(f"'{field}' is not an ISO 8601 date-time: {value[:40]!r}") from None
    if stamp.tzinfo is None:
        stamp = stamp.replace(tzinfo=UTC)
    try:
        return stamp.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    except OverflowError:  # 0001-01-01T00:00:00+01:00 has no UTC form
        raise MalformedAnnotation(f"'{field}' is out of range: {value!r}") from None


def _bounded_id(value: Any, what: str, *, required: bool = False) -> int | None:
    if value is None and not required:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value <= MAX_INT:
        raise MalformedAnnotation(f"{what} must be an integer between 1 and {MAX_INT}")
    return value


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


@dataclass(frozen=True)
class Prepared:
    """An annotation payload checked and read: what storing one version of it needs."""

    payload: dict[str, Any]
    ls_id: int
    task_id: int | None
    parsed: ParsedResult
    lead_time: float | None
    version_key: str
    digest: str
    who: int | None
    email: str | None

    @property
    def key(self) -> tuple[int, str, str]:
        """What names one stored version (the unique constraint uq_annotations_version)."""
        return (self.ls_id, self.digest, self.version_key)


def prepare_annotation(annotation: Any, email_lookup: dict[int, str] | None = None) -> Prepared:
    """Check an annotation payload and read what storing it needs; write nothing.

    Raises MalformedAnnotation when a field has the wrong shape. Strings the database cannot
    hold (NUL, lone surrogates) are replaced by U+FFFD first, the same way for webhooks and
    sync, so both name (and store) the same version.
    """
    if not isinstance(annotation, dict):
        raise MalformedAnnotation(f"an annotation must be an object, not {type(annotation).__name__}")
    annotation = sanitize_json(annotation)
    ls_id = _bounded_id(annotation.get("id"), "annotation 'id'", required=True)
    task_id = annotation.get("task")
    if isinstance(task_id, dict):
        task_id = task_id.get("id")
    task_id = _bounded_id(task_id, "'task'")
    parsed = parse_result(annotation.get("result") if annotation.get("result") is not None else [])
    if parsed.confidence is not None and not 0 <= parsed.confidence <= 100:
        raise MalformedAnnotation("'rating' (confidence) must be between 0 and 100")
    lead_time = annotation.get("lead_time")
    if lead_time is not None and (
        isinstance(lead_time, bool) or not isinstance(lead_time, int | float) or not -1e15 < lead_time < 1e15
    ):
        raise MalformedAnnotation("'lead_time' must be a number of seconds")
    cancelled = annotation.get("was_cancelled")
    if cancelled is not None and not isinstance(cancelled, bool):
        # bool("no") is True: a string here would be stored as a skipped task.
        raise MalformedAnnotation(f"'was_cancelled' must be true or false, not {cancelled!r:.40}")
    updated_key(annotation.get("created_at"), "created_at")  # validated, stored as sent
    who = annotator_id(annotation)
    return Prepared(
        payload=annotation,
        ls_id=ls_id,  # type: ignore[arg-type]
        task_id=task_id,
        parsed=parsed,
        lead_time=lead_time,
        version_key=updated_key(annotation.get("updated_at")),
        digest=content_hash(annotation),
        who=who,
        email=annotator_email(annotation) or (email_lookup or {}).get(who or -1),
    )


def known_versions(items: list[Prepared], chunk: int = 1000) -> set[tuple[int, str, str]]:
    """Return the keys among ``items`` already stored: one query per ``chunk`` annotation ids."""
    ids = sorted({p.ls_id for p in items})
    wanted = {p.key for p in items}
    found: set[tuple[int, str, str]] = set()
    for start in range(0, len(ids), chunk):
        rows = db.session.execute(
            sa.select(
                Annotation.ls_annotation_id, Annotation.payload_sha256, Annotation.ls_updated_key
            ).where(Annotation.ls_annotation_id.in_(ids[start : start + chunk]))
        )
        found.update(key for key in map(tuple, rows) if key in wanted)
    return found  # type: ignore[return-value]


def _row_values(claim: Claim, p: Prepared, *, version: int, source: str, project_id: int | None) -> dict:
    a = p.payload
    return {
        "claim_id": claim.id,
        "ls_annotation_id": p.ls_id,
        "ls_task_id": p.task_id if p.task_id is not None else (claim.link.task_id if claim.link else 0),
        "ls_project_id": project_id,
        "updated_by_ls_id": editor_id(a),
        # The order versions arrived in; the current one is the newest by ls_updated_key.
        "version": version,
        "annotator_ls_id": p.who,
        "annotator_email": p.email,
        "result": a.get("result") or [],
        "checkworthy": p.parsed.checkworthy,
        "verdict": p.parsed.verdict,
        "evidence_urls": p.parsed.evidence_urls,
        "evidence_text": p.parsed.evidence_text,
        "rationale": p.parsed.rationale,
        "confidence": p.parsed.confidence,
        "rewritten_claim": p.parsed.rewritten_claim,
        "was_cancelled": bool(a.get("was_cancelled")),
        "lead_time": p.lead_time,
        "ls_created_at": a.get("created_at"),
        "ls_updated_at": a.get("updated_at"),
        "ls_updated_key": p.version_key,
        "source": source,
        "payload_sha256": p.digest,
    }


def _received_event(
    claim: Claim, p: Prepared, row_id: int, version: int, source: str, rows: dict[str, str]
) -> dict[str, Any]:
    return {
        "actor": f"label-studio:{p.who}" if p.who is not None else "label-studio",
        "action": "annotation.received",
        "subject_type": "claim",
        "subject_id": claim.id,
        "payload": {
            "annotation_id": row_id,
            "ls_annotation_id": p.ls_id,
            "version": version,
            "ls_updated_at": p.version_key or None,
            "source": source,
            "annotator_ls_id": p.who,
            "annotator_email": p.email,
            "verdict": p.parsed.verdict,
            "payload_sha256": p.digest,
            "claim_status": claim.status,
            "rows": rows,
        },
    }


def store_versions(
    items: list[tuple[Claim, Prepared]], *, source: str, project_id: int | None, overlap: int
) -> int:
    """Store the versions not stored yet, for many claims in one go; return how many were new.

    See :func:`store_versions_rows`.
    """
    rows = store_versions_rows(items, source=source, project_id=project_id, overlap=overlap)
    return sum(r is not None for r in rows)


def store_versions_rows(
    items: list[tuple[Claim, Prepared]], *, source: str, project_id: int | None, overlap: int
) -> list[int | None]:
    """Store the versions not stored yet, for many claims in one go; return, item by item, the
    new row's id, or None for a version stored already (or earlier in ``items``).

    The caller's write transaction holds (this locks) every claim row named, checks again under
    the lock which versions are stored, inserts the new ones in one statement, derives each
    claim's state once from all its stored rows (so a delivery stored meanwhile counts), and
    appends one ``annotation.received`` event per new version, as store_annotation does.
    """
    if not items:
        return []
    from workbench.review.state import refresh_many

    claims = {c.id: c for c, _ in items}
    lock_rows(Claim, sorted(claims))
    known = known_versions([p for _, p in items])
    fresh: list[tuple[Claim, Prepared]] = []
    positions: list[int] = []
    for n, (claim, p) in enumerate(items):
        if p.key not in known:
            known.add(p.key)  # the same version twice in one batch is stored once
            fresh.append((claim, p))
            positions.append(n)
    out: list[int | None] = [None] * len(items)
    if not fresh:
        return out
    missing = {p.who for _, p in fresh if p.email is None and p.who is not None}
    cached = (
        dict(
            db.session.execute(
                sa.select(LabelStudioUser.id, LabelStudioUser.email).where(LabelStudioUser.id.in_(missing))
            ).all()
        )
        if missing
        else {}
    )
    fresh = [
        (c, p if p.email is not None or p.who is None else replace(p, email=cached.get(p.who)))
        for c, p in fresh
    ]
    previous: dict[int, int] = dict(
        db.session.execute(
            sa.select(Annotation.ls_annotation_id, sa.func.count())
            .where(Annotation.ls_annotation_id.in_({p.ls_id for _, p in fresh}))
            .group_by(Annotation.ls_annotation_id)
        ).all()
    )
    values = []
    for claim, p in fresh:
        previous[p.ls_id] = previous.get(p.ls_id, 0) + 1
        values.append(_row_values(claim, p, version=previous[p.ls_id], source=source, project_id=project_id))
    ids = list(
        db.session.scalars(
            sa.insert(Annotation).returning(Annotation.id, sort_by_parameter_order=True), values
        )
    )
    # New evidence changes the claim: a reviewer deciding on the old state gets a 409.
    refresh_many(list({c.id: c for c, _ in fresh}.values()), overlap, bump=True)
    rows = attest_ids("annotation", ids)
    rows.update(attest_ids("claim", {c.id for c, _ in fresh}))
    audit.append_many(
        _received_event(
            claim,
            p,
            row_id,
            value["version"],
            source,
            {
                f"annotation:{row_id}": rows[f"annotation:{row_id}"],
                f"claim:{claim.id}": rows[f"claim:{claim.id}"],
            },
        )
        for (claim, p), row_id, value in zip(fresh, ids, values, strict=True)
    )
    for n, row_id in zip(positions, ids, strict=True):
        out[n] = row_id
    return out


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

    Raises MalformedAnnotation (before writing anything) when a field has the wrong shape
    (see prepare_annotation). The claim row is locked while its state is derived again from its
    stored annotations: two annotators answering at once both count.
    """
    p = prepare_annotation(annotation, email_lookup)
    ls_id, digest, version_key, who, email = p.ls_id, p.digest, p.version_key, p.who, p.email

    lock_rows(Claim, [claim.id])
    exists = db.session.scalar(
        sa.select(Annotation.id).where(
            Annotation.ls_annotation_id == ls_id,
            Annotation.payload_sha256 == digest,
            Annotation.ls_updated_key == version_key,
        )
    )
    if exists is not None:
        return None
    if email is None and who is not None:
        cached = db.session.get(LabelStudioUser, who)
        email = cached.email if cached else None
        p = replace(p, email=email)
    previous = (
        db.session.scalar(
            sa.select(sa.func.count()).select_from(Annotation).where(Annotation.ls_annotation_id == ls_id)
        )
        or 0
    )
    row = Annotation(**_row_values(claim, p, version=previous + 1, source=source, project_id=project_id))
    try:
        with db.session.begin_nested():
            db.session.add(row)
            db.session.flush()
    except IntegrityError:
        return None

    from workbench.review.state import refresh_state

    # New evidence changes the claim: a reviewer deciding on the old state gets a 409.
    refresh_state(claim, overlap, bump=True)
    audit.append_many([_received_event(claim, p, row.id, row.version, source, attest(row, claim))])
    return row
