"""Hostile text in an article and an annotation is shown as text in the browser, under the page's CSP.

``<script>``, ``<img onerror>`` and ``javascript:`` go in through the real ingest and the real
webhook; the article and claim pages must show them literally, open no dialog, run nothing and
carry no ``javascript:`` URL or event-handler attribute.
"""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from tests.browser.conftest import sign_in
from tests.factories import annotation_payload, link_claim, make_article, verdict_result
from tests.test_webhook import post
from workbench.db import db
from workbench.errors import WorkbenchError
from workbench.ingest import validate_input
from workbench.models import Claim

pytestmark = pytest.mark.browser

SCRIPT = "<script>alert(1)</script>"
IMG = "<img src=x onerror=alert(1)>"
JS_URL = "javascript:alert(1)"
HOSTILE_TEXT = (
    f"PORT ELLIS: The council approved a budget of 42 million dollars {SCRIPT} on Tuesday, "
    "up 12 percent from last year.\n\n"
    f"“Unemployment fell to 4.1 percent {IMG} in March,” Mayor Ilse Varga said.\n\n"
    f"The harbour fees doubled since 2028, according to {JS_URL} the port authority.\n"
)
# URLs the annotation parser accepts (https://…, up to a space) but that try to leave the href.
HOSTILE_URLS = [
    'https://evidence.example/"><script>alert(1)</script>',
    "https://evidence.example/<img/src=x/onerror=alert(1)>",
]

FOREIGN_MARKUP = """() => {
    const found = [];
    for (const el of document.querySelectorAll('*')) {
        for (const attr of el.attributes) {
            const value = attr.value.replace(/[\\s\\u0000-\\u001f]/g, '').toLowerCase();
            if (attr.name.startsWith('on')) found.push(`${el.tagName} ${attr.name}`);
            if (value.startsWith('javascript:')) found.push(`${el.tagName} ${attr.name}=${attr.value}`);
        }
        if (el.tagName === 'SCRIPT' && el.textContent.includes('alert')) found.push('script element');
        if (el.tagName === 'IMG' && el.getAttribute('src') === 'x') found.push('img src=x');
    }
    return found;
}"""


def test_hostile_text_is_shown_as_text(client, admin, new_tab):
    # The ingest refuses a javascript: URL outright; one that tries to break out of href= is kept.
    with pytest.raises(WorkbenchError):
        validate_input({"text": HOSTILE_TEXT, "url": JS_URL}, max_bytes=10**6)
    source_url = 'https://news.example/a"><script>alert(1)</script>'
    article = make_article(text=HOSTILE_TEXT, title=f"Budget {SCRIPT} {IMG} {JS_URL}", url=source_url)
    claim = next(c for c in article.claims if SCRIPT in c.text)
    rationale = f"Hostile rationale: {SCRIPT} {IMG} {JS_URL}"
    evidence = " ".join([JS_URL, *HOSTILE_URLS])
    link_claim(claim, task_id=777)
    payload = annotation_payload(4242, 777, rationale=rationale)
    payload["annotation"]["result"] = verdict_result("False", rationale, evidence, 4)
    assert post(client, payload).status_code == 200
    db.session.expire_all()
    stored = db.session.scalar(sa.select(Claim).where(Claim.id == claim.id))
    assert stored.annotations and stored.annotations[0].rationale == rationale

    tab = new_tab(1280)
    sign_in(tab, admin.token)
    for path, shown in (
        (f"/articles/{article.id}", [SCRIPT, IMG, JS_URL, article.title]),
        (f"/claims/{claim.id}", [SCRIPT, rationale, *HOSTILE_URLS]),
        ("/", [article.title]),
    ):
        response = tab.page.goto(path)
        assert response is not None and response.status == 200, path
        tab.page.wait_for_load_state("load")
        tab.page.wait_for_timeout(200)  # an <img onerror> fires once the image has failed
        text = tab.page.locator("body").inner_text()
        for literal in shown:
            assert literal in text, f"{path} does not show {literal!r} literally"
        assert tab.page.evaluate(FOREIGN_MARKUP) == [], f"{path} carries markup from the data"
        hrefs = tab.page.eval_on_selector_all("a[href]", "links => links.map(a => a.getAttribute('href'))")
        assert all(h == source_url for h in hrefs if h.startswith("https://news.example/")), hrefs
        if path.startswith("/claims/"):
            assert set(HOSTILE_URLS) <= set(hrefs), f"evidence links changed: {hrefs}"
    assert tab.dialogs == [], f"a dialog opened: {tab.dialogs}"
    assert tab.page_errors == [], tab.page_errors
