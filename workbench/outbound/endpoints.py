"""Register, pause, resume, rotate and delete integrators' endpoints; each change is audited.

Services flush, doors commit: these run in the caller's transaction. The signing secret is
returned by ``register`` and ``rotate_secret`` only; audit events and listings never carry it.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask import current_app

from workbench import audit
from workbench.db import changed_rows, db, lock_rows
from workbench.errors import NotFound, ValidationError
from workbench.models.base import utcnow
from workbench.models.outbound import DeliveryState, EndpointStatus, OutboundDelivery, OutboundEndpoint
from workbench.outbound import signing
from workbench.outbound.events import EVENT_TYPES, dispatch_after_commit
from workbench.outbound.urls import check_url

DESCRIPTION_MAX = 500
SUBJECT = "outbound_endpoint"


def _event_types(value: Any) -> list[str]:
    if value is None:
        return list(EVENT_TYPES)
    if not isinstance(value, list | tuple) or not value or not all(isinstance(v, str) for v in value):
        raise ValidationError(
            f"event_types must be a non-empty list of {', '.join(EVENT_TYPES)}",
            errors={"event_types": ["non-empty list of event types"]},
        )
    unknown = sorted(set(value) - set(EVENT_TYPES))
    if unknown:
        raise ValidationError(
            f"unknown event types {unknown}; use {', '.join(EVENT_TYPES)}", errors={"event_types": unknown}
        )
    return [t for t in EVENT_TYPES if t in value]


def get(endpoint_id: int) -> OutboundEndpoint:
    endpoint = db.session.get(OutboundEndpoint, endpoint_id)
    if endpoint is None:
        raise NotFound(f"no outbound endpoint with id {endpoint_id}")
    return endpoint


def _locked(endpoint_id: int) -> OutboundEndpoint:
    """The endpoint, its row locked for the rest of the transaction and read again: a second
    rotate or delete at once waits, then sees the first one's outcome (a deleted endpoint: 404)."""
    get(endpoint_id)
    lock_rows(OutboundEndpoint, [endpoint_id])
    endpoint = db.session.scalar(
        sa.select(OutboundEndpoint)
        .where(OutboundEndpoint.id == endpoint_id)
        .execution_options(populate_existing=True)
    )
    if endpoint is None:
        raise NotFound(f"no outbound endpoint with id {endpoint_id}")
    return endpoint


def listing() -> list[OutboundEndpoint]:
    return list(db.session.scalars(sa.select(OutboundEndpoint).order_by(OutboundEndpoint.id)))


def _described(endpoint: OutboundEndpoint) -> dict[str, Any]:
    """What an audit event says about an endpoint (never its secret)."""
    return {"url": endpoint.url, "event_types": endpoint.event_types, "status": endpoint.status}


def register(
    url: str, *, actor: str, event_types: list[str] | None = None, description: str = ""
) -> tuple[OutboundEndpoint, str]:
    """Register an endpoint; return it and its signing secret (the only time it is shown)."""
    url = check_url(url, allow_private=bool(current_app.config.get("OUTBOUND_ALLOW_PRIVATE")))
    description = (description or "").strip()
    if len(description) > DESCRIPTION_MAX:
        raise ValidationError(
            f"description is longer than {DESCRIPTION_MAX} characters", errors={"description": ["too long"]}
        )
    secret = signing.new_secret()
    endpoint = OutboundEndpoint(
        url=url,
        description=description,
        event_types=_event_types(event_types),
        secret=secret,
        status=EndpointStatus.ACTIVE,
        consecutive_failures=0,
        created_by=actor,
        created_at=utcnow(),
    )
    db.session.add(endpoint)
    db.session.flush()
    audit.append(actor, "outbound.endpoint_registered", SUBJECT, endpoint.id, _described(endpoint))
    return endpoint, secret


def pause(endpoint_id: int, *, actor: str, reason: str = "") -> bool:
    """Pause an endpoint by hand; say whether anything changed (pausing a paused one does not)."""
    endpoint = get(endpoint_id)
    reason = (reason or "").strip() or f"paused by {actor}"
    changed = changed_rows(
        sa.update(OutboundEndpoint)
        .where(OutboundEndpoint.id == endpoint_id, OutboundEndpoint.status == EndpointStatus.ACTIVE)
        .values(status=EndpointStatus.PAUSED, paused_at=utcnow(), paused_reason=reason)
        .execution_options(synchronize_session=False)
    )
    db.session.refresh(endpoint)
    if changed:
        audit.append(
            actor,
            "outbound.endpoint_paused",
            SUBJECT,
            endpoint.id,
            {**_described(endpoint), "reason": reason},
        )
    return bool(changed)


def resume(endpoint_id: int, *, actor: str) -> int | None:
    """Resume a paused endpoint and send what waited for it, each with a fresh retry budget.

    Returns how many deliveries go out again, or None if it was not paused (nothing changed).
    """
    endpoint = get(endpoint_id)
    changed = changed_rows(
        sa.update(OutboundEndpoint)
        .where(OutboundEndpoint.id == endpoint_id, OutboundEndpoint.status == EndpointStatus.PAUSED)
        .values(
            status=EndpointStatus.ACTIVE,
            paused_at=None,
            paused_reason=None,
            consecutive_failures=0,
            failing_since=None,
        )
        .execution_options(synchronize_session=False)
    )
    db.session.refresh(endpoint)
    if not changed:
        return None
    pending = list(
        db.session.scalars(
            sa.select(OutboundDelivery.id)
            .where(
                OutboundDelivery.endpoint_id == endpoint_id, OutboundDelivery.state == DeliveryState.PENDING
            )
            .order_by(OutboundDelivery.id)
        )
    )
    if pending:
        db.session.execute(
            sa.update(OutboundDelivery)
            .where(OutboundDelivery.id.in_(pending), OutboundDelivery.state == DeliveryState.PENDING)
            .values(next_attempt_at=utcnow(), retries=0)
            .execution_options(synchronize_session=False)
        )
        dispatch_after_commit(pending)
    audit.append(
        actor,
        "outbound.endpoint_resumed",
        SUBJECT,
        endpoint.id,
        {**_described(endpoint), "redelivering": len(pending)},
    )
    return len(pending)


def rotate_secret(endpoint_id: int, *, actor: str) -> tuple[OutboundEndpoint, str]:
    """Give the endpoint a new signing secret; return it (the only time it is shown)."""
    endpoint = _locked(endpoint_id)
    secret = signing.new_secret()
    endpoint.secret = secret
    endpoint.secret_rotated_at = utcnow()
    db.session.flush()
    audit.append(actor, "outbound.secret_rotated", SUBJECT, endpoint.id, _described(endpoint))
    return endpoint, secret


def delete(endpoint_id: int, *, actor: str) -> None:
    """Delete an endpoint with its deliveries and their attempt log (the audit chain keeps the event)."""
    endpoint = _locked(endpoint_id)
    counts = dict(
        db.session.execute(
            sa.select(OutboundDelivery.state, sa.func.count())
            .where(OutboundDelivery.endpoint_id == endpoint_id)
            .group_by(OutboundDelivery.state)
        ).all()
    )
    audit.append(
        actor,
        "outbound.endpoint_deleted",
        SUBJECT,
        endpoint.id,
        {**_described(endpoint), "deliveries": counts},
    )
    db.session.execute(sa.delete(OutboundEndpoint).where(OutboundEndpoint.id == endpoint_id))
    db.session.expunge(endpoint)
