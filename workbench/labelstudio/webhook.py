"""The webhook receiver's rules: keep every delivery, store each annotation version once."""

from __future__ import annotations

import hashlib
import hmac
import json

from workbench import audit
from workbench.db import db
from workbench.errors import Unauthorized
from workbench.labelstudio.annotations import (
    MalformedAnnotation,
    annotator_id,
    editor_id,
    find_claim,
    store_annotation,
)
from workbench.labelstudio.people import resolve
from workbench.models import WebhookEvent
from workbench.validation import MAX_INT, loads_strict, sanitize, storable_body

ANNOTATION_ACTIONS = {"ANNOTATION_CREATED", "ANNOTATION_UPDATED"}
_ACTION_MAX = 100


def check_secret(configured: str | None, presented: str | None) -> None:
    """Compare the presented secret with the configured one in constant time, or raise 401."""
    if not configured:
        raise Unauthorized("webhooks are refused until WORKBENCH_WEBHOOK_SECRET is set")
    if presented is None or not hmac.compare_digest(configured.encode(), presented.encode()):
        raise Unauthorized("missing or wrong webhook secret header")


class _Delivery:
    """One delivery as received, and the form it is kept in."""

    def __init__(self, body: bytes):
        self.text, self.stored_as = storable_body(body)
        self.length = len(body)
        self.sha256 = hashlib.sha256(body).hexdigest()

    def keep(self, action: str | None, status: str, detail: str | None, annotation_id: int | None = None):
        notes = [detail] if detail else []
        if action is not None:
            action = sanitize(action)
            if len(action) > _ACTION_MAX:
                notes.append(f"its action, {len(action)} characters long, is kept cut to {_ACTION_MAX}")
                action = action[:_ACTION_MAX]
        if self.stored_as != "as_sent":
            notes.append(f"the body is kept {self.stored_as} (sha256 and length are of the body as sent)")
        event = WebhookEvent(
            action=action,
            body=self.text,
            body_length=self.length,
            body_sha256=self.sha256,
            body_stored_as=self.stored_as,
            status=status,
            detail="; ".join(notes) or None,
            annotation_id=annotation_id,
        )
        db.session.add(event)
        return event


def _parse(text: str):
    """Parse strict JSON (no NaN or Infinity); say why not in one line."""
    try:
        return loads_strict(text), None
    except json.JSONDecodeError as exc:
        return None, f"body is not JSON: {exc.msg} at position {exc.pos}"
    except ValueError as exc:
        return None, f"body is not JSON: {exc}"
    except RecursionError:
        return None, "body is not usable JSON: nested too deeply"


def receive(body: bytes, *, overlap: int) -> tuple[WebhookEvent, int]:
    """Record a delivery and act on it; return the stored event and the HTTP status to answer.

    Every delivery is kept, whatever it carries: an annotation that cannot be stored is kept
    as the event ``malformed`` (400), one that cannot be placed as ``unplaced``, and a body
    that cannot be stored as sent is kept escaped, with the original's length and sha256.
    Once an annotation is stored, an author or editor the user cache lacks is looked up in
    Label Studio (best-effort, see ``people.resolve``).
    """
    delivery = _Delivery(body)
    payload, problem = _parse(delivery.text) if delivery.stored_as == "as_sent" else (None, None)
    if problem is None and delivery.stored_as != "as_sent":
        problem = "body is not UTF-8 JSON without NUL bytes"
    if problem is not None:
        return _commit(delivery.keep(None, "malformed", problem)), 400
    if not isinstance(payload, dict) or not isinstance(payload.get("action"), str):
        return _commit(delivery.keep(None, "malformed", "body is not an object with an 'action' string")), 400
    action = payload["action"]

    if action == "ANNOTATIONS_DELETED":
        ids = [
            a.get("id")
            for a in payload.get("annotations") or []
            if isinstance(a, dict) and isinstance(a.get("id"), int) and not isinstance(a.get("id"), bool)
        ]
        event = delivery.keep(
            action,
            "recorded",
            f"Label Studio deleted annotations {ids}; the workbench keeps every stored version",
        )
        db.session.flush()
        audit.append(
            "label-studio",
            "annotation.deleted_in_label_studio",
            "webhook",
            event.id,
            {"ls_annotation_ids": ids},
        )
        return _commit(event), 200
    if action not in ANNOTATION_ACTIONS:
        return _commit(delivery.keep(action, "unknown_action", "no handler for this action")), 200

    annotation = payload.get("annotation")
    if not isinstance(annotation, dict):
        return _commit(delivery.keep(action, "malformed", "no 'annotation' object")), 400
    task = payload.get("task") if isinstance(payload.get("task"), dict) else {}
    task_id = _id(task.get("id")) or _id(annotation.get("task"))
    project = payload.get("project") if isinstance(payload.get("project"), dict) else {}
    project_id = _id(project.get("id")) or _id(task.get("project")) or _id(annotation.get("project"))
    data = task.get("data") if isinstance(task.get("data"), dict) else None
    claim = find_claim(task_id, data, project_id)
    if claim is None:
        return _commit(
            delivery.keep(action, "unplaced", f"no claim is linked to Label Studio task {task_id}")
        ), 200

    if annotation.get("task") is None:
        annotation = {**annotation, "task": task_id}
    try:
        # Raises MalformedAnnotation before it writes anything.
        row = store_annotation(claim, annotation, source="webhook", project_id=project_id, overlap=overlap)
    except MalformedAnnotation as exc:
        return _commit(delivery.keep(action, "malformed", f"annotation {annotation.get('id')!r}: {exc}")), 400
    except Exception as exc:
        # A fault of ours, not of the delivery: keep it (sync repairs the annotation later), then
        # let the error handler answer 500 and log it.
        db.session.rollback()
        _commit(delivery.keep(action, "failed", f"could not be stored: {type(exc).__name__}"))
        raise
    event = _commit(
        delivery.keep(
            action,
            "processed" if row else "duplicate",
            None if row else "this annotation version was already stored",
            annotation_id=row.id if row else None,
        )
    )
    # Only now, with the annotation committed, ask Label Studio who its author and editor are
    # (the ids the cache lacks): a Label Studio that does not answer costs nothing but a name.
    resolve([annotator_id(annotation), editor_id(annotation)], actor="webhook")
    return event, 200


def _id(value) -> int | None:
    """A Label Studio id from a payload, or None when it is absent or cannot be one."""
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value <= MAX_INT:
        return None
    return value


def _commit(event: WebhookEvent) -> WebhookEvent:
    db.session.commit()
    return event
