"""Users and their API tokens (admins only)."""

from __future__ import annotations

import sqlalchemy as sa
from flask import g
from flask.views import MethodView

from workbench.api.common import With
from workbench.api.framework import Blueprint, documents
from workbench.auth import create_user, disable_user, require_role
from workbench.db import db
from workbench.errors import Conflict, NotFound
from workbench.models import User
from workbench.schemas import CreatedUserSchema, PageArgs, UserInputSchema, UserPageSchema, UserSchema

blp = Blueprint("users", __name__, description="Users, their roles and API tokens (admins only).")


@blp.route("/users")
class Users(MethodView):
    @require_role("admin")
    @blp.arguments(PageArgs, location="query")
    @blp.response(200, UserPageSchema)
    def get(self, page: dict):
        """List users and their roles (never their tokens), a page at a time."""
        total = db.session.scalar(sa.select(sa.func.count()).select_from(User))
        rows = db.session.scalars(
            sa.select(User).order_by(User.id).limit(page["limit"]).offset(page["offset"])
        )
        return {"items": rows, "total": total, **page}

    @require_role("admin")
    @blp.arguments(UserInputSchema)
    @blp.response(201, CreatedUserSchema)
    def post(self, body: dict):
        """Create a user; the answer carries its API token, shown this once and stored hashed."""
        user, token = create_user(body["email"], body["role"], body["name"], actor=g.user.email)
        db.session.commit()
        return With(user, token=token)


@blp.route("/users/<int:user_id>/disable")
class UserDisable(MethodView):
    @require_role("admin")
    @blp.response(200, UserSchema)
    @documents(404, 409)
    def post(self, user_id: int):
        """Disable a user: their token stops working at once. Not yourself (as on the users page),
        and not the last active admin."""
        user = db.session.get(User, user_id)
        if user is None:
            raise NotFound(f"no user with id {user_id}")
        if user.id == g.user.id:
            raise Conflict("you cannot disable yourself; ask another admin", errors={"user": ["yourself"]})
        # One door for the API and the CLI: the event attests the user's row (audit/rows.py).
        if disable_user(user, actor=g.user.email):
            db.session.commit()
        return user
