"""``workbench backup --to FILE`` and ``workbench restore --from FILE [--yes]``."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from workbench.cli import fails_cleanly, main

_FILE = click.Path(dir_okay=False, path_type=Path)


@main.command("backup")
@click.option("--to", "to", required=True, type=_FILE, help="backup file to write (and FILE.json beside it)")
@fails_cleanly
def backup_command(to: Path) -> None:
    """Back the database up into FILE atomically, with a manifest FILE.json; print what was written.

    PostgreSQL through pg_dump (custom format), SQLite through its online backup API: both are
    one consistent snapshot while the workbench runs.
    """
    from workbench.backup import KINDS, create_backup

    result = create_backup(to, actor="cli")
    m = result.manifest
    click.echo(f"backed up the {KINDS[m.database]} database to {result.path}")
    click.echo(f"  size      {m.bytes} bytes")
    click.echo(f"  sha256    {m.sha256}")
    click.echo(f"  database  {m.database}, {m.source}")
    click.echo(f"  revision  {m.alembic_revision}")
    click.echo(f"  audit     {m.audit['events']} events, head {m.audit['head_hash']}")
    click.echo(f"  manifest  {result.manifest_path}")
    click.echo(f"recorded as audit event {result.event.seq} (database.backed_up), after the snapshot")


@main.command("restore")
@click.option("--from", "source", required=True, type=_FILE, help="backup file written by 'workbench backup'")
@click.option("--yes", is_flag=True, help="replace the target database even though it is not empty")
@fails_cleanly
def restore_command(source: Path, yes: bool) -> None:
    """Replace the database with a backup, then verify the restored audit chain.

    Refuses, leaving the target untouched, a file that does not match its manifest, a backup of
    the other kind of database, and a target that is not empty unless --yes is given.
    """
    from workbench.backup import KINDS, restore_backup

    result = restore_backup(source, replace=yes, actor="cli")
    m, restored = result.manifest, result.restored
    click.echo(f"restored the {KINDS[m.database]} database from {source}")
    click.echo(f"  checked   {m.bytes} bytes, sha256 {m.sha256}, as its manifest says")
    click.echo(f"  backed up {m.created_at} from {m.source}")
    click.echo(f"  revision  {restored.alembic_revision}")
    click.echo(f"  audit     {restored.events} events, head {restored.head_hash}")
    failed = False
    for problem in result.mismatches:
        click.echo(f"error: the restored database differs from its manifest: {problem}", err=True)
        failed = True
    if result.event is None or result.report is None:
        click.echo(
            f"note: the restored schema is at revision {restored.alembic_revision} and this workbench "
            f"expects {result.expected_revision}: run 'workbench db upgrade', then 'workbench audit verify'",
            err=True,
        )
        sys.exit(1 if failed else 0)
    click.echo(f"recorded as audit event {result.event.seq} (database.restored)")
    report = result.report
    if report.ok:
        click.echo(f"audit chain intact: {report.checked} events, head {report.head_hash}")
    else:
        click.echo(
            f"audit chain BROKEN at event {report.first_broken_seq}: {report.reason} "
            f"({report.checked} events verified before it)",
            err=True,
        )
        failed = True
    if failed:
        sys.exit(1)
