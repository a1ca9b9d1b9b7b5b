"""Start an export: audit it, then stream its records in the chosen format."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import asdict

from workbench import audit
from workbench.db import db
from workbench.errors import ValidationError
from workbench.export import formats
from workbench.export.records import ExportFilters, count, iter_records

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
    total = count(filters)
    event = audit.append(
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
    audit_hash = event.hash
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
    return chunks, total, audit_hash
