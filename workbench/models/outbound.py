"""Outbound events for integrators: endpoints, the event outbox, deliveries and their attempts."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from workbench.db import Model
from workbench.models.base import utcnow


class EndpointStatus:
    ACTIVE = "active"
    PAUSED = "paused"
    ALL = (ACTIVE, PAUSED)


class DeliveryState:
    """pending → delivering → delivered | pending (retry) | failed (out of attempts)."""

    PENDING = "pending"
    DELIVERING = "delivering"
    DELIVERED = "delivered"
    FAILED = "failed"
    ALL = (PENDING, DELIVERING, DELIVERED, FAILED)


class OutboundEndpoint(Model):
    """A URL an admin registered to receive the workbench's events, signed with its own secret."""

    __tablename__ = "outbound_endpoints"

    id: Mapped[int] = mapped_column(primary_key=True)
    url: Mapped[str] = mapped_column(sa.String(2000))
    description: Mapped[str] = mapped_column(sa.String(500), default="")
    # The event types it receives (a subset of workbench.outbound.EVENT_TYPES).
    event_types: Mapped[list] = mapped_column(sa.JSON, default=list)
    # The Standard Webhooks signing secret (``whsec_`` + base64). Shown once, never listed.
    secret: Mapped[str] = mapped_column(sa.String(100))
    status: Mapped[str] = mapped_column(sa.String(10), default=EndpointStatus.ACTIVE, index=True)
    paused_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
    paused_reason: Mapped[str | None] = mapped_column(sa.Text)
    # Failed attempts in a row (any success resets it) and when that streak began: updated in
    # one SQL statement each, so concurrent deliveries never lose a count.
    consecutive_failures: Mapped[int] = mapped_column(default=0)
    failing_since: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
    created_by: Mapped[str] = mapped_column(sa.String(320))
    created_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), default=utcnow)
    secret_rotated_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))


class OutboundEvent(Model):
    """One event, written in the transaction of the change that caused it (the outbox)."""

    __tablename__ = "outbound_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    # The ``webhook-id`` header: the same on every attempt, so receivers can drop duplicates.
    message_id: Mapped[str] = mapped_column(sa.String(64), unique=True)
    type: Mapped[str] = mapped_column(sa.String(60), index=True)
    # The body exactly as signed and sent, kept as text so every attempt sends the same bytes.
    body: Mapped[str] = mapped_column(sa.Text)
    created_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), default=utcnow)


class OutboundDelivery(Model):
    """One event on its way to one endpoint."""

    __tablename__ = "outbound_deliveries"
    __table_args__ = (
        sa.UniqueConstraint("event_id", "endpoint_id", name="uq_outbound_deliveries_event_endpoint"),
        # The sweep's question: what is due now?
        sa.Index("ix_outbound_deliveries_due", "state", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(sa.ForeignKey("outbound_events.id", ondelete="CASCADE"))
    endpoint_id: Mapped[int] = mapped_column(
        sa.ForeignKey("outbound_endpoints.id", ondelete="CASCADE"), index=True
    )
    state: Mapped[str] = mapped_column(sa.String(12), default=DeliveryState.PENDING)
    # Attempts made in all, and failed attempts since the last resume (the retry budget).
    attempts: Mapped[int] = mapped_column(default=0)
    retries: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), default=utcnow)
    # Set when an attempt is claimed: only the holder of the token records its outcome, and a
    # claim whose holder died is taken over once ``claimed_until`` has passed.
    claim_token: Mapped[str | None] = mapped_column(sa.String(32))
    claimed_until: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
    delivered_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), default=utcnow)

    event: Mapped[OutboundEvent] = relationship()
    endpoint: Mapped[OutboundEndpoint] = relationship()


class OutboundAttempt(Model):
    """One HTTP attempt of a delivery: when, how long, what came back or what went wrong."""

    __tablename__ = "outbound_attempts"

    id: Mapped[int] = mapped_column(primary_key=True)
    delivery_id: Mapped[int] = mapped_column(
        sa.ForeignKey("outbound_deliveries.id", ondelete="CASCADE"), index=True
    )
    number: Mapped[int]
    started_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True))
    duration_ms: Mapped[int]
    status_code: Mapped[int | None]
    ok: Mapped[bool]
    error: Mapped[str | None] = mapped_column(sa.Text)
    # The start of the receiver's answer, for the integrator's debugging (bounded).
    response_excerpt: Mapped[str | None] = mapped_column(sa.Text)
