"""The OpenAPI document: served, complete (every route, its security and its errors), committed.

Regenerate the committed copy with:

    flask --app workbench openapi write docs/openapi.json
"""

from __future__ import annotations

import json
import re

import pytest

from tests.conftest import REPO

DOCUMENT = REPO / "docs" / "openapi.json"
REGENERATE = "flask --app workbench openapi write docs/openapi.json"
PUBLIC = {"/api/v1/openapi.json", "/api/v1/docs/", "/api/v1/docs/assets/<filename>"}
METHODS = {"get", "post", "put", "patch", "delete"}


@pytest.fixture
def document(client) -> dict:
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200 and response.mimetype == "application/json"
    return response.json


def operations(document: dict):
    for path, item in document["paths"].items():
        for method, operation in item.items():
            if method in METHODS:
                yield method, path, operation


def test_the_committed_document_is_the_served_one(document):
    assert DOCUMENT.is_file(), f"docs/openapi.json is missing: run `{REGENERATE}`"
    committed = json.loads(DOCUMENT.read_text(encoding="utf-8"))
    assert committed == document, f"docs/openapi.json is out of date: run `{REGENERATE}`"


def test_every_api_route_is_documented(app, document):
    documented = {(m.upper(), p) for m, p, _ in operations(document)}
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/") or rule.rule in PUBLIC:
            continue
        path = re.sub(r"<(?:[^:>]+:)?([^>]+)>", r"{\1}", rule.rule)
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            assert (method, path) in documented, f"{method} {rule.rule} is not in the OpenAPI document"


def test_every_operation_names_its_security_and_errors(document):
    schemes = document["components"]["securitySchemes"]
    assert schemes["bearerAuth"] == {**schemes["bearerAuth"], "type": "http", "scheme": "bearer"}
    assert schemes["webhookSecret"]["in"] == "header"
    for method, path, operation in operations(document):
        where = f"{method.upper()} {path}"
        security = operation.get("security")
        assert security in ([{"bearerAuth": []}], [{"webhookSecret": []}]), where
        responses = operation["responses"]
        assert "401" in responses, where
        if security == [{"bearerAuth": []}]:
            assert "403" in responses and operation.get("x-roles"), where
        body = operation.get("requestBody", {}).get("content", {})
        if "application/json" in body and security == [{"bearerAuth": []}]:
            assert {"400", "413", "415", "422"} <= set(responses), where
        if "{" in path:
            assert "404" in responses, where
        assert any(code.startswith("2") for code in responses), where


def test_errors_are_documented_in_the_one_shape(document):
    error = document["components"]["schemas"]["Error"]
    assert set(error["required"]) == {"code", "status", "message", "errors"}
    for name in ("BadRequest", "Unauthorized", "Forbidden", "NotFound", "ValidationError"):
        content = document["components"]["responses"][name]["content"]["application/json"]
        assert content["schema"] == {"$ref": "#/components/schemas/Error"}


def test_smorest_and_webargs_errors_take_the_one_shape(client, admin):
    shape = {"code", "status", "message", "errors"}
    refused = client.get("/api/v1/articles?limit=x", headers=admin.headers)
    assert refused.status_code == 422 and set(refused.json) == shape
    assert refused.json["code"] == "validation_error" and "limit" in refused.json["errors"]
    assert "query parameter limit" in refused.json["message"]
    missing = client.get("/api/v1/no-such-thing", headers=admin.headers)
    assert missing.status_code == 404 and set(missing.json) == shape
    wrong = client.delete("/api/v1/articles", headers=admin.headers)
    assert wrong.status_code == 405 and set(wrong.json) == shape
    assert set(wrong.headers["Allow"].replace(" ", "").split(",")) >= {"GET", "POST"}


def test_the_docs_page_loads_only_its_own_assets(client):
    page = client.get("/api/v1/docs/")
    assert page.status_code == 200 and page.mimetype == "text/html"
    html = page.get_data(as_text=True)
    assert "<script>" not in html and "<style" not in html and "style=" not in html
    sources = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert sources and all(s.startswith("/") for s in sources), sources
    for source in sources:
        asset = client.get(source)
        assert asset.status_code == 200, source
        asset.close()
    csp = page.headers["Content-Security-Policy"]
    assert "script-src 'self';" in csp and "style-src 'self';" in csp
    assert client.get("/api/v1/docs/assets/index.html").status_code == 404  # only what the page uses


def test_every_date_time_in_a_response_is_utc_with_z(client, admin):
    client.post(
        "/api/v1/articles", json={"text": "The council approved 42 million dollars."}, headers=admin.headers
    )
    page = client.get("/api/v1/articles", headers=admin.headers).json
    detail = client.get(f"/api/v1/articles/{page['items'][0]['id']}", headers=admin.headers).json
    stamps = [
        page["items"][0]["created_at"],
        detail["created_at"],
        *(c["created_at"] for c in detail["claims"]),
    ]
    assert stamps and all(re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z", s) for s in stamps), stamps
