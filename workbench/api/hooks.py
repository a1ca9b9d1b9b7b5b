"""Label Studio's webhook: authenticated by a shared secret header, never by a user token."""

from __future__ import annotations

import sqlalchemy as sa
from flask import current_app, request

from workbench.api import bp
from workbench.api.common import int_arg
from workbench.auth import require_role
from workbench.db import db
from workbench.labelstudio.bootstrap import WEBHOOK_HEADER
from workbench.labelstudio.webhook import check_secret, receive
from workbench.labelstudio.webhook_placer import ensure_started
from workbench.models import WebhookEvent
from workbench.models.base import iso


@bp.before_app_request
def _start_the_placer() -> None:
    """Start this process's webhook placer with its first request of any kind, so deliveries a
    process left unplaced are swept soon after a restart, not only when the next one arrives."""
    ensure_started(current_app._get_current_object())


@bp.post("/hooks/label-studio")
def label_studio_hook():
    """Keep the delivery and answer at once: 202 once kept (placed after), or, when placing is
    inline, 200 with how it was placed; 400 for a delivery that cannot be used (kept too)."""
    check_secret(current_app.config.get("WEBHOOK_SECRET"), request.headers.get(WEBHOOK_HEADER))
    receipt = receive(request.get_data(cache=False))
    status = receipt.http_status
    body = {"event_id": receipt.event_id, "status": receipt.status, "detail": receipt.detail}
    if status >= 400:
        body = {
            "code": "bad_request",
            "status": status,
            "message": receipt.detail,
            "errors": {"body": [receipt.status]},
            "event_id": receipt.event_id,
        }
    return body, status


@bp.get("/hooks/label-studio/events")
@require_role("admin")
def label_studio_hook_events():
    """List kept webhook deliveries, newest first; filter by ``status`` (e.g. unplaced, malformed)."""
    limit = int_arg("limit", 50, minimum=1, maximum=500)
    offset = int_arg("offset", 0)
    stmt = sa.select(WebhookEvent)
    status = request.args.get("status")
    if status:
        stmt = stmt.where(WebhookEvent.status == status)
    total = db.session.scalar(sa.select(sa.func.count()).select_from(stmt.subquery()))
    rows = db.session.scalars(stmt.order_by(WebhookEvent.id.desc()).limit(limit).offset(offset))
    items = [
        {
            "id": e.id,
            "received_at": iso(e.received_at),
            "placed_at": iso(e.placed_at),
            "action": e.action,
            "status": e.status,
            "detail": e.detail,
            "annotation_id": e.annotation_id,
            "body": e.body,
            "body_length": e.body_length,
            "body_sha256": e.body_sha256,
            "body_stored_as": e.body_stored_as,
        }
        for e in rows
    ]
    return {"items": items, "total": total, "limit": limit, "offset": offset}
