"""``workbench labelstudio bootstrap|push|sync``."""

from __future__ import annotations

import sys

import click

from workbench.cli import fails_cleanly, main
from workbench.errors import LabelStudioUnavailable


@main.group("labelstudio")
def labelstudio_group() -> None:
    """Talk to Label Studio: create the project, push claims, pull annotations."""


@labelstudio_group.command("bootstrap")
@fails_cleanly
def bootstrap_command() -> None:
    """Create or update the project from label_config.xml and register the webhook."""
    from flask import current_app

    from workbench.labelstudio import service

    result = service.bootstrap()
    click.echo(f"project {result.project_id} ({'created' if result.project_created else 'up to date'})")
    if result.webhook_id is None:
        click.echo(
            "no webhook registered: set WORKBENCH_WEBHOOK_SECRET; until then use "
            "'workbench labelstudio sync'",
            err=True,
        )
    else:
        click.echo(
            f"webhook {result.webhook_id} → {service.webhook_url()} "
            f"({'created' if result.webhook_created else 'up to date'})"
        )
    click.echo(f"Label Studio: {current_app.config['LABEL_STUDIO_URL']}/projects/{result.project_id}")


@labelstudio_group.command("push")
@click.option("--batch-size", type=click.IntRange(1, 10000), default=None)
@fails_cleanly
def push_command(batch_size: int | None) -> None:
    """Import queued claims as tasks, in batches; claims stay queued if Label Studio is down."""
    from workbench.db import db
    from workbench.labelstudio import service

    try:
        result = service.push(batch_size=batch_size)
    except LabelStudioUnavailable as exc:
        db.session.rollback()
        waiting = service.count_pushable()
        click.echo(
            f"error: Label Studio is unreachable ({exc.message}); "
            f"{waiting} claims stay queued and will be pushed next time",
            err=True,
        )
        sys.exit(1)
    extra = f", {result.reconciled} reconciled from an earlier attempt" if result.reconciled else ""
    click.echo(
        f"pushed {result.pushed} claims in {result.batches} batches to project "
        f"{result.project_id}{extra}; {result.remaining} still queued"
    )


@labelstudio_group.command("sync")
@fails_cleanly
def sync_command() -> None:
    """Reconcile with Label Studio: store missed annotation versions, derive claim states again,
    re-create a lost webhook, push claims stuck as attempted. A second run repairs 0."""
    from workbench.labelstudio import service

    result = service.sync()
    click.echo(
        f"checked {result.tasks_seen} tasks and {result.annotations_seen} annotations: "
        f"repaired {result.total_repaired} ({result.repaired} annotation versions, "
        f"{result.states_repaired} claim states, {result.repushed} claims pushed, "
        f"webhook {'re-created' if result.webhook_recreated else 'in place'}), "
        f"unplaced {result.unplaced}, malformed {result.malformed}"
    )
    if getattr(result, "export_error", None):
        click.echo(f"  read the paged task list: the export failed ({result.export_error})", err=True)
    for reason in result.skipped[:20]:
        click.echo(f"  skipped {reason}", err=True)
