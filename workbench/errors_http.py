"""Render every error in one shape: JSON under /api, a page elsewhere."""

from __future__ import annotations

from flask import Flask, Response, jsonify, render_template, request
from sqlalchemy.exc import OperationalError
from werkzeug.exceptions import HTTPException, MethodNotAllowed, RequestEntityTooLarge

from workbench.db import db
from workbench.errors import PayloadTooLarge, ValidationError, WorkbenchError


def _wants_json() -> bool:
    return request.path.startswith("/api/") or request.path in ("/health", "/ready")


def _render(payload: dict) -> tuple[Response | str, int]:
    if _wants_json():
        return jsonify(payload), payload["status"]
    return render_template("error.html", error=payload), payload["status"]


def register(app: Flask) -> None:
    """Install the handlers for workbench errors, HTTP errors and crashes."""

    @app.errorhandler(WorkbenchError)
    def handle_workbench_error(exc: WorkbenchError):
        if exc.status >= 500:
            db.session.rollback()
        return _render(exc.to_dict())

    @app.errorhandler(RequestEntityTooLarge)
    def handle_body_too_large(exc: RequestEntityTooLarge):
        # Raised by werkzeug while the body is read, before any view stored anything.
        db.session.rollback()
        limit = request.max_content_length
        return _render(
            PayloadTooLarge(
                f"the request body is larger than the limit of {limit} bytes "
                "(WORKBENCH_MAX_CONTENT_LENGTH); nothing was stored",
                errors={"body": [f"larger than {limit} bytes"]},
            ).to_dict()
        )

    @app.errorhandler(HTTPException)
    def handle_http_error(exc: HTTPException):
        status = exc.code or 500
        data = getattr(exc, "data", None) or {}
        if status == 422 and "messages" in data:
            # webargs refused the request's arguments (flask-smorest's @arguments): name them.
            from workbench.api.framework import validation_message

            message, errors = validation_message(data["messages"])
            return _render(ValidationError(message, errors=errors).to_dict())
        code = (exc.name or "error").lower().replace(" ", "_")
        message = data.get("message") or exc.description or exc.name
        body, status = _render(
            {"code": code, "status": status, "message": message, "errors": data.get("errors") or {}}
        )
        headers = {}
        if isinstance(exc, MethodNotAllowed) and exc.valid_methods:
            headers["Allow"] = ", ".join(exc.valid_methods)  # RFC 9110: a 405 names what is allowed
        return body, status, headers

    @app.errorhandler(OperationalError)
    def handle_database_busy(exc: OperationalError):
        db.session.rollback()
        if "database is locked" in str(exc.orig):
            # SQLite serialises writers; the loser of a race is refused rather than kept waiting.
            return _render(
                {
                    "code": "busy",
                    "status": 503,
                    "errors": {},
                    "message": "the database is busy with another change; nothing was stored, try again",
                }
            )
        app.logger.exception("database error")
        return _render(
            {
                "code": "internal_error",
                "status": 500,
                "errors": {},
                "message": "database error; the change was rolled back",
            }
        )

    @app.errorhandler(Exception)
    def handle_crash(exc: Exception):
        db.session.rollback()
        app.logger.exception("unhandled error")
        return _render(
            {
                "code": "internal_error",
                "status": 500,
                "message": "internal error; the change was rolled back",
                "errors": {},
            }
        )
