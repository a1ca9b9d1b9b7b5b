"""The webhook receiver's rules: keep every delivery, store each annotation version once."""

from __future__ import annotations

import hmac
import json

from workbench import audit
from workbench.db import db
from workbench.errors import Unauthorized
from workbench.labelstudio.annotations import MalformedAnnotation, find_claim, store_annotation
from workbench.models import WebhookEvent

ANNOTATION_ACTIONS = {"ANNOTATION_CREATED", "ANNOTATION_UPDATED"}


def check_secret(configured: str | None, presented: str | None) -> None:
    """Compare the presented secret with the configured one in constant time, or raise 401."""
    if not configured:
        raise Unauthorized("webhooks are refused until WORKBENCH_WEBHOOK_SECRET is set")
    if presented is None or not hmac.compare_digest(configured.encode(), presented.encode()):
        raise Unauthorized("missing or wrong webhook secret header")


def receive(body: bytes, *, overlap: int) -> tuple[WebhookEvent, int]:
    """Record a delivery and act on it; return the stored event and the HTTP status to answer."""
    text = body.decode("utf-8", errors="replace")
    try:
        payload = json.loads(text)
    except json.JSONDecodeError as exc:
        return _keep(text, None, "malformed", f"body is not JSON: {exc.msg} at position {exc.pos}"), 400
    if not isinstance(payload, dict) or not isinstance(payload.get("action"), str):
        return _keep(text, None, "malformed", "body is not an object with an 'action' string"), 400
    action = payload["action"]

    if action == "ANNOTATIONS_DELETED":
        ids = [a.get("id") for a in payload.get("annotations") or [] if isinstance(a, dict)]
        event = _keep(
            text,
            action,
            "recorded",
            f"Label Studio deleted annotations {ids}; the workbench keeps every stored version",
        )
        audit.append(
            "label-studio",
            "annotation.deleted_in_label_studio",
            "webhook",
            event.id,
            {"ls_annotation_ids": ids},
        )
        db.session.commit()
        return event, 200
    if action not in ANNOTATION_ACTIONS:
        return _keep(text, action, "unknown_action", f"no handler for action {action!r}"), 200

    annotation = payload.get("annotation")
    if not isinstance(annotation, dict) or not isinstance(annotation.get("id"), int):
        return _keep(text, action, "malformed", "no 'annotation' object with an integer 'id'"), 400
    task = payload.get("task") if isinstance(payload.get("task"), dict) else {}
    task_id = task.get("id") or annotation.get("task")
    project = payload.get("project") if isinstance(payload.get("project"), dict) else {}
    project_id = project.get("id") or task.get("project") or annotation.get("project")
    project_id = int(project_id) if isinstance(project_id, int) else None
    claim = find_claim(int(task_id) if isinstance(task_id, int) else None, task.get("data"), project_id)
    if claim is None:
        return _keep(text, action, "unplaced", f"no claim is linked to Label Studio task {task_id!r}"), 200

    annotation.setdefault("task", task_id)
    try:
        row = store_annotation(claim, annotation, source="webhook", project_id=project_id, overlap=overlap)
    except MalformedAnnotation as exc:
        db.session.rollback()
        return _keep(text, action, "malformed", f"annotation {annotation['id']}: {exc}"), 400
    event = WebhookEvent(
        action=action,
        body=text,
        status="processed" if row else "duplicate",
        detail=None if row else "this annotation version was already stored",
        annotation_id=row.id if row else None,
    )
    db.session.add(event)
    db.session.commit()
    return event, 200


def _keep(text: str, action: str | None, status: str, detail: str) -> WebhookEvent:
    event = WebhookEvent(action=action, body=text, status=status, detail=detail)
    db.session.add(event)
    db.session.commit()
    return event
