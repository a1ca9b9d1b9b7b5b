"""Webhook deliveries kept on disk while the database cannot take them, until a placer can.

One file per delivery under ``<instance>/webhook-spool/``, named by the time it was received and
a random key, holding the body byte for byte. Written to a temporary name, flushed to disk and
renamed, so a file under its final name is always whole. Moving it into ``webhook_events``
records its key (unique), so two processes moving one file store it once.
"""

from __future__ import annotations

import os
import uuid
from datetime import UTC, datetime
from pathlib import Path

from flask import Flask

SPOOL = "webhook-spool"
SUFFIX = ".body"
_STAMP = "%Y%m%dT%H%M%S%fZ"


def directory(app: Flask) -> Path:
    return Path(app.instance_path) / SPOOL


def write(folder: Path, body: bytes, received_at: datetime) -> str:
    """Keep one delivery's body on disk, durably; return its key. Raises OSError if it cannot."""
    folder.mkdir(parents=True, exist_ok=True)
    key = f"{received_at.astimezone(UTC).strftime(_STAMP)}-{uuid.uuid4().hex}"
    temporary = folder / f".{key}.tmp"
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(body)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, folder / f"{key}{SUFFIX}")
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    dir_fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(dir_fd)  # the rename itself survives a crash
    finally:
        os.close(dir_fd)
    return key


def pending(folder: Path) -> list[Path]:
    """The deliveries kept on disk, oldest first."""
    if not folder.is_dir():
        return []
    return sorted(folder.glob(f"*{SUFFIX}"))


def read(path: Path) -> tuple[str, datetime, bytes] | None:
    """Return a kept delivery's key, time received and body; None when another process took it."""
    key = path.name[: -len(SUFFIX)]
    try:
        body = path.read_bytes()
    except FileNotFoundError:
        return None
    received_at = datetime.strptime(key.split("-", 1)[0], _STAMP).replace(tzinfo=UTC)
    return key, received_at, body


def remove(path: Path) -> None:
    path.unlink(missing_ok=True)
