"""The REST API under /api/v1: thin views over the domain packages."""

from flask import Blueprint, g, request

from workbench.db import db, mark_writer, unmark_writer

bp = Blueprint("api", __name__, url_prefix="/api/v1")


@bp.before_app_request
def _mark_writers() -> None:
    """Let requests that change data begin their SQLite transactions as the writer (db.py)."""
    if request.method not in ("GET", "HEAD", "OPTIONS"):
        g.writer_token = mark_writer()


@bp.teardown_app_request
def _unmark_writers(_exc: BaseException | None) -> None:
    token = g.pop("writer_token", None)
    if token is not None:
        # A writer's transaction still open now holds SQLite's write lock: end it here, not
        # when the app context goes (tests keep one app context across many requests).
        session = db.session()
        if session.info.get("writer") and session.in_transaction():
            session.rollback()
        unmark_writer(token)


from workbench.api import (  # noqa: E402,F401
    articles,
    audit_views,
    claims,
    exports,
    hooks,
    jobs_views,
    review,
    users,
)
