"""Browser-facing protections: response headers, cookie flags, safe redirects and revocable sessions.

Sessions: Flask's session is a signed cookie, so clearing it in one browser leaves every copy of
it valid. Each sign-in therefore gets a random session id, kept in the cookie; signing out
appends a ``session.ended`` event for the sha256 of that id to the audit chain (a table every
process shares, indexed on its subject), and a session whose id has ended is refused, in every
process, for every copy of the cookie. The cookie also carries a fingerprint of the user's token
and password hashes, so a session ends too when either changes, and the user must still be active.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import unicodedata
from collections.abc import MutableMapping
from typing import Any
from urllib.parse import urlsplit

import sqlalchemy as sa
from flask import Flask, Response, request

from workbench.db import begin_write, db
from workbench.models import AuditEvent, User

#: Every response's policy: nothing inline, nothing from elsewhere, no framing, forms post here.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'"
)

SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",  # frame-ancestors for browsers that predate CSP 2
}

#: The audit event that ends a browser session, and the subject type it is recorded under.
SESSION_ENDED = "session.ended"
SESSION_SUBJECT = "session"

#: Longest ``next`` accepted after sign-in (longer ones go to the dashboard).
NEXT_MAX = 2000


def init_app(app: Flask) -> None:
    """Set the session cookie's flags and add the security headers to every response."""
    app.config["SESSION_COOKIE_HTTPONLY"] = True
    app.config["SESSION_COOKIE_SAMESITE"] = "Lax"
    # Secure whenever the workbench is published over HTTPS (WORKBENCH_PUBLIC_URL).
    app.config["SESSION_COOKIE_SECURE"] = (
        str(app.config.get("PUBLIC_URL") or "").lower().startswith("https://")
    )
    app.after_request(add_security_headers)


def add_security_headers(response: Response) -> Response:
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    # Signed-in pages stay out of the browser's cache: Back after sign-out shows nothing.
    if request.blueprint == "web" and "Cache-Control" not in response.headers:
        response.headers["Cache-Control"] = "no-store"
    return response


# --- redirects ----------------------------------------------------------------------------------


def same_site_path(target: str | None) -> str | None:
    """Return ``target`` if it is a path on this site (``/…``), else None.

    Browsers drop tabs and line breaks inside URLs and read a backslash as a slash, so
    ``/\\t/evil.example`` or ``/\\\\evil.example`` would leave the site: any control, format or
    whitespace character and any backslash refuses the target, and so does anything with a
    scheme or a host, or a path that does not start with exactly one slash.
    """
    if not target or len(target) > NEXT_MAX or "\\" in target:
        return None
    if any(ch.isspace() or unicodedata.category(ch)[0] in ("C", "Z") for ch in target):
        return None
    try:
        parts = urlsplit(target)
    except ValueError:  # e.g. an unbalanced IPv6 bracket
        return None
    if parts.scheme or parts.netloc or not parts.path.startswith("/") or parts.path.startswith("//"):
        return None
    return target


def http_url(value: Any) -> str | None:
    """Return ``value`` if it is an absolute http(s) URL with a host, else None (for links)."""
    if not isinstance(value, str) or any(ch.isspace() or ord(ch) < 0x20 or ch == "\\" for ch in value):
        return None
    try:
        parts = urlsplit(value)
    except ValueError:
        return None
    return value if parts.scheme.lower() in ("http", "https") and parts.hostname else None


# --- sessions -----------------------------------------------------------------------------------


def _fingerprint(user: User) -> str:
    """What the cookie holds of the user's credentials (the cookie is signed, not encrypted).

    A new token, a new password or a reset (which clears the password) ends every session.
    """
    secret = user.token_hash if user.password_hash is None else f"{user.token_hash}:{user.password_hash}"
    return hashlib.sha256(f"workbench-session:{secret}".encode()).hexdigest()[:32]


def _session_key(session_id: str) -> str:
    return hashlib.sha256(session_id.encode("utf-8")).hexdigest()


def start_session(session: MutableMapping[str, Any], user: User) -> None:
    """Sign ``user`` in to a cleared ``session``: a new random session id (no fixation)."""
    session.clear()
    session["user_id"] = user.id
    session["sid"] = secrets.token_urlsafe(32)
    session["tok"] = _fingerprint(user)


def session_ended(session_id: str) -> bool:
    """Whether a sign-out ended this session id (in any process: the audit chain records it)."""
    found = db.session.scalar(
        sa.select(AuditEvent.seq)
        .where(
            AuditEvent.subject_type == SESSION_SUBJECT,
            AuditEvent.subject_id == _session_key(session_id),
            AuditEvent.action == SESSION_ENDED,
        )
        .limit(1)
    )
    return found is not None


def session_user(session: MutableMapping[str, Any]) -> User | None:
    """Return the session's user if the session is live: an id, not ended, the same token, active."""
    user_id, session_id, fingerprint = session.get("user_id"), session.get("sid"), session.get("tok")
    if not (isinstance(user_id, int) and isinstance(session_id, str) and isinstance(fingerprint, str)):
        return None
    user = db.session.get(User, user_id)
    if user is None or not user.active:
        return None
    if not hmac.compare_digest(fingerprint.encode(), _fingerprint(user).encode()):
        return None
    return None if session_ended(session_id) else user


def end_session(session: MutableMapping[str, Any], user: User) -> None:
    """End the session for every copy of its cookie (recorded in the audit chain), then clear it."""
    from workbench import audit

    session_id = session.get("sid")
    if isinstance(session_id, str):
        begin_write()
        audit.hold()  # two sign-outs of one session at once record its end once
    if isinstance(session_id, str) and not session_ended(session_id):
        audit.append(
            user.email,
            SESSION_ENDED,
            SESSION_SUBJECT,
            _session_key(session_id),
            {"user_id": user.id, "via": "sign-out"},
        )
        db.session.commit()
    session.clear()
