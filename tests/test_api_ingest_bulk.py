"""POST /api/v1/articles/bulk and /api/v1/articles/from-url: each item on its own, errors named
by line or file, pages fetched from 127.0.0.1 only when allowed; on RQ a job with progress."""

from __future__ import annotations

import time

import pytest
import sqlalchemy as sa

from tests.ingest_pages import ARTICLE_HTML, PageServer
from tests.test_ingest_bulk import article_text, jsonl
from tests.test_ingest_jobs import redis_url, wait_for_workers, workers  # noqa: F401 - fixture
from workbench import jobs
from workbench.db import db
from workbench.models import Article

NDJSON = {"Content-Type": "application/x-ndjson"}


@pytest.fixture
def pages():
    server = PageServer()
    yield server
    server.close()


def count() -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(Article))


def post_bulk(client, user, data, content_type="application/x-ndjson"):
    return client.post(
        "/api/v1/articles/bulk", data=data, headers={**user.headers, "Content-Type": content_type}
    )


def test_json_lines_go_in_one_by_one_and_a_bad_line_is_named(client, admin):
    body = jsonl({"text": article_text(1)}, {"text": 5}, {"text": article_text(2)}, {"text": article_text(1)})
    response = post_bulk(client, admin, body)
    assert response.status_code == 200, response.json
    job = response.json
    assert (job["mode"], job["status"], job["progress"]) == ("inline", "finished", {"done": 4, "total": 4})
    result = job["result"]
    assert (result["created"], result["duplicates"], result["failed"]) == (2, 1, 1)
    assert result["errors"] == [
        {
            "source": "line 2",
            "message": "'text' must be a string, not int",
            "errors": {"text": ["not a string"]},
            "status": 422,
        }
    ]
    assert result["articles"][2] == {"source": "line 4", "id": result["articles"][0]["id"], "created": False}
    assert count() == 2


def test_uploaded_files_each_go_in_with_the_pages_metadata(client, admin):
    import io

    response = client.post(
        "/api/v1/articles/bulk",
        data={
            "file": [
                (io.BytesIO(jsonl({"text": article_text(1)}, "nope")), "batch.jsonl"),
                (io.BytesIO(ARTICLE_HTML.encode()), "budget.html"),
                (io.BytesIO(article_text(3).encode()), "three.txt"),
                (io.BytesIO(b"%PDF-1.7"), "scan.pdf"),
            ]
        },
        headers=admin.headers,
        content_type="multipart/form-data",
    )
    assert response.status_code == 200, response.json
    result = response.json["result"]
    assert [a["source"] for a in result["articles"]] == ["batch.jsonl line 1", "budget.html", "three.txt"]
    assert [e["source"] for e in result["errors"]] == ["batch.jsonl line 2", "scan.pdf"]
    page = db.session.get(Article, result["articles"][1]["id"])
    assert (page.byline, page.url) == ("Mara Quill", "https://news.example.org/2023/port-budget")


@pytest.mark.parametrize(
    ("data", "content_type", "status"),
    [
        (b'{"text": "x"}', "application/json", 415),
        (b"", "application/x-ndjson", 422),
        (b"   \n", "application/x-ndjson", 422),
        (b"", "multipart/form-data; boundary=x", 422),
    ],
)
def test_a_body_that_is_not_json_lines_or_files_is_refused(client, admin, data, content_type, status):
    response = post_bulk(client, admin, data, content_type)
    assert response.status_code == status, response.json
    assert set(response.json) == {"code", "status", "message", "errors"}
    assert count() == 0


def test_the_bulk_body_may_exceed_the_single_request_limit_up_to_its_own(app, client, admin):
    app.config.update(MAX_CONTENT_LENGTH=8 * 1024, MAX_BULK_BYTES=64 * 1024)
    filler = " and".join(" the harbour" for _ in range(150))  # one long sentence: cheap to extract
    big = jsonl(*({"text": article_text(n) + filler + "."} for n in range(6)))
    assert 8 * 1024 < len(big) < 64 * 1024
    assert (
        client.post("/api/v1/articles", json={"text": big.decode()}, headers=admin.headers).status_code == 413
    )
    response = post_bulk(client, admin, big)
    assert response.status_code == 200 and response.json["result"]["created"] == 6
    app.config["MAX_BULK_BYTES"] = 12 * 1024
    assert post_bulk(client, admin, big).status_code == 413


def test_only_admins_ingest_in_bulk_or_from_a_url(client, reviewer):
    assert post_bulk(client, reviewer, jsonl({"text": article_text(1)})).status_code == 403
    response = client.post(
        "/api/v1/articles/from-url", json={"url": "http://x.org/"}, headers=reviewer.headers
    )
    assert response.status_code == 403


def test_a_page_from_a_url_is_ingested_with_its_metadata_and_once(app, client, admin, pages):
    app.config["INGEST_ALLOW_PRIVATE_URLS"] = "127.0.0.1/32"
    url = pages.url("/moved")
    first = client.post("/api/v1/articles/from-url", json={"url": url}, headers=admin.headers)
    assert first.status_code == 201, first.json
    assert first.json["title"].startswith("Port budget")
    assert first.json["url"] == "https://news.example.org/2023/port-budget"
    assert first.json["published_at"].startswith("2023-04-02")
    assert first.json["claims"]
    again = client.post(
        "/api/v1/articles/from-url", json={"url": url, "title": "Mine"}, headers=admin.headers
    )
    assert (again.status_code, again.json["id"]) == (200, first.json["id"])
    article = db.session.get(Article, first.json["id"])
    assert article.raw_input["source"] == url and article.ingested_via == "api"


def test_fields_sent_replace_the_pages_metadata(app, client, admin, pages):
    app.config["INGEST_ALLOW_PRIVATE_URLS"] = "true"
    response = client.post(
        "/api/v1/articles/from-url",
        json={"url": pages.url("/article.html"), "title": "Budget vote", "published_at": "2023-04-03"},
        headers=admin.headers,
    )
    assert response.status_code == 201, response.json
    assert (response.json["title"], response.json["published_at"][:10]) == ("Budget vote", "2023-04-03")


@pytest.mark.parametrize(
    ("path", "allow", "status", "why"),
    [
        ("/article.html", None, 422, "non-public"),  # loopback refused by default
        ("/redirect?to=http://169.254.169.254/latest/meta-data/", "127.0.0.1/32", 422, "169.254.169.254"),
        ("/big-declared", "127.0.0.1/32", 422, "larger than"),
        ("/slow", "127.0.0.1/32", 504, "did not answer"),
        ("/image.png", "127.0.0.1/32", 422, "image/png"),
        ("/missing", "127.0.0.1/32", 502, "HTTP 404"),
    ],
)
def test_a_url_that_cannot_be_ingested_says_why(app, client, admin, pages, path, allow, status, why):
    app.config.update(INGEST_ALLOW_PRIVATE_URLS=allow, INGEST_URL_TIMEOUT=0.5)
    response = client.post("/api/v1/articles/from-url", json={"url": pages.url(path)}, headers=admin.headers)
    assert response.status_code == status, response.json
    assert why in response.json["message"] and "url" in response.json["errors"]
    assert count() == 0


@pytest.mark.parametrize("url", ["file:///etc/passwd", "ftp://example.org/a", "not a url"])
def test_only_http_urls_are_fetched(client, admin, url):
    response = client.post("/api/v1/articles/from-url", json={"url": url}, headers=admin.headers)
    assert response.status_code == 422 and "url" in response.json["errors"]


def test_on_rq_the_bulk_ingest_is_a_job_whose_progress_and_errors_the_api_reports(
    app,
    client,
    admin,
    redis_url,  # noqa: F811 - the fixture imported above
    database_url,
    tmp_path,  # noqa: F811 - fixture
):
    body = jsonl(*({"text": article_text(n)} for n in range(5)), "[1, 2]", {"text": article_text(9)})
    response = post_bulk(client, admin, body)
    assert response.status_code == 202, response.json
    job_id = response.json["id"]
    assert response.json["progress"] == {"done": 0, "total": 7}
    assert client.get(f"/api/v1/jobs/{job_id}", headers=admin.headers).json["status"] == "queued"
    with workers(database_url, tmp_path, count=2) as procs:
        wait_for_workers(2, procs, tmp_path)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            state = client.get(f"/api/v1/jobs/{job_id}", headers=admin.headers).json
            if state["status"] in ("finished", "failed"):
                break
            time.sleep(0.2)
    assert state["status"] == "finished", state
    assert jobs.status(job_id)["progress"] == {"done": 7, "total": 7}
    assert state["progress"] == {"done": 7, "total": 7}, "GET /api/v1/jobs/<id> reports the progress"
    assert state["result"]["failed"] == 1 and state["result"]["errors"][0]["source"] == "line 6"
    assert state["result"]["created"] == 6
