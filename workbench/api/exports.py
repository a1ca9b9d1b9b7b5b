"""Verified claims, streamed with their provenance."""

from __future__ import annotations

from datetime import date

from flask import Response, current_app, g, request, stream_with_context

from workbench.api import bp
from workbench.api.common import int_arg
from workbench.auth import require_role
from workbench.config import RATINGS
from workbench.errors import ValidationError
from workbench.export import FORMATS, ExportFilters, start_export


def _date_arg(name: str) -> date | None:
    value = request.args.get(name)
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ValidationError(
            f"{name} must be a date such as 2024-01-31, got {value!r}", errors={name: ["unparseable date"]}
        ) from None


def streamed_export(actor: str) -> Response:
    """Start the export the request's arguments ask for and stream it (the API and the page).

    Arguments: ``format``; filters ``article_id``, ``rating``, ``since`` and ``until`` (dates of
    the verdict), ``published``.
    """
    fmt = request.args.get("format", "json")
    rating = request.args.get("rating") or None
    if rating is not None and rating not in RATINGS:
        raise ValidationError(f"unknown rating {rating!r}", errors={"rating": ["unknown"]})
    filters = ExportFilters(
        article_id=int_arg("article_id", 0) or None,
        rating=rating,
        since=_date_arg("since"),
        until=_date_arg("until"),
        published_only=request.args.get("published", "").lower() in ("1", "true", "yes", "on"),
    )
    chunks, total, audit_hash = start_export(
        fmt,
        filters,
        actor=actor,
        organisation=current_app.config.get("ORGANISATION", "Fact-check workbench"),
    )
    extension = "json" if fmt == "claimreview" else fmt
    headers = {
        "X-Record-Count": str(total),
        "X-Audit-Hash": audit_hash,
        "Content-Disposition": f'attachment; filename="verified-claims.{extension}"',
    }
    return Response(stream_with_context(chunks), mimetype=FORMATS[fmt].split(";")[0], headers=headers)


@bp.get("/exports/verified-claims")
@require_role("reviewer")
def export_verified_claims():
    """Stream verified claims as json, jsonl, csv or claimreview (filters: see streamed_export)."""
    return streamed_export(g.user.email)
