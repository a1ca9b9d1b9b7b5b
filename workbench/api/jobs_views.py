"""Background work an operator can start over the API: push and sync."""

from __future__ import annotations

from flask import g
from flask.views import MethodView

from workbench import jobs
from workbench.api.framework import Blueprint, documents
from workbench.auth import require_role
from workbench.schemas import JobSchema

blp = Blueprint("jobs", __name__, description="Push, sync, and the jobs that run them.")


def _started(description: dict):
    return description, 200 if description["mode"] == "inline" else 202


@blp.route("/labelstudio/push")
class LabelStudioPush(MethodView):
    @require_role("admin")
    @blp.response(200, JobSchema, description="Ran inline (no Redis configured): finished, with its result")
    @blp.alt_response(202, schema=JobSchema, description="Queued for an RQ worker")
    @documents(409, 502, 503)
    def post(self):
        """Push queued claims to Label Studio (inline, or as an RQ job when Redis is configured)."""
        return _started(jobs.enqueue("labelstudio.push", actor=g.user.email))


@blp.route("/labelstudio/sync")
class LabelStudioSync(MethodView):
    @require_role("admin")
    @blp.response(200, JobSchema, description="Ran inline (no Redis configured): finished, with its result")
    @blp.alt_response(202, schema=JobSchema, description="Queued for an RQ worker")
    @documents(409, 502, 503)
    def post(self):
        """Pull annotations webhooks missed (inline, or as an RQ job when Redis is configured)."""
        return _started(jobs.enqueue("labelstudio.sync", actor=g.user.email))


@blp.route("/jobs/<job_id>")
class Job(MethodView):
    # Reviewers start export jobs (POST /exports) and must be able to follow them.
    @require_role("reviewer")
    @blp.response(200, JobSchema)
    @documents(404)
    def get(self, job_id: str):
        """Report a queued job's status, progress and result."""
        return jobs.status(job_id)
