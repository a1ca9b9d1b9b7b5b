"""Probes: ``/health`` (is the process up) and ``/ready`` (can it do its work), one JSON shape.

Both answer ``{"status": "ok"|"unavailable", "version": …, "checks": {name: {"ok", "ms", …}}}``
with 200 or 503. ``/health`` asks nothing of anyone, so a busy database never gets a live
process restarted. ``/ready`` asks the database, the schema's Alembic revision, Redis (when
configured) and Label Studio, all at once with a deadline; a failed check says what failed in a
few words and the detail goes to the log, never into the answer.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, wait
from functools import lru_cache
from typing import Any

import sqlalchemy as sa
from flask import Blueprint, Flask, current_app, jsonify

from workbench import __version__
from workbench.logging_setup import current_request_id

bp = Blueprint("health", __name__)
log = logging.getLogger(__name__)

#: Seconds /ready waits for all its checks together; each network check has its own timeout under it.
READY_DEADLINE = 3.0
CHECK_TIMEOUT = 2.0

Check = dict[str, Any]


class CheckFailed(Exception):
    """A check's short, public reason; the cause (logged) stays private."""


def _answer(checks: dict[str, Check]):
    ok = all(check["ok"] for check in checks.values())
    response = jsonify({"status": "ok" if ok else "unavailable", "version": __version__, "checks": checks})
    response.status_code = 200 if ok else 503
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/health")
def health():
    """Answer that the process is up, touching nothing else."""
    return _answer({})


@bp.get("/ready")
def ready():
    """Say whether the database, the schema, Redis and Label Studio are there to work with."""
    app = current_app._get_current_object()
    request_id = current_request_id()  # the checks log from their own threads
    probes: dict[str, Callable[[Flask, str | None], dict[str, Check]]] = {
        "database": _database_and_schema,
        "label_studio": _label_studio,
    }
    if app.config.get("REDIS_URL"):
        probes["redis"] = _redis
    pool = ThreadPoolExecutor(max_workers=len(probes), thread_name_prefix="ready")
    try:
        futures = {name: pool.submit(probe, app, request_id) for name, probe in probes.items()}
        wait(futures.values(), timeout=READY_DEADLINE)
    finally:
        pool.shutdown(wait=False)  # a check stuck past the deadline finishes on its own
    checks: dict[str, Check] = {}
    for name, future in futures.items():
        if future.done():
            checks.update(future.result())
        else:
            log.warning(
                "ready: %s gave no answer within %.1f s",
                name,
                READY_DEADLINE,
                extra={"request_id": request_id},
            )
            checks[name] = {
                "ok": False,
                "ms": round(READY_DEADLINE * 1000),
                "message": f"no answer within {READY_DEADLINE:g} s",
            }
            if name == "database":
                checks["migrations"] = {"ok": False, "ms": 0, "message": "not checked: no database"}
    return _answer(dict(sorted(checks.items())))


def _timed(name: str, check: Callable[[], dict[str, Any] | None], request_id: str | None) -> Check:
    """Run one check; return ``{"ok", "ms"}`` and its extra fields, or its short reason."""
    started = time.perf_counter()
    try:
        result: Check = {"ok": True, **(check() or {})}
    except CheckFailed as exc:
        log.warning("ready: %s failed: %s", name, exc.__cause__ or exc, extra={"request_id": request_id})
        result = {"ok": False, "message": str(exc)}
    except Exception:  # a probe must answer whatever broke: the detail goes to the log
        log.exception("ready: %s failed", name, extra={"request_id": request_id})
        result = {"ok": False, "message": f"{name.replace('_', ' ')} check failed"}
    return {"ms": round((time.perf_counter() - started) * 1000), **result}


@lru_cache(maxsize=1)
def _head_revisions() -> frozenset[str]:
    """Return the newest revisions the shipped migrations define (read once per process)."""
    from alembic.script import ScriptDirectory

    from workbench.resources import migrations_directory

    return frozenset(ScriptDirectory(migrations_directory()).get_heads())


def _database_and_schema(app: Flask, request_id: str | None) -> dict[str, Check]:
    from alembic.runtime.migration import MigrationContext

    from workbench.db import db

    with app.app_context():
        connection: sa.Connection | None = None

        def database() -> None:
            nonlocal connection
            try:
                connection = db.engine.connect()
                connection.execute(sa.text("SELECT 1"))
            except Exception as exc:
                raise CheckFailed("database unreachable") from exc

        def migrations() -> dict[str, Any] | None:
            if connection is None:
                raise CheckFailed("not checked: no database")
            try:
                current = frozenset(MigrationContext.configure(connection).get_current_heads())
            except Exception as exc:
                raise CheckFailed("could not read the schema revision") from exc
            if current != _head_revisions():
                if not current:
                    raise CheckFailed("database not migrated: run 'workbench db upgrade'")
                raise CheckFailed(
                    "database schema is not at the newest migration: run 'workbench db upgrade'"
                )
            return None

        try:
            return {
                "database": _timed("database", database, request_id),
                "migrations": _timed("migrations", migrations, request_id),
            }
        finally:
            if connection is not None:
                connection.close()


def _redis(app: Flask, request_id: str | None) -> dict[str, Check]:
    from redis import Redis

    def ping() -> None:
        try:
            client = Redis.from_url(
                app.config["REDIS_URL"], socket_connect_timeout=CHECK_TIMEOUT, socket_timeout=CHECK_TIMEOUT
            )
            try:
                client.ping()
            finally:
                client.close()
        except Exception as exc:
            raise CheckFailed("Redis unreachable") from exc

    return {"redis": _timed("redis", ping, request_id)}


def _label_studio(app: Flask, request_id: str | None) -> dict[str, Check]:
    from workbench.errors import LabelStudioUnavailable
    from workbench.labelstudio.client import client_from_config

    def answers() -> None:
        try:
            client = client_from_config({**app.config, "LABEL_STUDIO_TIMEOUT": CHECK_TIMEOUT})
        except LabelStudioUnavailable as exc:
            raise CheckFailed("Label Studio API key not configured") from exc
        with client:
            if not client.health():
                raise CheckFailed("Label Studio unreachable, or it refuses the API key")

    return {"label_studio": _timed("label_studio", answers, request_id)}
