"""Input that means something other than it looks is refused, named, and changes nothing.

Each case here was once taken silently: a key sent twice (a proxy reads the first, we read the
last), an id sent as 1.5 (cut to 1), a mistyped filter (ignored: the export held everything), a
rating sent with accept (ignored: another rating stored), an annotation named twice, a URL with a
line break (stored, then refused by the HTTP client at every delivery).
"""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa

from tests.test_review import act, labelled
from workbench.db import db
from workbench.models import AuditEvent, ExportManifest, OutboundEndpoint, User, Verdict
from workbench.validation import loads_strict


def counts() -> tuple[int, ...]:
    db.session.expire_all()
    return tuple(
        db.session.scalar(sa.select(sa.func.count()).select_from(m))
        for m in (AuditEvent, Verdict, ExportManifest, OutboundEndpoint, User)
    )


def raw_post(client, path, user, text: str | bytes):
    return client.post(path, headers={**user.headers, "Content-Type": "application/json"}, data=text)


@pytest.fixture
def unanimous(client, app):
    from tests.factories import make_article

    claim = next(c for c in make_article().claims if c.checkworthy)
    return labelled(client, claim, ["False", "False"])


def test_a_key_sent_twice_is_refused_naming_it(client, reviewer, unanimous):
    before = counts()
    body = (
        f'{{"action": "accept", "annotation_id": {unanimous.annotations[0].id}, '
        f'"claim_version": {unanimous.version}, "rationale": "a", "rationale": "b"}}'
    )
    response = raw_post(client, f"/api/v1/claims/{unanimous.id}/review", reviewer, body)
    assert response.status_code == 400
    assert "'rationale' appears more than once" in response.json["message"]
    assert counts() == before
    # The same body with the key once is taken: the refusal was for the repeat.
    once = body.replace(', "rationale": "b"', "")
    assert raw_post(client, f"/api/v1/claims/{unanimous.id}/review", reviewer, once).status_code == 201


def test_the_json_reader_refuses_repeats_at_any_depth_and_anything_but_utf8():
    with pytest.raises(ValueError, match="'b' appears more than once"):
        loads_strict('{"a": [{"b": 1, "b": 1}]}')
    with pytest.raises(UnicodeDecodeError):
        loads_strict(json.dumps({"a": 1}).encode("utf-16"))
    with pytest.raises(ValueError, match="BOM"):
        loads_strict(b"\xef\xbb\xbf{}")
    assert loads_strict(b'{"a": [1, {"b": "\xc3\xa9"}]}') == {"a": [1, {"b": "é"}]}


def test_a_utf16_body_is_refused(client, admin):
    body = json.dumps({"text": "The council spent 4 million dollars in 2023."}).encode("utf-16")
    response = raw_post(client, "/api/v1/articles", admin, body)
    assert response.status_code == 400 and "UTF-8" in response.json["message"]


@pytest.mark.parametrize("article_id", [1.5, 1.0, True])
def test_an_id_that_is_not_an_integer_is_refused_not_cut(client, reviewer, unanimous, article_id):
    before = counts()
    response = client.post(
        "/api/v1/exports", headers=reviewer.headers, json={"format": "csv", "article_id": article_id}
    )
    assert response.status_code == 422 and "article_id" in response.json["errors"]
    assert counts() == before


@pytest.mark.parametrize(
    "query, named",
    [
        ("article=5", "article"),
        ("formt=csv", "formt"),
        ("format=csv&format=json", "format"),
        ("limit=1&limit=2", "limit"),
    ],
)
def test_an_unknown_or_repeated_query_parameter_is_refused(client, reviewer, unanimous, query, named):
    before = counts()
    path = "/api/v1/exports" if named == "limit" else "/api/v1/exports/verified-claims"
    response = client.get(f"{path}?{query}", headers=reviewer.headers)
    assert response.status_code == 422, response.data[:200]
    assert named in response.json["errors"] and named in response.json["message"]
    assert counts() == before  # no manifest, no audit event for an export that did not run


def test_a_mistyped_body_field_is_refused(client, reviewer, unanimous):
    before = counts()
    response = client.post(
        "/api/v1/exports", headers=reviewer.headers, json={"format": "csv", "artcle_id": unanimous.article_id}
    )
    assert response.status_code == 422 and "artcle_id" in response.json["errors"]
    verdict = client.post(
        f"/api/v1/claims/{unanimous.id}/verdict",
        headers=reviewer.headers,
        json={"rating": "False", "claim_version": unanimous.version, "evidence_urls": ["https://a.example"]},
    )
    assert verdict.status_code == 422 and "evidence_urls" in verdict.json["errors"]
    assert counts() == before


def test_accept_refuses_a_rating_it_would_not_store(client, reviewer, unanimous):
    before = counts()
    annotation_ids = sorted(a.id for a in unanimous.annotations)
    response = act(
        client, reviewer, unanimous.id, action="accept", annotation_ids=annotation_ids, rating="True"
    )
    assert response.status_code == 422
    assert "rating" in response.json["errors"] and "override" in response.json["message"]
    for field, body in (
        ("rationale", {"action": "reject", "reason": "not a claim", "rationale": "not used"}),
        ("reason", {"action": "publish", "reason": "not used"}),
        ("evidence", {"action": "send_back", "reason": "check it", "evidence": ["https://a.example"]}),
    ):
        refused = act(client, reviewer, unanimous.id, **body)
        assert refused.status_code == 422 and field in refused.json["errors"], (body, refused.json)
    assert counts() == before
    accepted = act(client, reviewer, unanimous.id, action="accept", annotation_ids=annotation_ids)
    assert accepted.status_code == 201 and accepted.json["rating"] == "False"


@pytest.mark.parametrize("path", ["review", "verdict"])
def test_an_annotation_named_twice_is_refused(client, reviewer, unanimous, path):
    before = counts()
    first = unanimous.annotations[0].id
    body = {"annotation_ids": [first, first], "claim_version": unanimous.version}
    body.update({"action": "accept"} if path == "review" else {"rating": "False", "rationale": "r"})
    response = client.post(f"/api/v1/claims/{unanimous.id}/{path}", headers=reviewer.headers, json=body)
    assert response.status_code == 422 and "annotation_ids" in response.json["errors"]
    assert str(first) in response.json["message"]
    assert counts() == before


def test_an_annotation_id_given_as_text_is_refused(client, reviewer, unanimous):
    body = {
        "action": "accept",
        "annotation_ids": [str(unanimous.annotations[0].id)],
        "claim_version": unanimous.version,
    }
    response = client.post(f"/api/v1/claims/{unanimous.id}/review", headers=reviewer.headers, json=body)
    assert response.status_code == 422 and "annotation_ids" in response.json["errors"]


def test_an_evidence_link_longer_than_a_browser_keeps_is_refused(client, reviewer, unanimous):
    body = {
        "rating": "False",
        "rationale": "r",
        "claim_version": unanimous.version,
        "evidence": ["https://example.org/" + "a" * 3000],
    }
    response = client.post(f"/api/v1/claims/{unanimous.id}/verdict", headers=reviewer.headers, json=body)
    assert response.status_code == 422 and "evidence" in response.json["errors"]


@pytest.mark.parametrize(
    "url, said",
    [
        ("http://127.0.0.1/\r\nX-Injected: 1", "U+000D"),
        ("http://127.0.0.1/\x7f", "U+007F"),
        ("http://127.0.0.1/a b", "U+0020"),
        ("http://127.0.0.1:0/hook", "port 0"),
    ],
)
def test_an_endpoint_url_the_client_could_never_call_is_refused(app, client, admin, url, said):
    app.config["OUTBOUND_ALLOW_PRIVATE"] = True
    before = counts()
    response = client.post(
        "/api/v1/outbound/endpoints",
        headers=admin.headers,
        json={"url": url, "event_types": ["verdict.published"]},
    )
    assert response.status_code == 422 and said in response.json["message"]
    assert counts() == before
    ok = client.post(
        "/api/v1/outbound/endpoints",
        headers=admin.headers,
        json={"url": "http://127.0.0.1:9/hook", "event_types": ["verdict.published"]},
    )
    assert ok.status_code == 201


def test_an_article_url_without_a_host_is_refused(client, admin):
    text = "The council spent 4 million dollars on the harbour in 2023, up 3 percent."
    response = client.post("/api/v1/articles", headers=admin.headers, json={"text": text, "url": "http://"})
    assert response.status_code == 422 and response.json["errors"]["url"] == ["names no host"]
    ok = client.post(
        "/api/v1/articles", headers=admin.headers, json={"text": text, "url": "http://a.example/x"}
    )
    assert ok.status_code == 201


def test_a_user_address_the_export_filter_could_not_name_is_refused(client, admin):
    before = counts()
    response = client.post(
        "/api/v1/users", headers=admin.headers, json={"email": "a b@c.org", "role": "reviewer"}
    )
    assert response.status_code == 422 and "not an email address" in response.json["message"]
    assert counts() == before


def test_the_webhook_event_list_refuses_an_unknown_status(client, admin):
    response = client.get("/api/v1/hooks/label-studio/events?status=bogus", headers=admin.headers)
    assert response.status_code == 422 and "status" in response.json["errors"]
    assert (
        client.get("/api/v1/hooks/label-studio/events?status=malformed", headers=admin.headers).status_code
        == 200
    )


def test_a_verdict_on_an_unknown_annotation_names_it(client, reviewer, unanimous):
    body = {"rating": "False", "annotation_ids": [999999], "claim_version": unanimous.version}
    response = client.post(f"/api/v1/claims/{unanimous.id}/verdict", headers=reviewer.headers, json=body)
    assert response.status_code == 422 and "999999" in response.json["message"]
    assert response.json["errors"] == {"annotation_ids": ["unknown for this claim"]}
