"""Browser fixtures: the app over real HTTP, Debian's Chromium driven by Playwright, axe-core, sign-in.

Nothing here downloads a browser: ``scripts/browser-deps`` installs ``/usr/bin/chromium`` (apt) and
axe-core 4 (npm, into ``~/.cache/workbench/axe-core``). Without them the tests skip with the reason,
unless ``WORKBENCH_REQUIRE_BROWSER=1`` (CI sets it), which turns the skip into a failure.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.labelstudio_helpers import live_server

# Read at import: the root conftest's autouse fixture clears WORKBENCH_* for each test.
CHROMIUM = "/usr/bin/chromium"
AXE_DIR = Path(os.environ.get("WORKBENCH_AXE_DIR") or Path.home() / ".cache" / "workbench" / "axe-core")
AXE_JS = AXE_DIR / "node_modules" / "axe-core" / "axe.min.js"
REQUIRE_BROWSER = os.environ.get("WORKBENCH_REQUIRE_BROWSER") == "1"
CHROMIUM_ARGS = [
    "--no-sandbox",  # CI runs as root, where Chromium's sandbox cannot start
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-dev-shm-usage",  # containers often have a tiny /dev/shm
]
WIDTHS = (390, 1280)  # a phone and a laptop
HEIGHTS = {390: 844, 1280: 800}
TIMEOUT_MS = 15_000


def _missing() -> str | None:
    """Say what the browser lacks, or None when Playwright and Chromium are here."""
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the Python package 'playwright' is not installed (pip install -e '.[test]')"
    if not os.access(CHROMIUM, os.X_OK):
        return f"{CHROMIUM} is missing: run scripts/browser-deps (apt-get install chromium)"
    return None


def _skip_or_fail(missing: str) -> None:
    if REQUIRE_BROWSER:
        pytest.fail(f"WORKBENCH_REQUIRE_BROWSER=1 but {missing}")
    pytest.skip(missing)


@pytest.fixture(scope="session")
def browser():
    """One headless Chromium for the whole run."""
    missing = _missing()
    if missing:
        _skip_or_fail(missing)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield chromium
        chromium.close()


@pytest.fixture(scope="session")
def axe_source(browser) -> str:
    """The source of axe-core 4 (installed by scripts/browser-deps)."""
    if not AXE_JS.is_file():
        _skip_or_fail(f"axe-core is missing ({AXE_JS}): run scripts/browser-deps (npm install axe-core@4)")
    return AXE_JS.read_text(encoding="utf-8")


@pytest.fixture
def live_url(app) -> Iterator[str]:
    """The test's app (its database, its rows) served over real HTTP by a werkzeug thread."""
    with live_server(app) as url:
        yield url


@dataclass
class Tab:
    """A page of its own browser context, with what the page did besides rendering."""

    page: object  # playwright.sync_api.Page
    dialogs: list[str] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)


@pytest.fixture
def new_tab(browser, live_url):
    """Open a fresh browser context (no cookies) at a given width; closed after the test."""
    contexts = []

    def open_tab(width: int = 1280) -> Tab:
        context = browser.new_context(
            base_url=live_url,
            viewport={"width": width, "height": HEIGHTS.get(width, 800)},
            device_scale_factor=1,
            java_script_enabled=True,
        )
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(TIMEOUT_MS)
        tab = Tab(page)

        def on_dialog(dialog) -> None:
            tab.dialogs.append(f"{dialog.type}: {dialog.message}")
            dialog.dismiss()

        page.on("dialog", on_dialog)
        page.on("console", lambda m: _console(tab, m))
        page.on("pageerror", lambda e: tab.page_errors.append(str(e)))
        return tab

    yield open_tab
    for context in contexts:
        context.close()


def _console(tab: Tab, message) -> None:
    # Chromium asks every new context for /favicon.ico; the workbench has none, and need not.
    if message.type == "error" and not (message.location or {}).get("url", "").endswith("/favicon.ico"):
        tab.console_errors.append(message.text)


def sign_in(tab: Tab, token: str) -> None:
    """Sign in through the real form at /login, whatever fields it has today.

    The form is read as the server renders it: the ``token`` field gets the API token, hidden
    fields (a CSRF token, say) keep the values the server put there, and any other empty visible
    field that the form requires fails the test with its name (this helper must learn it).
    """
    page = tab.page
    response = page.goto("/login")
    status = response and response.status
    assert status == 200, f"GET /login answered {status}"
    form = page.locator("form", has=page.locator("input[name='token']")).last
    assert form.count() == 1, "the sign-in page has no form with a 'token' field"
    folded = page.locator("details", has=form)
    if folded.count() and not folded.first.evaluate("d => d.open"):
        folded.first.locator("summary").click()  # token sign-in sits behind "…with an API token"
    fields = form.locator("input, select, textarea")
    for i in range(fields.count()):
        field_ = fields.nth(i)
        name = field_.get_attribute("name") or ""
        kind = (field_.get_attribute("type") or "text").lower()
        if name == "token":
            field_.fill(token)
        elif kind in ("hidden", "submit", "button", "checkbox", "radio"):
            continue
        elif field_.get_attribute("required") is not None and not field_.input_value():
            pytest.fail(f"the sign-in form gained a required field {name!r}: teach tests/browser sign_in it")
    with page.expect_navigation():
        form.locator("button, input[type='submit']").first.click()
    assert "/login" not in page.url, f"sign-in failed: still on {page.url}"


def axe_violations(tab: Tab, axe_source: str, impacts=("serious", "critical")) -> list[str]:
    """Run axe-core on the loaded page; return its violations of the given impacts, one line each.

    axe is put into the page with ``page.evaluate`` (the DevTools protocol), which a
    Content-Security-Policy of ``script-src 'self'`` does not block, unlike
    ``page.add_script_tag`` (an inline <script> element, refused by that policy). So the pages are
    checked under their real CSP, without the context option ``bypass_csp``.
    """
    page = tab.page
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.evaluate(axe_source)
    violations = page.evaluate(
        """async () => {
            const result = await axe.run(document, {resultTypes: ['violations']});
            return result.violations.map(v => ({
                id: v.id, impact: v.impact, help: v.help,
                nodes: v.nodes.slice(0, 3).map(n => n.target.join(' ')),
                count: v.nodes.length,
            }));
        }"""
    )
    return [
        f"{v['id']} ({v['impact']}, {v['count']} nodes: {'; '.join(v['nodes'])}): {v['help']}"
        for v in violations
        if v["impact"] in impacts
    ]


def horizontal_overflow(tab: Tab) -> tuple[int, int, list[str]]:
    """Return (scrollWidth, clientWidth, the widest elements sticking out to the right)."""
    return tuple(
        tab.page.evaluate(
            """() => {
                const root = document.documentElement, limit = root.clientWidth;
                const out = [];
                for (const el of document.body.querySelectorAll('*')) {
                    const right = el.getBoundingClientRect().right;
                    if (right > limit + 0.5) {
                        const cls = el.className && typeof el.className === 'string'
                            ? '.' + el.className.trim().split(/\\s+/).join('.') : '';
                        const name = el.tagName.toLowerCase() + cls;
                        out.push([right, `${name} (right edge ${Math.round(right)})`]);
                    }
                }
                out.sort((a, b) => b[0] - a[0]);
                return [root.scrollWidth, limit, out.slice(0, 5).map(x => x[1])];
            }"""
        )
    )
