"""The API docs page works in a real browser under the app's strict CSP, from the workbench alone."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest

pytestmark = pytest.mark.browser


def test_swagger_ui_renders_every_resource_under_the_csp_with_nothing_from_elsewhere(new_tab, live_url):
    tab = new_tab()
    requested: list[str] = []
    tab.page.on("request", lambda request: requested.append(request.url))
    response = tab.page.goto("/api/v1/docs/")
    assert response is not None and response.status == 200
    assert "script-src 'self'" in response.headers["content-security-policy"]
    tab.page.wait_for_selector(".opblock-tag", timeout=15_000)
    tags = tab.page.locator(".opblock-tag").all_inner_texts()
    assert any("articles" in t for t in tags) and any("claims" in t for t in tags), tags
    # An operation opens and shows its parameters and answers (the spec was read in full).
    tab.page.locator(".opblock-summary").first.click()
    tab.page.wait_for_selector(".responses-wrapper")
    own = urlsplit(live_url).netloc
    assert all(urlsplit(u).netloc == own for u in requested if u.startswith("http")), requested
    assert not tab.console_errors, tab.console_errors  # a CSP violation is a console error
    assert not tab.page_errors, tab.page_errors
