"""A reviewer decides with the keyboard only: shortcuts on the queue and claim page, local times."""

from __future__ import annotations

import pytest

from tests.browser.conftest import sign_in
from tests.factories import make_article, make_user
from tests.test_review import labelled
from workbench.db import db
from workbench.models import Claim

pytestmark = pytest.mark.browser


def test_override_and_its_rationale_with_the_keyboard_only(client, new_tab):
    article = make_article()
    first, second = [c for c in article.claims if c.checkworthy][:2]
    labelled(client, first, ["False", "Half true"])
    labelled(client, second, ["True", "True"])
    reviewer = make_user("reviewer")
    tab = new_tab(1280)
    sign_in(tab, reviewer.token)
    page = tab.page
    page.goto("/review")
    page.keyboard.press("j")  # the first claim of the queue (the split one comes first)
    assert page.evaluate("document.activeElement.dataset.queueItem") == ""
    page.keyboard.press("Enter")
    page.wait_for_url(f"**/claims/{first.id}")
    page.keyboard.press("?")
    assert page.locator("#shortcuts").is_visible()
    page.keyboard.press("Escape")
    page.keyboard.press("o")  # the override rating, starting from the leading vote
    assert page.evaluate("document.activeElement.id") == "override-rating"
    page.keyboard.press("ArrowDown")
    page.keyboard.press("Tab")
    page.keyboard.type("Checked against the 2031 table.")
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert "Recorded: override" in page.content()
    db.session.rollback()
    verdict = db.session.get(Claim, first.id).verdicts[-1]
    assert (verdict.decision, verdict.rationale) == ("override", "Checked against the 2031 table.")
    # Times read in the reader's own form once the script ran (the page itself says UTC).
    assert "UTC" not in page.locator("time").first.inner_text()
    assert tab.page_errors == [] and tab.dialogs == []
