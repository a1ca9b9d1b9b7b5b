"""Start an export: record it, then stream its records in the chosen format and seal its manifest.

The sha256 of a streamed export is only known once its last byte is out, so an export is
recorded in two steps: ``start_export`` audits it and stores its manifest (id, format, filters,
the audit head) before the first byte; the stream seals the manifest (sha256, size, count) after
the last. A door returns the export's id at once (the API's ``X-Export-Id`` header) and the
sealed manifest is read at ``/api/v1/exports/<id>/manifest``; ``export_to_file`` does both steps
and returns the sealed manifest (the CLI and the export job).
"""

from __future__ import annotations

import hashlib
import os
from array import array
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from typing import Any, BinaryIO

from workbench import audit
from workbench.db import begin_write, db
from workbench.export import formats, manifest
from workbench.export.claimreview import ClaimReviewSettings
from workbench.export.filters import EXTENSIONS, FORMATS, ExportFilters
from workbench.export.records import count_records, iter_batches, max_verdict_id
from workbench.models.base import new_uuid

Progress = Callable[[int, int], None]


@dataclass
class Export:
    """A started export: its id, what it expects to hold, and the stream of its bytes."""

    id: str
    format: str
    expected: int
    audit_hash: str
    chunks: Iterator[bytes]
    tally: _Tally

    @property
    def manifest(self) -> dict[str, Any] | None:
        """The sealed manifest, once the stream has been read to its end."""
        return self.tally.manifest

    @property
    def media_type(self) -> str:
        return FORMATS[self.format].split(";")[0]

    @property
    def filename(self) -> str:
        return f"verified-claims-{self.id}.{EXTENSIONS[self.format]}"


def start_export(
    fmt: str,
    filters: ExportFilters,
    *,
    actor: str,
    via: str,
    settings: ClaimReviewSettings,
    export_id: str | None = None,
    progress: Progress | None = None,
    file_name: str | None = None,
    before_seal: Callable[[], None] | None = None,
) -> Export:
    """Audit the export and record its manifest, commit, and return its stream.

    Commits (a GET that writes: SQLite's write lock is held for these rows only, never while the
    records stream). The stream seals the manifest and commits again once its last byte is out;
    a stream the reader stops early is never sealed.
    """
    if fmt not in FORMATS:
        raise ValueError(f"unknown export format {fmt!r}")
    export_id = export_id or new_uuid()
    begin_write()
    filters = replace(filters, up_to_verdict_id=max_verdict_id())
    expected = count_records(filters)
    shown = filters.to_dict()
    head = audit.append(
        actor,
        "export.created",
        "export",
        export_id,
        {"format": fmt, "filters": shown, "records": expected, "via": via},
    )
    manifest.start(export_id, fmt, shown, expected, head, actor=actor, via=via)
    db.session.commit()
    tally = _Tally()
    batches = _counted(iter_batches(filters, head.hash), tally, expected, progress)
    chunks = formats.render(fmt, batches, settings)
    return Export(
        export_id, fmt, expected, head.hash, _sealed(chunks, export_id, tally, file_name, before_seal), tally
    )


class _Tally:
    """What the stream has carried so far: how many records, and which claims."""

    def __init__(self) -> None:
        self.records = 0
        self.claim_ids = array("q")
        self.manifest: dict[str, Any] | None = None


def _counted(
    batches: Iterator[list[dict[str, Any]]], tally: _Tally, expected: int, progress: Progress | None
):
    for batch in batches:
        tally.claim_ids.extend(r["claim"]["id"] for r in batch)
        tally.records += len(batch)
        yield batch
        if progress is not None:
            progress(tally.records, expected)


def _sealed(
    chunks: Iterator[bytes],
    export_id: str,
    tally: _Tally,
    file_name: str | None,
    before_seal: Callable[[], None] | None,
) -> Iterator[bytes]:
    """Stream the chunks and, once the last is out, seal the manifest and commit."""
    digest, size = hashlib.sha256(), 0
    for data in chunks:
        digest.update(data)
        size += len(data)
        yield data
    if before_seal is not None:
        before_seal()
    begin_write()
    tally.manifest = manifest.seal(
        export_id,
        sha256=digest.hexdigest(),
        size=size,
        records=tally.records,
        claim_ids=tally.claim_ids,
        file_name=file_name,
    )
    db.session.commit()


def export_to_file(
    fmt: str,
    filters: ExportFilters,
    target: BinaryIO | None,
    *,
    actor: str,
    via: str,
    settings: ClaimReviewSettings,
    export_id: str | None = None,
    progress: Progress | None = None,
    file_name: str | None = None,
    before_seal: Callable[[], None] | None = None,
) -> dict[str, Any]:
    """Run a whole export into ``target`` (a binary file) and return its sealed manifest.

    Commits (see ``start_export``).
    """
    export = start_export(
        fmt,
        filters,
        actor=actor,
        via=via,
        settings=settings,
        export_id=export_id,
        progress=progress,
        file_name=file_name,
        before_seal=before_seal,
    )
    if progress is not None:
        progress(0, export.expected)
    for data in export.chunks:
        if target is not None:
            target.write(data)
    assert export.manifest is not None  # the stream was read to its end
    return export.manifest


def exports_folder(instance_path: str) -> str:
    """Where export jobs keep their files (created on first use)."""
    folder = os.path.join(instance_path, "exports")
    os.makedirs(folder, exist_ok=True)
    return folder
