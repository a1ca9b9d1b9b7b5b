"""``workbench extract`` and ``workbench ingest``."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click
from flask import current_app

from workbench.cli import fails_cleanly, main
from workbench.errors import ValidationError


def read_article(path: str) -> str:
    """Read an article file as UTF-8, with a clear error when it is not."""
    try:
        return Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ValidationError(f"no such file: {path}") from None
    except UnicodeDecodeError as exc:
        raise ValidationError(f"{path} is not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    except IsADirectoryError:
        raise ValidationError(f"{path} is a directory, not an article file") from None


@main.command("extract")
@click.argument("path")
@click.option("--format", "fmt", type=click.Choice(["json", "text"]), default="text", show_default=True)
@click.option(
    "--threshold",
    type=click.FloatRange(0, 1),
    default=None,
    help="check-worthiness threshold (default: WORKBENCH_CHECKWORTHY_THRESHOLD or 0.5)",
)
@fails_cleanly
def extract_command(path: str, fmt: str, threshold: float | None) -> None:
    """Print the claims of the article in PATH, touching no database."""
    from workbench.extraction import extract_claims, parse_header

    text = read_article(path)
    if not text.strip():
        raise ValidationError(f"{path} is empty")
    threshold = current_app.config["CHECKWORTHY_THRESHOLD"] if threshold is None else threshold
    claims = extract_claims(text, threshold=threshold)
    if fmt == "json":
        json.dump([c.to_dict() for c in claims], sys.stdout, ensure_ascii=False, indent=2)
        sys.stdout.write("\n")
        return
    header = parse_header(text)
    click.echo(
        f"title: {header.title!r}  byline: {header.byline!r}  published: {header.published!r}  "
        f"dateline: {header.dateline!r}  agency: {header.agency!r}"
    )
    for c in claims:
        mark = "*" if c.checkworthy else " "
        who = f" [{c.speaker}]" if c.speaker else ""
        click.echo(f"{mark} {c.ordinal:3d} {c.checkworthiness:.2f} {c.claim_type:<10}{who} {c.text}")


@main.command("ingest")
@click.argument("path")
@click.option("--title")
@click.option("--url")
@click.option("--publisher")
@click.option("--author")
@click.option("--published", help="publication date, YYYY-MM-DD")
@fails_cleanly
def ingest_command(path: str, title, url, publisher, author, published) -> None:
    """Store the article in PATH, extract its claims and queue the check-worthy ones."""
    from workbench.db import db
    from workbench.ingest import ingest_raw

    raw = {
        "text": read_article(path),
        "title": title,
        "url": url,
        "publisher": publisher,
        "author": author,
        "published_at": published,
    }
    article, created = ingest_raw(
        raw,
        current_app.config,
        actor="cli",
        user_id=None,
        via="cli",
        raw_input={**raw, "text": None, "path": str(Path(path).resolve())},
    )
    db.session.commit()
    queued = sum(1 for c in article.claims if c.status == "queued")
    verb = "ingested" if created else "already stored as"
    click.echo(
        f"{verb} article {article.id} ({article.title or 'untitled'}): "
        f"{len(article.claims)} claims, {queued} queued for Label Studio"
    )
