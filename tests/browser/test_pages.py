"""Every page in a real browser, signed in: at a phone's and a laptop's width, checked by axe-core.

The pages are the GET routes of the ``web`` blueprint, read from the app's url_map, so a new page
is checked (and screenshotted into docs/screenshots/<page>-<width>.png) without touching this file;
a new page whose URL needs an id this file cannot fill fails until ``page_ids`` learns it.
"""

from __future__ import annotations

import pytest
from flask import url_for

from tests.browser.conftest import HEIGHTS, WIDTHS, axe_violations, horizontal_overflow, sign_in
from tests.conftest import REPO
from tests.factories import make_article
from tests.test_review import labelled
from workbench import passwords
from workbench.auth import create_user
from workbench.db import db

pytestmark = pytest.mark.browser

SCREENSHOTS = REPO / "docs" / "screenshots"


def web_pages() -> list[tuple[str, str, tuple[str, ...]]]:
    """(endpoint, rule, its arguments) of every GET route of the web blueprint, from the app's url_map."""
    from workbench import create_app

    app = create_app({"SQLALCHEMY_DATABASE_URI": "sqlite://", "TESTING": True})
    return sorted(
        (rule.endpoint, rule.rule, tuple(sorted(rule.arguments)))
        for rule in app.url_map.iter_rules()
        if rule.endpoint.startswith("web.") and "GET" in (rule.methods or ())
    )


PAGES = web_pages()
SIGNED_OUT = {"web.login", "web.set_password"}  # pages seen before signing in


def page_name(endpoint: str) -> str:
    return endpoint.removeprefix("web.").removesuffix("_page")


@pytest.fixture
def page_ids(client, admin) -> dict[str, int]:
    """Rows for every page to show something: an article, a split claim in the queue, a decided claim."""
    article = make_article()
    worthy = [c for c in article.claims if c.checkworthy]
    labelled(client, worthy[0], ["False", "Half true"])  # split: waits in the review queue
    decided = labelled(client, worthy[1], ["False", "False"])
    response = client.post(
        f"/api/v1/claims/{decided.id}/review",
        headers=admin.headers,
        json={
            "action": "accept",
            "annotation_id": decided.annotations[0].id,
            "claim_version": decided.version,
        },
    )
    assert response.status_code in (200, 201), response.json
    # A new colleague's one-time link to choose a password.
    newcomer, _ = create_user("newcomer@example.org", "reviewer", "New Comer", actor="test")
    token = passwords.issue_link(newcomer, actor="test")
    db.session.commit()
    # A finished export, for its manifest's download.
    export = client.post("/api/v1/exports", headers=admin.headers, json={"format": "jsonl"})
    assert export.status_code == 201, export.json
    # Without Redis jobs run inline and leave no id: the job page shows one it does not know.
    return {
        "article_id": article.id,
        "claim_id": decided.id,
        "job_id": "job-without-redis",
        "token": token,
        "export_id": export.json["export_id"],
    }


def test_the_pages_under_test_are_the_blueprints():
    names = {page_name(e) for e, _, _ in PAGES}
    assert {"login", "dashboard", "article", "review_queue", "claim", "audit"} <= names, names


@pytest.mark.parametrize(("endpoint", "rule", "arguments"), PAGES, ids=[page_name(p[0]) for p in PAGES])
def test_page_fits_the_screen_and_passes_axe(
    app, admin, page_ids, new_tab, axe_source, endpoint, rule, arguments
):
    """Loaded at each width (one sign-in, then a reload per width): no sideways scroll, axe, no errors."""
    missing = [a for a in arguments if a not in page_ids]
    if missing:
        pytest.fail(f"{rule} needs {missing}: give page_ids in tests/browser/test_pages.py a row for it")
    with app.test_request_context():
        path = url_for(endpoint, **{a: page_ids[a] for a in arguments})

    tab = new_tab(WIDTHS[0])
    if endpoint not in SIGNED_OUT:
        sign_in(tab, admin.token)
    kind = tab.page.request.get(path).headers.get("content-type", "")
    if not kind.startswith("text/html"):
        pytest.skip(f"{path} is not a page: it answers {kind}")

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    problems = []
    for width in WIDTHS:
        tab.page.set_viewport_size({"width": width, "height": HEIGHTS[width]})
        tab.console_errors.clear()
        response = tab.page.goto(path)
        status = response and response.status
        assert status == 200, f"{path} answered {status} at {width} px"
        if endpoint not in SIGNED_OUT:
            assert "/login" not in tab.page.url, f"{path} sent the signed-in admin to sign in"
        tab.page.screenshot(path=str(SCREENSHOTS / f"{page_name(endpoint)}-{width}.png"), full_page=True)

        scroll_width, client_width, wide = horizontal_overflow(tab)
        if scroll_width > client_width:
            problems.append(
                f"{width} px: scrolls sideways: scrollWidth {scroll_width} > clientWidth {client_width}; "
                f"widest: {wide}"
            )
        problems += [f"{width} px: axe: {v}" for v in axe_violations(tab, axe_source)]
        problems += [f"{width} px: console: {m}" for m in tab.console_errors]
    problems += [f"script error: {m}" for m in tab.page_errors]
    assert not problems, f"{path}:\n" + "\n".join(problems)
