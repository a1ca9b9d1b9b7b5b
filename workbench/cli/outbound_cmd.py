"""``workbench outbound register|list|pause|resume|rotate-secret|delete|attempts|deliver``."""

from __future__ import annotations

import time

import click

from workbench.cli import fails_cleanly, main
from workbench.validation import MAX_INT


@main.group("outbound")
def outbound_group() -> None:
    """Endpoints that receive signed verdict and export events, and their deliveries."""


@outbound_group.command("register")
@click.argument("url")
@click.option(
    "--event",
    "events",
    multiple=True,
    help="An event type to receive (repeatable; default: all of them).",
)
@click.option("--description", default="")
@fails_cleanly
def register_command(url: str, events: tuple[str, ...], description: str) -> None:
    """Register an endpoint and print its signing secret (shown once)."""
    from workbench.db import db
    from workbench.outbound import endpoints

    endpoint, secret = endpoints.register(
        url, actor="cli", event_types=list(events) or None, description=description
    )
    db.session.commit()
    click.echo(f"registered endpoint {endpoint.id} for {', '.join(endpoint.event_types)}", err=True)
    click.echo(secret)


@outbound_group.command("list")
@fails_cleanly
def list_command() -> None:
    """List the endpoints: id, status, failures in a row, event types, URL (never the secret)."""
    from workbench.outbound import endpoints

    for e in endpoints.listing():
        line = f"{e.id}\t{e.status}\t{e.consecutive_failures}\t{','.join(e.event_types)}\t{e.url}"
        if e.paused_reason:
            line += f"\t({e.paused_reason})"
        click.echo(line)


@outbound_group.command("pause")
@click.argument("endpoint_id", type=click.IntRange(1, MAX_INT))
@click.option("--reason", default="")
@fails_cleanly
def pause_command(endpoint_id: int, reason: str) -> None:
    """Pause an endpoint: its events wait until it is resumed."""
    from workbench.db import db
    from workbench.outbound import endpoints

    changed = endpoints.pause(endpoint_id, actor="cli", reason=reason)
    db.session.commit()
    click.echo(f"endpoint {endpoint_id} {'paused' if changed else 'was already paused'}")


@outbound_group.command("resume")
@click.argument("endpoint_id", type=click.IntRange(1, MAX_INT))
@fails_cleanly
def resume_command(endpoint_id: int) -> None:
    """Resume a paused endpoint and send again what waited for it."""
    from workbench.db import db
    from workbench.errors import Conflict
    from workbench.outbound import endpoints

    count = endpoints.resume(endpoint_id, actor="cli")
    if count is None:
        raise Conflict(f"outbound endpoint {endpoint_id} is not paused")
    db.session.commit()
    click.echo(f"endpoint {endpoint_id} resumed; {count} pending deliveries sent again")


@outbound_group.command("rotate-secret")
@click.argument("endpoint_id", type=click.IntRange(1, MAX_INT))
@fails_cleanly
def rotate_command(endpoint_id: int) -> None:
    """Give an endpoint a new signing secret and print it (shown once)."""
    from workbench.db import db
    from workbench.outbound import endpoints

    _, secret = endpoints.rotate_secret(endpoint_id, actor="cli")
    db.session.commit()
    click.echo(secret)


@outbound_group.command("delete")
@click.argument("endpoint_id", type=click.IntRange(1, MAX_INT))
@fails_cleanly
def delete_command(endpoint_id: int) -> None:
    """Delete an endpoint with its deliveries and their attempt log."""
    from workbench.db import db
    from workbench.outbound import endpoints

    endpoints.delete(endpoint_id, actor="cli")
    db.session.commit()
    click.echo(f"endpoint {endpoint_id} deleted")


@outbound_group.command("attempts")
@click.argument("endpoint_id", type=click.IntRange(1, MAX_INT))
@click.option("--limit", default=50, show_default=True, type=click.IntRange(1, 10000))
@fails_cleanly
def attempts_command(endpoint_id: int, limit: int) -> None:
    """Show an endpoint's latest attempts: time, event, attempt, status, duration, error."""
    import sqlalchemy as sa

    from workbench.db import db
    from workbench.models.base import iso
    from workbench.models.outbound import OutboundAttempt, OutboundDelivery, OutboundEvent
    from workbench.outbound import endpoints

    endpoints.get(endpoint_id)
    rows = db.session.execute(
        sa.select(OutboundAttempt, OutboundEvent.type, OutboundEvent.message_id, OutboundDelivery.state)
        .join(OutboundDelivery, OutboundDelivery.id == OutboundAttempt.delivery_id)
        .join(OutboundEvent, OutboundEvent.id == OutboundDelivery.event_id)
        .where(OutboundDelivery.endpoint_id == endpoint_id)
        .order_by(OutboundAttempt.id.desc())
        .limit(limit)
    )
    for a, kind, message_id, state in rows:
        click.echo(
            f"{iso(a.started_at)}\t{kind}\t{message_id}\t#{a.number}\t{a.status_code or '-'}\t"
            f"{a.duration_ms} ms\t{state}\t{a.error or 'ok'}"
        )


@outbound_group.command("deliver")
@click.option("--limit", default=500, show_default=True, type=click.IntRange(1, 100000))
@click.option(
    "--watch",
    type=click.FloatRange(min=0.1),
    default=None,
    help="Keep sweeping every this many seconds until stopped.",
)
@fails_cleanly
def deliver_command(limit: int, watch: float | None) -> None:
    """Attempt every delivery that is due now (retries included): the sweep."""
    from workbench.db import db
    from workbench.outbound import delivery

    while True:
        s = delivery.deliver_due(limit=limit)
        db.session.remove()
        if watch is None or s["attempted"]:
            click.echo(
                f"{s['attempted']} attempted, {s['delivered']} delivered, {s['failed']} failed"
                + (f", {s['skipped']} left for the next pass" if s["skipped"] else "")
            )
        if watch is None:
            return
        time.sleep(watch)
