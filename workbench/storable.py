"""What the databases can store: ids that fit a 32-bit integer, text without NUL or lone surrogates."""

from __future__ import annotations

import re
from typing import Any

#: PostgreSQL's ``integer`` (ids, task ids, counts): larger numbers are refused at the door.
MAX_ID = 2**31 - 1

# NUL (PostgreSQL text cannot hold it) and UTF-16 surrogates left alone by a "\\ud800" escape
# (no UTF-8 encoding exists for them).
UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
REPLACEMENT = "\ufffd"


def sanitize_text(value: str) -> str:
    """Replace each character the databases cannot store by U+FFFD."""
    return UNSTORABLE.sub(REPLACEMENT, value)


def sanitize_json(value: Any) -> Any:
    """Return a copy of parsed JSON with every string (keys too) made storable."""
    if isinstance(value, str):
        return sanitize_text(value) if UNSTORABLE.search(value) else value
    if isinstance(value, list):
        return [sanitize_json(v) for v in value]
    if isinstance(value, dict):
        return {sanitize_json(k): sanitize_json(v) for k, v in value.items()}
    return value


def storable_body(body: bytes) -> tuple[str, str]:
    """Decode a delivery for storage: ``(text, "as_sent")`` when it can be kept byte for byte,
    else an escaped form that can (``"escaped"``: invalid UTF-8 and NUL as backslash escapes)."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        text = None
    if text is not None and "\x00" not in text:
        return text, "as_sent"
    escaped = body.decode("utf-8", errors="backslashreplace").replace("\x00", "\\x00")
    return escaped, "escaped"
