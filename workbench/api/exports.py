"""Exports: streamed with their manifest's id, run as jobs into files, and their manifests."""

from __future__ import annotations

import sqlalchemy as sa
from flask import Response, current_app, g, request, send_file, stream_with_context

from workbench import jobs
from workbench.api import bp
from workbench.api.common import int_arg
from workbench.auth import require_role
from workbench.db import db
from workbench.errors import Conflict, NotFound, ValidationError
from workbench.export import ClaimReviewSettings, read_export_query, start_export
from workbench.export import manifest as manifests
from workbench.models import ExportManifest
from workbench.models.base import new_uuid


def streamed_export(actor: str, via: str) -> Response:
    """Start the export the request's arguments ask for and stream it (the API and the page).

    Arguments: ``format``; filters ``article_id``, ``rating``, ``reviewer``, ``since`` and
    ``until`` (days of the verdict), ``published``. The response names the export
    (``X-Export-Id``) and links its manifest, sealed once the last byte is out.
    """
    fmt, filters = read_export_query(request.args)
    export = start_export(
        fmt, filters, actor=actor, via=via, settings=ClaimReviewSettings.from_config(current_app.config)
    )
    manifest_url = manifests.manifest_link(export.id)
    headers = {
        "X-Export-Id": export.id,
        "X-Record-Count": str(export.expected),
        "X-Audit-Hash": export.audit_hash,
        "Link": f'<{manifest_url}>; rel="describedby"; type="application/json"',
        "Content-Disposition": f'attachment; filename="{export.filename}"',
    }
    return Response(stream_with_context(export.chunks), mimetype=export.media_type, headers=headers)


@bp.get("/exports/verified-claims")
@require_role("reviewer")
def export_verified_claims():
    """Stream verified claims as json, jsonl, csv or claimreview (filters: see streamed_export)."""
    return streamed_export(g.user.email, "api")


@bp.post("/exports")
@require_role("reviewer")
def start_export_job():
    """Run an export as a job into a file: inline (201, with its manifest) or on a worker (202)."""
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise ValidationError("send a JSON object: format and filters", errors={"body": ["not an object"]})
    read_export_query(body)  # 422 here, before a job is queued
    export_id = new_uuid()
    started = jobs.enqueue("export.file", actor=g.user.email, query=body, export_id=export_id)
    return {"export_id": export_id, "job": started, **(started.get("result") or {})}, (
        201 if started["mode"] == "inline" else 202
    )


@bp.get("/exports")
@require_role("reviewer")
def list_exports():
    """List recorded exports with their manifests, newest first."""
    limit = int_arg("limit", 50, minimum=1, maximum=500)
    offset = int_arg("offset", 0)
    total = db.session.scalar(sa.select(sa.func.count()).select_from(ExportManifest))
    rows = db.session.scalars(
        sa.select(ExportManifest).order_by(ExportManifest.id.desc()).limit(limit).offset(offset)
    )
    return {"items": [manifests.as_dict(r) for r in rows], "total": total, "limit": limit, "offset": offset}


@bp.get("/exports/<export_id>/manifest")
@require_role("reviewer")
def export_manifest(export_id: str):
    """Return an export's manifest (``finished`` false while it still streams)."""
    return manifests.as_dict(manifests.find(export_id))


@bp.get("/exports/<export_id>/download")
@require_role("reviewer")
def export_download(export_id: str):
    """Download the file an export job wrote (its sha256 is the manifest's)."""
    from workbench.export.jobs import file_path

    row = manifests.find(export_id)
    if row.file_name is None:
        raise NotFound(f"export {export_id} was streamed, not kept as a file")
    if row.finished_at is None:
        raise Conflict(f"export {export_id} is still being written")
    response = send_file(
        file_path(row.file_name),
        mimetype=manifests.as_dict(row, links=False)["media_type"],
        as_attachment=True,
        download_name=f"verified-claims-{row.uuid}.{row.file_name.rsplit('.', 1)[-1]}",
    )
    response.headers["X-Export-Id"] = row.uuid
    response.headers["X-Content-SHA256"] = row.sha256 or ""
    return response
