"""Deliver outbound events: claim an attempt, send it with no transaction open, record the outcome.

An attempt is claimed by a conditional UPDATE (pending and due, or delivering with an expired
claim, on an active endpoint), committed before the HTTP call: of two workers reaching for the
same delivery at once, one changes the row and the other matches nothing, on every database. Only
the holder of the claim's token records the outcome; a holder that died is taken over once its
claim has expired.

Failed attempts are retried after an exponential backoff (``OUTBOUND_RETRY_BASE * 2**(n-1)``
seconds, at most ``OUTBOUND_RETRY_MAX``), ``OUTBOUND_MAX_ATTEMPTS`` in all; an endpoint that
fails ``OUTBOUND_PAUSE_AFTER_FAILURES`` attempts in a row, or for ``OUTBOUND_PAUSE_AFTER_SECONDS``,
is paused until an admin resumes it.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from flask import Flask, current_app
from sqlalchemy.exc import IntegrityError

from workbench import audit
from workbench.db import changed_rows, db, release_for_network, writer
from workbench.models.base import as_utc, iso, utcnow
from workbench.models.outbound import (
    DeliveryState,
    EndpointStatus,
    OutboundAttempt,
    OutboundDelivery,
    OutboundEndpoint,
    OutboundEvent,
)
from workbench.outbound import http, signing

log = logging.getLogger("workbench.outbound")

#: Seconds a claim outlives the attempt's own timeout before another worker may take it over.
CLAIM_MARGIN = 30.0
#: Deliveries one inline dispatch sends in the process that made the change; the rest wait for a
#: worker or the sweep (a resumed endpoint may have thousands pending).
INLINE_LIMIT = 100


@dataclass(frozen=True)
class Result:
    """What one attempt did."""

    delivery_id: int
    endpoint_id: int
    attempt: int
    ok: bool
    state: str
    status_code: int | None
    error: str | None
    next_attempt_at: datetime | None


def backoff(retries: int, app: Flask | None = None) -> float:
    """Seconds to wait before retry number ``retries`` (1 for the first retry)."""
    config = (app or current_app).config
    return min(
        float(config["OUTBOUND_RETRY_BASE"]) * 2 ** max(retries - 1, 0), float(config["OUTBOUND_RETRY_MAX"])
    )


def _due(now: datetime):
    """Deliveries that may be attempted now: due and pending, or claimed by a holder long gone."""
    return sa.and_(
        sa.or_(
            sa.and_(OutboundDelivery.state == DeliveryState.PENDING, OutboundDelivery.next_attempt_at <= now),
            sa.and_(OutboundDelivery.state == DeliveryState.DELIVERING, OutboundDelivery.claimed_until < now),
        ),
        OutboundDelivery.endpoint_id.in_(
            sa.select(OutboundEndpoint.id).where(OutboundEndpoint.status == EndpointStatus.ACTIVE)
        ),
    )


def _claim(delivery_id: int, token: str, timeout: float) -> Any | None:
    """Take the delivery's next attempt in a short transaction of its own; None if not ours."""
    now = utcnow()
    with writer():
        claimed = changed_rows(
            sa.update(OutboundDelivery)
            .where(OutboundDelivery.id == delivery_id, _due(now))
            .values(
                state=DeliveryState.DELIVERING,
                claim_token=token,
                claimed_until=now + timedelta(seconds=timeout + CLAIM_MARGIN),
                attempts=OutboundDelivery.attempts + 1,
            )
            .execution_options(synchronize_session=False)
        )
        if claimed != 1:
            db.session.rollback()
            return None
        row = db.session.execute(
            sa.select(
                OutboundDelivery.attempts,
                OutboundDelivery.retries,
                OutboundEvent.message_id,
                OutboundEvent.body,
                OutboundEndpoint.id.label("endpoint_id"),
                OutboundEndpoint.url,
                OutboundEndpoint.secret,
            )
            .join(OutboundEvent, OutboundEvent.id == OutboundDelivery.event_id)
            .join(OutboundEndpoint, OutboundEndpoint.id == OutboundDelivery.endpoint_id)
            .where(OutboundDelivery.id == delivery_id)
        ).one()
        db.session.commit()
    return row


def deliver_one(delivery_id: int, *, timeout: float | None = None) -> Result | None:
    """Make one attempt at a delivery if it is due and nobody else holds it; commits.

    Returns None when there was nothing to do (not due, delivered, paused, or another worker's).
    """
    app = current_app
    timeout = float(timeout or app.config["OUTBOUND_TIMEOUT"])
    release_for_network()
    token = uuid.uuid4().hex
    row = _claim(delivery_id, token, timeout)
    if row is None:
        return None
    started = utcnow()
    headers = signing.headers(row.secret, row.message_id, started, row.body)
    outcome = http.post(
        row.url,
        row.body,
        headers,
        timeout=timeout,
        allow_private=bool(app.config.get("OUTBOUND_ALLOW_PRIVATE")),
    )
    return _record(delivery_id, token, row, started, outcome)


def _record(delivery_id: int, token: str, row: Any, started: datetime, outcome: http.Outcome) -> Result:
    """Log the attempt and move the delivery (and its endpoint's failure streak) on; commits."""
    config = current_app.config
    now = utcnow()
    retries = row.retries + (0 if outcome.ok else 1)
    gave_up = not outcome.ok and retries >= int(config["OUTBOUND_MAX_ATTEMPTS"])
    next_at: datetime | None = None
    if outcome.ok:
        values: dict[str, Any] = {"state": DeliveryState.DELIVERED, "delivered_at": now}
    elif gave_up:
        values = {"state": DeliveryState.FAILED, "retries": retries}
    else:
        next_at = now + timedelta(seconds=backoff(retries))
        values = {"state": DeliveryState.PENDING, "retries": retries, "next_attempt_at": next_at}
    with writer():
        # Only the claim's holder moves the delivery on: the values come from the row it claimed.
        moved = changed_rows(
            sa.update(OutboundDelivery)
            .where(OutboundDelivery.id == delivery_id, OutboundDelivery.claim_token == token)
            .values(claim_token=None, claimed_until=None, **values)
            .execution_options(synchronize_session=False)
        )
        attempt = OutboundAttempt(
            delivery_id=delivery_id,
            number=row.attempts,
            started_at=started,
            duration_ms=outcome.duration_ms,
            status_code=outcome.status_code,
            ok=outcome.ok,
            error=outcome.error,
            response_excerpt=outcome.excerpt,
        )
        try:
            with db.session.begin_nested():
                db.session.add(attempt)
        except IntegrityError:  # the endpoint (and so the delivery) was deleted meanwhile
            pass
        _count(row.endpoint_id, outcome, now)
        if moved and gave_up:
            audit.append(
                "outbound",
                "outbound.delivery_failed",
                "outbound_endpoint",
                row.endpoint_id,
                {
                    "delivery_id": delivery_id,
                    "message_id": row.message_id,
                    "attempts": row.attempts,
                    "last_error": outcome.error,
                },
            )
        db.session.commit()
    state = values["state"] if moved else DeliveryState.DELIVERING
    return Result(
        delivery_id,
        row.endpoint_id,
        row.attempts,
        outcome.ok,
        state,
        outcome.status_code,
        outcome.error,
        next_at,
    )


def _count(endpoint_id: int, outcome: http.Outcome, now: datetime) -> None:
    """Reset or extend the endpoint's failure streak in SQL; pause it when the streak is too long."""
    config = current_app.config
    if outcome.ok:
        db.session.execute(
            sa.update(OutboundEndpoint)
            .where(OutboundEndpoint.id == endpoint_id)
            .values(consecutive_failures=0, failing_since=None)
            .execution_options(synchronize_session=False)
        )
        return
    db.session.execute(
        sa.update(OutboundEndpoint)
        .where(OutboundEndpoint.id == endpoint_id)
        .values(
            consecutive_failures=OutboundEndpoint.consecutive_failures + 1,
            failing_since=sa.func.coalesce(OutboundEndpoint.failing_since, now),
        )
        .execution_options(synchronize_session=False)
    )
    limit = int(config["OUTBOUND_PAUSE_AFTER_FAILURES"])
    since = now - timedelta(seconds=float(config["OUTBOUND_PAUSE_AFTER_SECONDS"]))
    reason = f"paused automatically: {limit} failed attempts in a row or failing since before {iso(since)}"
    paused = changed_rows(
        sa.update(OutboundEndpoint)
        .where(
            OutboundEndpoint.id == endpoint_id,
            OutboundEndpoint.status == EndpointStatus.ACTIVE,
            sa.or_(OutboundEndpoint.consecutive_failures >= limit, OutboundEndpoint.failing_since <= since),
        )
        .values(status=EndpointStatus.PAUSED, paused_at=now, paused_reason=reason)
        .execution_options(synchronize_session=False)
    )
    if paused:
        streak = db.session.execute(
            sa.select(
                OutboundEndpoint.consecutive_failures, OutboundEndpoint.failing_since, OutboundEndpoint.url
            ).where(OutboundEndpoint.id == endpoint_id)
        ).one()
        reason = (
            f"paused automatically after {streak.consecutive_failures} failed attempts in a row, "
            f"failing since {iso(streak.failing_since)}; last: {outcome.error}"
        )
        db.session.execute(
            sa.update(OutboundEndpoint)
            .where(OutboundEndpoint.id == endpoint_id)
            .values(paused_reason=reason)
            .execution_options(synchronize_session=False)
        )
        audit.append(
            "outbound",
            "outbound.endpoint_paused",
            "outbound_endpoint",
            endpoint_id,
            {"url": streak.url, "reason": reason, "consecutive_failures": streak.consecutive_failures},
        )
        log.warning("outbound endpoint %s %s", endpoint_id, reason)


def deliver_due(
    *, limit: int = 500, timeout: float | None = None, now: datetime | None = None
) -> dict[str, int]:
    """The sweep: attempt every delivery due now (oldest first); commits. Safe to run anywhere,
    any number of times at once: each attempt is claimed.

    After an endpoint fails once in a pass, its other deliveries wait for the next pass, so a
    dead endpoint costs one timeout per pass, not one per event.
    """
    release_for_network()
    ids = list(
        db.session.scalars(
            sa.select(OutboundDelivery.id)
            .where(_due(now or utcnow()))
            .order_by(OutboundDelivery.next_attempt_at, OutboundDelivery.id)
            .limit(limit)
        )
    )
    db.session.commit()
    return _deliver(ids, timeout=timeout)


def _deliver(ids: list[int], *, timeout: float | None) -> dict[str, int]:
    summary = {"attempted": 0, "delivered": 0, "failed": 0, "skipped": 0}
    failing: set[int] = set()
    endpoints = (
        dict(
            db.session.execute(
                sa.select(OutboundDelivery.id, OutboundDelivery.endpoint_id).where(
                    OutboundDelivery.id.in_(ids)
                )
            ).all()
        )
        if ids
        else {}
    )
    db.session.commit()
    for delivery_id in ids:
        if endpoints.get(delivery_id) in failing:
            summary["skipped"] += 1
            continue
        result = deliver_one(delivery_id, timeout=timeout)
        if result is None:
            summary["skipped"] += 1
            continue
        summary["attempted"] += 1
        if result.ok:
            summary["delivered"] += 1
        else:
            summary["failed"] += 1
            failing.add(result.endpoint_id)
    return summary


# -- after a commit: send now, or hand to the RQ workers


def mode(app: Flask | None = None) -> str:
    """How deliveries go out here: 'queue' (RQ), 'inline' or 'off' (see OUTBOUND_DELIVERY)."""
    config = (app or current_app).config
    return config.get("OUTBOUND_DELIVERY") or ("queue" if config.get("REDIS_URL") else "inline")


def dispatch(ids: list[int]) -> None:
    """Send committed deliveries: queue them for the workers, or attempt them here and now.

    Inline, each attempt gets ``OUTBOUND_INLINE_TIMEOUT`` and runs in an app context of its own
    (its own session: the committing one cannot run SQL while it finishes its commit).
    """
    app: Flask = current_app._get_current_object()  # type: ignore[attr-defined]
    how = mode(app)
    if how == "off":
        return
    if how == "queue":
        enqueue(app, ids)
        return
    with app.app_context():
        _deliver(ids[:INLINE_LIMIT], timeout=float(app.config["OUTBOUND_INLINE_TIMEOUT"]))


def _queue(app: Flask):
    from redis import Redis
    from rq import Queue

    from workbench.jobs import QUEUE

    return Queue(QUEUE, connection=Redis.from_url(app.config["REDIS_URL"]))


def enqueue(app: Flask, ids: list[int], *, at: datetime | None = None) -> None:
    """Queue one RQ job per delivery (at a time, when given: RQ's scheduler releases it)."""
    queue = _queue(app)
    options = {
        "job_timeout": int(float(app.config["OUTBOUND_TIMEOUT"]) + CLAIM_MARGIN + 60),
        "result_ttl": 24 * 3600,
    }
    for delivery_id in ids:
        if at is None:
            queue.enqueue(run_delivery_job, delivery_id, **options)
        else:
            queue.enqueue_at(as_utc(at), run_delivery_job, delivery_id, **options)


def run_delivery_job(delivery_id: int) -> dict[str, Any] | None:
    """Entry point for RQ workers: one attempt at one delivery; schedule its retry if it failed."""
    from workbench import create_app

    app = create_app()
    with app.app_context(), writer():
        try:
            result = deliver_one(delivery_id)
            if result is not None and result.state == DeliveryState.PENDING and result.next_attempt_at:
                enqueue(app, [delivery_id], at=result.next_attempt_at)
            return (
                None
                if result is None
                else {
                    "delivery_id": result.delivery_id,
                    "attempt": result.attempt,
                    "ok": result.ok,
                    "state": result.state,
                    "error": result.error,
                }
            )
        finally:
            db.session.remove()
            db.engine.dispose()
