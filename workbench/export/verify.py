"""Check an exported file against its manifest and against the audit chain, naming what differs.

The manifest comes from a JSON file given with the export, or is looked up in the database by
the file's sha256. Checked: the file's sha256, size and record count against the manifest; the
manifest against the one recorded here and against its ``export.finished`` event in the chain;
the audit head the manifest names is an event of the chain; and the chain itself verifies.
"""

from __future__ import annotations

import csv
import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from workbench import audit
from workbench.db import db
from workbench.export import manifest as manifests
from workbench.models import AuditEvent, ExportManifest


@dataclass
class Verification:
    """What ``verify_file`` found: ``problems`` empty means the file is the export it claims to be."""

    sha256: str
    bytes: int
    records: int | None
    manifest: dict[str, Any] | None = None
    problems: list[str] = field(default_factory=list)
    checks: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def file_digest(path: Path) -> tuple[str, int]:
    digest, size = hashlib.sha256(), 0
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
            size += len(block)
    return digest.hexdigest(), size


def count_records(path: Path, fmt: str) -> int | None:
    """Count the records in an export file of a format; None when it cannot be read as one."""
    try:
        if fmt == "jsonl":
            with path.open(encoding="utf-8") as handle:
                return sum(1 for line in handle if line.strip())
        if fmt in ("json", "claimreview"):
            with path.open(encoding="utf-8") as handle:
                data = json.load(handle)
            return len(data) if isinstance(data, list) else None
        if fmt == "csv":
            with path.open(encoding="utf-8", newline="") as handle:
                return max(sum(1 for _ in csv.reader(handle)) - 1, 0)
    except (UnicodeDecodeError, json.JSONDecodeError, csv.Error):
        return None
    return None


def load_manifest(path: Path) -> dict[str, Any]:
    """Read a manifest JSON file (as ``export`` writes it or the API returns it)."""
    data = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(data, dict) or "sha256" not in data:
        raise ValueError(f"{path} is not an export manifest (no sha256)")
    return data


def _differences(label: str, expected: dict[str, Any], actual: dict[str, Any]) -> list[str]:
    out = []
    for key in manifests.SEALED_FIELDS:
        if key in expected and expected.get(key) != actual.get(key):
            out.append(f"{label}: {key} is {actual.get(key)!r}, the manifest says {expected.get(key)!r}")
    return out


def verify_file(path: Path, given: dict[str, Any] | None = None, *, check_chain: bool = True) -> Verification:
    """Check the file at ``path`` against ``given`` (or the manifest recorded for its sha256)."""
    sha256, size = file_digest(path)
    result = Verification(sha256=sha256, bytes=size, records=None)
    row: ExportManifest | None
    if given is None:
        row = manifests.find_by_sha256(sha256)
        if row is None:
            result.problems.append(f"no export with sha256 {sha256} is recorded in this database")
            return result
        given = manifests.as_dict(row, links=False)
        result.checks.append(f"manifest found by sha256: export {row.uuid}")
    else:
        row = db.session.scalar(sa.select(ExportManifest).where(ExportManifest.uuid == str(given.get("id"))))
    result.manifest = given

    # The file against its manifest.
    if given.get("sha256") != sha256:
        result.problems.append(f"file: sha256 is {sha256}, the manifest says {given.get('sha256')}")
    else:
        result.checks.append(f"sha256 {sha256} matches")
    if given.get("bytes") is not None and given.get("bytes") != size:
        result.problems.append(f"file: size is {size} bytes, the manifest says {given.get('bytes')}")
    result.records = count_records(path, str(given.get("format")))
    if result.records is None:
        result.problems.append(f"file: cannot be read as {given.get('format')!r}")
    elif given.get("records") != result.records:
        result.problems.append(
            f"file: holds {result.records} records, the manifest says {given.get('records')}"
        )
    else:
        result.checks.append(f"{result.records} records, as the manifest says")

    # The manifest against what this database recorded, in its table and in the chain.
    if row is None:
        result.problems.append(f"export {given.get('id')} is not recorded in this database")
    else:
        result.problems += _differences("recorded manifest", given, manifests.as_dict(row, links=False))
    sealed = db.session.scalar(
        sa.select(AuditEvent).where(
            AuditEvent.action == "export.finished",
            AuditEvent.subject_type == "export",
            AuditEvent.subject_id == str(given.get("id")),
        )
    )
    if sealed is None:
        result.problems.append(f"the audit chain has no export.finished event for export {given.get('id')}")
    else:
        problems = _differences(f"audit event {sealed.seq}", given, sealed.payload)
        result.problems += problems
        if not problems:
            result.checks.append(f"audit event {sealed.seq} (export.finished) records this manifest")
    head = db.session.scalar(
        sa.select(AuditEvent).where(AuditEvent.hash == str(given.get("audit_head_hash")))
    )
    if head is None:
        result.problems.append(f"audit head {given.get('audit_head_hash')} is not in the audit chain")
    elif head.seq != given.get("audit_head_seq"):
        result.problems.append(
            f"audit head {head.hash} is event {head.seq} of the chain, "
            f"the manifest says {given.get('audit_head_seq')}"
        )
    else:
        result.checks.append(f"audit head {head.hash[:16]}… is event {head.seq} of the chain")
    if check_chain:
        report = audit.verify()
        if report.ok:
            result.checks.append(f"the audit chain verifies ({report.checked} events)")
        else:
            result.problems.append(
                f"the audit chain is broken at event {report.first_broken_seq}: {report.reason}"
            )
    return result


def manifest_json(data: dict[str, Any]) -> str:
    """A manifest as the file written next to an export (sorted keys, one per line)."""
    return json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
