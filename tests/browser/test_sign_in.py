"""People sign in as people do, in a real browser: an admin adds a colleague, who chooses a
password through the one-time link, signs out, and signs in with e-mail and password."""

from __future__ import annotations

import pytest

from tests.browser.conftest import sign_in
from tests.factories import make_user

pytestmark = pytest.mark.browser

PASSWORD = "a long and private phrase"


def test_a_colleague_added_by_an_admin_sets_a_password_and_signs_in_with_it(new_tab):
    admin = make_user("admin")
    desk = new_tab(1280)
    sign_in(desk, admin.token)
    page = desk.page
    page.goto("/users")
    page.get_by_label("E-mail").fill("colleague@example.org")
    page.get_by_label("Name", exact=True).fill("Col League")
    page.get_by_label("Role", exact=True).select_option("reviewer")
    page.get_by_label("They sign in with").select_option("link")
    with page.expect_navigation():
        page.get_by_role("button", name="Create").click()
    link = page.locator("#password-link").inner_text().strip()
    assert "/set-password/" in link

    # The colleague opens the link on a phone: the browser itself refuses a short password, and
    # the server a confirmation that differs, next to its field.
    phone = new_tab(390)
    phone.page.goto(link)
    assert phone.page.get_by_label("New password").get_attribute("minlength") == "10"
    phone.page.get_by_label("New password").fill(PASSWORD)
    phone.page.get_by_label("The same password again").fill(PASSWORD + " typo")
    with phone.page.expect_navigation():
        phone.page.get_by_role("button", name="Set the password and sign in").click()
    assert "differs from the password" in phone.page.locator("#confirm-error").inner_text()
    phone.page.get_by_label("New password").fill(PASSWORD)
    phone.page.get_by_label("The same password again").fill(PASSWORD)
    with phone.page.expect_navigation():
        phone.page.get_by_role("button", name="Set the password and sign in").click()
    assert "Your password is set" in phone.page.content()

    # Sign out, then in with e-mail and password; a wrong one says so and keeps the e-mail.
    with phone.page.expect_navigation():
        phone.page.get_by_role("button", name="Sign out").click()
    phone.page.goto("/login?next=/review")
    phone.page.get_by_label("E-mail").fill("colleague@example.org")
    phone.page.get_by_label("Password", exact=True).fill("not it at all")
    with phone.page.expect_navigation():
        phone.page.get_by_role("button", name="Sign in", exact=True).click()
    assert "wrong e-mail or password" in phone.page.locator("#login-error").inner_text()
    assert phone.page.get_by_label("E-mail").input_value() == "colleague@example.org"
    phone.page.get_by_label("Password", exact=True).fill(PASSWORD)
    with phone.page.expect_navigation():
        phone.page.get_by_role("button", name="Sign in", exact=True).click()
    assert phone.page.url.endswith("/review")

    # The link is used up.
    again = new_tab(1280)
    response = again.page.goto(link)
    assert response.status == 410
    for tab in (desk, phone, again):
        assert tab.page_errors == [] and tab.dialogs == []
