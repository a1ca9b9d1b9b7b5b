"""The exports page: choose a format and filters, download, and see every earlier export."""

from __future__ import annotations

import sqlalchemy as sa
from flask import g, render_template, request

from workbench.api.exports import streamed_export
from workbench.config import RATINGS
from workbench.db import db
from workbench.export import FORMATS
from workbench.models import AuditEvent
from workbench.web import bp, login_required


def earlier_exports(limit: int = 50) -> list[dict]:
    """The newest exports from the audit chain: who, when, format, filters, count, content sha256."""
    created = db.session.scalars(
        sa.select(AuditEvent)
        .where(AuditEvent.action == "export.created")
        .order_by(AuditEvent.seq.desc())
        .limit(limit)
    ).all()
    seqs = [e.seq for e in created]
    completed = {}
    if seqs:
        for e in db.session.scalars(
            sa.select(AuditEvent).where(AuditEvent.action == "export.completed", AuditEvent.seq > min(seqs))
        ):
            completed[e.payload.get("export_seq")] = e.payload
    return [
        {
            "event": e,
            "format": e.payload.get("format"),
            "records": e.payload.get("records"),
            "filters": {
                k: v for k, v in (e.payload.get("filters") or {}).items() if v not in (None, "False")
            },
            "sha256": (completed.get(e.seq) or {}).get("sha256"),
            "bytes": (completed.get(e.seq) or {}).get("bytes"),
        }
        for e in created
    ]


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
    """Stream an export with the filters the API takes; its content hash is recorded when done."""
    return streamed_export(g.user.email)
