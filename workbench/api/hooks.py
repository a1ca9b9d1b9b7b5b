"""Label Studio's webhook: authenticated by a shared secret header, never by a user token."""

from __future__ import annotations

from flask import current_app, request

from workbench.api import bp
from workbench.labelstudio.service import WEBHOOK_HEADER
from workbench.labelstudio.webhook import check_secret, receive


@bp.post("/hooks/label-studio")
def label_studio_hook():
    """Keep the delivery, store the annotation version it carries, and answer at once."""
    check_secret(current_app.config.get("WEBHOOK_SECRET"), request.headers.get(WEBHOOK_HEADER))
    event, status = receive(request.get_data(cache=False), overlap=current_app.config["ANNOTATION_OVERLAP"])
    body = {"event_id": event.id, "status": event.status, "detail": event.detail}
    if status >= 400:
        body = {
            "code": "bad_request",
            "status": status,
            "message": event.detail,
            "errors": {"body": [event.status]},
            "event_id": event.id,
        }
    return body, status
