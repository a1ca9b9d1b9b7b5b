"""Append to and verify the audit chain: ``hash = sha256(prev_hash + canonical JSON)``."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from workbench.db import db
from workbench.models.audit import GENESIS_HASH, AuditEvent, AuditHead
from workbench.models.base import utcnow

# Any constant works; it only has to be the same for every writer of this database.
_PG_LOCK_KEY = 0x5746_4155_4449_54  # "WFAUDIT"


def canonical_json(value: Any) -> str:
    """Serialise deterministically: sorted keys, no spaces, UTF-8 kept as is."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


# The JSON encoder's own string escaper (C-accelerated), as json.dumps(ensure_ascii=False) uses it.
_string: Callable[[str], str] = (
    getattr(json.encoder, "c_encode_basestring", None) or json.encoder.py_encode_basestring
)


def stamp(value: datetime) -> str:
    """Format a timestamp the same way whatever database it came back from (naive means UTC)."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    elif value.utcoffset():
        value = value.astimezone(UTC)
    return value.isoformat(timespec="microseconds")


def body_text(
    seq: int,
    created_at: datetime,
    actor: str,
    action: str,
    subject_type: str,
    subject_id: str,
    payload_text: str,
) -> str:
    """The canonical JSON of an event: what ``canonical_json`` gives for the event as a dict.

    Built by hand from the payload's stored canonical text, so verifying a million events
    needs no JSON parsing or re-encoding.
    """
    return (
        f'{{"action":{_string(action)},"actor":{_string(actor)},"created_at":"{stamp(created_at)}",'
        f'"payload":{payload_text},"seq":{seq},"subject_id":{_string(str(subject_id))},'
        f'"subject_type":{_string(subject_type)}}}'
    )


def _digest(prev_hash: str, row: Any) -> str:
    text = body_text(
        row["seq"],
        row["created_at"],
        row["actor"],
        row["action"],
        row["subject_type"],
        row["subject_id"],
        row["payload_text"],
    )
    return hashlib.sha256((prev_hash + text).encode("utf-8")).hexdigest()


_HASHED = ("seq", "created_at", "actor", "action", "subject_type", "subject_id")


@dataclass(frozen=True)
class Appended:
    """What an append returns: enough to quote the event (its place and hash)."""

    seq: int
    hash: str
    prev_hash: str


def _move_head(seq: int, hash_: str) -> None:
    updated = db.session.execute(
        sa.update(AuditHead)
        .where(AuditHead.id == 1)
        .values(seq=seq, hash=hash_)
        .execution_options(synchronize_session=False)
    )
    if updated.rowcount == 0:  # type: ignore[attr-defined]  # an UPDATE's CursorResult has it
        db.session.execute(sa.insert(AuditHead).values(id=1, seq=seq, hash=hash_))


def _lock_head() -> tuple[int, str]:
    """Serialise appenders and return the current head (seq, hash).

    On PostgreSQL a transaction-scoped advisory lock makes concurrent writers
    queue instead of failing; elsewhere the unique ``prev_hash`` constraint
    still guarantees that a race can only fail, never fork the chain.
    """
    session = db.session
    if session.get_bind().dialect.name == "postgresql":
        session.execute(sa.select(sa.func.pg_advisory_xact_lock(_PG_LOCK_KEY)))
    # The recorded head wins over the newest stored event: if the newest events were deleted,
    # the chain goes on from the head, and the gap stays visible to verify() for good.
    head = session.execute(sa.select(AuditHead.seq, AuditHead.hash).where(AuditHead.id == 1)).first()
    if head is not None:
        return head.seq, head.hash
    row = session.execute(
        sa.select(AuditEvent.seq, AuditEvent.hash).order_by(AuditEvent.seq.desc()).limit(1)
    ).first()
    return (0, GENESIS_HASH) if row is None else (row.seq, row.hash)


def hold() -> None:
    """Queue behind every other appender now, for the rest of the transaction (PostgreSQL; on
    SQLite the writer transaction already excludes them): an event to be recorded once per
    subject is looked for after this, so two writers at once cannot both find it missing."""
    _lock_head()


def append_many(events: Iterable[dict[str, Any]]) -> list[Appended]:
    """Append events (dicts of actor, action, subject_type, subject_id, payload) in order.

    The caller's transaction commits them together with the state change they record.
    Rows go in with one multi-row INSERT: pushes append a thousand events at a time.
    """
    seq, prev = _lock_head()
    now = utcnow()
    rows: list[dict[str, Any]] = []
    for spec in events:
        seq += 1
        row = {
            "seq": seq,
            "created_at": now,
            "actor": spec["actor"],
            "action": spec["action"],
            "subject_type": spec["subject_type"],
            "subject_id": str(spec["subject_id"]),
            # The engine stores JSON with canonical_json too, so the hash covers the stored text.
            "payload": json.loads(canonical_json(spec.get("payload") or {})),
            "prev_hash": prev,
        }
        row["payload_text"] = canonical_json(row["payload"])
        row["hash"] = prev = _digest(row["prev_hash"], row)
        del row["payload_text"]
        rows.append(row)
    # Bounded statements: an export of 100,000 claims appends as many events.
    for i in range(0, len(rows), 5000):
        db.session.execute(sa.insert(AuditEvent), rows[i : i + 5000])
    if rows:
        _move_head(seq, prev)
    return [Appended(r["seq"], r["hash"], r["prev_hash"]) for r in rows]


def append(
    actor: str, action: str, subject_type: str, subject_id: Any, payload: dict[str, Any] | None = None
) -> Appended:
    """Append one event; see :func:`append_many`."""
    return append_many(
        [
            {
                "actor": actor,
                "action": action,
                "subject_type": subject_type,
                "subject_id": subject_id,
                "payload": payload or {},
            }
        ]
    )[0]


def head_hash() -> str:
    """Return the hash of the newest event (the genesis hash for an empty chain)."""
    value = db.session.scalar(sa.select(AuditEvent.hash).order_by(AuditEvent.seq.desc()).limit(1))
    return value or GENESIS_HASH


@dataclass
class VerifyReport:
    ok: bool
    checked: int
    head_hash: str
    first_broken_seq: int | None = None
    reason: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "checked": self.checked,
            "head_hash": self.head_hash,
            "first_broken_seq": self.first_broken_seq,
            "reason": self.reason,
        }


def verify(batch_size: int = 10000) -> VerifyReport:
    """Walk the whole chain in order and name the first broken link.

    Reads plain rows (no ORM objects) in batches: a million events verify in seconds.
    """
    from workbench.audit.rows import rows_in

    expected_seq, prev, checked = 1, GENESIS_HASH, 0
    # The newest digest each attested row was given, and the event that gave it.
    attested: dict[str, tuple[int, str]] = {}
    columns = [getattr(AuditEvent, name) for name in (*_HASHED, "prev_hash", "hash")]
    # The payload exactly as stored (json, not jsonb, keeps the text), never re-encoded.
    columns.append(sa.cast(AuditEvent.payload, sa.Text).label("payload_text"))
    result = db.session.execute(
        sa.select(*columns).order_by(AuditEvent.seq).execution_options(yield_per=batch_size)
    )
    try:
        for row in result.mappings():
            seq = row["seq"]
            if seq != expected_seq:
                return VerifyReport(
                    False,
                    checked,
                    prev,
                    expected_seq,
                    f"event {expected_seq} is missing (next stored event is {seq})",
                )
            if row["prev_hash"] != prev:
                return VerifyReport(
                    False, checked, prev, seq, f"event {seq} does not point at the hash of event {seq - 1}"
                )
            if _digest(prev, row) != row["hash"]:
                return VerifyReport(
                    False,
                    checked,
                    prev,
                    seq,
                    f"event {seq} was altered: its content no longer matches its hash",
                )
            for name, digest in (rows_in(row["payload_text"]) or {}).items():
                attested[name] = (seq, digest)
            prev = row["hash"]
            expected_seq += 1
            checked += 1
    finally:
        # Close the server-side cursor even when we stop at a broken link.
        result.close()
    head = db.session.get(AuditHead, 1)
    if checked and head is None:
        return VerifyReport(False, checked, prev, checked, "the recorded head of the chain is missing")
    if head is not None and (head.seq, head.hash) != (checked, prev):
        return VerifyReport(
            False,
            checked,
            prev,
            checked + 1,
            f"the chain ends at event {checked} but its recorded head is event {head.seq}: "
            "the newest events were deleted, or the head was edited",
        )
    broken = _check_rows(attested)
    if broken is not None:
        seq, reason = broken
        return VerifyReport(False, checked, prev, seq, reason)
    return VerifyReport(True, checked, prev)


def _check_rows(attested: dict[str, tuple[int, str]]) -> tuple[int | None, str] | None:
    """Compare every attested row with the newest event that speaks for it; name the first that differs."""
    from workbench.audit.rows import stored_digests

    for name, digest in stored_digests():
        event = attested.pop(name, None)
        if event is None:
            return None, f"row {name} has no audit event speaking for it (written outside the workbench?)"
        if event[1] != digest:
            return event[0], (
                f"row {name} does not match audit event {event[0]}: it was changed without an audit event"
            )
    if attested:
        name, (seq, _) = min(attested.items(), key=lambda item: item[1][0])
        return seq, f"row {name}, attested by audit event {seq}, is missing: it was deleted"
    return None
