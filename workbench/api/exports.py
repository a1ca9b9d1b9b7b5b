"""Exports: streamed with their manifest's id, run as jobs into files, and the manifests that prove them.

A streamed export only knows its sha256 once the last byte is out: the response names the
export at once (``X-Export-Id``, and a ``Link`` to its manifest), and the manifest, sealed
when the stream ends, is read at ``/exports/<id>/manifest``. ``POST /exports`` runs the export
as a job into a file instead (inline, or on an RQ worker with progress) and gives its download
link with the manifest.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask import Response, current_app, g, send_file, stream_with_context
from flask.views import MethodView
from marshmallow import fields

from workbench import jobs
from workbench.api.framework import Blueprint, documents
from workbench.auth import require_role
from workbench.db import db
from workbench.errors import Conflict, NotFound
from workbench.export import ClaimReviewSettings, start_export
from workbench.export import manifest as manifests
from workbench.export.filters import ExportQuerySchema, filters_of
from workbench.fastdump import Schema
from workbench.models import ExportManifest
from workbench.models.base import new_uuid
from workbench.schemas import JobSchema, PageArgs, UTCDateTime, page_of

blp = Blueprint(
    "exports",
    __name__,
    description="Verified claims out, in JSON, JSON Lines, CSV or ClaimReview, each export with a manifest.",
)


class ExportManifestSchema(Schema):
    """What an export held and how to check it: the sha256 of its exact bytes and the audit head."""

    id = fields.Str(required=True, metadata={"description": "The export's id (X-Export-Id)"})
    format = fields.Str(required=True)
    media_type = fields.Str(required=True)
    filters = fields.Dict(required=True, metadata={"description": "The filters it was asked with"})
    records = fields.Int(
        allow_none=True, metadata={"description": "Records in the file (null until finished)"}
    )
    records_expected = fields.Int(metadata={"description": "Records it was to hold when it started"})
    sha256 = fields.Str(
        allow_none=True, metadata={"description": "sha256 of the exact bytes (null until finished)"}
    )
    bytes = fields.Int(allow_none=True)
    audit_head_seq = fields.Int(required=True)
    audit_head_hash = fields.Str(
        required=True,
        metadata={"description": "The audit chain's head when it began (each record's audit_hash)"},
    )
    actor = fields.Str(required=True)
    via = fields.Str(metadata={"description": "api, page, cli or job"})
    created_at = UTCDateTime(required=True)
    finished_at = UTCDateTime(allow_none=True)
    finished = fields.Bool(
        required=True, metadata={"description": "false while it streams, or if never read to the end"}
    )
    manifest_url = fields.Str()
    download_url = fields.Str(
        allow_none=True, metadata={"description": "The file, for an export run as a job"}
    )


ExportManifestPage = page_of(ExportManifestSchema, "ExportManifestPage")


class ExportJobSchema(Schema):
    """An export job started: finished inline with its manifest, or queued (follow ``job.id``)."""

    export_id = fields.Str(required=True)
    job = fields.Nested(JobSchema, required=True)
    manifest = fields.Nested(ExportManifestSchema, allow_none=True)
    download_url = fields.Str(allow_none=True)


def streamed_export(actor: str, via: str, query: dict[str, Any]) -> Response:
    """Start the export ``query`` (loaded by ExportQuerySchema) asks for and stream it (API and page)."""
    fmt, filters = filters_of(query)
    export = start_export(
        fmt, filters, actor=actor, via=via, settings=ClaimReviewSettings.from_config(current_app.config)
    )
    headers = {
        "X-Export-Id": export.id,
        "X-Record-Count": str(export.expected),
        "X-Audit-Hash": export.audit_hash,
        "Link": f'<{manifests.manifest_link(export.id)}>; rel="describedby"; type="application/json"',
        "Content-Disposition": f'attachment; filename="{export.filename}"',
    }
    return Response(stream_with_context(export.chunks), mimetype=export.media_type, headers=headers)


_STREAM_HEADERS = {
    "X-Export-Id": {
        "description": "The export's id: its manifest is at /exports/{id}/manifest",
        "schema": {"type": "string"},
    },
    "X-Record-Count": {"description": "Records the export holds as it starts", "schema": {"type": "integer"}},
    "X-Audit-Hash": {"description": "The audit chain's head when it began", "schema": {"type": "string"}},
    "Link": {"description": "The manifest, rel=describedby", "schema": {"type": "string"}},
}


@blp.route("/exports/verified-claims")
class VerifiedClaims(MethodView):
    @require_role("reviewer")
    @blp.arguments(ExportQuerySchema, location="query")
    @blp.response(
        200,
        description="The records, streamed (application/json, application/x-ndjson, text/csv or "
        "application/ld+json). The manifest is sealed once the last byte is out.",
        headers=_STREAM_HEADERS,
    )
    def get(self, query: dict):
        """Stream verified claims with their provenance; the manifest follows at X-Export-Id."""
        return streamed_export(g.user.email, "api", query)


@blp.route("/exports")
class Exports(MethodView):
    @require_role("reviewer")
    @blp.arguments(PageArgs, location="query")
    @blp.response(200, ExportManifestPage)
    def get(self, page: dict):
        """List recorded exports with their manifests, newest first."""
        total = db.session.scalar(sa.select(sa.func.count()).select_from(ExportManifest))
        rows = db.session.scalars(
            sa.select(ExportManifest)
            .order_by(ExportManifest.id.desc())
            .limit(page["limit"])
            .offset(page["offset"])
        )
        return {"items": [manifests.as_dict(r) for r in rows], "total": total, **page}

    @require_role("reviewer")
    @blp.arguments(ExportQuerySchema)
    @blp.response(
        201, ExportJobSchema, description="Ran inline (no Redis configured): the file and its manifest"
    )
    @blp.alt_response(
        202, schema=ExportJobSchema, description="Queued for an RQ worker: follow /jobs/{job.id}"
    )
    def post(self, query: dict):
        """Run an export as a job into a file, with progress; a finished one gives its download link."""
        export_id = new_uuid()
        body = {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in query.items()}
        started = jobs.enqueue("export.file", actor=g.user.email, query=body, export_id=export_id)
        result = started.get("result") or {}
        answer = {
            "export_id": export_id,
            "job": started,
            "manifest": result.get("manifest"),
            "download_url": result.get("download_url"),
        }
        return answer, 201 if started["mode"] == "inline" else 202


@blp.route("/exports/<export_id>/manifest")
class Manifest(MethodView):
    @require_role("reviewer")
    @blp.response(200, ExportManifestSchema)
    @documents(404)
    def get(self, export_id: str):
        """Return an export's manifest (``finished`` is false while it still streams)."""
        return manifests.as_dict(manifests.find(export_id))


@blp.route("/exports/<export_id>/download")
class Download(MethodView):
    @require_role("reviewer")
    @blp.response(200, description="The file an export job wrote (its sha256 is the manifest's)")
    @documents(404, 409)
    def get(self, export_id: str):
        """Download the file an export job wrote."""
        from workbench.export.jobs import file_path

        row = manifests.find(export_id)
        if row.file_name is None:
            raise NotFound(f"export {export_id} was streamed, not kept as a file")
        if row.finished_at is None:
            raise Conflict(f"export {export_id} is still being written")
        described = manifests.as_dict(row, links=False)
        response = send_file(
            file_path(row.file_name),
            mimetype=described["media_type"],
            as_attachment=True,
            download_name=f"verified-claims-{row.uuid}.{row.file_name.rsplit('.', 1)[-1]}",
        )
        response.headers["X-Export-Id"] = row.uuid
        response.headers["X-Content-SHA256"] = row.sha256 or ""
        return response
