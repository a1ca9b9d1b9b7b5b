"""Passwords for the pages: Argon2id hashes, one-time set-password links, rate-limited sign-in.

API tokens stay for the API and scripts; people sign in to the pages with an e-mail and a
password. Nobody types a password for someone else: an admin issues a one-time link (shown once)
and the person chooses their password there. Resetting a password clears it at once (every
session of that user ends, see web.security) and issues such a link.

Failed sign-ins are counted in the database, so every process of a deployment (several
gunicorn workers, several machines) shares one count: at most ``SIGN_IN_MAX_FAILURES`` per
account and ``SIGN_IN_MAX_FAILURES_PER_ADDRESS`` per client address within ``SIGN_IN_WINDOW``
seconds; past that, 429 with the seconds to wait. An attempt is written *before* its password is
checked, so attempts made at the same moment count each other.
"""

from __future__ import annotations

import functools
import hashlib
import secrets
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app

from workbench.db import changed_rows, db, lock_rows, release_for_network
from workbench.errors import Gone, TooManyRequests, Unauthorized, ValidationError
from workbench.models import PasswordLink, SignInAttempt, User
from workbench.models.base import as_utc, utcnow
from workbench.validation import check_text

#: Shortest and longest password accepted (NIST SP 800-63B asks for at least 8 and room for 64+).
PASSWORD_MIN = 10
PASSWORD_MAX = 1000

#: Attempts older than this are deleted (the windows that count them are far shorter).
ATTEMPTS_KEPT = timedelta(days=1)

_hasher = PasswordHasher()  # argon2-cffi's defaults: Argon2id, RFC 9106's low-memory profile


@functools.cache
def _dummy_hash() -> str:
    """A hash checked against when the e-mail is unknown, so an unknown account answers as slowly
    as a known one. Made on first use, not at import: hashing takes argon2's 64 MiB memory cost,
    which every process (each web worker, each job) would otherwise pay at start."""
    return _hasher.hash(secrets.token_urlsafe(16))


def __getattr__(name: str) -> str:
    """Serve the old ``_DUMMY_HASH`` constant lazily too (tests read it)."""
    if name == "_DUMMY_HASH":
        return _dummy_hash()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


_FAILED = ("pending", "failed")  # a pending attempt counts until it is known to have succeeded


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def check_password_rules(password: str, confirm: str | None, email: str) -> None:
    """Refuse a password that is too short, too long, not text, the e-mail, or not confirmed."""
    if not isinstance(password, str) or len(password) < PASSWORD_MIN:
        raise ValidationError(
            f"the password must have at least {PASSWORD_MIN} characters",
            errors={"password": [f"shorter than {PASSWORD_MIN} characters"]},
        )
    if len(password) > PASSWORD_MAX:
        raise ValidationError(
            f"the password must have at most {PASSWORD_MAX} characters",
            errors={"password": [f"longer than {PASSWORD_MAX} characters"]},
        )
    check_text(password, "password")
    if not password.strip():
        raise ValidationError("the password must not be only spaces", errors={"password": ["blank"]})
    if password.strip().lower() == (email or "").strip().lower():
        raise ValidationError(
            "the password must not be your e-mail address", errors={"password": ["is the e-mail"]}
        )
    if confirm is not None and confirm != password:
        raise ValidationError("the two passwords differ", errors={"confirm": ["differs from the password"]})


# --- links ----------------------------------------------------------------------------------------


def issue_link(user: User, *, actor: str, purpose: str = "set") -> str:
    """Create a one-time set-password link's token for ``user`` (shown once); older links stop working."""
    from workbench import audit

    # Two admins issuing links at once: the user's row lock orders them, so the second revokes the
    # first's link and exactly one stays usable. The audit chain first, as every user change.
    if db.session.get_bind().dialect.name == "postgresql":
        audit.hold()
    lock_rows(User, [user.id])
    if not user.active:
        raise ValidationError(f"{user.email} is disabled; enable them before sending a link")
    now = utcnow()
    revoked = changed_rows(
        sa.update(PasswordLink)
        .where(
            PasswordLink.user_id == user.id,
            PasswordLink.used_at.is_(None),
            PasswordLink.revoked_at.is_(None),
        )
        .values(revoked_at=now)
        .execution_options(synchronize_session=False)
    )
    token = "pw_" + secrets.token_urlsafe(32)
    hours = float(current_app.config.get("PASSWORD_LINK_HOURS", 72))
    link = PasswordLink(
        user_id=user.id,
        token_hash=_token_hash(token),
        purpose=purpose,
        created_by=actor,
        created_at=now,
        expires_at=now + timedelta(hours=hours),
    )
    db.session.add(link)
    db.session.flush()
    audit.append(
        actor,
        "user.password_link_created",
        "user",
        user.id,
        {
            "email": user.email,
            "link_id": link.id,
            "purpose": purpose,
            "expires_at": link.expires_at,
            "revoked": revoked,
        },
    )
    return token


def reset_password(user: User, *, actor: str) -> str:
    """Clear the user's password now (their sessions end) and return a one-time link's token."""
    from workbench import audit
    from workbench.audit.rows import attest
    from workbench.auth import _update_user_if

    if _update_user_if(user, User.password_hash.is_not(None), password_hash=None):
        payload = {"email": user.email, "rows": attest(user)}
        audit.append(actor, "user.password_reset", "user", user.id, payload)
    return issue_link(user, actor=actor, purpose="reset")


def open_link(token: str) -> tuple[PasswordLink, User]:
    """Return a link that still works and its user, or raise Gone saying why it does not."""
    link = db.session.scalar(
        sa.select(PasswordLink).where(PasswordLink.token_hash == _token_hash(token or ""))
    )
    if link is None:
        raise Gone("this set-password link is unknown: ask an admin for a new one")
    if link.used_at is not None:
        raise Gone("this set-password link has been used already: sign in, or ask an admin for a new one")
    if link.revoked_at is not None:
        raise Gone("this set-password link was replaced by a newer one: use the newest link you were given")
    if as_utc(link.expires_at) <= utcnow():
        raise Gone("this set-password link has expired: ask an admin for a new one")
    user = db.session.get(User, link.user_id)
    if user is None or not user.active:
        raise Gone("this account is disabled")
    return link, user


def use_link(token: str, password: str, confirm: str | None) -> User:
    """Set the link's user's password and use the link up; the caller commits."""
    from workbench import audit
    from workbench.audit.rows import attest
    from workbench.auth import _update_user_if

    link, user = open_link(token)
    check_password_rules(password, confirm, user.email)
    # Hash before taking the write lock: Argon2 takes a tenth of a second on purpose.
    release_for_network()
    hashed = _hasher.hash(password)
    now = utcnow()
    used = changed_rows(
        sa.update(PasswordLink)
        .where(
            PasswordLink.id == link.id,
            PasswordLink.used_at.is_(None),
            PasswordLink.revoked_at.is_(None),
            PasswordLink.expires_at > now,
        )
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    )
    if used != 1:  # another tab used it, or a newer link replaced it, since open_link read it
        db.session.rollback()
        open_link(token)  # says which
        raise Gone("this set-password link no longer works")
    if not _update_user_if(user, User.active.is_(True), password_hash=hashed):
        db.session.rollback()
        raise Gone("this account is disabled")
    audit.append(
        user.email,
        "user.password_set",
        "user",
        user.id,
        {"email": user.email, "link_id": link.id, "purpose": link.purpose, "rows": attest(user)},
    )
    return user


# --- signing in -----------------------------------------------------------------------------------


def _failures(since: datetime, **where: Any) -> tuple[int, datetime | None]:
    """Count failed (or still pending) attempts since ``since`` matching ``where``; and the oldest."""
    column = getattr(SignInAttempt, next(iter(where)))
    row = db.session.execute(
        sa.select(sa.func.count(), sa.func.min(SignInAttempt.at)).where(
            column == next(iter(where.values())),
            SignInAttempt.at >= since,
            SignInAttempt.outcome.in_(_FAILED),
        )
    ).one()
    return row[0], row[1]


def begin_attempt(email: str, remote_addr: str | None) -> int:
    """Record a sign-in attempt (committed) and return its id; raise 429 past either limit.

    ``email`` is empty for a sign-in with an API token: only the address's limit applies.
    """
    config = current_app.config
    window = timedelta(seconds=int(config.get("SIGN_IN_WINDOW", 900)))
    now = utcnow()
    address = (remote_addr or "unknown")[:64]
    attempt = SignInAttempt(email=email, remote_addr=address, at=now, outcome="pending")
    db.session.add(attempt)
    db.session.execute(sa.delete(SignInAttempt).where(SignInAttempt.at < now - ATTEMPTS_KEPT))
    db.session.commit()  # seen by every attempt that counts after this point

    checks = [
        (
            _failures(now - window, remote_addr=address),
            int(config.get("SIGN_IN_MAX_FAILURES_PER_ADDRESS", 50)),
            "your address",
        )
    ]
    if email:
        # Failures of this account since its last success (a success clears the account's count).
        last_ok = db.session.scalar(
            sa.select(sa.func.max(SignInAttempt.at)).where(
                SignInAttempt.email == email, SignInAttempt.outcome == "ok", SignInAttempt.at >= now - window
            )
        )
        since = max(now - window, as_utc(last_ok)) if last_ok is not None else now - window
        limit = int(config.get("SIGN_IN_MAX_FAILURES", 5))
        checks.insert(0, (_failures(since, email=email), limit, "this account"))
    for (count, oldest), limit, what in checks:
        if count > limit and oldest is not None:
            finish_attempt(attempt.id, "limited")
            wait = max(1, int((as_utc(oldest) + window - now).total_seconds()) + 1)
            raise TooManyRequests(
                f"too many failed sign-ins for {what}: try again in {-(-wait // 60)} minute(s)",
                retry_after=wait,
            )
    return attempt.id


def finish_attempt(attempt_id: int, outcome: str) -> None:
    """Record how an attempt ended (``ok``, ``failed`` or ``limited``) and commit."""
    db.session.execute(
        sa.update(SignInAttempt)
        .where(SignInAttempt.id == attempt_id)
        .values(outcome=outcome)
        .execution_options(synchronize_session=False)
    )
    db.session.commit()


def sign_in(email: str, password: str, remote_addr: str | None) -> User:
    """Return the active user with this e-mail and password; raise 401, or 429 when rate-limited.

    Commits: every attempt is kept (for the counts) whatever its outcome.
    """
    from workbench import audit
    from workbench.audit.rows import attest
    from workbench.auth import _update_user_if

    email = (email or "").strip().lower()[:320]
    if not email:
        raise Unauthorized("type your e-mail address and password")
    attempt_id = begin_attempt(email, remote_addr)
    user = db.session.scalar(sa.select(User).where(User.email == email))
    stored = user.password_hash if user is not None and user.active else None
    release_for_network()  # no lock held while Argon2 works
    try:
        _hasher.verify(stored or _dummy_hash(), password or "")
        ok = stored is not None
    except (VerificationError, InvalidHashError):
        ok = False
    if not ok:
        finish_attempt(attempt_id, "failed")
        raise Unauthorized("wrong e-mail or password, or the account has no password yet")
    assert user is not None and stored is not None  # ok above means both
    if _hasher.check_needs_rehash(stored):  # argon2-cffi's parameters moved on: store the new hash
        rehashed = _hasher.hash(password)
        if _update_user_if(user, User.password_hash == stored, password_hash=rehashed):
            audit.append(user.email, "user.password_rehashed", "user", user.id, {"rows": attest(user)})
    finish_attempt(attempt_id, "ok")
    return user
