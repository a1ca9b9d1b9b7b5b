"""The users page (admins): create with a set-password link or a token (shown once), disable,
change role, reset a password or send a new link; Label Studio members who have no workbench
account, each one click from one."""

from __future__ import annotations

import sqlalchemy as sa
from flask import abort, flash, g, redirect, render_template, request, url_for

from workbench import passwords
from workbench.api.common import int_arg
from workbench.auth import change_role, create_user, disable_user
from workbench.db import db
from workbench.errors import WorkbenchError
from workbench.models import ROLES, LabelStudioUser, User
from workbench.web import bp, login_required

PAGE_SIZE = 50


def link_url(token: str) -> str:
    """The set-password link as the person opens it (this site's address, as the admin reached it)."""
    return url_for("web.set_password", token=token, _external=True)


def _page(
    created: tuple[User, str] | None = None,
    error: str | None = None,
    status: int = 200,
    issued: tuple[User, str, str] | None = None,
):
    page = int_arg("page", 1, minimum=1, maximum=100_000)
    total = db.session.scalar(sa.select(sa.func.count()).select_from(User)) or 0
    users = db.session.scalars(
        sa.select(User).order_by(User.id).limit(PAGE_SIZE).offset((page - 1) * PAGE_SIZE)
    )
    members = db.session.scalars(
        sa.select(LabelStudioUser)
        .where(~sa.exists().where(User.email == LabelStudioUser.email))
        .order_by(LabelStudioUser.email)
        .limit(200)
    ).all()
    return (
        render_template(
            "users.html",
            users=list(users),
            members=members,
            roles=ROLES,
            created=created,
            issued=issued,
            error=error,
            form=request.form,
            page=page,
            pages=max(1, -(-total // PAGE_SIZE)),
        ),
        status,
    )


@bp.get("/users")
@login_required("admin")
def users_page():
    """List users, and Label Studio members without a workbench account."""
    return _page()


@bp.post("/users")
@login_required("admin")
def users_create():
    """Create a user; the page shows their set-password link (or their API token) this once."""
    member_id = request.form.get("label_studio_user_id", "")
    credential = request.form.get("credential", "link")
    try:
        user, token = create_user(
            request.form.get("email", ""),
            request.form.get("role", ""),
            request.form.get("name", ""),
            actor=g.user.email,
        )
        if member_id.isdigit():
            member = db.session.get(LabelStudioUser, int(member_id))
            if member is not None and member.email == user.email:
                from workbench.labelstudio.bootstrap import _map_user

                _map_user(user, member.id, actor=g.user.email)
        link = None
        if credential != "token":
            link = passwords.issue_link(user, actor=g.user.email, purpose="set")
        db.session.commit()
    except WorkbenchError as exc:
        db.session.rollback()
        return _page(error=exc.message, status=exc.status)
    if link is not None:
        return _page(issued=(user, link_url(link), "set"), status=201)
    return _page(created=(user, token), status=201)


@bp.post("/users/<int:user_id>/<action>")
@login_required("admin")
def users_change(user_id: int, action: str):
    """Disable a user, change their role, reset their password or send them a new set-password link.

    Each change writes one audit event (no change, none); a link is shown on the page this once.
    """
    user = db.session.get(User, user_id)
    if user is None:
        abort(404, description=f"no user with id {user_id}")
    try:
        if action == "disable":
            if user.id == g.user.id:
                raise WorkbenchError("you cannot disable yourself", status=409)
            changed = disable_user(user, actor=g.user.email)
        elif action == "role":
            changed = change_role(user, request.form.get("role", ""), actor=g.user.email)
        elif action in ("reset", "link"):
            if action == "reset":
                token = passwords.reset_password(user, actor=g.user.email)
            else:
                token = passwords.issue_link(user, actor=g.user.email, purpose="set")
            db.session.commit()
            return _page(issued=(user, link_url(token), action))
        else:
            abort(404)
        db.session.commit()
        flash(f"{user.email}: {'done' if changed else 'nothing to change'}.")
    except WorkbenchError as exc:
        db.session.rollback()
        flash(f"Not changed: {exc.message}")
    return redirect(url_for("web.users_page"))
