"""Bearer-token authentication and role checks for the API."""

from __future__ import annotations

import copy
import functools
import hashlib
import secrets
from collections.abc import Callable
from typing import Any

import marshmallow
import sqlalchemy as sa
from flask import g, request
from sqlalchemy.exc import IntegrityError

from workbench.db import begin_write, changed_rows, db
from workbench.errors import Conflict, Forbidden, Unauthorized, ValidationError
from workbench.models import ROLES, User
from workbench.validation import check_text

#: Longest email and display name a user may have (RFC 5321's 320; the users columns).
EMAIL_MAX = 320
NAME_MAX = 200


def hash_token(token: str) -> str:
    """Hash a token for storage; tokens are long random strings, so plain sha256 suffices."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def create_user(email: str, role: str, name: str = "", *, actor: str = "system") -> tuple[User, str]:
    """Create a user and return it with its API token (the only time the token is visible)."""
    from workbench import audit
    from workbench.audit.rows import attest

    email = (email or "").strip().lower()
    name = (name or "").strip()
    # The columns' lengths (users.email, users.name), checked here so every door gets a 422.
    errors = {
        field: [f"longer than {limit} characters"]
        for field, value, limit in (("email", email, EMAIL_MAX), ("name", name, NAME_MAX))
        if len(value) > limit
    }
    if errors:
        raise ValidationError("too long: " + ", ".join(sorted(errors)), errors=errors)
    check_text(email, "email")
    check_text(name, "name")
    try:
        # The export filter's check (fields.Email): an address stored must be one it can name.
        marshmallow.validate.Email()(email)
    except marshmallow.ValidationError:
        raise ValidationError(f"not an email address: {email!r}", errors={"email": ["invalid"]}) from None
    if role not in ROLES:
        raise ValidationError(
            f"unknown role {role!r}; use one of {', '.join(ROLES)}", errors={"role": ["invalid"]}
        )
    if db.session.scalar(sa.select(User.id).where(User.email == email)) is not None:
        raise ValidationError(f"a user with email {email} already exists", errors={"email": ["taken"]})
    token = "wb_" + secrets.token_urlsafe(32)
    user = User(email=email, role=role, name=name, token_hash=hash_token(token))
    try:
        with db.session.begin_nested():  # two doors creating the same e-mail at once: one wins
            db.session.add(user)
    except IntegrityError:
        raise ValidationError(
            f"a user with email {email} already exists", errors={"email": ["taken"]}
        ) from None
    audit.append(actor, "user.created", "user", user.id, {"email": email, "role": role, "rows": attest(user)})
    return user, token


def user_for_token(token: str) -> User | None:
    """Return the active user holding this token, if any."""
    user = db.session.scalar(sa.select(User).where(User.token_hash == hash_token(token)))
    return user if user is not None and user.active else None


def current_user() -> User:
    """Authenticate the request's bearer token or raise 401."""
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("missing bearer token: send 'Authorization: Bearer <token>'")
    user = user_for_token(token.strip())
    if user is None:
        raise Unauthorized("invalid, unknown or disabled API token")
    g.user = user
    return user


def require_role(*roles: str) -> Callable:
    """Let a view run only for authenticated users holding one of ``roles`` (admin always may).

    Put it outermost (above ``@blp.arguments``), so a caller without the role learns nothing
    about the arguments. The OpenAPI document gets the bearer security, the roles
    (``x-roles``) and the 401 and 403 answers from here.
    """
    allowed = sorted({"admin", *roles})

    def decorator(view: Callable) -> Callable:
        @functools.wraps(view)
        def wrapper(*args: Any, **kwargs: Any):
            user = current_user()
            if user.role != "admin" and user.role not in roles:
                raise Forbidden(f"role {user.role!r} may not do this; needs {' or '.join(roles)}")
            return view(*args, **kwargs)

        # flask-smorest reads the operation's documentation from ``_apidoc`` (see its Blueprint.doc).
        doc = copy.deepcopy(getattr(view, "_apidoc", {}))
        manual = doc.setdefault("manual_doc", {})
        manual["security"] = [{"bearerAuth": []}]
        manual["x-roles"] = allowed
        responses = doc.setdefault("response", {}).setdefault("responses", {})
        responses.setdefault(401, []).append("Unauthorized")
        responses.setdefault(403, []).append("Forbidden")
        wrapper._apidoc = doc  # type: ignore[attr-defined]
        return wrapper

    return decorator


def disable_user(user: User, *, actor: str) -> bool:
    """Disable a user (their token stops working at once); say whether anything changed.

    Disabling a disabled user changes nothing, so it writes no audit event.
    """
    from workbench import audit
    from workbench.audit.rows import attest

    _keep_an_admin(user, _lock_for_change(user), "disable")
    # Conditional, in SQL: of two admins disabling at once, one changes the row and writes the event.
    if not _update_user_if(user, User.active.is_(True), active=False):
        return False
    audit.append(actor, "user.disabled", "user", user.id, {"email": user.email, "rows": attest(user)})
    return True


def _lock_for_change(user: User) -> list[int]:
    """Lock what a role change or a disable decides on, and read the user again; return the
    active admins' ids.

    Always in one order, so two changes at once queue rather than deadlock on PostgreSQL: the
    audit chain first (every change appends to it, and sync holds it before it maps users), then
    the user's row and every active admin's, by id. On SQLite the writer transaction excludes
    every other writer.
    """
    from workbench import audit

    if db.session.get_bind().dialect.name == "postgresql":
        audit.hold()
        rows = (
            sa.select(User.id)
            .where(sa.or_(User.id == user.id, sa.and_(User.role == "admin", User.active.is_(True))))
            .order_by(User.id)
            .with_for_update(key_share=True)  # FOR NO KEY UPDATE: rows naming users still insert
        )
        db.session.execute(rows).all()
    else:
        begin_write()
    db.session.refresh(user)
    return list(
        db.session.scalars(
            sa.select(User.id).where(User.role == "admin", User.active.is_(True)).order_by(User.id)
        )
    )


def _keep_an_admin(user: User, admins: list[int], what: str) -> None:
    """Refuse to disable or demote the last active admin: nobody could manage users after."""
    if user.role == "admin" and user.active and admins == [user.id]:
        raise Conflict(
            f"{user.email} is the last active admin: {what} them and nobody can manage users; "
            "make another admin first (workbench users create --email EMAIL --role admin)",
            errors={"user": ["last active admin"]},
        )


def _update_user_if(user: User, condition, **values) -> bool:
    """Update the user's row only where ``condition`` still holds; say whether it did.

    On PostgreSQL the audit chain is held first: every user change appends to it, and sync holds
    it before it maps users, so a user's row is never locked before the chain (no deadlock)."""
    if db.session.get_bind().dialect.name == "postgresql":
        from workbench import audit

        audit.hold()
    done = changed_rows(
        sa.update(User)
        .where(User.id == user.id, condition)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    db.session.refresh(user)
    return done == 1


def change_role(user: User, role: str, *, actor: str) -> bool:
    """Give a user another role; say whether anything changed (no change, no audit event)."""
    from workbench import audit
    from workbench.audit.rows import attest

    if role not in ROLES:
        raise ValidationError(
            f"unknown role {role!r}; use one of {', '.join(ROLES)}", errors={"role": ["invalid"]}
        )
    # The row locked and read again: two changes at once each record the role they replaced.
    admins = _lock_for_change(user)
    before = user.role
    if role != "admin":
        _keep_an_admin(user, admins, "demote")
    if not _update_user_if(user, User.role != role, role=role):
        return False
    audit.append(
        actor,
        "user.role_changed",
        "user",
        user.id,
        {"email": user.email, "role": role, "before": before, "rows": attest(user)},
    )
    return True
