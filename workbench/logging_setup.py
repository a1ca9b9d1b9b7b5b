"""Logs: one line per request with its id, as JSON lines or as readable text.

``WORKBENCH_LOG_FORMAT=json`` writes one JSON object per line (for a log collector); anything
else writes text a person reads. Both go through the standard ``logging`` module: the request
line is a record of the ``workbench.request`` logger, so any handler can take it.
"""

from __future__ import annotations

import json
import logging
import os
import re
import time
import uuid
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any

from werkzeug.wsgi import ClosingIterator

REQUEST_ID_HEADER = "X-Request-ID"
ENVIRON_KEY = "workbench.request_id"
# An id a client or a proxy sends is kept only when it cannot break a log line or a header.
_SANE_REQUEST_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:/+=@-]{0,127}")
# Path parameters that are secrets (the one-time set-password link): never written to a log.
SECRET_PATH_ARGUMENTS = ("token",)

request_log = logging.getLogger("workbench.request")

# What every LogRecord has; anything else on a record was passed in ``extra`` and is a field.
_RECORD_ATTRIBUTES = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {
    "message",
    "asctime",
    "request_id",
}


def log_format() -> str:
    """Return ``json`` or ``text``, from ``WORKBENCH_LOG_FORMAT``."""
    return "json" if os.environ.get("WORKBENCH_LOG_FORMAT", "").strip().lower() == "json" else "text"


def request_id_from(environ: dict[str, Any]) -> str:
    """Return the request's ``X-Request-ID`` when it is sane, else a new one."""
    sent = environ.get("HTTP_X_REQUEST_ID", "")
    return sent if _SANE_REQUEST_ID.fullmatch(sent) else uuid.uuid4().hex


def current_request_id() -> str | None:
    """Return the id of the request being handled on this thread, if any."""
    from flask import has_request_context, request

    return request.environ.get(ENVIRON_KEY) if has_request_context() else None


class RequestIdFilter(logging.Filter):
    """Stamp every record with the id of the request it was written in (``-`` outside one)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not getattr(record, "request_id", None):
            record.request_id = current_request_id() or "-"
        return True


class JsonFormatter(logging.Formatter):
    """Write a record as one JSON object: time, level, logger, message and its extra fields."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if getattr(record, "request_id", "-") != "-":
            entry["request_id"] = record.request_id  # type: ignore[attr-defined]  # set by our filter
        entry.update((k, v) for k, v in vars(record).items() if k not in _RECORD_ATTRIBUTES)
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str, ensure_ascii=False)


TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"


def logging_config(fmt: str | None = None, level: str = "INFO") -> dict[str, Any]:
    """Return a ``logging.config.dictConfig`` mapping: every logger to standard error, in ``fmt``.

    gunicorn's own loggers are included, so its start and stop lines share the format; its
    access log is left off, the workbench writes the request lines itself.
    """
    fmt = fmt or log_format()
    formatter = {"()": f"{__name__}.JsonFormatter"} if fmt == "json" else {"format": TEXT_FORMAT}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"request_id": {"()": f"{__name__}.RequestIdFilter"}},
        "formatters": {"workbench": formatter},
        "handlers": {
            "stderr": {
                "class": "logging.StreamHandler",
                "stream": "ext://sys.stderr",
                "formatter": "workbench",
                "filters": ["request_id"],
            }
        },
        "root": {"level": level, "handlers": ["stderr"]},
        "loggers": {
            "gunicorn.error": {"level": level, "handlers": ["stderr"], "propagate": False},
            "gunicorn.access": {"level": "CRITICAL", "handlers": [], "propagate": False},
            # /ready reads the schema's revision through Alembic, which says so at INFO every time.
            "alembic": {"level": "WARNING"},
            # label-studio-sdk's HTTP client says every call at INFO; the request lines say enough.
            "httpx": {"level": "WARNING"},
        },
    }


def _loggable_path(environ: dict[str, Any]) -> str:
    """Return the request's path (no query string), with secret path parameters blanked out."""
    from flask import has_request_context, request

    path = environ.get("PATH_INFO", "") or "/"
    view_args = (request.view_args or {}) if has_request_context() else {}
    for name in SECRET_PATH_ARGUMENTS:
        if view_args.get(name):
            path = path.replace(str(view_args[name]), "[redacted]")
    return path


class RequestLog:
    """WSGI middleware: give each request an id, echo it, and log one line when the response ends.

    It wraps the whole Flask app, so every request is logged, whatever answered it, and the
    duration includes a streamed body (an export) up to its last byte.
    """

    def __init__(self, app: Callable[..., Iterable[bytes]]) -> None:
        self.app = app

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        started = time.perf_counter()
        request_id = environ[ENVIRON_KEY] = request_id_from(environ)
        status: list[int] = [500]
        path: list[str] = [environ.get("PATH_INFO", "") or "/"]

        def start(status_line: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            status[0] = int(status_line.split(" ", 1)[0])
            path[0] = _loggable_path(environ)  # Flask's request still knows its view arguments here
            if not any(k.lower() == REQUEST_ID_HEADER.lower() for k, _ in headers):
                headers.append((REQUEST_ID_HEADER, request_id))
            return start_response(status_line, headers, exc_info)

        def finish() -> None:
            method = environ.get("REQUEST_METHOD", "")
            duration_ms = round((time.perf_counter() - started) * 1000, 1)
            request_log.info(
                "%s %s %s %.1f ms",
                method,
                path[0],
                status[0],
                duration_ms,
                extra={
                    "request_id": request_id,
                    "method": method,
                    "path": path[0],
                    "status": status[0],
                    "duration_ms": duration_ms,
                },
            )

        try:
            body = self.app(environ, start)
        except BaseException:
            finish()
            raise
        return ClosingIterator(body, finish)
