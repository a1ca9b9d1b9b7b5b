"""Export manifests: recorded when an export starts, sealed with the sha256 of its bytes at the end.

A manifest names the format, the filters, the record count, the sha256 and size of the exact
bytes, the audit chain's head when the export began (the hash every record carries), who asked
and when. Sealing writes it into the chain too (``export.finished``, the manifest as payload), so
a manifest row edited afterwards no longer matches its event.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable
from typing import Any, cast

import sqlalchemy as sa
from flask import current_app

from workbench import audit, signals
from workbench.audit.chain import Appended
from workbench.db import db
from workbench.errors import Conflict, NotFound
from workbench.export.filters import FORMATS
from workbench.models import ExportManifest
from workbench.models.base import iso, utcnow

API_PREFIX = "/api/v1"

#: The manifest's own fields that the chain's ``export.finished`` event repeats and verify compares.
SEALED_FIELDS = (
    "id",
    "format",
    "filters",
    "records",
    "sha256",
    "bytes",
    "audit_head_seq",
    "audit_head_hash",
    "actor",
    "created_at",
)


def as_dict(row: ExportManifest, *, links: bool = True) -> dict[str, Any]:
    """The manifest as the API returns it and as ``export verify`` reads it."""
    body: dict[str, Any] = {
        "id": row.uuid,
        "format": row.format,
        "media_type": FORMATS[row.format].split(";")[0],
        "filters": row.filters,
        "records": row.records,
        "records_expected": row.records_expected,
        "sha256": row.sha256,
        "bytes": row.bytes,
        "audit_head_seq": row.audit_head_seq,
        "audit_head_hash": row.audit_head_hash,
        "actor": row.actor,
        "via": row.via,
        "created_at": iso(row.created_at),
        "finished_at": iso(row.finished_at),
        "finished": row.finished_at is not None,
    }
    if links:
        body["manifest_url"] = manifest_link(row.uuid)
        body["download_url"] = _url(f"/exports/{row.uuid}/download") if row.file_name else None
    return body


def manifest_link(export_id: str) -> str:
    """Where an export's manifest is read over the API."""
    return _url(f"/exports/{export_id}/manifest")


def _url(path: str) -> str:
    """An absolute link under ``PUBLIC_URL`` (the same in a request, a CLI command or a job)."""
    return current_app.config.get("PUBLIC_URL", "").rstrip("/") + API_PREFIX + path


def sealed_part(manifest: dict[str, Any]) -> dict[str, Any]:
    """The fields a manifest's ``export.finished`` event records."""
    return {key: manifest.get(key) for key in SEALED_FIELDS}


def start(
    export_id: str,
    fmt: str,
    filters: dict[str, Any],
    expected: int,
    head: Appended,
    *,
    actor: str,
    via: str,
) -> ExportManifest:
    """Record an export that begins now (in the caller's transaction).

    An export job run again after its process died (workbench.worker re-queues it with the same
    id) takes over the manifest its first run left unsealed: the export's id is the one the API
    gave out, and its first start stays in the audit chain.
    """
    earlier = db.session.scalar(
        sa.select(ExportManifest).where(ExportManifest.uuid == export_id).with_for_update()
    )
    if earlier is not None:
        if earlier.finished_at is not None:
            raise Conflict(f"export {export_id} is already sealed", errors={"export_id": ["sealed"]})
        earlier.format, earlier.filters, earlier.records_expected = fmt, filters, expected
        earlier.audit_head_seq, earlier.audit_head_hash = head.seq, head.hash
        earlier.actor, earlier.via = actor, via
        db.session.flush()
        return earlier
    row = ExportManifest(
        uuid=export_id,
        format=fmt,
        filters=filters,
        records_expected=expected,
        audit_head_seq=head.seq,
        audit_head_hash=head.hash,
        actor=actor,
        via=via,
        created_at=utcnow(),
    )
    db.session.add(row)
    db.session.flush()
    return row


def seal(
    export_id: str,
    *,
    sha256: str,
    size: int,
    records: int,
    claim_ids: Iterable[int],
    file_name: str | None = None,
) -> dict[str, Any]:
    """Record the finished export's hash, size and count; audit it; send ``export_finished``.

    Runs in the caller's transaction (the caller commits). The UPDATE only takes a manifest not
    sealed yet, so a manifest is sealed once. The claims it carried are kept as runs of ids on
    the manifest (``exports_of_claim``), not as an audit event per claim: an export of 100,000
    claims would otherwise append 100,000 events, and cost more than the export itself.
    """
    updated = cast(
        "sa.CursorResult[Any]",
        db.session.execute(
            sa.update(ExportManifest)
            .where(ExportManifest.uuid == export_id, ExportManifest.finished_at.is_(None))
            .values(
                sha256=sha256,
                bytes=size,
                records=records,
                finished_at=utcnow(),
                file_name=file_name,
                claim_ranges=id_ranges(claim_ids),
            )
            .execution_options(synchronize_session=False)
        ),
    )
    if updated.rowcount != 1:
        raise NotFound(f"no unfinished export {export_id}")
    row = find(export_id)
    db.session.refresh(row)
    manifest = as_dict(row)
    audit.append(row.actor, "export.finished", "export", export_id, sealed_part(manifest))
    signals.export_finished.send(manifest, actor=row.actor)
    return manifest


def id_ranges(ids: Iterable[int]) -> list[list[int]]:
    """Compress ascending ids into runs ``[[first, last], ...]``."""
    runs: list[list[int]] = []
    for value in ids:
        if runs and value == runs[-1][1] + 1:
            runs[-1][1] = value
        else:
            runs.append([value, value])
    return runs


def exports_of_claim(claim_id: int) -> list[dict[str, Any]]:
    """Every finished export that carried the claim, oldest first (for the claim's history)."""
    rows = db.session.scalars(
        sa.select(ExportManifest).where(ExportManifest.finished_at.is_not(None)).order_by(ExportManifest.id)
    )
    out = []
    for row in rows:
        runs = row.claim_ranges or []
        at = bisect.bisect_right(runs, [claim_id, float("inf")]) - 1
        if at >= 0 and runs[at][0] <= claim_id <= runs[at][1]:
            out.append(as_dict(row))
    return out


def find(export_id: str) -> ExportManifest:
    row = db.session.scalar(sa.select(ExportManifest).where(ExportManifest.uuid == export_id))
    if row is None:
        raise NotFound(f"no export {export_id}")
    return row


def find_by_sha256(sha256: str) -> ExportManifest | None:
    return db.session.scalar(
        sa.select(ExportManifest).where(ExportManifest.sha256 == sha256).order_by(ExportManifest.id).limit(1)
    )
