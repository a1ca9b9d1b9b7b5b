"""Users and their API tokens (admins only)."""

from __future__ import annotations

import sqlalchemy as sa
from flask import g

from workbench.api import bp
from workbench.api.common import int_arg, json_body
from workbench.auth import create_user, disable_user, require_role
from workbench.db import db
from workbench.errors import NotFound, ValidationError
from workbench.models import User


@bp.get("/users")
@require_role("admin")
def users_list():
    """List users and their roles (never their tokens), a page at a time."""
    limit = int_arg("limit", 50, minimum=1, maximum=500)
    offset = int_arg("offset", 0)
    total = db.session.scalar(sa.select(sa.func.count()).select_from(User))
    rows = db.session.scalars(sa.select(User).order_by(User.id).limit(limit).offset(offset))
    return {"items": [u.to_dict() for u in rows], "total": total, "limit": limit, "offset": offset}


@bp.post("/users")
@require_role("admin")
def users_create():
    """Create a user; the answer carries its API token, shown this once and stored hashed."""
    body = json_body()
    if not isinstance(body, dict):
        raise ValidationError("the body must be a JSON object with 'email' and 'role'")
    wrong = {
        name: ["not a string"]
        for name in ("email", "role", "name")
        if body.get(name) is not None and not isinstance(body[name], str)
    }
    if wrong:
        raise ValidationError("must be strings: " + ", ".join(sorted(wrong)), errors=wrong)
    user, token = create_user(
        body.get("email") or "", body.get("role") or "", body.get("name") or "", actor=g.user.email
    )
    db.session.commit()
    return {**user.to_dict(), "token": token}, 201


@bp.post("/users/<int:user_id>/disable")
@require_role("admin")
def users_disable(user_id: int):
    """Disable a user: their token stops working at once."""
    user = db.session.get(User, user_id)
    if user is None:
        raise NotFound(f"no user with id {user_id}")
    # One door for the API and the CLI: the event attests the user's row (audit/rows.py).
    if disable_user(user, actor=g.user.email):
        db.session.commit()
    return user.to_dict()
