"""Input limits at every door: body size, field lengths, numbers, and text a database cannot store."""

from __future__ import annotations

import json
import re
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
import sqlalchemy as sa
from werkzeug.serving import make_server

from tests.conftest import WEBHOOK_SECRET
from tests.factories import DEMO_TEXT, make_article, make_user
from tests.test_web import sign_in
from workbench import config as wb_config
from workbench.db import db
from workbench.labelstudio.service import WEBHOOK_HEADER
from workbench.models import Article, AuditEvent, User, WebhookEvent
from workbench.validation import (
    MAX_INT,
    UNSTORABLE,
    JSONString,
    find_unstorable,
    json_depth,
    sanitize,
    sanitize_json,
    walk_json_strings,
)

HUGE = 10**30
SHAPE = {"code", "status", "message", "errors"}


def assert_error(response, status: int, *words: str) -> dict:
    """Assert the one error shape with ``status``, its message naming each of ``words``."""
    assert response.status_code == status, (response.status_code, response.get_data(as_text=True)[:500])
    body = response.get_json()
    assert set(body) >= SHAPE and body["status"] == status, body
    for word in words:
        assert word in body["message"] or word in json.dumps(body["errors"]), (word, body)
    return body


def stored() -> tuple[int, int, int]:
    """Count articles, users and audit events (closing the read, so a served request may write)."""
    counts = tuple(
        db.session.scalar(sa.select(sa.func.count()).select_from(m)) for m in (Article, User, AuditEvent)
    )
    db.session.close()
    return counts


# --- a real HTTP server ----------------------------------------------------------------------------


@contextmanager
def serve(app) -> Iterator[tuple[str, int]]:
    """Serve ``app`` over real HTTP (werkzeug's threaded server) on a free port."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield "127.0.0.1", server.port
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def raw_request(address: tuple[str, int], head: bytes, body: bytes = b"") -> tuple[int, dict, bytes]:
    """Send one request as raw bytes (all at once) and return status, headers and body."""
    with socket.create_connection(address, timeout=30) as sock:
        sock.sendall(head + body)
        sock.shutdown(socket.SHUT_WR)  # the dev server drains the rest of the body until EOF
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    response = b"".join(chunks)
    header_bytes, _, payload = response.partition(b"\r\n\r\n")
    lines = header_bytes.decode("latin-1").split("\r\n")
    headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
    if headers.get("transfer-encoding") == "chunked":
        payload = dechunk(payload)
    return int(lines[0].split()[1]), headers, payload


def chunked(data: bytes, size: int = 512) -> bytes:
    """Encode ``data`` with Transfer-Encoding: chunked."""
    out = [b"%x\r\n%s\r\n" % (len(data[i : i + size]), data[i : i + size]) for i in range(0, len(data), size)]
    return b"".join(out) + b"0\r\n\r\n"


def dechunk(data: bytes) -> bytes:
    out = []
    while data:
        size_line, _, data = data.partition(b"\r\n")
        size = int(size_line.split(b";")[0] or b"0", 16)
        if size == 0:
            break
        out.append(data[:size])
        data = data[size + 2 :]
    return b"".join(out)


def post_head(path: str, token: str, extra: str) -> bytes:
    return (
        f"POST {path} HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer {token}\r\n"
        f"Content-Type: application/json\r\n{extra}Connection: close\r\n\r\n"
    ).encode()


# --- 1. one request-body limit ---------------------------------------------------------------------


def test_the_body_limit_defaults_to_4_mib_and_reads_the_environment(monkeypatch, tmp_path):
    assert wb_config.from_environment(str(tmp_path))["MAX_CONTENT_LENGTH"] == 4 * 1024 * 1024
    monkeypatch.setenv("WORKBENCH_MAX_CONTENT_LENGTH", "2000000")
    assert wb_config.from_environment(str(tmp_path))["MAX_CONTENT_LENGTH"] == 2_000_000
    # It must leave room for the largest article.
    monkeypatch.setenv("WORKBENCH_MAX_CONTENT_LENGTH", "1000")
    with pytest.raises(ValueError, match="WORKBENCH_MAX_ARTICLE_BYTES"):
        wb_config.from_environment(str(tmp_path))


def test_a_body_over_the_limit_is_413_and_nothing_is_stored(app, client, admin):
    before = stored()
    body = json.dumps({"text": "A fact. " * (5 * 1024 * 1024 // 8)}).encode()
    response = client.post(
        "/api/v1/articles", data=body, content_type="application/json", headers=admin.headers
    )
    error = assert_error(response, 413, str(4 * 1024 * 1024))
    assert error["code"] == "payload_too_large"
    assert stored() == before


def _kept_oversized() -> list[WebhookEvent]:
    db.session.expire_all()
    return list(db.session.scalars(sa.select(WebhookEvent).where(WebhookEvent.body_stored_as == "not_kept")))


def test_a_webhook_delivery_over_the_limit_is_413_and_kept_for_inspection(app, client):
    """Label Studio never sends a delivery again: refused without a trace, what it carried was
    lost until someone happened to sync. Its size and time are kept now, as malformed."""
    body = json.dumps({"action": "ANNOTATION_CREATED", "annotation": {"id": 1, "x": "y" * 5 * 1024 * 1024}})
    response = client.post(
        "/api/v1/hooks/label-studio",
        data=body,
        content_type="application/json",
        headers={WEBHOOK_HEADER: WEBHOOK_SECRET},
    )
    error = assert_error(response, 413, str(4 * 1024 * 1024))
    assert error["code"] == "payload_too_large" and "sync" in error["message"]
    (event,) = _kept_oversized()
    assert error["event_id"] == event.id
    assert (event.status, event.body, event.body_length) == ("malformed", "", len(body))
    assert event.placed_at is not None and "WORKBENCH_MAX_CONTENT_LENGTH" in event.detail
    # A wrong secret is refused before anything is kept, whatever the size.
    wrong = client.post(
        "/api/v1/hooks/label-studio",
        data=body,
        content_type="application/json",
        headers={WEBHOOK_HEADER: "no"},
    )
    assert wrong.status_code == 401 and len(_kept_oversized()) == 1


def test_over_http_a_webhook_content_length_no_column_holds_is_still_kept(app):
    with serve(app) as address:
        head = (
            "POST /api/v1/hooks/label-studio HTTP/1.1\r\nHost: localhost\r\n"
            f"{WEBHOOK_HEADER}: {WEBHOOK_SECRET}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {2**40}\r\nConnection: close\r\n\r\n"
        ).encode()
        status, _, payload = raw_request(address, head)
    assert status == 413, payload
    (event,) = _kept_oversized()
    assert event.body_length is None and json.loads(payload)["event_id"] == event.id


def test_over_http_a_chunked_webhook_delivery_over_the_limit_is_kept_for_inspection(app):
    app.config["MAX_CONTENT_LENGTH"] = 4096
    body = json.dumps({"action": "ANNOTATION_CREATED", "annotation": {"id": 1, "x": "y" * 8000}}).encode()
    with serve(app) as address:
        head = (
            "POST /api/v1/hooks/label-studio HTTP/1.1\r\nHost: localhost\r\n"
            f"{WEBHOOK_HEADER}: {WEBHOOK_SECRET}\r\n"
            "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
        ).encode()
        status, _, payload = raw_request(address, head, chunked(body))
    assert status == 413, payload
    (event,) = _kept_oversized()
    assert event.status == "malformed" and event.body_length is None and "unknown length" in event.detail
    assert json.loads(payload)["event_id"] == event.id


def test_an_article_at_the_text_limit_fits_in_the_body_limit(client, admin):
    # One byte over the article limit: the ingest rule answers (naming 'text'), not the body limit.
    text = "Numbers rose 5 percent. " * (1024 * 1024 // 24 + 1)
    response = client.post("/api/v1/articles", json={"text": text}, headers=admin.headers)
    error = assert_error(response, 413, "1048576")
    assert error["errors"] == {"text": ["too large"]}


def test_a_form_over_the_limit_is_413(app, client, reviewer):
    app.config["MAX_CONTENT_LENGTH"] = 2048
    sign_in(client, reviewer)
    response = client.post("/claims/1/decide", data={"csrf": "x", "reason": "y" * 4096})
    assert response.status_code == 413 and b"2048" in response.data


def test_over_http_a_declared_length_over_the_limit_is_413_before_the_body_is_read(app, admin):
    before = stored()
    with serve(app) as address:
        # The body is never sent: the server must answer from the Content-Length header alone.
        head = post_head("/api/v1/articles", admin.token, f"Content-Length: {5 * 1024 * 1024}\r\n")
        status, headers, payload = raw_request(address, head)
    assert status == 413 and headers["content-type"].startswith("application/json")
    error = json.loads(payload)
    assert set(error) == SHAPE and error["code"] == "payload_too_large" and "4194304" in error["message"]
    assert stored() == before


def test_over_http_a_chunked_body_over_the_limit_is_413(app, admin):
    app.config["MAX_CONTENT_LENGTH"] = 4096
    before = stored()
    body = json.dumps({"email": "big@example.org", "role": "annotator", "name": "n" * 8000}).encode()
    with serve(app) as address:
        head = post_head("/api/v1/users", admin.token, "Transfer-Encoding: chunked\r\n")
        status, _, payload = raw_request(address, head, chunked(body))
    assert status == 413, payload
    error = json.loads(payload)
    assert set(error) == SHAPE and error["code"] == "payload_too_large" and "4096" in error["message"]
    assert stored() == before


def test_over_http_a_chunked_body_under_the_limit_is_read(app, admin):
    body = json.dumps({"email": "chunky@example.org", "role": "annotator", "name": "Chunky"}).encode()
    with serve(app) as address:
        head = post_head("/api/v1/users", admin.token, "Transfer-Encoding: chunked\r\n")
        status, _, payload = raw_request(address, head, chunked(body, size=7))
    assert status == 201, payload
    assert json.loads(payload)["email"] == "chunky@example.org"


# --- 1. field lengths, before the database ---------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "length"),
    [("name", 201), ("email", 321)],
)
def test_user_fields_longer_than_their_columns_are_422(client, admin, field, length):
    before = stored()
    body = {"email": "long@example.org", "role": "annotator", "name": "Long"}
    body[field] = (
        ("x" * (length - len("@example.org")) + "@example.org") if field == "email" else "n" * length
    )
    response = client.post("/api/v1/users", json=body, headers=admin.headers)
    assert_error(response, 422, field)
    assert field in response.json["errors"]
    assert stored() == before


def test_user_fields_at_their_column_lengths_are_stored(client, admin):
    email = "x" * (320 - len("@example.org")) + "@example.org"
    response = client.post(
        "/api/v1/users", json={"email": email, "role": "annotator", "name": "n" * 200}, headers=admin.headers
    )
    assert response.status_code == 201 and response.json["email"] == email


def test_user_fields_must_be_strings(client, admin):
    response = client.post(
        "/api/v1/users", json={"email": ["a@example.org"], "role": "annotator"}, headers=admin.headers
    )
    assert_error(response, 422, "email")


@pytest.mark.parametrize(
    ("field", "limit"), [("title", 1000), ("url", 2000), ("publisher", 300), ("author", 300)]
)
def test_article_fields_longer_than_their_columns_are_422(client, admin, field, limit):
    before = stored()
    value = ("https://example.org/" + "p" * limit) if field == "url" else "t" * (limit + 1)
    response = client.post("/api/v1/articles", json={"text": DEMO_TEXT, field: value}, headers=admin.headers)
    body = assert_error(response, 422, field)
    assert body["errors"][field] == [f"longer than {limit} characters"]
    assert stored() == before


def test_metadata_guessed_from_the_text_is_cut_to_its_column(client, admin):
    # An agency line of few but very long words: the header parser's guess must not overflow.
    text = "Reuters " + "W" * 400 + "\n\nThe council approved 42 million dollars on Tuesday.\n"
    response = client.post("/api/v1/articles", json={"text": text}, headers=admin.headers)
    assert response.status_code == 201, response.json
    assert len(response.json["publisher"] or "") <= 300


# --- 1. users are paged ----------------------------------------------------------------------------


def test_users_list_is_paged(client, admin):
    for _ in range(3):
        make_user("annotator")
    page = client.get("/api/v1/users?limit=2&offset=1", headers=admin.headers)
    assert page.status_code == 200
    assert set(page.json) == {"items", "total", "limit", "offset"}
    assert (page.json["total"], page.json["limit"], page.json["offset"]) == (4, 2, 1)
    assert len(page.json["items"]) == 2
    assert all("token" not in u and "token_hash" not in u for u in page.json["items"])
    assert_error(client.get("/api/v1/users?limit=0", headers=admin.headers), 422, "limit")
    assert_error(client.get("/api/v1/users?limit=501", headers=admin.headers), 422, "limit")


# --- 2. numbers nobody checked ---------------------------------------------------------------------


@pytest.mark.parametrize("number", [HUGE, 9999999999999999999, MAX_INT + 1, "9" * 5000])
@pytest.mark.parametrize(
    ("method", "template"),
    [
        ("GET", "/api/v1/claims/{}"),
        ("GET", "/api/v1/claims/{}/history"),
        ("GET", "/api/v1/articles/{}"),
        ("GET", "/api/v1/articles/{}/claims"),
        ("POST", "/api/v1/claims/{}/verdict"),
        ("POST", "/api/v1/claims/{}/review"),
        ("POST", "/api/v1/users/{}/disable"),
    ],
)
def test_ids_too_large_for_a_column_are_404(client, admin, method, template, number):
    response = client.open(template.format(number), method=method, json={}, headers=admin.headers)
    assert_error(response, 404)


def test_the_largest_id_still_routes(client, admin):
    body = assert_error(client.get(f"/api/v1/claims/{MAX_INT}", headers=admin.headers), 404)
    assert str(MAX_INT) in body["message"]  # the view answered, not the router


@pytest.mark.parametrize("path", ["/claims/{}", "/articles/{}"])
def test_page_ids_too_large_are_404(client, admin, path):
    sign_in(client, admin)
    assert client.get(path.format(HUGE)).status_code == 404
    assert client.get(path.format(9999999999999999999)).status_code == 404


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/articles?offset={}",
        "/api/v1/articles?limit={}",
        "/api/v1/users?offset={}",
        "/api/v1/review/queue?offset={}",
        "/api/v1/review/queue?article_id={}",
        "/api/v1/review/agreement?article_id={}",
        "/api/v1/exports/verified-claims?article_id={}",
        "/api/v1/hooks/label-studio/events?offset={}",
    ],
)
@pytest.mark.parametrize("number", [HUGE, MAX_INT + 1, "9" * 5000])
def test_query_numbers_too_large_are_422(client, admin, path, number):
    assert_error(
        client.get(path.format(number), headers=admin.headers), 422, path.split("?")[1].split("=")[0]
    )


@pytest.mark.parametrize("value", ["²", "1_000", "0x10", "1e3", " ", "-"])
def test_query_numbers_must_be_ascii_digits(client, admin, value):
    assert_error(client.get("/api/v1/articles", query_string={"offset": value}, headers=admin.headers), 422)


def test_query_numbers_take_leading_zeros_and_the_largest_int(client, admin):
    response = client.get(f"/api/v1/articles?offset=000{MAX_INT}", headers=admin.headers)
    assert response.status_code == 200 and response.json["offset"] == MAX_INT


@pytest.mark.parametrize(
    "query", [f"page={HUGE}", "page=abc", "page=²", "page=0", f"article_id={HUGE}", "article_id=x"]
)
def test_the_review_page_refuses_bad_numbers_with_4xx(client, reviewer, query):
    sign_in(client, reviewer)
    response = client.get(f"/review?{query}")
    assert 400 <= response.status_code < 500, response.status_code


@pytest.mark.parametrize("value", [str(HUGE), str(MAX_INT + 1), "9" * 5000])
def test_annotator_ids_too_large_are_422(client, reviewer, value):
    response = client.get("/api/v1/review/queue", query_string={"annotator": value}, headers=reviewer.headers)
    assert_error(response, 422, "annotator")


def test_annotator_unicode_digits_are_not_ids(client, reviewer):
    response = client.get("/api/v1/review/queue", query_string={"annotator": "²"}, headers=reviewer.headers)
    assert_error(response, 422, "annotator")


def test_a_decision_form_with_a_huge_version_is_refused(client, reviewer):
    article = make_article()
    claim = article.claims[0]
    sign_in(client, reviewer)
    page = client.get(f"/claims/{claim.id}")
    token = re.search(rb'name="csrf" value="([^"]+)"', page.data).group(1).decode()
    for version in (str(HUGE), "²", "9" * 5000):
        response = client.post(
            f"/claims/{claim.id}/decide",
            data={"csrf": token, "action": "reject", "reason": "x", "claim_version": version},
        )
        assert response.status_code == 400


# --- 3. text a database cannot store ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "path"),
    [
        ('{"text": "A fact.\\u0000 More."}', "$.text"),
        ('{"text": "A fact. \\ud800 More."}', "$.text"),
        ('{"text": "A fact. \\udfff"}', "$.text"),
        ('{"text": "Fine text.", "title": "T\\u0000"}', "$.title"),
        ('{"text": "Fine text.", "url": "https://example.org/\\ud83d"}', "$.url"),
        ('{"text": "Fine text.", "publisher": "P\\u0000"}', "$.publisher"),
        ('{"text": "Fine text.", "extra": {"deep": ["ok", "\\u0000"]}}', "$.extra.deep[1]"),
        ('{"text": "Fine text.", "bad\\u0000key": 1}', '$["bad\\ufffdkey"]'),
    ],
)
def test_unstorable_text_in_an_article_is_422_naming_its_path(client, admin, raw, path):
    before = stored()
    response = client.post(
        "/api/v1/articles", data=raw.encode(), content_type="application/json", headers=admin.headers
    )
    body = assert_error(response, 422)
    assert path in body["message"] and path in body["errors"], body
    assert stored() == before


def test_a_surrogate_pair_is_one_character_and_is_stored(client, admin):
    raw = '{"text": "The council cheered \\ud83d\\ude00 and approved 42 million dollars."}'
    response = client.post(
        "/api/v1/articles", data=raw.encode(), content_type="application/json", headers=admin.headers
    )
    assert (
        response.status_code == 201
        and "\U0001f600"
        in client.get(f"/api/v1/articles/{response.json['id']}", headers=admin.headers).json["text"]
    )


@pytest.mark.parametrize(
    ("raw", "path"),
    [
        ('{"email": "nul\\u0000@example.org", "role": "annotator"}', "$.email"),
        ('{"email": "a@example.org", "role": "annotator", "name": "\\ud800"}', "$.name"),
        ('{"email": "a@example.org", "role": "annot\\u0000ator"}', "$.role"),
    ],
)
def test_unstorable_text_in_a_user_is_422(client, admin, raw, path):
    before = stored()
    response = client.post(
        "/api/v1/users", data=raw.encode(), content_type="application/json", headers=admin.headers
    )
    assert path in assert_error(response, 422)["message"]
    assert stored() == before


def test_unstorable_text_in_a_verdict_is_422(client, reviewer):
    claim = make_article().claims[0]
    raw = '{"rating": "True", "claim_version": 1, "rationale": "x\\u0000"}'
    response = client.post(
        f"/api/v1/claims/{claim.id}/verdict",
        data=raw.encode(),
        content_type="application/json",
        headers=reviewer.headers,
    )
    assert "$.rationale" in assert_error(response, 422)["message"]


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity", "1e400", "-1e999"])
def test_non_finite_numbers_are_400(client, admin, constant):
    raw = f'{{"text": "A fact.", "title": "t", "n": {constant}}}'
    response = client.post(
        "/api/v1/articles", data=raw.encode(), content_type="application/json", headers=admin.headers
    )
    assert_error(response, 400)


@pytest.mark.parametrize("depth", [65, 1000, 100_000])
def test_json_nested_too_deeply_is_400(client, admin, depth):
    raw = '{"text": "A fact.", "x": ' + "[" * depth + "]" * depth + "}"
    response = client.post(
        "/api/v1/articles", data=raw.encode(), content_type="application/json", headers=admin.headers
    )
    assert_error(response, 400, "deep")


def test_json_nested_64_deep_is_accepted_by_the_door(client, admin):
    raw = '{"text": "A fact about 42 dollars.", "x": ' + "[" * 63 + "]" * 63 + "}"
    response = client.post(
        "/api/v1/articles", data=raw.encode(), content_type="application/json", headers=admin.headers
    )
    assert response.status_code == 201, response.json


def test_an_integer_of_5000_digits_is_400(client, admin):
    raw = '{"text": "A fact.", "n": ' + "9" * 5000 + "}"
    response = client.post(
        "/api/v1/articles", data=raw.encode(), content_type="application/json", headers=admin.headers
    )
    assert_error(response, 400)


@pytest.mark.parametrize(
    "query",
    ["annotator=%00", "status=a%00", "rating=%00", "x%00y=1", "limit=1%00"],
)
def test_a_nul_in_a_query_parameter_is_400_naming_it(client, reviewer, query):
    response = client.get(f"/api/v1/review/queue?{query}", headers=reviewer.headers)
    body = assert_error(response, 400, "NUL")
    name = query.split("=")[0].replace("%00", "\\0")
    assert name in body["message"]


def test_a_nul_in_a_page_query_or_form_is_400(client, reviewer):
    assert client.get("/login?next=%00").status_code == 400
    assert client.post("/login", data={"token": "a\x00b"}).status_code == 400
    sign_in(client, reviewer)
    assert client.get("/review?annotator=%00").status_code == 400
    response = client.post("/claims/1/decide", data={"csrf": "x", "reason": "a\x00"})
    assert response.status_code == 400 and b"reason" in response.data


def test_a_nul_in_a_path_is_400(client, admin):
    assert_error(client.get("/api/v1/jobs/a%00b", headers=admin.headers), 400, "NUL")


def test_the_cli_refuses_the_same_text_with_the_same_error(client, admin, runner, tmp_path):
    path = tmp_path / "nul.txt"
    path.write_text("The council approved\x00 42 million dollars.\n", encoding="utf-8")
    result = runner.invoke(args=["ingest", str(path), "--title", "Budget"])
    assert result.exit_code == 1 and "$.text" in result.output and "U+0000" in result.output
    api = client.post(
        "/api/v1/articles",
        json={"text": path.read_text(encoding="utf-8"), "title": "Budget"},
        headers=admin.headers,
    )
    assert api.json["message"] in result.output
    titled = runner.invoke(args=["ingest", str(tmp_path / "nul.txt"), "--title", "T\x00"])
    assert titled.exit_code == 1


def test_the_cli_refuses_a_nul_in_a_title(runner, tmp_path):
    path = tmp_path / "ok.txt"
    path.write_text(DEMO_TEXT, encoding="utf-8")
    result = runner.invoke(args=["ingest", str(path), "--title", "Bud\x00get"])
    assert result.exit_code == 1 and "$.title" in result.output


# --- workbench.validation --------------------------------------------------------------------------


def test_find_unstorable_and_sanitize():
    assert find_unstorable("plain ünïcødé 😀") is None
    assert find_unstorable("ab\x00c") == 2
    assert find_unstorable("a\ud800") == 1
    assert find_unstorable("\udfff") == 0
    assert sanitize("a\x00b\ud800c") == "a\ufffdb\ufffdc"
    assert sanitize_json({"k\x00": ["\ud800", 1]}) == {"k\ufffd": ["\ufffd", 1]}
    assert UNSTORABLE.search("ok") is None


def test_walk_json_strings_names_paths_and_keys():
    found = list(walk_json_strings({"a": ["x", {"b c": "y"}], "d": 1}))
    assert JSONString("$.a[0]", "x", False) in found
    assert JSONString('$.a[1]["b c"]', "y", False) in found
    assert JSONString('$.a[1]["b c"]', "b c", True) in found
    assert JSONString("$.a", "a", True) in found
    assert json_depth("s") == 0 and json_depth([]) == 1 and json_depth({"a": [[1]]}) == 3
    # Iterative: a value nested far past the recursion limit is walked without a RecursionError.
    deep: list = []
    for _ in range(50_000):
        deep = [deep]
    assert json_depth(deep) == 50_001 and list(walk_json_strings(deep)) == []
