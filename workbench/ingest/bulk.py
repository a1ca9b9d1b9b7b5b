"""Bulk ingest: many articles from JSON Lines, files or URLs, each one checked on its own.

A bulk ingest is a list of *items*, plain dicts a job can carry to an RQ worker:
``{"source": "line 3", "fields": {...}}`` (the single-article API's fields),
``{"source": "a.txt", "text": "..."}``, ``{"source": "a.html", "html": b"..."}``,
``{"source": URL, "url": URL}`` (fetched by the job) or ``{"source": ..., "error": {...}}``
(found unreadable while the items were built). Each item goes in, or is reported with its
source (line number, file name or URL) while the rest go in; a text stored before is reported
as a duplicate of its article, as the single-article API answers 200 for it.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from workbench.errors import ValidationError, WorkbenchError
from workbench.validation import loads_strict

log = logging.getLogger("workbench.ingest.bulk")

Item = dict[str, Any]
Progress = Callable[[int, int], None]

#: File names a folder or an upload may hold.
TEXT_SUFFIXES = (".txt",)
HTML_SUFFIXES = (".html", ".htm")
JSONL_SUFFIXES = (".jsonl", ".ndjson")
#: Items per job part: the unit two RQ workers share out.
PART_SIZE = 50


def _failed(source: str, message: str, errors: dict[str, Any] | None = None, status: int = 422) -> Item:
    return {"source": source, "error": {"message": message, "errors": errors or {}, "status": status}}


def items_from_jsonl(data: bytes | str, *, name: str | None = None) -> list[Item]:
    """One item per non-blank line of JSON Lines; a line that is not a JSON object is an error item."""
    # A file saved as "UTF-8 with BOM" (Notepad, Excel, PowerShell) is UTF-8: its first line is
    # read without the mark (the API's JSON bodies refuse one: RFC 8259).
    if isinstance(data, bytes) and data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    elif isinstance(data, str) and data.startswith("\ufeff"):
        data = data[1:]
    lines: list[str | bytes] = list(data.splitlines())
    items = []
    for number, line in enumerate(lines, start=1):
        source = f"{name} line {number}" if name else f"line {number}"
        if not line.strip():
            continue
        try:
            value = loads_strict(line)
        except UnicodeDecodeError:
            items.append(_failed(source, "not UTF-8", {"line": [number]}))
            continue
        except RecursionError:
            items.append(_failed(source, "the JSON nests too deeply", {"line": [number]}))
            continue
        except ValueError as exc:  # JSONDecodeError, NaN, 1e400
            items.append(_failed(source, f"not valid JSON: {exc}", {"line": [number]}))
            continue
        if not isinstance(value, dict):
            items.append(_failed(source, "not a JSON object with a 'text' field", {"line": [number]}))
            continue
        items.append({"source": source, "fields": value})
    return items


def items_from_file(name: str, content: bytes) -> list[Item]:
    """Items of one file: a .jsonl file's lines, a .txt file's text or an .html page."""
    suffix = Path(name).suffix.lower()
    if suffix in JSONL_SUFFIXES:
        return items_from_jsonl(content, name=name)
    if suffix in HTML_SUFFIXES:
        return [{"source": name, "html": content}]
    if suffix in TEXT_SUFFIXES:
        try:
            return [{"source": name, "text": content.decode("utf-8")}]
        except UnicodeDecodeError as exc:
            return [_failed(name, f"{name} is not UTF-8 text ({exc.reason} at byte {exc.start})")]
    return [_failed(name, f"{name} is not a .txt, .html or .jsonl file", {"file": ["unsupported type"]})]


def items_from_dir(path: str | Path) -> list[Item]:
    """Items of every .txt, .html and .jsonl file in a folder (not its subfolders), by name."""
    folder = Path(path)
    if not folder.is_dir():
        raise ValidationError(f"{path} is not a folder", errors={"dir": ["not a folder"]})
    items: list[Item] = []
    for file in sorted(p for p in folder.iterdir() if p.is_file() and not p.name.startswith(".")):
        if file.suffix.lower() not in TEXT_SUFFIXES + HTML_SUFFIXES + JSONL_SUFFIXES:
            continue  # a folder of articles may hold a README or an index: not articles
        items += items_from_file(file.name, file.read_bytes())
    return items


def items_from_urls(urls: Iterable[str]) -> list[Item]:
    """One item per URL, fetched when the job runs."""
    return [{"source": url, "url": url} for url in urls]


def fields_of(item: Item, config: dict[str, Any]) -> dict[str, Any]:
    """The single-article API's fields for an item (fetching a URL, extracting a page)."""
    if "error" in item:
        error = item["error"]
        raise WorkbenchError(error["message"], errors=error.get("errors"), status=error.get("status", 422))
    if "fields" in item:
        return item["fields"]
    if "text" in item:
        return {"text": item["text"]}
    if "html" in item:
        from workbench.ingest.html import article_from_html

        return article_from_html(item["html"]).fields()
    if "url" in item:
        from workbench.ingest.fetch import page_fields

        return page_fields(item["url"], config)
    raise ValidationError(f"{item.get('source')}: nothing to ingest")


def _raw_input(item: Item, fields: dict[str, Any]) -> dict[str, Any]:
    """What is kept as the article's raw input: a line as received; for a file or URL, where it
    came from and the metadata found (the text itself is the article's)."""
    if "fields" in item:
        return fields
    return {**fields, "text": None, "source": item["source"]}


def ingest_items(
    items: list[Item],
    config: dict[str, Any],
    *,
    actor: str,
    user_id: int | None,
    via: str,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Ingest each item in a transaction of its own and report what became of each.

    Commits after every item, so a bad item or a crash loses nothing that went in before it and
    a concurrent reader sees the progress. Returns counts, the articles (source, id, created)
    and the errors (source, message, errors, status).
    """
    from workbench.db import db
    from workbench.ingest.service import ingest_raw

    articles: list[dict[str, Any]] = []
    errors: list[dict[str, Any]] = []
    for done, item in enumerate(items, start=1):
        source = str(item.get("source"))
        try:
            fields = fields_of(item, config)
            article, created = ingest_raw(
                fields, config, actor=actor, user_id=user_id, via=via, raw_input=_raw_input(item, fields)
            )
            db.session.commit()
            articles.append({"source": source, "id": article.id, "created": created})
        except WorkbenchError as exc:
            db.session.rollback()
            errors.append(
                {"source": source, "message": exc.message, "errors": exc.errors, "status": exc.status}
            )
        if progress is not None:
            progress(done, len(items))
    return summary(articles, errors)


def summary(articles: list[dict[str, Any]], errors: list[dict[str, Any]]) -> dict[str, Any]:
    """Counts over what went in and what did not."""
    created = sum(1 for a in articles if a["created"])
    return {
        "total": len(articles) + len(errors),
        "created": created,
        "duplicates": len(articles) - created,
        "failed": len(errors),
        "articles": articles,
        "errors": errors,
    }


def gather(
    results: list[dict[str, Any]], *, actor: str, via: str, job_id: str | None = None
) -> dict[str, Any]:
    """Merge the parts' results into one and record the bulk ingest in the audit chain.

    A part that failed as a whole (its worker gone for good, the database down) reports each of
    its items with the part's error. Commits the audit event.
    """
    from workbench import audit
    from workbench.db import db

    articles: list[dict[str, Any]] = []
    errors: list[dict[str, Any]] = []
    for part in results:
        if "failed_part" in part:
            message = f"not ingested: {part['failed_part']}"
            errors += [
                {"source": str(item.get("source")), "message": message, "errors": {}, "status": 500}
                for item in part.get("items", [])
            ]
            continue
        articles += part["articles"]
        errors += part["errors"]
    result = summary(articles, errors)
    audit.append(
        actor,
        "articles.bulk_ingested",
        "job",
        job_id or "inline",
        {
            "via": via,
            **{k: result[k] for k in ("total", "created", "duplicates", "failed")},
            "errors": [{"source": e["source"], "message": e["message"]} for e in errors],
        },
    )
    db.session.commit()
    return result


def parts_of(items: list[Item], size: int = PART_SIZE) -> list[list[Item]]:
    """Split items into the parts jobs run (in parallel on RQ workers)."""
    return [items[i : i + size] for i in range(0, len(items), size)] or [[]]


def describe(result: dict[str, Any]) -> Iterable[str]:
    """Lines for a person: the counts, then each error with its source."""
    yield (
        f"{result['created']} ingested, {result['duplicates']} already stored, "
        f"{result['failed']} failed (of {result['total']})"
    )
    for error in result["errors"]:
        yield f"  {error['source']}: {error['message']}"


def dumps_result(result: dict[str, Any]) -> str:
    """The result as JSON (for --format json)."""
    return json.dumps(result, ensure_ascii=False, indent=2)
