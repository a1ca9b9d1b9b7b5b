"""Users and their API tokens (admins only)."""

from __future__ import annotations

import sqlalchemy as sa
from flask import g

from workbench import audit
from workbench.api import bp
from workbench.api.common import json_body
from workbench.auth import create_user, require_role
from workbench.db import db
from workbench.errors import NotFound, ValidationError
from workbench.models import User


@bp.get("/users")
@require_role("admin")
def users_list():
    """List users and their roles (never their tokens)."""
    return {"items": [u.to_dict() for u in db.session.scalars(sa.select(User).order_by(User.id))]}


@bp.post("/users")
@require_role("admin")
def users_create():
    """Create a user; the answer carries its API token, shown this once and stored hashed."""
    body = json_body()
    if not isinstance(body, dict):
        raise ValidationError("the body must be a JSON object with 'email' and 'role'")
    user, token = create_user(
        str(body.get("email") or ""),
        str(body.get("role") or ""),
        str(body.get("name") or ""),
        actor=g.user.email,
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
    if user.active:
        user.active = False
        audit.append(g.user.email, "user.disabled", "user", user.id, {"email": user.email})
        db.session.commit()
    return user.to_dict()
