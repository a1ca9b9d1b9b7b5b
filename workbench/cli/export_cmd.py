"""``workbench export`` (write verified claims and their manifest) and ``workbench export verify``."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import click
from flask.cli import with_appcontext

from workbench.cli import fails_cleanly, main
from workbench.validation import MAX_INT


def _progress_bar(enabled: bool):
    """A tqdm bar on standard error when it is a terminal; nothing otherwise (scripts, CI, pipes)."""
    if not enabled:
        return None, lambda done, total: None
    from tqdm import tqdm

    bar = tqdm(total=0, unit="claim", file=sys.stderr, dynamic_ncols=True, leave=False)

    def update(done: int, total: int) -> None:
        bar.total = total
        bar.n = done
        bar.refresh()

    return bar, update


@main.group("export", invoke_without_command=True)
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
@click.option(
    "--manifest",
    "manifest_path",
    type=click.Path(dir_okay=False, writable=True),
    default=None,
    help="where to write the manifest (default: OUTPUT.manifest.json; with no --output, none)",
)
@click.option(
    "--article-id", type=click.IntRange(1, MAX_INT), default=None, help="only this article's claims"
)
@click.option("--rating", default=None, help="only verdicts with this rating")
@click.option("--reviewer", default=None, help="only verdicts by the reviewer with this e-mail")
@click.option("--since", default=None, help="verdicts recorded on or after this day (YYYY-MM-DD)")
@click.option("--until", default=None, help="verdicts recorded on or before this day (YYYY-MM-DD)")
@click.option(
    "--published/--unpublished", default=None, help="only published verdicts, or only unpublished ones"
)
@click.option(
    "--progress/--no-progress",
    default=None,
    help="show a progress bar (default: when standard error is a terminal)",
)
@click.pass_context
@with_appcontext
@fails_cleanly
def export_command(
    ctx, fmt, output, manifest_path, article_id, rating, reviewer, since, until, published, progress
) -> None:
    """Write verified claims with their provenance, and record the export's manifest.

    The manifest (format, filters, count, the sha256 of the bytes, the audit chain's head, who
    and when) is stored, written to the audit chain and, with --output, saved next to the file.
    """
    if ctx.invoked_subcommand is not None:
        return
    from flask import current_app

    from workbench.export import ClaimReviewSettings, export_to_file, read_export_query
    from workbench.export.verify import manifest_json

    query = {
        "format": fmt,
        "article_id": article_id,
        "rating": rating,
        "reviewer": reviewer,
        "since": since,
        "until": until,
        "published": published,
    }
    fmt, filters = read_export_query({k: v for k, v in query.items() if v is not None})
    if output and manifest_path is None:
        manifest_path = output + ".manifest.json"
    # Checked before the export is recorded: a file that cannot be written fails with nothing done.
    _can_write(output, "--output")
    _can_write(manifest_path, "--manifest")
    settings = ClaimReviewSettings.from_config(current_app.config)
    bar, update = _progress_bar(sys.stderr.isatty() if progress is None else progress)
    try:
        if output:
            with open(output, "wb") as target:
                manifest = export_to_file(
                    fmt, filters, target, actor="cli", via="cli", settings=settings, progress=update
                )
        else:
            manifest = export_to_file(
                fmt, filters, sys.stdout.buffer, actor="cli", via="cli", settings=settings, progress=update
            )
            sys.stdout.buffer.flush()
    finally:
        if bar is not None:
            bar.close()
    if manifest_path:
        Path(manifest_path).write_text(manifest_json(manifest), encoding="utf-8")
    click.echo(
        f"exported {manifest['records']} verified claims ({fmt}) as export {manifest['id']}; "
        f"sha256 {manifest['sha256']}; audit head {manifest['audit_head_hash']}"
        + (f"; manifest {manifest_path}" if manifest_path else ""),
        err=True,
    )


def _can_write(path: str | None, option: str) -> None:
    if not path:
        return
    if Path(path).exists():  # an existing file (or /dev/stdout) needs only itself writable
        if not os.access(path, os.W_OK):
            raise click.BadParameter(f"{path} cannot be written", param_hint=option)
        return
    folder = Path(path).absolute().parent
    if not folder.is_dir():
        raise click.BadParameter(f"the folder {folder} does not exist", param_hint=option)
    if not os.access(folder, os.W_OK):
        raise click.BadParameter(f"{path} cannot be created in {folder}", param_hint=option)


@export_command.command("verify")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option(
    "--manifest",
    "manifest_path",
    type=click.Path(exists=True, dir_okay=False),
    default=None,
    help="the export's manifest JSON (default: looked up in the database by the file's sha256)",
)
@click.option("--json", "as_json", is_flag=True, help="print the findings as JSON")
@fails_cleanly
def export_verify(file, manifest_path, as_json) -> None:
    """Check FILE against its manifest and the audit chain; exit 1 and name what differs."""
    from workbench.export.verify import load_manifest, verify_file

    try:
        given = load_manifest(Path(manifest_path)) if manifest_path else None
    except (ValueError, UnicodeDecodeError) as error:
        raise click.ClickException(f"cannot read the manifest {manifest_path}: {error}") from None
    result = verify_file(Path(file), given)
    if as_json:
        click.echo(
            json.dumps(
                {
                    "ok": result.ok,
                    "sha256": result.sha256,
                    "bytes": result.bytes,
                    "records": result.records,
                    "export": (result.manifest or {}).get("id"),
                    "problems": result.problems,
                    "checks": result.checks,
                },
                indent=2,
            )
        )
    elif result.ok:
        for line in result.checks:
            click.echo(f"ok: {line}")
        click.echo(f"{file} is export {(result.manifest or {}).get('id')}, unchanged")
    else:
        for line in result.problems:
            click.echo(f"differs: {line}", err=True)
        click.echo(f"{file} does NOT match its manifest ({len(result.problems)} problems)", err=True)
    if not result.ok:
        sys.exit(1)
