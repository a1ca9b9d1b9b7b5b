"""``workbench users create|list|disable|link|reset-password``."""

from __future__ import annotations

import click
import sqlalchemy as sa

from workbench.cli import fails_cleanly, main
from workbench.errors import NotFound


@main.group("users")
def users_group() -> None:
    """Manage workbench users and their API tokens."""


@users_group.command("create")
@click.option("--email", required=True)
@click.option("--role", required=True, type=click.Choice(["annotator", "reviewer", "admin"]))
@click.option("--name", default="")
@click.option(
    "--link",
    "with_link",
    is_flag=True,
    help="Also print a one-time link to choose a password for the pages (after the token).",
)
@fails_cleanly
def users_create(email: str, role: str, name: str, with_link: bool) -> None:
    """Create a user and print its API token (shown once, stored hashed)."""
    from flask import current_app

    from workbench.auth import create_user
    from workbench.db import db
    from workbench.errors import WorkbenchError

    user, token = create_user(email, role, name, actor="cli")
    link = _link(user, "set") if with_link else None
    db.session.commit()
    click.echo(f"created {user.role} {user.email} (id {user.id})", err=True)
    if current_app.config.get("LABEL_STUDIO_API_KEY"):
        from workbench.labelstudio.bootstrap import resolve_user

        try:
            ls_id = resolve_user(user)
            db.session.commit()
            click.echo(
                f"Label Studio user: {ls_id if ls_id is not None else 'none with this email yet'}", err=True
            )
        except WorkbenchError as exc:
            db.session.rollback()
            click.echo(f"Label Studio user not resolved ({exc.message}); sync will map it later", err=True)
    click.echo(token)
    if link:
        click.echo(link)


def _link(user, purpose: str) -> str:
    """Issue a set-password link for ``user`` and return it as the person opens it."""
    from flask import current_app

    from workbench import passwords

    if purpose == "reset":
        token = passwords.reset_password(user, actor="cli")
    else:
        token = passwords.issue_link(user, actor="cli", purpose=purpose)
    return f"{current_app.config['PUBLIC_URL']}/set-password/{token}"


def _user(email: str):
    from workbench.db import db
    from workbench.models import User

    user = db.session.scalar(sa.select(User).where(User.email == email.strip().lower()))
    if user is None:
        raise NotFound(f"no user with email {email}")
    return user


@users_group.command("link")
@click.option("--email", required=True)
@click.option("--unless-set", is_flag=True, help="Print nothing when the user has a password already.")
@fails_cleanly
def users_link(email: str, unless_set: bool) -> None:
    """Print a one-time link to choose a password (older links stop working); the password stays."""
    from workbench.db import db

    user = _user(email)
    if unless_set and user.password_hash is not None:
        click.echo(f"{user.email} has a password already", err=True)
        return
    link = _link(user, "set")
    db.session.commit()
    click.echo(link)


@users_group.command("reset-password")
@click.option("--email", required=True)
@fails_cleanly
def users_reset_password(email: str) -> None:
    """Clear a user's password now (their sessions end) and print a one-time link to choose a new one."""
    from workbench.db import db

    link = _link(_user(email), "reset")
    db.session.commit()
    click.echo(link)


@users_group.command("list")
@fails_cleanly
def users_list() -> None:
    """List users with their roles."""
    from workbench.db import db
    from workbench.models import User

    for u in db.session.scalars(sa.select(User).order_by(User.id)):
        click.echo(f"{u.id:4d}  {u.role:<9}  {'active' if u.active else 'disabled':<8}  {u.email}")


@users_group.command("disable")
@click.option("--email", required=True)
@fails_cleanly
def users_disable(email: str) -> None:
    """Disable a user: its token stops working at once."""
    from workbench.auth import disable_user
    from workbench.db import db
    from workbench.models import User

    user = db.session.scalar(sa.select(User).where(User.email == email.strip().lower()))
    if user is None:
        raise NotFound(f"no user with email {email}")
    if not disable_user(user, actor="cli"):
        click.echo(f"{user.email} is already disabled")
        return
    db.session.commit()
    click.echo(f"disabled {user.email}")
