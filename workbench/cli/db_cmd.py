"""``workbench db upgrade|current|downgrade``: Flask-Migrate's commands, failing in one line.

Flask-Migrate adds its own ``db`` group to the app; ours is registered on the ``workbench`` group
itself, which Flask resolves before the app's commands, and ``create_app`` copies it over the
app's. Flask-Migrate's other subcommands (``migrate``, ``revision``, ``history``…) stay reachable
through ours.
"""

from __future__ import annotations

import click
from flask import g
from flask.cli import AppGroup, with_appcontext

from workbench.cli import fails_cleanly, main


class _DbGroup(AppGroup):
    """Our subcommands first, then Flask-Migrate's for the names we do not define."""

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        from flask_migrate.cli import db as migrate_db

        return super().get_command(ctx, cmd_name) or migrate_db.get_command(ctx, cmd_name)

    def list_commands(self, ctx: click.Context) -> list[str]:
        from flask_migrate.cli import db as migrate_db

        return sorted(set(super().list_commands(ctx)) | set(migrate_db.list_commands(ctx)))


@main.group("db", cls=_DbGroup)
@with_appcontext
def db_group() -> None:
    """Migrate the database schema (Alembic, through Flask-Migrate)."""
    # Flask-Migrate's subcommands read the options of its own group from ``g``.
    g.directory, g.x_arg = None, ()


@db_group.command("upgrade")
@click.argument("revision", default="head")
@fails_cleanly
def db_upgrade(revision: str) -> None:
    """Upgrade the schema to REVISION (default: the newest)."""
    from flask_migrate import upgrade

    upgrade(revision=revision)


@db_group.command("current")
@fails_cleanly
def db_current() -> None:
    """Print the schema's current revision."""
    from flask_migrate import current

    current()


@db_group.command("downgrade")
@click.argument("revision", default="-1")
@fails_cleanly
def db_downgrade(revision: str) -> None:
    """Downgrade the schema to REVISION (default: one step back)."""
    from flask_migrate import downgrade

    downgrade(revision=revision)
