"""Start an export: audit it, then stream its records in the chosen format."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import asdict, replace

from workbench import audit
from workbench.db import begin_write, db
from workbench.errors import ValidationError
from workbench.export import formats
from workbench.export.records import ExportFilters, claim_ids, iter_records, max_verdict_id

FORMATS = {
    "json": "application/json",
    "jsonl": "application/x-ndjson",
    "csv": "text/csv; charset=utf-8",
    "claimreview": "application/ld+json",
}


def start_export(
    fmt: str, filters: ExportFilters, *, actor: str, organisation: str = "Fact-check workbench"
) -> tuple[Iterator[str], int, str]:
    """Audit the export, commit, and return (chunks, record count, audit hash stamped on each record)."""
    if fmt not in FORMATS:
        raise ValidationError(
            f"unknown export format {fmt!r}; use one of {', '.join(FORMATS)}", errors={"format": ["unknown"]}
        )
    # A GET that writes: SQLite's write lock for these audit events only, never for the stream.
    begin_write()
    filters = replace(filters, up_to_verdict_id=max_verdict_id())
    ids = claim_ids(filters)
    total = len(ids)
    summary = audit.append(
        actor,
        "export.created",
        "export",
        fmt,
        {
            "format": fmt,
            "records": total,
            "filters": {k: (str(v) if v is not None else None) for k, v in asdict(filters).items()},
        },
    )
    # Each claim's history shows every export that carried it.
    audit.append_many(
        {
            "actor": actor,
            "action": "claim.exported",
            "subject_type": "claim",
            "subject_id": claim_id,
            "payload": {"export_seq": summary.seq, "format": fmt},
        }
        for claim_id in ids
    )
    audit_hash = summary.hash
    db.session.commit()
    records = iter_records(filters, audit_hash)
    if fmt == "jsonl":
        chunks = formats.jsonl(records)
    elif fmt == "csv":
        chunks = formats.csv_rows(records)
    elif fmt == "claimreview":
        chunks = formats.claimreview(records, organisation)
    else:
        chunks = formats.json_array(records)
    return _sealed(chunks, summary.seq, actor, fmt, total), total, audit_hash


def _sealed(chunks: Iterator[str], export_seq: int, actor: str, fmt: str, total: int) -> Iterator[str]:
    """Stream the chunks and, once the last is out, record the content's sha256 and size.

    Appended as ``export.completed`` (an export the reader stopped reading has none), so the
    file anyone holds can be checked against the chain.
    """
    digest, size = hashlib.sha256(), 0
    for chunk in chunks:
        data = chunk.encode("utf-8")
        digest.update(data)
        size += len(data)
        yield chunk
    begin_write()
    audit.append(
        actor,
        "export.completed",
        "export",
        fmt,
        {"export_seq": export_seq, "records": total, "sha256": digest.hexdigest(), "bytes": size},
    )
    db.session.commit()
