"""The export job: run an export into a file of the instance folder, to download with its manifest."""

from __future__ import annotations

import os
from typing import Any

import sqlalchemy as sa
from flask import current_app

from workbench.db import db
from workbench.export import manifest as manifests
from workbench.export.claimreview import ClaimReviewSettings
from workbench.export.filters import EXTENSIONS, read_export_query
from workbench.export.service import Progress, export_to_file, exports_folder
from workbench.models.export_manifest import ExportManifest


def export_file(
    *, actor: str, query: dict[str, Any], export_id: str, progress: Progress | None = None
) -> dict[str, Any]:
    """Write the export ``query`` asks for to ``<instance>/exports/<id>.<ext>``; return its manifest.

    Commits (the export is recorded when it starts and sealed when the file is complete).
    """
    fmt, filters = read_export_query(query)
    name = f"{export_id}.{EXTENSIONS[fmt]}"
    path = os.path.join(exports_folder(current_app.instance_path), name)
    done = db.session.scalar(
        sa.select(ExportManifest).where(
            ExportManifest.uuid == export_id, ExportManifest.finished_at.is_not(None)
        )
    )
    if done is not None and os.path.isfile(path):
        # Run again after the first run sealed its file (its process died before the job was
        # marked done): the export is complete; give its manifest rather than fail.
        manifest = manifests.as_dict(done)
        return {"export_id": export_id, "manifest": manifest, "download_url": manifest["download_url"]}
    with open(path, "wb") as target:
        manifest = export_to_file(
            fmt,
            filters,
            target,
            actor=actor,
            via="job",
            settings=ClaimReviewSettings.from_config(current_app.config),
            export_id=export_id,
            progress=progress,
            file_name=name,
            before_seal=lambda: _flush(target),
        )
    return {"export_id": export_id, "manifest": manifest, "download_url": manifest["download_url"]}


def _flush(target: Any) -> None:
    # The manifest says the file is complete only once its bytes are on disk.
    target.flush()
    os.fsync(target.fileno())


def file_path(file_name: str) -> str:
    return os.path.join(exports_folder(current_app.instance_path), file_name)
