"""The browser pages under attack: open redirects, copied session cookies, login CSRF, hostile
evidence links, oversized forms; and the headers, cookie flags and markup every page must have."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from urllib.parse import urlencode, urljoin, urlsplit

import pytest
import requests
import sqlalchemy as sa
from flask import url_for

from tests.factories import make_article
from tests.labelstudio_helpers import live_server
from tests.served import workbench_serve
from tests.test_review import labelled
from tests.test_web import csrf, sign_in
from workbench import audit
from workbench.db import db
from workbench.models import Annotation, AuditEvent, User, Verdict
from workbench.web.security import CONTENT_SECURITY_POLICY, same_site_path

# --- helpers --------------------------------------------------------------------------------------


def where_a_browser_goes(location: str, base: str = "http://workbench.test/login") -> str:
    """Resolve a Location header the way a browser's URL parser does (WHATWG URL): it strips
    leading/trailing C0 controls and spaces, drops every tab, CR and LF, and reads ``\\`` as ``/``
    in http(s) URLs. Return the host the browser would then open."""
    cleaned = re.sub(r"[\t\r\n]", "", location.strip("\x00- ")).replace("\\", "/")
    return urlsplit(urljoin(base, cleaned)).netloc


def login_form_token(client, url: str = "/login") -> str:
    return csrf(client.get(url).data)


HOSTILE_NEXT = [
    "/%09/evil.example",  # tab: browsers drop it, leaving //evil.example
    "/%0A/evil.example",
    "/%0D/evil.example",
    "/%0D%0ASet-Cookie:%20stolen=1",  # header injection: was a 500
    "%09//evil.example",
    "//evil.example",
    "%2F%2Fevil.example",
    "/%5Cevil.example",  # /\evil.example: a backslash is a slash to browsers
    "/%5C/evil.example",
    "%5C%5Cevil.example",
    "https://evil.example/",
    "https:evil.example",
    "http:/evil.example",
    "javascript:alert(document.domain)",
    "data:text/html,<script>alert(1)</script>",
    "%20//evil.example",
    "%E2%80%8B//evil.example",  # zero-width space
    "/%E3%80%80/evil.example",  # ideographic space
    "evil.example",
    "?next=//evil.example",
]


# --- open redirect after sign-in ------------------------------------------------------------------


@pytest.mark.parametrize("target", HOSTILE_NEXT)
def test_sign_in_never_redirects_off_site(client, reviewer, target):
    url = f"/login?next={target}"
    response = client.post(url, data={"token": reviewer.token, "csrf": login_form_token(client, url)})
    assert response.status_code == 302, response.status_code
    location = response.headers["Location"]
    assert location == "/", location  # the dashboard
    assert where_a_browser_goes(location) == "workbench.test"


@pytest.mark.parametrize("target", ["/review", "/review?page=2&rating=False", "/claims/5#decide", "/"])
def test_sign_in_still_follows_a_same_site_path(client, reviewer, target):
    url = "/login?" + urlencode({"next": target})
    response = client.post(url, data={"token": reviewer.token, "csrf": login_form_token(client, url)})
    assert response.status_code == 302 and response.headers["Location"] == target


def test_same_site_path_refuses_what_leaves_the_site():
    for target in ("/\t/evil.example", "/\r\n/x", "/\\evil", "//evil", "https://x", "x", "", None, "/\x00"):
        assert same_site_path(target) is None, target
    assert same_site_path("/" + "a" * 5000) is None
    assert same_site_path("/claims/1?x=%2F%2F") == "/claims/1?x=%2F%2F"


@pytest.mark.parametrize("target", ["/%09/evil.example", "/%0D%0A/evil.example", "/%5Cevil.example"])
def test_over_http_sign_in_never_redirects_off_site(app, reviewer, target):
    with live_server(app) as base, requests.Session() as browser:
        url = f"{base}/login?next={target}"
        form = browser.get(url, timeout=30)
        assert form.status_code == 200
        response = browser.post(
            url,
            data={"token": reviewer.token, "csrf": csrf(form.content)},
            allow_redirects=False,
            timeout=30,
        )
        assert response.status_code == 302, response.status_code
        location = response.headers["Location"]
        assert where_a_browser_goes(location, base + "/login") == urlsplit(base).netloc, location
        assert urljoin(base + "/login", location) == base + "/"


# --- sign-out ends the session everywhere ---------------------------------------------------------


def session_cookie(client) -> str:
    cookie = client.get_cookie("session")
    assert cookie is not None
    return cookie.value


def test_a_cookie_copied_before_sign_out_is_dead_after_it(app, client, reviewer):
    sign_in(client, reviewer)
    page = client.get("/review")
    assert page.status_code == 200
    copied = session_cookie(client)

    signed_out = client.post("/logout", data={"csrf": csrf(page.data)})
    assert signed_out.status_code == 302 and signed_out.headers["Location"].endswith("/login")

    thief = app.test_client()
    thief.set_cookie("session", copied)
    response = thief.get("/review")
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    assert thief.get("/").status_code == 302
    # Nor can the copy post a decision, even with the page's form token.
    assert thief.post("/logout", data={"csrf": csrf(page.data)}).status_code == 302

    # The sign-out is on the record, without the session id itself.
    event = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "session.ended"))
    assert event is not None and event.actor == reviewer.user.email
    assert event.subject_type == "session" and len(event.subject_id) == 64
    assert audit.verify().ok


def test_a_sign_out_holds_in_another_process(app, client, reviewer, database_url, tmp_path):
    """Two processes share nothing but the database: sign out in one, the copy dies in the other."""
    instance = tmp_path / "served"
    instance.mkdir()
    with workbench_serve(database_url, instance) as url, requests.Session() as browser:
        form = browser.get(f"{url}/login", timeout=30)
        signed_in = browser.post(
            f"{url}/login",
            data={"token": reviewer.token, "csrf": csrf(form.content)},
            allow_redirects=False,
            timeout=30,
        )
        assert signed_in.status_code == 302
        copied = browser.cookies["session"]
        assert browser.get(f"{url}/review", allow_redirects=False, timeout=30).status_code == 200

        # This process (the test client, the same secret key) signs the copy out...
        client.set_cookie("session", copied)
        page = client.get("/review")
        assert page.status_code == 200
        assert client.post("/logout", data={"csrf": csrf(page.data)}).status_code == 302

        # ...and the served process refuses the copy from then on.
        again = browser.get(f"{url}/review", allow_redirects=False, timeout=30)
        assert again.status_code == 302 and "/login" in again.headers["Location"]


def test_signing_in_again_starts_a_new_session(app, client, reviewer):
    sign_in(client, reviewer)
    first = session_cookie(client)
    page = client.get("/")
    client.post("/logout", data={"csrf": csrf(page.data)})
    sign_in(client, reviewer)
    assert client.get("/review").status_code == 200  # the old session's end does not touch the new one
    old = app.test_client()
    old.set_cookie("session", first)
    assert old.get("/review").status_code == 302


def test_a_forged_session_without_a_session_id_is_refused(client, reviewer):
    """A cookie holding only a user id (as before sessions had ids) cannot be revoked: refused."""
    with client.session_transaction() as session:
        session["user_id"] = reviewer.user.id
    assert client.get("/review").status_code == 302


def test_a_session_ends_when_its_users_token_changes_or_user_is_disabled(client, reviewer):
    sign_in(client, reviewer)
    assert client.get("/review").status_code == 200
    user = db.session.get(User, reviewer.user.id)
    user.token_hash = "f" * 64
    db.session.commit()
    assert client.get("/review").status_code == 302


# --- login CSRF -------------------------------------------------------------------------------------


def test_a_cross_site_sign_in_post_is_refused(client, reviewer, admin):
    # An attacker's page posts its own token to the victim's browser: no form token, refused.
    response = client.post("/login", data={"token": admin.token})
    assert response.status_code == 400
    assert client.get("/").status_code == 302  # not signed in as anyone

    # A form token from the attacker's own session does not fit the victim's session either.
    attacker = client.application.test_client()
    foreign = login_form_token(attacker)
    login_form_token(client)  # the victim's session has a token of its own
    response = client.post("/login", data={"token": admin.token, "csrf": foreign})
    assert response.status_code == 400
    assert client.get("/").status_code == 302


def test_the_sign_in_form_carries_its_token(client):
    page = client.get("/login")
    assert page.status_code == 200 and csrf(page.data)


# --- the decide form loads the API's schema ------------------------------------------------------


@pytest.fixture
def split_claim(client):
    article = make_article()
    return labelled(client, next(c for c in article.claims if c.checkworthy), ["False", "Half true"])


def override(client, claim, token, **fields):
    data = {"csrf": token, "action": "override", "claim_version": claim.version, "rating": "False"}
    data.update(fields)
    return client.post(f"/claims/{claim.id}/decide", data=data, follow_redirects=True)


def api_message(client, user, claim, **fields) -> str:
    body = {"action": "override", "claim_version": claim.version, "rating": "False", **fields}
    response = client.post(f"/api/v1/claims/{claim.id}/review", json=body, headers=user.headers)
    assert response.status_code == 422, response.json
    return response.json["message"]


def verdicts() -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(Verdict))


@pytest.mark.parametrize(
    "evidence",
    ["javascript:alert(document.cookie)", "JaVaScRiPt:alert(1)", "data:text/html,hi", "not-a-url"],
)
def test_the_form_refuses_evidence_the_api_refuses_with_its_message(client, reviewer, split_claim, evidence):
    message = api_message(client, reviewer, split_claim, rationale="r", evidence=[evidence])
    sign_in(client, reviewer)
    token = csrf(client.get(f"/claims/{split_claim.id}").data)
    page = override(client, split_claim, token, rationale="r", evidence=evidence)
    assert b"Not recorded" in page.data and message.encode() in page.data
    assert verdicts() == 0


def test_the_form_takes_only_http_links_as_evidence(client, reviewer, split_claim):
    sign_in(client, reviewer)
    token = csrf(client.get(f"/claims/{split_claim.id}").data)
    page = override(client, split_claim, token, rationale="r", evidence="ftp://files.example.org/a.csv")
    assert b"Not recorded: invalid request: field evidence" in page.data and b"http" in page.data
    assert verdicts() == 0
    page = override(
        client,
        split_claim,
        token,
        rationale="r",
        evidence="https://stats.example.org/a\nhttp://b.example.org/",
    )
    assert b"Recorded: override" in page.data
    assert db.session.scalar(sa.select(Verdict.evidence)) == [
        "https://stats.example.org/a",
        "http://b.example.org/",
    ]


def test_the_form_refuses_a_rationale_the_api_refuses(client, reviewer, split_claim):
    long = "x" * 20001
    message = api_message(client, reviewer, split_claim, rationale=long)
    sign_in(client, reviewer)
    token = csrf(client.get(f"/claims/{split_claim.id}").data)
    page = override(client, split_claim, token, rationale=long)
    assert message.startswith("invalid request: field rationale: Longer than")
    assert b"Not recorded: invalid request: field rationale" in page.data
    assert verdicts() == 0


def test_a_5_mb_rationale_is_refused_before_it_is_read(client, reviewer, split_claim):
    sign_in(client, reviewer)
    token = csrf(client.get(f"/claims/{split_claim.id}").data)
    response = client.post(
        f"/claims/{split_claim.id}/decide",
        data={
            "csrf": token,
            "action": "override",
            "claim_version": split_claim.version,
            "rating": "False",
            "rationale": "x" * (5 * 1024 * 1024),
        },
    )
    assert response.status_code == 413
    assert verdicts() == 0


def test_hostile_links_from_annotators_and_articles_are_not_links(client, reviewer, split_claim):
    annotation = split_claim.annotations[0]
    db.session.get(Annotation, annotation.id).evidence_urls = [
        "javascript:alert(1)",
        "https://ok.example.org/",
    ]
    split_claim.article.url = "javascript:alert(2)"
    db.session.commit()
    sign_in(client, reviewer)
    page = client.get(f"/claims/{split_claim.id}").data
    article = client.get(f"/articles/{split_claim.article_id}").data
    for html in (page, article):
        assert b'href="javascript:' not in html.lower()
    assert b'href="https://ok.example.org/"' in page and b"javascript:alert(1)" in page


# --- headers and cookie flags --------------------------------------------------------------------

EXPECTED_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}


def test_the_policy_is_strict():
    for directive in (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "form-action 'self'",
        "frame-ancestors 'none'",
        "base-uri 'none'",
        "object-src 'none'",
    ):
        assert directive in CONTENT_SECURITY_POLICY
    assert "unsafe" not in CONTENT_SECURITY_POLICY


def test_every_kind_of_response_carries_the_security_headers(app, client, admin):
    app.config["PROPAGATE_EXCEPTIONS"] = False

    @app.get("/boom-for-test")
    def boom():
        raise RuntimeError("boom")

    answers = {
        "login page": client.get("/login"),
        "redirect": client.get("/review"),
        "static": client.get("/static/workbench.css"),
        "health": client.get("/health"),
        "api": client.get("/api/v1/articles", headers=admin.headers),
        "api 401": client.get("/api/v1/articles"),
        "api 404": client.get("/api/v1/claims/999999", headers=admin.headers),
        "page 404": client.get("/no-such-page"),
        "400": client.post("/login", data={"token": "x"}),
        "500": client.get("/boom-for-test"),
    }
    sign_in(client, admin)
    answers["dashboard"] = client.get("/")
    for name, response in answers.items():
        for header, value in EXPECTED_HEADERS.items():
            assert response.headers.get(header) == value, (name, header, response.headers.get(header))
    assert answers["500"].status_code == 500 and answers["api 404"].status_code == 404
    assert answers["dashboard"].headers["Cache-Control"] == "no-store"
    for response in answers.values():
        response.close()  # the static file's handle


def test_the_session_cookie_is_httponly_and_lax(client, reviewer):
    form = client.get("/login")
    response = client.post("/login", data={"token": reviewer.token, "csrf": csrf(form.data)})
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie


def test_the_session_cookie_is_secure_when_published_over_https(database_url, tmp_path, monkeypatch):
    from tests.conftest import base_config
    from workbench import create_app

    monkeypatch.setenv("WORKBENCH_INSTANCE_PATH", str(tmp_path / "instance"))
    app = create_app({**base_config(database_url, tmp_path), "PUBLIC_URL": "https://workbench.example.org"})
    with app.app_context():
        response = app.test_client().get("/login", base_url="https://workbench.example.org")
        cookie = response.headers["Set-Cookie"]
        assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie
        db.session.remove()
        db.engine.dispose()


# --- the markup of every page: nothing inline, every control labelled ------------------------------


class PageAudit(HTMLParser):
    """Collect what the policy forbids and which form controls lack a label."""

    def __init__(self) -> None:
        super().__init__()
        self.inline: list[str] = []
        self.controls: list[dict[str, str | None]] = []
        self.label_for: set[str] = set()
        self.stylesheets: list[str] = []
        self.viewport = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        # A script the page loads from this site is fine (CSP script-src 'self'); one written
        # into the page is not.
        src = attributes.get("src") or ""
        if tag == "style" or (tag == "script" and not (src.startswith("/") and not src.startswith("//"))):
            self.inline.append(f"<{tag}>")
        for name, value in attrs:
            if name == "style" or name.startswith("on"):
                self.inline.append(f"<{tag} {name}=…>")
            if name in ("href", "src", "action", "formaction") and (value or "").strip().lower().startswith(
                "javascript:"
            ):
                self.inline.append(f"<{tag} {name}={value}>")
        if tag == "label" and attributes.get("for"):
            self.label_for.add(attributes["for"])
        if tag in ("input", "select", "textarea") and attributes.get("type") != "hidden":
            self.controls.append({"tag": tag, **attributes})
        if tag == "link" and attributes.get("rel") == "stylesheet":
            self.stylesheets.append(attributes.get("href") or "")
        if tag == "meta" and attributes.get("name") == "viewport":
            self.viewport = "width=device-width" in (attributes.get("content") or "")

    def unlabelled(self) -> list[dict]:
        return [
            c
            for c in self.controls
            if not (c.get("aria-label") or c.get("aria-labelledby") or c.get("id") in self.label_for)
        ]


def every_page(app, client, admin, claim) -> dict[str, bytes]:
    """Render every GET page of the web blueprint as an admin (plus the sign-in page and errors)."""
    values = {"claim_id": claim.id, "article_id": claim.article_id}
    pages = {"/login (signed out)": client.get("/login").data}
    sign_in(client, admin)
    for rule in app.url_map.iter_rules():
        if not rule.endpoint.startswith("web.") or "GET" not in rule.methods:
            continue
        with app.test_request_context():
            url = url_for(rule.endpoint, **{name: values.get(name, 1) for name in rule.arguments})
        with client.get(url) as response:  # read and closed: some pages stream (downloads)
            body = response.get_data()
        assert response.status_code < 500, (url, response.status_code)
        if response.mimetype == "text/html":
            pages[url] = body
    pages["404 article"] = client.get("/articles/999999").data
    pages["404 page"] = client.get("/no-such-page").data
    return pages


def test_no_page_has_inline_script_or_style_and_every_control_is_labelled(app, client, admin, split_claim):
    pages = every_page(app, client, admin, split_claim)
    assert {
        "/",
        "/review",
        "/audit",
        f"/claims/{split_claim.id}",
        f"/articles/{split_claim.article_id}",
    } <= set(pages)
    for url, html in pages.items():
        audit_ = PageAudit()
        audit_.feed(html.decode())
        assert audit_.inline == [], (url, audit_.inline)
        assert audit_.unlabelled() == [], (url, audit_.unlabelled())
        assert audit_.viewport, url
        assert audit_.stylesheets == ["/static/workbench.css"], url
    # The claim page has the most controls: they are there, and labelled.
    claim_page = PageAudit()
    claim_page.feed(pages[f"/claims/{split_claim.id}"].decode())
    assert len(claim_page.controls) >= 5


def test_the_stylesheet_is_served_and_covers_narrow_screens(client):
    with client.get("/static/workbench.css") as response:
        assert response.status_code == 200 and response.mimetype == "text/css"
        css = response.get_data(as_text=True)
    for rule in (":focus-visible", "overflow-x: auto", "overflow-wrap: anywhere", "font-size: 1rem"):
        assert rule in css, rule


def test_the_api_takes_only_http_evidence_too(client, reviewer):
    """One rule at both doors: the API refuses what the decide form refuses."""
    response = client.post(
        "/api/v1/claims/1/review",
        headers=reviewer.headers,
        json={
            "action": "override",
            "rating": "False",
            "rationale": "x",
            "claim_version": 1,
            "evidence": ["ftp://e.org/a"],
        },
    )
    assert response.status_code == 422 and "evidence" in response.json["errors"]
