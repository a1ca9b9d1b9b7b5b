"""Label Studio's webhook: authenticated by a shared secret header, never by a user token."""

from __future__ import annotations

import sqlalchemy as sa
from flask import current_app, jsonify, request
from flask.views import MethodView
from werkzeug.exceptions import RequestEntityTooLarge

from workbench.api.framework import WEBHOOK_SECRET, Blueprint, documents
from workbench.auth import require_role
from workbench.db import db
from workbench.labelstudio.bootstrap import WEBHOOK_HEADER
from workbench.labelstudio.webhook import check_secret, keep_oversized, receive
from workbench.labelstudio.webhook_placer import ensure_started
from workbench.models import WebhookEvent
from workbench.schemas import (
    WebhookEventArgs,
    WebhookEventPageSchema,
    WebhookReceiptSchema,
    WebhookRefusalSchema,
)

blp = Blueprint("hooks", __name__, description="Label Studio's webhook and the deliveries it kept.")


@blp.before_app_request
def _start_the_placer() -> None:
    """Start this process's webhook placer with its first request of any kind, so deliveries a
    process left unplaced are swept soon after a restart, not only when the next one arrives."""
    ensure_started(current_app._get_current_object())  # type: ignore[attr-defined]


# The body is Label Studio's, read raw by ``receive``: a delivery that cannot be used is kept
# too (and answered 400), so no schema refuses it before it is stored.
_DELIVERY = {
    "required": True,
    "content": {
        "application/json": {
            "schema": {
                "type": "object",
                "description": "Label Studio's webhook payload (ANNOTATION_CREATED, ANNOTATION_UPDATED, ...)",
            }
        }
    },
}


@blp.route("/hooks/label-studio")
class LabelStudioHook(MethodView):
    @blp.doc(security=[{WEBHOOK_SECRET: []}], requestBody=_DELIVERY)
    @blp.response(202, WebhookReceiptSchema, description="Kept; it is placed after")
    @blp.alt_response(200, schema=WebhookReceiptSchema, description="Kept and placed (inline placing)")
    @blp.alt_response(400, schema=WebhookRefusalSchema, description="Kept, but it cannot be used")
    @documents(401, 413, 503)
    def post(self):
        """Keep the delivery and answer at once: 202 once kept (placed after), or, when placing is
        inline, 200 with how it was placed; 400 for a delivery that cannot be used (kept too)."""
        check_secret(current_app.config.get("WEBHOOK_SECRET"), request.headers.get(WEBHOOK_HEADER))
        try:
            body = request.get_data(cache=False)
        except RequestEntityTooLarge:
            receipt, status = keep_oversized(request.content_length, request.max_content_length), 413
        else:
            receipt = receive(body)
            status = receipt.http_status
        if status >= 400:
            # Not the receipt: the one error shape (a Response passes @blp.response untouched).
            return jsonify(
                WebhookRefusalSchema().dump(
                    {
                        "code": "payload_too_large" if status == 413 else "bad_request",
                        "status": status,
                        "message": receipt.detail,
                        "errors": {"body": [receipt.status]},
                        "event_id": receipt.event_id,
                    }
                )
            ), status
        return receipt, status


@blp.route("/hooks/label-studio/events")
class LabelStudioHookEvents(MethodView):
    @require_role("admin")
    @blp.arguments(WebhookEventArgs, location="query")
    @blp.response(200, WebhookEventPageSchema)
    def get(self, args: dict):
        """List kept webhook deliveries, newest first; filter by ``status`` (e.g. unplaced, malformed)."""
        stmt = sa.select(WebhookEvent)
        if args["status"]:
            stmt = stmt.where(WebhookEvent.status == args["status"])
        total = db.session.scalar(sa.select(sa.func.count()).select_from(stmt.subquery()))
        rows = db.session.scalars(
            stmt.order_by(WebhookEvent.id.desc()).limit(args["limit"]).offset(args["offset"])
        )
        return {"items": rows, "total": total, "limit": args["limit"], "offset": args["offset"]}
