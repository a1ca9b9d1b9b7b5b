"""Outbound events: integrators' endpoints, what was sent to them, and every attempt (admins).

The signing secret is in the answer to registering and to rotating, and nowhere else.
"""

from __future__ import annotations

import sqlalchemy as sa
from flask import g
from flask.views import MethodView
from marshmallow import fields, validate

import workbench.outbound  # noqa: F401 - subscribes the outbox to the domain signals
from workbench.api.framework import Blueprint, documents
from workbench.auth import require_role
from workbench.db import db
from workbench.errors import NotFound
from workbench.fastdump import Schema
from workbench.models.outbound import DeliveryState, OutboundAttempt, OutboundDelivery, OutboundEvent
from workbench.outbound import endpoints
from workbench.outbound.events import EVENT_TYPES
from workbench.schemas import PageArgs, UTCDateTime, page_of

blp = Blueprint(
    "outbound",
    __name__,
    description="Outbound events: endpoints receiving signed verdict and export events (Standard Webhooks).",
)


class EndpointInputSchema(Schema):
    url = fields.Str(
        required=True,
        validate=validate.Length(1, 2000),
        metadata={"example": "https://cms.example.org/hooks/factcheck"},
    )
    event_types = fields.List(
        fields.Str(validate=validate.OneOf(EVENT_TYPES)),
        validate=validate.Length(min=1),
        load_default=None,
        metadata={"description": f"Which events to receive (default: all of {', '.join(EVENT_TYPES)})"},
    )
    description = fields.Str(load_default="", validate=validate.Length(max=500))


class EndpointSchema(Schema):
    id = fields.Int()
    url = fields.Str()
    description = fields.Str()
    event_types = fields.List(fields.Str())
    status = fields.Str(metadata={"description": "active, or paused (nothing is sent until resumed)"})
    paused_at = UTCDateTime(allow_none=True)
    paused_reason = fields.Str(allow_none=True)
    consecutive_failures = fields.Int()
    failing_since = UTCDateTime(allow_none=True)
    created_by = fields.Str()
    created_at = UTCDateTime()
    secret_rotated_at = UTCDateTime(allow_none=True)


class EndpointWithSecretSchema(EndpointSchema):
    secret = fields.Str(
        metadata={"description": "The signing secret (whsec_…): shown this once; keep it, or rotate it"}
    )


class PauseSchema(Schema):
    reason = fields.Str(load_default="", validate=validate.Length(max=500))


class ResumedSchema(Schema):
    endpoint = fields.Nested(EndpointSchema)
    redelivering = fields.Int(metadata={"description": "Pending deliveries sent again now"})


class AttemptSchema(Schema):
    number = fields.Int()
    started_at = UTCDateTime()
    duration_ms = fields.Int()
    status_code = fields.Int(allow_none=True)
    ok = fields.Bool()
    error = fields.Str(allow_none=True)
    response_excerpt = fields.Str(allow_none=True)


class DeliverySchema(Schema):
    id = fields.Int()
    endpoint_id = fields.Int()
    message_id = fields.Str(attribute="event.message_id", metadata={"description": "The webhook-id header"})
    type = fields.Str(attribute="event.type")
    state = fields.Str(metadata={"description": ", ".join(DeliveryState.ALL)})
    attempts = fields.Int()
    next_attempt_at = UTCDateTime()
    delivered_at = UTCDateTime(allow_none=True)
    created_at = UTCDateTime()
    attempt_log = fields.List(fields.Nested(AttemptSchema))


class DeliveryDetailSchema(DeliverySchema):
    body = fields.Str(attribute="event.body", metadata={"description": "The body as signed and sent"})


class DeliveryArgs(PageArgs):
    state = fields.Str(load_default=None, validate=validate.OneOf(DeliveryState.ALL))
    type = fields.Str(load_default=None, validate=validate.OneOf(EVENT_TYPES))


EndpointPage = page_of(EndpointSchema, "OutboundEndpointPage")
DeliveryPage = page_of(DeliverySchema, "OutboundDeliveryPage")


def _with_attempts(deliveries: list[OutboundDelivery]) -> list[OutboundDelivery]:
    """Attach each delivery's attempts (oldest first), read in one query."""
    ids = [d.id for d in deliveries]
    log: dict[int, list[OutboundAttempt]] = {i: [] for i in ids}
    if ids:
        for attempt in db.session.scalars(
            sa.select(OutboundAttempt)
            .where(OutboundAttempt.delivery_id.in_(ids))
            .order_by(OutboundAttempt.id)
        ):
            log[attempt.delivery_id].append(attempt)
    for delivery in deliveries:
        delivery.attempt_log = log[delivery.id]  # type: ignore[attr-defined]
    return deliveries


@blp.route("/outbound/endpoints")
class Endpoints(MethodView):
    @require_role("admin")
    @blp.arguments(PageArgs, location="query")
    @blp.response(200, EndpointPage)
    def get(self, page: dict):
        """List the registered endpoints (never their secrets)."""
        rows = endpoints.listing()
        return {"items": rows[page["offset"] : page["offset"] + page["limit"]], "total": len(rows), **page}

    @require_role("admin")
    @blp.arguments(EndpointInputSchema)
    @blp.response(201, EndpointWithSecretSchema, description="Registered: the secret is shown this once")
    def post(self, body: dict):
        """Register an endpoint (http(s); public addresses unless WORKBENCH_OUTBOUND_ALLOW_PRIVATE)."""
        endpoint, secret = endpoints.register(
            body["url"], actor=g.user.email, event_types=body["event_types"], description=body["description"]
        )
        db.session.commit()
        return {**EndpointSchema().dump(endpoint), "secret": secret}


@blp.route("/outbound/endpoints/<int:endpoint_id>")
class EndpointDetail(MethodView):
    @require_role("admin")
    @blp.response(200, EndpointSchema)
    @documents(404)
    def get(self, endpoint_id: int):
        """Return an endpoint, with its state and failure streak."""
        return endpoints.get(endpoint_id)

    @require_role("admin")
    @blp.response(204)
    @documents(404)
    def delete(self, endpoint_id: int):
        """Delete an endpoint with its deliveries and their attempt log."""
        endpoints.delete(endpoint_id, actor=g.user.email)
        db.session.commit()


@blp.route("/outbound/endpoints/<int:endpoint_id>/pause")
class EndpointPause(MethodView):
    @require_role("admin")
    @blp.arguments(PauseSchema)
    @blp.response(200, EndpointSchema)
    @documents(404)
    def post(self, body: dict, endpoint_id: int):
        """Pause an endpoint: its events wait (pending) until it is resumed."""
        endpoints.pause(endpoint_id, actor=g.user.email, reason=body["reason"])
        db.session.commit()
        return endpoints.get(endpoint_id)


@blp.route("/outbound/endpoints/<int:endpoint_id>/resume")
class EndpointResume(MethodView):
    @require_role("admin")
    @blp.response(200, ResumedSchema)
    @documents(404, 409)
    def post(self, endpoint_id: int):
        """Resume a paused endpoint and send again every delivery that waited for it."""
        from workbench.errors import Conflict

        count = endpoints.resume(endpoint_id, actor=g.user.email)
        if count is None:
            db.session.rollback()
            raise Conflict(f"outbound endpoint {endpoint_id} is not paused", errors={"status": ["active"]})
        db.session.commit()  # sends the pending deliveries (queued, or inline with a short timeout)
        return {"endpoint": endpoints.get(endpoint_id), "redelivering": count}


@blp.route("/outbound/endpoints/<int:endpoint_id>/secret")
class EndpointSecret(MethodView):
    @require_role("admin")
    @blp.response(200, EndpointWithSecretSchema, description="The new secret, shown this once")
    @documents(404)
    def post(self, endpoint_id: int):
        """Rotate the endpoint's signing secret: later attempts are signed with the new one."""
        endpoint, secret = endpoints.rotate_secret(endpoint_id, actor=g.user.email)
        db.session.commit()
        return {**EndpointSchema().dump(endpoint), "secret": secret}


@blp.route("/outbound/endpoints/<int:endpoint_id>/deliveries")
class EndpointDeliveries(MethodView):
    @require_role("admin")
    @blp.arguments(DeliveryArgs, location="query")
    @blp.response(200, DeliveryPage)
    @documents(404)
    def get(self, args: dict, endpoint_id: int):
        """List what was sent to an endpoint, newest first, each with its attempts."""
        endpoints.get(endpoint_id)
        stmt = sa.select(OutboundDelivery).where(OutboundDelivery.endpoint_id == endpoint_id)
        if args["state"]:
            stmt = stmt.where(OutboundDelivery.state == args["state"])
        if args["type"]:
            stmt = stmt.join(OutboundEvent).where(OutboundEvent.type == args["type"])
        total = db.session.scalar(sa.select(sa.func.count()).select_from(stmt.subquery()))
        rows = list(
            db.session.scalars(
                stmt.order_by(OutboundDelivery.id.desc()).limit(args["limit"]).offset(args["offset"])
            )
        )
        return {
            "items": _with_attempts(rows),
            "total": total,
            "limit": args["limit"],
            "offset": args["offset"],
        }


@blp.route("/outbound/deliveries/<int:delivery_id>")
class DeliveryDetail(MethodView):
    @require_role("admin")
    @blp.response(200, DeliveryDetailSchema)
    @documents(404)
    def get(self, delivery_id: int):
        """Return one delivery: the body as sent, its state and every attempt."""
        delivery = db.session.get(OutboundDelivery, delivery_id)
        if delivery is None:
            raise NotFound(f"no outbound delivery with id {delivery_id}")
        return _with_attempts([delivery])[0]
