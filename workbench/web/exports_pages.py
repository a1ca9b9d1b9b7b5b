"""The exports page: choose a format and filters, download, and see every earlier export."""

from __future__ import annotations

from datetime import date

import sqlalchemy as sa
from flask import Response, current_app, g, render_template, request, stream_with_context

from workbench.api.common import int_arg
from workbench.config import RATINGS
from workbench.db import db
from workbench.errors import ValidationError
from workbench.export import FORMATS, ExportFilters, start_export
from workbench.models import AuditEvent
from workbench.web import bp, login_required


def _date(name: str) -> date | None:
    value = request.args.get(name) or None
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ValidationError(
            f"{name} must be a date such as 2024-01-31, got {value!r}", errors={name: ["unparseable date"]}
        ) from None


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
    fmt = request.args.get("format", "json")
    rating = request.args.get("rating") or None
    if rating is not None and rating not in RATINGS:
        raise ValidationError(f"unknown rating {rating!r}", errors={"rating": ["unknown"]})
    filters = ExportFilters(
        article_id=int_arg("article_id", 0) or None,
        rating=rating,
        since=_date("since"),
        until=_date("until"),
        published_only=request.args.get("published", "").lower() in ("1", "true", "yes", "on"),
    )
    chunks, total, audit_hash = start_export(
        fmt,
        filters,
        actor=g.user.email,
        organisation=current_app.config.get("ORGANISATION", "Fact-check workbench"),
    )
    extension = "json" if fmt == "claimreview" else fmt
    headers = {
        "X-Record-Count": str(total),
        "X-Audit-Hash": audit_hash,
        "Content-Disposition": f'attachment; filename="verified-claims.{extension}"',
    }
    return Response(stream_with_context(chunks), mimetype=FORMATS[fmt].split(";")[0], headers=headers)
