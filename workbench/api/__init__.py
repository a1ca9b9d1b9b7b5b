"""The REST API under /api/v1: thin views over the domain packages, on flask-smorest.

Every module of this package that defines a module-level ``blp`` (a
``workbench.api.framework.Blueprint``) is registered by ``init_app`` under ``/api/v1``, found
with ``pkgutil``: a new resource is a new module, with no edit here. Its routes are written
relative to the prefix (``@blp.route("/articles")``).
"""

from __future__ import annotations

import importlib
import pkgutil

import flask_smorest
from flask import Blueprint as FlaskBlueprint
from flask import Flask, g, request

from workbench.api.framework import API_PREFIX, WorkbenchApi, WorkbenchParser, configure
from workbench.db import db, mark_writer, unmark_writer

#: For a module not yet moved onto flask-smorest: plain Flask routes under /api/v1 (undocumented).
bp = FlaskBlueprint("api", __name__, url_prefix=API_PREFIX)


def _mark_writers() -> None:
    """Let requests that change data begin their SQLite transactions as the writer (db.py)."""
    if request.method not in ("GET", "HEAD", "OPTIONS"):
        g.writer_token = mark_writer()


def _unmark_writers(_exc: BaseException | None) -> None:
    token = g.pop("writer_token", None)
    if token is not None:
        # A writer's transaction still open now holds SQLite's write lock: end it here, not
        # when the app context goes (tests keep one app context across many requests).
        session = db.session()
        if session.info.get("writer") and session.in_transaction():
            session.rollback()
        unmark_writer(token)


def resource_modules() -> list[str]:
    """Name every module of this package, in a stable order."""
    return sorted(f"{__name__}.{m.name}" for m in pkgutil.iter_modules(__path__) if not m.ispkg)


def init_app(app: Flask) -> WorkbenchApi:
    """Build the Api (which installs the one error shape), then register every resource module."""
    configure(app)
    api = WorkbenchApi(app)
    app.before_request(_mark_writers)
    app.teardown_request(_unmark_writers)
    for name in resource_modules():
        module = importlib.import_module(name)
        blp = getattr(module, "blp", None)
        if not isinstance(blp, flask_smorest.Blueprint):
            continue
        if not isinstance(blp.ARGUMENTS_PARSER, WorkbenchParser):
            raise TypeError(
                f"{name}.blp must be a workbench.api.framework.Blueprint (strict JSON bodies, "
                "the one error shape), not a plain flask_smorest.Blueprint"
            )
        api.register_blueprint(blp, url_prefix=API_PREFIX)
    if bp.deferred_functions:
        app.register_blueprint(bp)
    from workbench.api.docs import docs_bp

    app.register_blueprint(docs_bp)
    app.extensions["workbench-api"] = api
    return api
