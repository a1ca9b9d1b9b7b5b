"""Configuration from the environment, with embedded defaults that work on a laptop."""

from __future__ import annotations

import math
import os
import secrets
from collections.abc import Mapping
from typing import Any

#: Published rating scale (the order is the ordinal scale, most true first).
RATINGS = ("True", "Mostly true", "Half true", "Mostly false", "False", "Misleading", "Unverifiable")


def _bool(value: str | None, default: bool) -> bool:
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def normalise_database_url(url: str) -> str:
    """Pick the psycopg 3 driver for plain ``postgresql://`` URLs (we do not ship psycopg2)."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://") :]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    return url


def _instance_secret(instance_path: str) -> str:
    """Keep a generated session key in the instance folder, so sign-ins survive restarts."""
    path = os.path.join(instance_path, "secret-key")
    try:
        with open(path, encoding="ascii") as handle:
            value = handle.read().strip()
        if value:
            return value
    except OSError:
        pass
    value = secrets.token_hex(32)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="ascii") as handle:
            handle.write(value)
    except FileExistsError:  # another process won the race: use its key
        return _instance_secret(instance_path)
    except OSError:
        pass  # read-only instance folder: a per-process key still works
    return value


def _fraction(env: Mapping[str, str], name: str, default: float | None) -> float | None:
    """Read a score threshold: a number from 0 to 1 (default when unset or empty)."""
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if not 0.0 <= value <= 1.0:  # NaN fails too
        raise ValueError(f"{name} must be a number from 0 to 1, not {raw!r}")
    return value


def _max_content_length(env: Mapping[str, str], article_bytes: int) -> int:
    """Read the request-body limit; it must leave room for the largest article and its JSON escapes."""
    # JSON can escape a 3-byte UTF-8 character as a 6-byte \uXXXX: twice the text, plus the fields.
    default = max(4 * 1024 * 1024, 2 * article_bytes + 64 * 1024)
    value = int(env.get("WORKBENCH_MAX_CONTENT_LENGTH") or default)
    if value <= article_bytes:
        raise ValueError(
            f"WORKBENCH_MAX_CONTENT_LENGTH ({value}) must be larger than "
            f"WORKBENCH_MAX_ARTICLE_BYTES ({article_bytes}), or no article of that size could be sent"
        )
    return value


def from_environment(instance_path: str) -> dict[str, Any]:
    """Read every ``WORKBENCH_*`` setting, falling back to the embedded defaults."""
    env = os.environ
    article_bytes = int(env.get("WORKBENCH_MAX_ARTICLE_BYTES", str(1024 * 1024)))
    db_url = env.get("WORKBENCH_DATABASE_URL") or f"sqlite:///{os.path.join(instance_path, 'workbench.db')}"
    return {
        "SECRET_KEY": env.get("WORKBENCH_SECRET_KEY") or _instance_secret(instance_path),
        "SQLALCHEMY_DATABASE_URI": normalise_database_url(db_url),
        "LABEL_STUDIO_URL": env.get("WORKBENCH_LABEL_STUDIO_URL", "http://127.0.0.1:8080").rstrip("/"),
        "LABEL_STUDIO_API_KEY": env.get("WORKBENCH_LABEL_STUDIO_API_KEY") or None,
        "LABEL_STUDIO_PROJECT_TITLE": env.get("WORKBENCH_LABEL_STUDIO_PROJECT", "Fact-check workbench"),
        # Seconds one call to Label Studio may take (an import of a push batch is one call).
        "LABEL_STUDIO_TIMEOUT": float(env.get("WORKBENCH_LABEL_STUDIO_TIMEOUT") or 15),
        "WEBHOOK_SECRET": env.get("WORKBENCH_WEBHOOK_SECRET") or None,
        "PUBLIC_URL": env.get("WORKBENCH_PUBLIC_URL", "http://127.0.0.1:5000").rstrip("/"),
        "REDIS_URL": env.get("WORKBENCH_REDIS_URL") or None,
        # Seconds between the reconciles `workbench worker` queues (0: none).
        "SYNC_INTERVAL": float(env.get("WORKBENCH_SYNC_INTERVAL") or 300),
        "MAX_ARTICLE_BYTES": article_bytes,
        # Flask refuses a larger request body (Content-Length or chunked) with a 413 before reading it.
        "MAX_CONTENT_LENGTH": _max_content_length(env, article_bytes),
        # Ingest from a URL: seconds for the whole fetch, largest page, and which non-public
        # addresses it may reach ("true": any; or a comma-separated list of networks).
        "INGEST_URL_TIMEOUT": float(env.get("WORKBENCH_INGEST_URL_TIMEOUT") or 10),
        "INGEST_URL_MAX_BYTES": int(env.get("WORKBENCH_INGEST_URL_MAX_BYTES") or 5 * 1024 * 1024),
        "INGEST_ALLOW_PRIVATE_URLS": env.get("WORKBENCH_INGEST_ALLOW_PRIVATE_URLS") or None,
        # Largest bulk ingest body (JSON Lines or uploaded files) the API reads.
        "MAX_BULK_BYTES": int(env.get("WORKBENCH_MAX_BULK_BYTES") or 64 * 1024 * 1024),
        "CHECKWORTHY_THRESHOLD": _fraction(env, "WORKBENCH_CHECKWORTHY_THRESHOLD", 0.5),
        "MATCH_THRESHOLD": _fraction(env, "WORKBENCH_MATCH_THRESHOLD", None),
        # Claim matching scores the search index's candidates with sentence embeddings too
        # (workbench.matching.embeddings): off, TF-IDF alone at MATCH_THRESHOLD.
        "MATCH_EMBEDDINGS": _bool(env.get("WORKBENCH_MATCH_EMBEDDINGS"), True),
        "MATCH_EMBEDDING_THRESHOLD": _fraction(env, "WORKBENCH_MATCH_EMBEDDING_THRESHOLD", 0.7),
        "PUSH_BATCH_SIZE": int(env.get("WORKBENCH_PUSH_BATCH_SIZE", "1000")),
        "ANNOTATION_OVERLAP": int(env.get("WORKBENCH_ANNOTATION_OVERLAP", "2")),
        "SQLALCHEMY_ECHO": _bool(env.get("WORKBENCH_SQL_ECHO"), False),
        # Failed sign-ins allowed per account, and per client address, within the window (seconds).
        "SIGN_IN_MAX_FAILURES": int(env.get("WORKBENCH_SIGN_IN_MAX_FAILURES") or 5),
        "SIGN_IN_MAX_FAILURES_PER_ADDRESS": int(env.get("WORKBENCH_SIGN_IN_MAX_FAILURES_PER_ADDRESS") or 50),
        "SIGN_IN_WINDOW": int(env.get("WORKBENCH_SIGN_IN_WINDOW") or 900),
        # Trusted reverse proxies in front of the workbench (X-Forwarded-For/-Proto/-Host); 0: none.
        "PROXY_HOPS": int(env.get("WORKBENCH_PROXY_HOPS") or 0),
        # Hours a one-time set-password link works.
        "PASSWORD_LINK_HOURS": float(env.get("WORKBENCH_PASSWORD_LINK_HOURS") or 72),
        # Where a kept webhook delivery is placed: "background" (a thread of the web process),
        # "queue" (an RQ job), "inline" (in the request). None: background, inline under TESTING.
        "WEBHOOK_PLACING": _placing(env.get("WORKBENCH_WEBHOOK_PLACING")),
        **_outbound(env),
    }


def _outbound(env: Mapping[str, str]) -> dict[str, Any]:
    """Read the outbound-event settings (signed events sent to integrators' endpoints)."""
    return {
        # Endpoints on loopback or private addresses are refused unless this is set.
        "OUTBOUND_ALLOW_PRIVATE": _bool(env.get("WORKBENCH_OUTBOUND_ALLOW_PRIVATE"), False),
        # Seconds one attempt may take: from a worker or the sweep, and inline in a request.
        "OUTBOUND_TIMEOUT": float(env.get("WORKBENCH_OUTBOUND_TIMEOUT") or 10),
        "OUTBOUND_INLINE_TIMEOUT": float(env.get("WORKBENCH_OUTBOUND_INLINE_TIMEOUT") or 3),
        # Retry n waits RETRY_BASE * 2**(n-1) seconds, at most RETRY_MAX; MAX_ATTEMPTS in all.
        "OUTBOUND_RETRY_BASE": float(env.get("WORKBENCH_OUTBOUND_RETRY_BASE") or 30),
        "OUTBOUND_RETRY_MAX": float(env.get("WORKBENCH_OUTBOUND_RETRY_MAX") or 6 * 3600),
        "OUTBOUND_MAX_ATTEMPTS": int(env.get("WORKBENCH_OUTBOUND_MAX_ATTEMPTS") or 12),
        # An endpoint is paused after this many failed attempts in a row, or after failing
        # (no success since its first failure) for this many seconds.
        "OUTBOUND_PAUSE_AFTER_FAILURES": int(env.get("WORKBENCH_OUTBOUND_PAUSE_AFTER_FAILURES") or 20),
        "OUTBOUND_PAUSE_AFTER_SECONDS": float(env.get("WORKBENCH_OUTBOUND_PAUSE_AFTER_SECONDS") or 86400),
        # How deliveries run: "queue" (RQ jobs), "inline" (after the commit, in the process that
        # made the change), "off" (only `workbench outbound deliver`). None: queue with Redis.
        "OUTBOUND_DELIVERY": _outbound_mode(env.get("WORKBENCH_OUTBOUND_DELIVERY")),
    }


OUTBOUND_DELIVERY_MODES = ("queue", "inline", "off")


def _outbound_mode(value: str | None) -> str | None:
    """Read how outbound events are delivered; refuse a mode that does not exist."""
    if not value:
        return None
    mode = value.strip().lower()
    if mode not in OUTBOUND_DELIVERY_MODES:
        raise ValueError(
            f"WORKBENCH_OUTBOUND_DELIVERY must be one of {', '.join(OUTBOUND_DELIVERY_MODES)}, not {value!r}"
        )
    return mode


WEBHOOK_PLACING_MODES = ("background", "queue", "inline")


def _placing(value: str | None) -> str | None:
    """Read how webhook deliveries are placed; refuse a mode that does not exist."""
    if not value:
        return None
    mode = value.strip().lower()
    if mode not in WEBHOOK_PLACING_MODES:
        raise ValueError(
            f"WORKBENCH_WEBHOOK_PLACING must be one of {', '.join(WEBHOOK_PLACING_MODES)}, not {value!r}"
        )
    return mode
