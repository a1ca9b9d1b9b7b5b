"""``workbench demo`` and ``workbench serve``: bring the whole loop up locally."""

from __future__ import annotations

import os
from pathlib import Path

import click

from workbench.cli import fails_cleanly, main

SHARED_SAMPLE = (
    Path(__file__).resolve().parents[2].parent / "shared" / "samples" / "express-putin-modi-2023-12-28.txt"
)
BUNDLED_SAMPLE = Path(__file__).resolve().parents[1] / "data" / "demo-article.txt"


@main.command("demo")
@click.option(
    "--article",
    type=click.Path(exists=True, dir_okay=False),
    default=None,
    help="article to ingest (default: ../shared's Express sample, else the bundled demo)",
)
@fails_cleanly
def demo_command(article: str | None) -> None:
    """Migrate the database, ingest the sample, bootstrap Label Studio and push its claims."""
    from flask import current_app
    from flask_migrate import upgrade

    from workbench.db import db
    from workbench.ingest import ingest_raw
    from workbench.labelstudio import service

    upgrade()
    path = Path(article) if article else (SHARED_SAMPLE if SHARED_SAMPLE.exists() else BUNDLED_SAMPLE)
    if path == SHARED_SAMPLE:
        meta = {
            "title": "Putin invites Modi to Russia, says he understands India's position on Ukraine",
            "publisher": "The New Indian Express",
            "published_at": "2023-12-28",
        }
    elif path == BUNDLED_SAMPLE:
        meta = {"title": "Veloria to build a second deep-water port (invented demo article)"}
    else:
        meta = {}
    raw = {"text": path.read_text(encoding="utf-8"), **meta}
    art, created = ingest_raw(
        raw, current_app.config, actor="demo", user_id=None, via="cli", raw_input={**meta, "path": str(path)}
    )
    db.session.commit()
    click.echo(f"{'ingested' if created else 'already had'} {path.name}: {len(art.claims)} claims")
    boot = service.bootstrap(actor="demo")
    pushed = service.push(actor="demo")
    ls = current_app.config["LABEL_STUDIO_URL"]
    click.echo(f"pushed {pushed.pushed} claims to Label Studio project {boot.project_id}")
    click.echo("")
    click.echo(f"  Label Studio:  {ls}/projects/{boot.project_id}/data")
    email = os.environ.get("WORKBENCH_LS_ADMIN_EMAIL")
    password = os.environ.get("WORKBENCH_LS_ADMIN_PASSWORD", "(see instance/label-studio/admin.env)")
    if email:
        click.echo(f"    login:       {email} / {password}")
    click.echo(f"  Workbench:     {current_app.config['PUBLIC_URL']}/")
    click.echo(f"    article:     {current_app.config['PUBLIC_URL']}/articles/{art.id}")


@main.command("serve", with_appcontext=False)
@click.option("--host", default="127.0.0.1", show_default=True, help="address to listen on")
@click.option("--port", default=5000, show_default=True, type=click.IntRange(0, 65535))
@click.option(
    "--workers",
    type=click.IntRange(min=1),
    default=2,
    show_default=True,
    envvar="WORKBENCH_WORKERS",
    show_envvar=True,
    help="worker processes",
)
@click.option(
    "--threads",
    type=click.IntRange(min=1),
    default=8,
    show_default=True,
    envvar="WORKBENCH_THREADS",
    show_envvar=True,
    help="threads per worker (requests each worker serves at once)",
)
@fails_cleanly
def serve_command(host: str, port: int, workers: int, threads: int) -> None:
    """Serve the workbench with gunicorn (WORKERS processes of THREADS threads each)."""
    from workbench import create_app
    from workbench.server import serve

    # Each worker builds its own app; building one here first reports a bad setting in one line.
    create_app()
    serve(host, port, workers, threads)
