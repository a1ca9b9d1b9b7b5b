"""``workbench extract`` and ``workbench ingest``."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click
from flask import current_app

from workbench.cli import fails_cleanly, main
from workbench.errors import ValidationError, WorkbenchError


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
@click.argument("path", required=False)
@click.option("--title")
@click.option("--url", help="the article's URL (with PATH); without PATH, fetch and ingest this page")
@click.option("--publisher")
@click.option("--author")
@click.option("--published", help="publication date, YYYY-MM-DD")
@click.option(
    "--jsonl", "jsonl_files", multiple=True, help="JSON Lines file, one article (the API's fields) a line"
)
@click.option("--dir", "folders", multiple=True, help="folder of .txt, .html and .jsonl files")
@click.option("--fetch", "fetch_urls", multiple=True, help="URL of a page to fetch and ingest (repeatable)")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.option(
    "--wait/--no-wait", default=True, help="with a job queue: wait for the job (default) or print its id"
)
@click.pass_context
@fails_cleanly
def ingest_command(
    ctx: click.Context,
    path,
    title,
    url,
    publisher,
    author,
    published,
    jsonl_files,
    folders,
    fetch_urls,
    fmt,
    wait,
) -> None:
    """Store the article in PATH, extract its claims and queue the check-worthy ones.

    With --jsonl, --dir or --fetch (or --url without PATH), ingest many articles as one job: each
    line, file or URL goes in on its own, and the ones that cannot are listed with their line
    number or name (exit status 1 when any failed). A progress bar shows on a terminal.
    """
    bulk = bool(jsonl_files or folders or fetch_urls) or (url and not path)
    if bulk:
        if path or title or publisher or author or published:
            raise ValidationError(
                "PATH, --title, --publisher, --author and --published ingest one article; "
                "leave them out with --jsonl, --dir or --fetch"
            )
        urls = list(fetch_urls) + ([url] if url else [])
        failed = _ingest_bulk(list(jsonl_files), list(folders), urls, fmt=fmt, wait=wait)
        ctx.exit(1 if failed else 0)
    if not path:
        raise ValidationError("give PATH, or --jsonl FILE, --dir DIR or --fetch URL")
    _ingest_one(path, title, url, publisher, author, published)


def _bulk_items(jsonl_files: list[str], folders: list[str], urls: list[str]) -> list[dict]:
    from workbench.ingest import bulk

    items: list[dict] = []
    for name in jsonl_files:
        try:
            items += bulk.items_from_jsonl(Path(name).read_bytes(), name=Path(name).name)
        except FileNotFoundError:
            raise ValidationError(f"no such file: {name}") from None
        except IsADirectoryError:
            raise ValidationError(f"{name} is a directory; use --dir") from None
    for folder in folders:
        items += bulk.items_from_dir(folder)
    return items + bulk.items_from_urls(urls)


def _ingest_bulk(jsonl_files: list[str], folders: list[str], urls: list[str], *, fmt: str, wait: bool) -> int:
    """Run the bulk ingest job and print its result; return how many items failed."""
    from workbench import jobs
    from workbench.ingest import bulk

    items = _bulk_items(jsonl_files, folders, urls)
    with _progress_bar(len(items)) as bar:
        started = jobs.enqueue_parts(
            "ingest.bulk",
            [{"items": part} for part in bulk.parts_of(items)],
            gather="ingest.bulk.gather",
            total=len(items),
            on_progress=lambda done, _total: bar.update(done - bar.n),
            actor="cli",
            user_id=None,
            via="cli",
        )
        if started["mode"] == "rq" and not wait:
            click.echo(f"queued as job {started['id']}: workbench worker runs it")
            return 0
        if started["mode"] == "rq":
            started = _wait_for(started["id"], bar)
    if started["status"] != "finished":
        raise WorkbenchError(
            f"job {started['id']} {started['status']}: {'; '.join(started.get('error') or [])}"
        )
    result = started["result"]
    if fmt == "json":
        click.echo(bulk.dumps_result(result))
    else:
        for line in bulk.describe(result):
            click.echo(line)
    return int(result["failed"])


def _wait_for(job_id: str, bar) -> dict:
    """Poll a queued job until it ends, moving the bar as its parts report."""
    import time

    from workbench import jobs

    while True:
        state = jobs.status(job_id)
        done = (state.get("progress") or {}).get("done") or 0
        bar.update(done - bar.n)
        if state["status"] in ("finished", "failed", "stopped", "canceled"):
            return state
        time.sleep(0.3)


def _progress_bar(total: int):
    """A bar on standard error for runs that last more than a second, and only when standard
    output is a terminal: piped or scripted, the command prints its result and nothing else."""
    from tqdm import tqdm

    return tqdm(
        total=total,
        unit="article",
        file=sys.stderr,
        delay=1.0,
        disable=not (sys.stdout.isatty() and sys.stderr.isatty()),
        leave=False,
    )


def _ingest_one(path: str, title, url, publisher, author, published) -> None:
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
