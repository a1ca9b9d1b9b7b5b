"""Bulk ingest: JSON Lines, a folder of .txt/.html files, URLs — each item on its own, the bad
ones reported with their line or name, the rest stored; through the one job API, inline."""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa

from tests.factories import DEMO_TEXT
from tests.ingest_pages import ARTICLE_HTML, PageServer
from workbench import jobs
from workbench.db import db
from workbench.ingest import bulk
from workbench.models import Article, AuditEvent


def article_text(n: int) -> str:
    return DEMO_TEXT + f"\nEdition {n}: the council met {n} times this year.\n"


def jsonl(*lines) -> bytes:
    return "\n".join(line if isinstance(line, str) else json.dumps(line) for line in lines).encode() + b"\n"


def run(items, **kwargs):
    return jobs.enqueue_parts(
        "ingest.bulk",
        [{"items": part} for part in bulk.parts_of(items, size=2)],
        gather="ingest.bulk.gather",
        total=len(items),
        actor="test",
        user_id=None,
        via="test",
        **kwargs,
    )


def count(model) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(model))


@pytest.fixture
def pages():
    server = PageServer()
    yield server
    server.close()


def test_a_bad_line_in_the_middle_is_reported_by_number_and_the_rest_go_in(app):
    data = jsonl(
        {"text": article_text(1), "title": "One", "published_at": "2023-04-02"},
        {"text": article_text(2)},
        "{not json",
        {"text": article_text(3), "published_at": "next week"},
        "",
        ["a", "list"],
        {"title": "no text"},
        {"text": article_text(4), "url": "https://news.example.org/4"},
    )
    seen = []
    started = run(bulk.items_from_jsonl(data), on_progress=lambda done, total: seen.append((done, total)))
    result = started["result"]
    assert (started["mode"], started["status"]) == ("inline", "finished")
    assert (result["total"], result["created"], result["duplicates"], result["failed"]) == (7, 3, 0, 4)
    assert [e["source"] for e in result["errors"]] == ["line 3", "line 4", "line 6", "line 7"]
    assert "not valid JSON" in result["errors"][0]["message"]
    assert result["errors"][1]["errors"] == {"published_at": ["unparseable date"]}
    assert result["errors"][3]["errors"] == {"text": ["missing"]}
    assert [a["source"] for a in result["articles"]] == ["line 1", "line 2", "line 8"]
    titles = set(db.session.scalars(sa.select(Article.title)))
    assert count(Article) == 3 and "One" in titles
    assert seen[-1] == (7, 7) and [d for d, _ in seen] == sorted(d for d, _ in seen)


@pytest.mark.parametrize("as_text", [False, True])
def test_a_json_lines_file_saved_with_a_utf8_bom_keeps_its_first_line(app, as_text):
    data = b"\xef\xbb\xbf" + jsonl({"text": article_text(1), "title": "First"}, {"text": article_text(2)})
    result = run(bulk.items_from_jsonl(data.decode("utf-8") if as_text else data))["result"]
    assert (result["created"], result["failed"]) == (2, 0), result["errors"]
    assert "First" in set(db.session.scalars(sa.select(Article.title)))
    # A key given twice on a line is that line's error; the others go in.
    twice = jsonl({"text": article_text(3)}) + b'{"text": "a", "text": "b"}\n'
    again = run(bulk.items_from_jsonl(twice))["result"]
    assert (again["created"], again["failed"]) == (1, 1)
    assert "more than once" in again["errors"][0]["message"]


def test_duplicates_are_reported_as_such_and_stored_once(app):
    data = jsonl(
        {"text": article_text(1)}, {"text": article_text(1), "title": "again"}, {"text": article_text(2)}
    )
    first = run(bulk.items_from_jsonl(data))["result"]
    assert (first["created"], first["duplicates"], first["failed"]) == (2, 1, 0)
    assert first["articles"][1]["id"] == first["articles"][0]["id"]
    assert first["articles"][1]["created"] is False
    again = run(bulk.items_from_jsonl(data))["result"]
    assert (again["created"], again["duplicates"]) == (0, 3)
    assert count(Article) == 2


def test_each_article_and_the_bulk_ingest_are_audited(app):
    result = run(bulk.items_from_jsonl(jsonl({"text": article_text(1)}, "[]")))["result"]
    assert result["created"] == 1
    actions = list(db.session.scalars(sa.select(AuditEvent.action).order_by(AuditEvent.seq)))
    assert actions.count("article.ingested") == 1
    event = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "articles.bulk_ingested"))
    assert event.payload["created"] == 1 and event.payload["failed"] == 1
    assert event.payload["errors"] == [{"source": "line 2", "message": result["errors"][0]["message"]}]


def test_a_folder_of_text_and_html_files_keeps_each_pages_metadata(app, tmp_path):
    (tmp_path / "a.txt").write_text(article_text(1), encoding="utf-8")
    (tmp_path / "b.html").write_text(ARTICLE_HTML, encoding="utf-8")
    (tmp_path / "c.txt").write_bytes(b"\xff\xfe not utf-8")
    (tmp_path / "d.html").write_text("<html><body></body></html>", encoding="utf-8")
    (tmp_path / "README.md").write_text("not an article", encoding="utf-8")
    result = run(bulk.items_from_dir(tmp_path))["result"]
    assert (result["created"], result["failed"]) == (2, 2)
    assert {e["source"] for e in result["errors"]} == {"c.txt", "d.html"}
    page = db.session.get(Article, next(a["id"] for a in result["articles"] if a["source"] == "b.html"))
    assert page.title.startswith("Port budget")
    assert (page.byline, page.publisher) == ("Mara Quill", "Harbour Wire")
    assert page.url == "https://news.example.org/2023/port-budget"
    assert page.published_at.isoformat() == "2023-04-02"
    assert "Sport | Weather" not in page.text
    assert page.raw_input["source"] == "b.html" and page.raw_input["text"] is None


def test_urls_are_fetched_each_on_its_own(app, pages):
    app.config["INGEST_ALLOW_PRIVATE_URLS"] = "127.0.0.1/32"
    urls = [
        pages.url("/article.html"),
        pages.url("/image.png"),
        "http://169.254.169.254/",
        pages.url("/plain.txt"),
    ]
    result = run(bulk.items_from_urls(urls))["result"]
    assert (result["created"], result["failed"]) == (2, 2)
    assert [e["source"] for e in result["errors"]] == urls[1:3]
    assert [e["status"] for e in result["errors"]] == [422, 422]
    plain = db.session.scalar(sa.select(Article).where(Article.url == pages.url("/plain.txt")))
    assert plain is not None and plain.raw_input["source"] == pages.url("/plain.txt")


def test_the_cli_ingests_jsonl_and_lists_what_failed(app, runner, tmp_path):
    path = tmp_path / "articles.jsonl"
    path.write_bytes(jsonl({"text": article_text(1)}, "{oops", {"text": article_text(2)}))
    result = runner.invoke(args=["ingest", "--jsonl", str(path)])
    assert result.exit_code == 1, result.output
    assert result.output.splitlines()[0] == "2 ingested, 0 already stored, 1 failed (of 3)"
    assert "articles.jsonl line 2: not valid JSON" in result.output
    assert count(Article) == 2


def test_the_cli_prints_only_json_when_asked_and_no_bar_off_a_terminal(app, runner, tmp_path):
    (tmp_path / "a.txt").write_text(article_text(1), encoding="utf-8")
    result = runner.invoke(args=["ingest", "--dir", str(tmp_path), "--format", "json"])
    assert result.exit_code == 0, result.output
    body = json.loads(result.output)  # nothing else on the output: no bar, no chatter
    assert body["created"] == 1 and body["articles"][0]["source"] == "a.txt"


def test_the_cli_fetches_a_url(app, runner, pages):
    app.config["INGEST_ALLOW_PRIVATE_URLS"] = "true"
    result = runner.invoke(args=["ingest", "--url", pages.url("/article.html")])
    assert result.exit_code == 0, result.output
    article = db.session.scalar(sa.select(Article))
    assert article.url == "https://news.example.org/2023/port-budget" and article.ingested_via == "cli"


def test_the_cli_refuses_a_private_url_by_default(app, runner, pages):
    result = runner.invoke(args=["ingest", "--url", pages.url("/article.html")])
    assert result.exit_code == 1
    assert "WORKBENCH_INGEST_ALLOW_PRIVATE_URLS" in result.output
    assert pages.seen == [] and count(Article) == 0


def test_the_cli_refuses_single_article_options_with_bulk_sources(app, runner, tmp_path):
    result = runner.invoke(args=["ingest", "--dir", str(tmp_path), "--title", "x"])
    assert result.exit_code != 0 and "--title" in result.output
