"""``workbench export``."""

from __future__ import annotations

import sys

import click

from workbench.cli import fails_cleanly, main


@main.command("export")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["json", "jsonl", "csv", "claimreview"]),
    default="jsonl",
    show_default=True,
)
@click.option(
    "--output",
    type=click.Path(dir_okay=False, writable=True),
    default=None,
    help="file to write (default: standard output)",
)
@click.option("--article-id", type=int, default=None)
@click.option("--rating", default=None)
@click.option("--since", type=click.DateTime(["%Y-%m-%d"]), default=None)
@click.option("--until", type=click.DateTime(["%Y-%m-%d"]), default=None)
@fails_cleanly
def export_command(fmt, output, article_id, rating, since, until) -> None:
    """Write verified claims with their provenance."""
    from flask import current_app

    from workbench.export import ExportFilters, start_export

    filters = ExportFilters(
        article_id=article_id,
        rating=rating,
        since=since.date() if since else None,
        until=until.date() if until else None,
    )
    chunks, total, audit_hash = start_export(
        fmt, filters, actor="cli", organisation=current_app.config.get("ORGANISATION", "Fact-check workbench")
    )
    stream = open(output, "w", encoding="utf-8", newline="") if output else sys.stdout
    try:
        for chunk in chunks:
            stream.write(chunk)
    finally:
        if output:
            stream.close()
    click.echo(f"exported {total} verified claims ({fmt}); audit hash {audit_hash}", err=True)
