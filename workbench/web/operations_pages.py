"""The operator's desk: how the loop is doing, what needs attention, push and sync as jobs."""

from __future__ import annotations

import sqlalchemy as sa
from flask import flash, g, redirect, render_template, request, url_for

from workbench import jobs
from workbench.db import db, release_for_network
from workbench.errors import WorkbenchError
from workbench.models import AuditEvent, Claim, JobLock, WebhookEvent
from workbench.web import bp, login_required

ATTENTION = ("unplaced", "malformed", "failed")
JOB_NAMES = {"push": "labelstudio.push", "sync": "labelstudio.sync"}


def _label_studio_answers() -> bool:
    from workbench.labelstudio.bootstrap import get_client

    release_for_network()  # hold no transaction while Label Studio is asked
    try:
        with get_client() as client:
            return client.health()
    except WorkbenchError:
        return False


@bp.get("/operations")
@login_required("admin")
def operations_page():
    """Claims per status, what waits, the last webhook and sync, deliveries that need a look."""
    from workbench.labelstudio.push import count_pushable

    by_status = dict(
        db.session.execute(sa.select(Claim.status, sa.func.count()).group_by(Claim.status)).all()
    )
    last_webhook = db.session.scalar(sa.select(WebhookEvent).order_by(WebhookEvent.id.desc()).limit(1))
    last_sync = db.session.scalar(
        sa.select(AuditEvent)
        .where(AuditEvent.action == "labelstudio.synced")
        .order_by(AuditEvent.seq.desc())
        .limit(1)
    )
    attention = db.session.execute(
        sa.select(WebhookEvent.status, sa.func.count())
        .where(WebhookEvent.status.in_(ATTENTION))
        .group_by(WebhookEvent.status)
    ).all()
    recent = db.session.scalars(
        sa.select(WebhookEvent)
        .where(WebhookEvent.status.in_(ATTENTION))
        .order_by(WebhookEvent.id.desc())
        .limit(10)
    ).all()
    running = db.session.scalars(sa.select(JobLock)).all()
    waiting = count_pushable()
    # Deliveries kept and not placed yet: in the table, and on disk when the database was busy.
    from flask import current_app

    from workbench.labelstudio import webhook_spool

    to_place = dict(
        db.session.execute(
            sa.select(WebhookEvent.status, sa.func.count())
            .where(WebhookEvent.status.in_(("received", "placing")))
            .group_by(WebhookEvent.status)
        ).all()
    )
    spooled = len(webhook_spool.pending(webhook_spool.directory(current_app)))
    return render_template(
        "operations.html",
        by_status=by_status,
        waiting=waiting,
        last_webhook=last_webhook,
        last_sync=last_sync,
        attention=dict(attention),
        recent=recent,
        running=running,
        to_place=sum(to_place.values()),
        spooled=spooled,
        label_studio=_label_studio_answers(),
        job=request.args.get("job"),
    )


@bp.post("/operations/<kind>")
@login_required("admin")
def operations_run(kind: str):
    """Start a push or a sync as a job (inline without Redis) and say how it went."""
    name = JOB_NAMES.get(kind)
    if name is None:
        return redirect(url_for("web.operations_page"))
    try:
        started = jobs.enqueue(name, actor=g.user.email)
    except WorkbenchError as exc:
        db.session.rollback()
        flash(f"{kind} not started: {exc.message}")
        return redirect(url_for("web.operations_page"))
    if started["mode"] == "inline":
        result = started["result"]
        flash(
            f"{kind} finished: " + ", ".join(f"{k} {v}" for k, v in result.items() if not isinstance(v, list))
        )
        return redirect(url_for("web.operations_page"))
    flash(f"{kind} queued as job {started['id']}")
    return redirect(url_for("web.operations_page", job=started["id"]))


@bp.get("/operations/jobs/<job_id>")
@login_required("admin")
def operations_job(job_id: str):
    """Show a queued job's progress (the page refreshes itself while it runs)."""
    try:
        status = jobs.status(job_id)
    except WorkbenchError as exc:
        status = {"id": job_id, "status": "unknown", "error": [exc.message]}
    return render_template("operations_job.html", job=status)
