"""Random bytes, JSON and Unicode (NUL and lone surrogates included) at every POST route: no 5xx.

The routes are read from the app's URL map, so a new POST route is fuzzed without editing this
file. Only Label Studio's webhook is left out (its door is tested with its own rules).
"""

from __future__ import annotations

import json
import re
import time
from urllib.parse import quote_from_bytes

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.factories import make_article, make_user
from tests.test_input_limits import raw_request, serve
from tests.test_review import labelled
from workbench.db import db
from workbench.validation import MAX_INT
from workbench.web.security import start_session

SKIPPED = {"/api/v1/hooks/label-studio"}  # owned by the webhook's tests
SHAPE = {"code", "status", "message", "errors"}
# A dead Label Studio (the tests point it at the discard port) is an answer, not a crash.
LABEL_STUDIO_DOWN = {(502, "label_studio_error"), (503, "label_studio_unavailable")}
CSRF = "fuzz-csrf-token"
FUZZ = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    database=None,
)

# Text that reaches every corner: any code point, with one that databases refuse (NUL, a lone
# surrogate) or other trouble spliced in most of the time.
_NASTY = st.sampled_from(["", "\x00", "\ud800", "\udfff", "\ud83d", "\ufffd", "\u202e", "'", '"', "\\"])
_ANY = st.text(alphabet=st.characters(codec=None, exclude_categories=()), max_size=30)
TEXT = st.builds(lambda head, nasty, tail: head + nasty + tail, _ANY, _NASTY, _ANY)
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    TEXT,
)
JSON_VALUES = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(TEXT, inner, max_size=4),
    max_leaves=12,
)
# Names the views read, so random values reach past "not an object" into the rules behind.
FIELDS = [
    "text",
    "title",
    "url",
    "publisher",
    "author",
    "published_at",
    "email",
    "role",
    "name",
    "action",
    "rating",
    "rationale",
    "reason",
    "evidence",
    "claim_version",
    "annotation_id",
    "annotation_ids",
    "token",
    "csrf",
]
PLAUSIBLE = st.one_of(
    TEXT,
    st.sampled_from(["accept", "override", "reject", "send_back", "publish", "reopen", "True", "admin"]),
    st.integers(min_value=-2, max_value=2**64),
    st.lists(st.one_of(st.integers(), TEXT), max_size=3),
    JSON_VALUES,
)
PLAUSIBLE_BODY = {
    "text": "The council approved 42 million dollars on Tuesday.",
    "title": "Budget",
    "url": "https://example.org/a",
    "publisher": "Wire",
    "author": "Reporter",
    "email": "fuzz@example.org",
    "role": "annotator",
    "name": "Fuzz",
    "action": "reject",
    "rating": "True",
    "rationale": "Because",
    "reason": "Because",
    "token": "wb_",
}
OBJECTS = st.dictionaries(st.one_of(st.sampled_from(FIELDS), TEXT), PLAUSIBLE, max_size=8)
FORMS = st.dictionaries(st.one_of(st.sampled_from(FIELDS), TEXT), TEXT, max_size=6)


def post_routes(app) -> list[str]:
    """Every POST route's URL rule, from the app's URL map, less the webhook."""
    rules = {r.rule for r in app.url_map.iter_rules() if "POST" in (r.methods or ())}
    return sorted(rules - SKIPPED)


def concrete(rule: str, ids: dict[str, int]) -> str:
    """Fill a rule's variables with ids that exist (``<int:claim_id>`` → a real claim)."""

    def fill(match: re.Match) -> str:
        converter, name = match.group(1) or "", match.group(2)
        return str(ids.get(name, 1)) if converter.startswith("int") else "fuzz"

    return re.sub(r"<(?:(\w+(?:\([^)]*\))?):)?(\w+)>", fill, rule)


def check(response_status: int, content_type: str, payload: bytes, where: str) -> None:
    """No crash; a JSON error in the one shape; a 502/503 only for a dead Label Studio."""
    body = None
    if content_type.startswith("application/json") and payload:
        body = json.loads(payload)
    if response_status >= 500:
        code = body.get("code") if isinstance(body, dict) else None
        assert (response_status, code) in LABEL_STUDIO_DOWN, (where, response_status, payload[:400])
    if response_status >= 400 and body is not None:
        assert isinstance(body, dict) and set(body) >= SHAPE, (where, body)
        assert body["status"] == response_status, (where, body)


@pytest.fixture
def world(app, client):
    """An admin, a claim in review, and ids for the routes' variables."""
    admin = make_user("admin")
    target = make_user("annotator")
    article = make_article()
    claim = labelled(client, next(c for c in article.claims if c.checkworthy), ["False", "Half true"])
    ids = {"claim_id": claim.id, "article_id": article.id, "user_id": target.user.id}
    return {"admin": admin, "ids": ids}


class Poster:
    """Post fuzzed bodies through the test client as a signed-in admin (token and session)."""

    def __init__(self, client, admin):
        self.client, self.admin = client, admin

    def sign_in(self) -> None:
        with self.client.session_transaction() as session:
            start_session(session, self.admin.user)  # a live session: an id that no sign-out ended
            session["csrf"] = CSRF

    def post(self, path: str, data: bytes, content_type: str) -> None:
        self.sign_in()  # a fuzzed /logout must not turn the rest into redirects to /login
        response = self.client.post(path, data=data, content_type=content_type, headers=self.admin.headers)
        check(response.status_code, response.content_type or "", response.get_data(), f"POST {path}")


def form_bytes(fields: dict[str, str], *, with_csrf: bool) -> bytes:
    """URL-encode a form; surrogates go out as the invalid UTF-8 they would be on the wire."""
    if with_csrf:
        fields = {**fields, "csrf": CSRF}

    def wire(s: str) -> str:
        return quote_from_bytes(s.encode("utf-8", "surrogatepass"))

    return "&".join(f"{wire(k)}={wire(v)}" for k, v in fields.items()).encode()


def test_the_fuzzed_routes_are_read_from_the_url_map(app):
    routes = post_routes(app)
    assert (
        "/api/v1/articles" in routes
        and "/api/v1/users" in routes
        and "/claims/<int:claim_id>/decide" in routes
    )
    assert not SKIPPED & set(routes)


def fuzz_every_route(app, poster: Poster, ids: dict[str, int], run) -> None:
    """Run ``run(path, is_api, examples)`` under hypothesis for each POST route.

    A route that waits on the dead Label Studio (about a second a call) gets fewer examples.
    """
    routes = post_routes(app)
    assert routes, "no POST routes found"
    for rule in routes:
        path = concrete(rule, ids)
        started = time.perf_counter()
        poster.post(path, b"{}", "application/json")
        slow = time.perf_counter() - started > 0.25
        run(path, rule.startswith("/api/"), 3 if slow else FUZZ.max_examples)


def test_random_bytes_crash_no_post_route(app, client, world):
    poster = Poster(client, world["admin"])

    def run(path: str, is_api: bool, examples: int) -> None:
        @settings(FUZZ, max_examples=examples)
        @given(
            data=st.binary(max_size=300), content_type=st.sampled_from(["application/json", "form", "other"])
        )
        def fuzz(data: bytes, content_type: str) -> None:
            if content_type == "form":
                poster.post(path, data, "application/x-www-form-urlencoded")
            elif content_type == "other":
                poster.post(path, data, "application/octet-stream")
            else:
                poster.post(path, data, "application/json")

        fuzz()

    fuzz_every_route(app, poster, world["ids"], run)


def test_random_json_crashes_no_post_route(app, client, world):
    poster = Poster(client, world["admin"])

    def run(path: str, is_api: bool, examples: int) -> None:
        @settings(FUZZ, max_examples=examples)
        @given(value=st.one_of(OBJECTS, JSON_VALUES))
        def fuzz(value) -> None:
            # ensure_ascii writes NUL as \u0000 and a lone surrogate as \ud800; NaN as NaN.
            poster.post(path, json.dumps(value).encode(), "application/json")

        fuzz()

    fuzz_every_route(app, poster, world["ids"], run)


def test_random_unicode_crashes_no_post_route(app, client, world):
    poster = Poster(client, world["admin"])

    def run(path: str, is_api: bool, examples: int) -> None:
        @settings(FUZZ, max_examples=examples)
        @given(tails=st.fixed_dictionaries(dict.fromkeys(PLAUSIBLE_BODY, TEXT)), escaped=st.booleans())
        def fuzz(tails: dict[str, str], escaped: bool) -> None:
            # A body every route would take, each string with random Unicode appended, so the
            # text reaches the rules (and the database) behind the door.
            body = {**PLAUSIBLE_BODY, **{k: PLAUSIBLE_BODY[k] + tail for k, tail in tails.items()}}
            if is_api:
                # Escaped: NUL as \u0000, a lone surrogate as \ud800. Raw: invalid UTF-8 bytes.
                raw = json.dumps({**body, "claim_version": 1}, ensure_ascii=escaped)
                poster.post(path, raw.encode("utf-8", "surrogatepass"), "application/json")
            else:
                poster.post(path, form_bytes(body, with_csrf=True), "application/x-www-form-urlencoded")

        fuzz()

    fuzz_every_route(app, poster, world["ids"], run)


def test_big_numbers_crash_no_post_route(app, client, world):
    poster = Poster(client, world["admin"])

    def run(path: str, is_api: bool, examples: int) -> None:
        @settings(FUZZ, max_examples=examples)
        @given(
            number=st.one_of(
                st.integers(min_value=MAX_INT - 2, max_value=2**64),
                st.integers(min_value=-(2**64), max_value=-1),
            ),
            field=st.sampled_from(["claim_version", "annotation_id", "annotation_ids"]),
            action=st.sampled_from(["accept", "override", "reject", "publish"]),
        )
        def fuzz(number: int, field: str, action: str) -> None:
            value = [number] if field == "annotation_ids" else number
            body = {"action": action, "rating": "True", "rationale": "r", "reason": "r", "claim_version": 1}
            body[field] = value
            if is_api:
                poster.post(path, json.dumps(body).encode(), "application/json")
            else:
                form = {k: str(v[0] if isinstance(v, list) else v) for k, v in body.items()}
                poster.post(path, form_bytes(form, with_csrf=True), "application/x-www-form-urlencoded")

        fuzz()

    fuzz_every_route(app, poster, world["ids"], run)


def test_a_slice_over_real_http(app, world):
    """The same checks through werkzeug's server: its own body handling, chunked bodies included."""
    admin = world["admin"]
    db.session.close()  # end the test's read transaction: SQLite would keep the server's writers waiting
    with serve(app) as address:

        @settings(FUZZ, max_examples=15)
        @given(
            rule=st.sampled_from([r for r in post_routes(app) if r.startswith("/api/")]),
            value=st.one_of(OBJECTS, st.binary(max_size=200)),
            chunked=st.booleans(),
        )
        def fuzz(rule: str, value, chunked: bool) -> None:
            path = concrete(rule, world["ids"])
            body = value if isinstance(value, bytes) else json.dumps(value).encode()
            length = "Transfer-Encoding: chunked\r\n" if chunked else f"Content-Length: {len(body)}\r\n"
            head = (
                f"POST {path} HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer {admin.token}\r\n"
                f"Content-Type: application/json\r\n{length}Connection: close\r\n\r\n"
            ).encode()
            payload = (
                (b"%x\r\n%s\r\n0\r\n\r\n" % (len(body), body) if body else b"0\r\n\r\n") if chunked else body
            )
            status, headers, answer = raw_request(address, head, payload)
            check(status, headers.get("content-type", ""), answer, f"HTTP POST {path}")

        fuzz()
