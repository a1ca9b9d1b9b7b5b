"""The exports page: choose a format and filters, download, and see every earlier export's manifest."""

from __future__ import annotations

import sqlalchemy as sa
from flask import Response, g, render_template, request

from workbench.api.common import load
from workbench.api.exports import streamed_export
from workbench.config import RATINGS
from workbench.db import db
from workbench.export import FORMATS
from workbench.export import manifest as manifests
from workbench.export.filters import ExportQuerySchema
from workbench.export.verify import manifest_json
from workbench.models import ExportManifest
from workbench.web import bp, login_required


def earlier_exports(limit: int = 50) -> list[dict]:
    """The newest exports' manifests: who, when, format, filters, count, content sha256, audit head."""
    rows = db.session.scalars(sa.select(ExportManifest).order_by(ExportManifest.id.desc()).limit(limit))
    return [manifests.as_dict(row) for row in rows]


@bp.get("/exports")
@login_required("reviewer")
def exports_page():
    """Show the export form and the list of earlier exports."""
    return render_template(
        "exports.html", formats=list(FORMATS), ratings=RATINGS, exports=earlier_exports(), args=request.args
    )


@bp.get("/exports/download")
@login_required("reviewer")
def export_download():
    """Stream an export with the filters the API takes (the same schema); its manifest is sealed when done."""
    return streamed_export(g.user.email, "page", load(ExportQuerySchema(), request.args.to_dict()))


@bp.get("/exports/<export_id>/manifest.json")
@login_required("reviewer")
def export_manifest_file(export_id: str):
    """Download an export's manifest, to keep beside the file and check it with ``export verify``."""
    body = manifest_json(manifests.as_dict(manifests.find(export_id)))
    return Response(
        body,
        mimetype="application/json",
        headers={"Content-Disposition": f'attachment; filename="verified-claims-{export_id}.manifest.json"'},
    )
