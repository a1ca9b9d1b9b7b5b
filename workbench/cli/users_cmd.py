"""``workbench users create|list|disable``."""

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
@fails_cleanly
def users_create(email: str, role: str, name: str) -> None:
    """Create a user and print its API token (shown once, stored hashed)."""
    from flask import current_app

    from workbench.auth import create_user
    from workbench.db import db
    from workbench.errors import WorkbenchError

    user, token = create_user(email, role, name, actor="cli")
    db.session.commit()
    click.echo(f"created {user.role} {user.email} (id {user.id})", err=True)
    if current_app.config.get("LABEL_STUDIO_API_KEY"):
        from workbench.labelstudio.service import resolve_user

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
