"""Background work an operator can start over the API: push and sync."""

from __future__ import annotations

from flask import g

from workbench import jobs
from workbench.api import bp
from workbench.auth import require_role


def _started(description: dict):
    return description, 200 if description["mode"] == "inline" else 202


@bp.post("/labelstudio/push")
@require_role("admin")
def labelstudio_push():
    """Push queued claims to Label Studio (inline, or as an RQ job when Redis is configured)."""
    return _started(jobs.enqueue("labelstudio.push", actor=g.user.email))


@bp.post("/labelstudio/sync")
@require_role("admin")
def labelstudio_sync():
    """Pull annotations webhooks missed (inline, or as an RQ job when Redis is configured)."""
    return _started(jobs.enqueue("labelstudio.sync", actor=g.user.email))


@bp.get("/jobs/<job_id>")
@require_role("admin")
def job_status(job_id: str):
    """Report a queued job's status and result."""
    return jobs.status(job_id)
