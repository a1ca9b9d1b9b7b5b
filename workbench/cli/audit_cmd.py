"""``workbench audit verify`` and ``workbench audit baseline``."""

from __future__ import annotations

import sys

import click

from workbench.cli import fails_cleanly, main


@main.group("audit")
def audit_group() -> None:
    """Inspect the audit chain."""


@audit_group.command("verify")
@fails_cleanly
def audit_verify() -> None:
    """Walk the whole chain; exit 1 and name the first broken link if it was tampered with."""
    from workbench import audit

    report = audit.verify()
    if report.ok:
        click.echo(f"audit chain intact: {report.checked} events, head {report.head_hash}")
        return
    click.echo(
        f"audit chain BROKEN at event {report.first_broken_seq}: {report.reason} "
        f"({report.checked} events verified before it)",
        err=True,
    )
    sys.exit(1)


@audit_group.command("baseline")
@fails_cleanly
def audit_baseline() -> None:
    """Attest rows that no audit event speaks for yet (once, after upgrading an older database)."""
    from workbench.audit.rows import attest_unattested
    from workbench.db import db

    count = attest_unattested("cli:baseline")
    db.session.commit()
    click.echo(f"attested {count} rows that no audit event spoke for")
