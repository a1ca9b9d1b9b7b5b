"""Row digests: each audit event names the sha256 of the rows it speaks for, as they stand after it.

``verify`` recomputes every attested row's digest and compares it with the newest event that
named it, so a row changed behind the workbench's back (an ``UPDATE`` in SQL) shows, and so
does a row that no event speaks for at all.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa

from workbench.audit.chain import canonical_json, stamp
from workbench.db import db
from workbench.models import Annotation, Article, Claim, LabelStudioUser, User, Verdict

#: What each kind of row is attested on: the columns an auditor relies on. Columns the
#: workbench derives again from other rows (counts, agreement) or that only pace its own work
#: (updated_at, push_attempted_at) are left out; reconcile recomputes those.
ATTESTED: dict[str, tuple[Any, tuple[str, ...]]] = {
    "article": (
        Article,
        (
            "id", "uuid", "title", "url", "publisher", "byline", "published_at", "dateline", "language",
            "text", "text_sha256", "extractor_version", "ingested_by_id", "ingested_via",
        ),
    ),
    "claim": (
        Claim,
        (
            "id", "uuid", "article_id", "ordinal", "text", "start", "end", "speaker", "is_quote",
            "checkworthiness", "checkworthy", "claim_type", "status", "version", "published_at",
        ),
    ),
    "annotation": (
        Annotation,
        (
            "id", "claim_id", "ls_annotation_id", "ls_task_id", "ls_project_id", "version",
            "annotator_ls_id", "annotator_email", "updated_by_ls_id", "result", "checkworthy",
            "verdict", "evidence_urls", "rationale", "confidence", "rewritten_claim", "was_cancelled",
            "lead_time", "ls_created_at", "ls_updated_at", "ls_updated_key", "source", "payload_sha256",
        ),
    ),
    "verdict": (
        Verdict,
        (
            "id", "claim_id", "version", "decision", "rating", "rationale", "evidence", "annotation_ids",
            "agreement", "reviewer_id", "created_at",
        ),
    ),
    "user": (User, ("id", "email", "name", "role", "token_hash", "active", "label_studio_user_id")),
    "label_studio_user": (LabelStudioUser, ("id", "email", "first_name", "last_name")),
}  # fmt: skip

#: Columns attested only once they hold a value: a column added later (a password, set when its
#: user first chooses one) leaves the digests of rows written before it exactly as they were.
ATTESTED_WHEN_SET: dict[str, tuple[str, ...]] = {"user": ("password_hash",)}

_KIND_OF = {model: kind for kind, (model, _) in ATTESTED.items()}


def columns_of(kind: str) -> tuple[str, ...]:
    """Every column a kind's digest may cover: always-attested ones, then those attested once set."""
    return ATTESTED[kind][1] + ATTESTED_WHEN_SET.get(kind, ())


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return stamp(value)
    if isinstance(value, date):
        return value.isoformat()
    return value


def digest_values(kind: str, values: dict[str, Any]) -> str:
    """Hash a row's attested columns, the same way for an ORM object and for a fetched row."""
    _, columns = ATTESTED[kind]
    plain = {name: _plain(values[name]) for name in columns}
    plain.update(
        {name: _plain(values[name]) for name in ATTESTED_WHEN_SET.get(kind, ()) if values[name] is not None}
    )
    body = canonical_json(plain)
    return hashlib.sha256(body.encode("utf-8")).hexdigest()


def key(obj: Any) -> str:
    return f"{_KIND_OF[type(obj)]}:{obj.id}"


def attest(*objs: Any) -> dict[str, str]:
    """Return ``{"kind:id": digest}`` for ORM objects as they stand now (flushed, so ids exist)."""
    db.session.flush()
    out = {}
    for obj in objs:
        kind = _KIND_OF[type(obj)]
        out[f"{kind}:{obj.id}"] = digest_values(kind, {name: getattr(obj, name) for name in columns_of(kind)})
    return out


def attest_ids(kind: str, ids: Iterable[int]) -> dict[str, str]:
    """Digest rows as stored (after a bulk UPDATE the ORM objects do not know about)."""
    ids = list(ids)
    model, columns = ATTESTED[kind][0], columns_of(kind)
    out: dict[str, str] = {}
    for start in range(0, len(ids), 1000):
        chunk = ids[start : start + 1000]
        stmt = sa.select(*(getattr(model, c) for c in columns)).where(model.id.in_(chunk))
        for row in db.session.execute(stmt).mappings():
            out[f"{kind}:{row['id']}"] = digest_values(kind, dict(row))
    return out


def stored_digests(batch_size: int = 5000) -> Iterator[tuple[str, str]]:
    """Yield ``("kind:id", digest)`` for every attested row in the database, kind by kind."""
    for kind, (model, _) in ATTESTED.items():
        stmt = sa.select(*(getattr(model, c) for c in columns_of(kind))).order_by(model.id)
        result = db.session.execute(stmt.execution_options(yield_per=batch_size))
        try:
            for row in result.mappings():
                yield f"{kind}:{row['id']}", digest_values(kind, dict(row))
        finally:
            result.close()


def rows_in(payload_text: str) -> dict[str, str] | None:
    """Read the ``rows`` an event's stored payload attests, if any (cheap test before parsing)."""
    if '"rows":{' not in payload_text:
        return None
    rows = json.loads(payload_text).get("rows")
    return rows if isinstance(rows, dict) else None


def attested_in_chain() -> set[str]:
    """Every row name that some event of the chain attests."""
    from workbench.models.audit import AuditEvent

    names: set[str] = set()
    stmt = sa.select(sa.cast(AuditEvent.payload, sa.Text)).order_by(AuditEvent.seq)
    result = db.session.execute(stmt.execution_options(yield_per=10000))
    try:
        for (text,) in result:
            names.update(rows_in(text) or {})
    finally:
        result.close()
    return names


def attest_unattested(actor: str) -> int:
    """Append one ``row.baseline`` event for each row no event speaks for; return how many.

    For databases from before rows were attested (migration 0004): run once after upgrading.
    Rows that an event does attest are never attested again here, so a row changed behind the
    workbench's back stays visible to ``verify``. The caller commits.
    """
    from workbench import audit

    known = attested_in_chain()
    missing = [(name, digest) for name, digest in stored_digests() if name not in known]
    audit.append_many(
        {
            "actor": actor,
            "action": "row.baseline",
            "subject_type": name.split(":", 1)[0],
            "subject_id": name.split(":", 1)[1],
            "payload": {"rows": {name: digest}},
        }
        for name, digest in missing
    )
    return len(missing)
