"""Signing in to the pages with an e-mail and a password: one-time links, resets, rate limits.

Tokens stay for the API; the password is Argon2id (argon2-cffi). The rate limit and the
one-time link are tested with threads over real HTTP against ``workbench serve``, because a
limit that holds for one request must hold for several at once.
"""

from __future__ import annotations

import re
import threading

import pytest
import requests
import sqlalchemy as sa

from tests.factories import make_user
from tests.served import workbench_serve
from tests.test_web import csrf, sign_in
from workbench import audit, passwords
from workbench.db import db
from workbench.models import AuditEvent, PasswordLink, SignInAttempt, User

PASSWORD = "correct horse battery"


def link_token(page: str) -> str:
    found = re.search(r'<code class="token" id="password-link">[^<]*/set-password/([^<]+)</code>', page)
    assert found, "no set-password link on the page"
    return found.group(1)


def admin_creates(client, admin, email: str, role: str = "reviewer") -> str:
    """The admin creates a user on the users page; return the one-time link's token shown."""
    sign_in(client, admin)
    form = client.get("/users")
    response = client.post(
        "/users",
        data={"csrf": csrf(form.data), "email": email, "name": "New One", "role": role, "credential": "link"},
    )
    assert response.status_code == 201, response.get_data(as_text=True)[:500]
    return link_token(response.get_data(as_text=True))


def choose(client, token: str, password: str, confirm: str | None = None):
    page = client.get(f"/set-password/{token}")
    return client.post(
        f"/set-password/{token}",
        data={
            "csrf": csrf(page.data),
            "password": password,
            "confirm": password if confirm is None else confirm,
        },
    )


def password_sign_in(client, email: str, password: str, next_path: str | None = None):
    url = "/login" if next_path is None else f"/login?next={next_path}"
    form = client.get(url)
    return client.post(url, data={"csrf": csrf(form.data), "email": email, "password": password})


def test_a_new_user_chooses_a_password_through_the_link_once_and_signs_in_with_it(app, admin):
    admin_browser = app.test_client()
    token = admin_creates(admin_browser, admin, "New.Person@example.org")
    # The token is on the page this once only, and only its hash is stored.
    assert token not in admin_browser.get("/users").get_data(as_text=True)
    db.session.rollback()
    stored = db.session.scalar(sa.select(PasswordLink.token_hash))
    assert token not in stored and len(stored) == 64

    person = app.test_client()
    refused = choose(person, token, "short")
    assert refused.status_code == 422
    assert "at least 10 characters" in refused.get_data(as_text=True)
    refused = choose(person, token, PASSWORD, confirm=PASSWORD + "!")
    assert refused.status_code == 422 and "the two passwords differ" in refused.get_data(as_text=True)
    refused = choose(person, token, "new.person@example.org")
    assert refused.status_code == 422 and "e-mail" in refused.get_data(as_text=True)

    done = choose(person, token, PASSWORD)
    assert done.status_code == 302  # signed in at once
    assert person.get("/review").status_code == 200

    db.session.rollback()
    user = db.session.scalar(sa.select(User).where(User.email == "new.person@example.org"))
    assert user.password_hash.startswith("$argon2id$") and PASSWORD not in user.password_hash

    again = app.test_client()
    # The link is used up.
    gone = again.get(f"/set-password/{token}")
    assert gone.status_code == 410 and "used already" in gone.get_data(as_text=True)
    # Wrong password: 401 with a message, what was typed kept; the e-mail is not case-sensitive.
    wrong = password_sign_in(again, "new.person@example.org", "not the password")
    assert wrong.status_code == 401
    assert "wrong e-mail or password" in wrong.get_data(as_text=True)
    assert 'value="new.person@example.org"' in wrong.get_data(as_text=True)
    assert (
        password_sign_in(again, "NEW.person@example.org ", PASSWORD, "/review")
        .headers["Location"]
        .endswith("/review")
    )
    assert again.get("/review").status_code == 200

    actions = db.session.scalars(
        sa.select(AuditEvent.action).where(
            AuditEvent.subject_type == "user", AuditEvent.subject_id == str(user.id)
        )
    ).all()
    assert actions == ["user.created", "user.password_link_created", "user.password_set"]
    assert audit.verify().ok


def test_an_unknown_e_mail_and_an_account_without_password_get_the_same_answer(client, reviewer):
    no_password = password_sign_in(client, reviewer.user.email, "anything at all")
    unknown = password_sign_in(client, "nobody@example.org", "anything at all")
    assert no_password.status_code == unknown.status_code == 401
    assert no_password.get_data(as_text=True).replace(reviewer.user.email, "X") == unknown.get_data(
        as_text=True
    ).replace("nobody@example.org", "X")


def test_reset_clears_the_password_ends_sessions_and_revokes_older_links(app, admin):
    admin_browser = app.test_client()
    first = admin_creates(admin_browser, admin, "reset.me@example.org")
    with app.test_client() as person:
        assert choose(person, first, PASSWORD).status_code == 302
        assert person.get("/review").status_code == 200
        db.session.rollback()
        user = db.session.scalar(sa.select(User).where(User.email == "reset.me@example.org"))

        page = admin_browser.get("/users")
        reset = admin_browser.post(f"/users/{user.id}/reset", data={"csrf": csrf(page.data)})
        assert reset.status_code == 200
        assert "their sessions have ended" in reset.get_data(as_text=True)
        second = link_token(reset.get_data(as_text=True))

        # The person's open session ended with the reset; the old password no longer works.
        assert person.get("/review").status_code == 302
    with app.test_client() as person:
        assert password_sign_in(person, "reset.me@example.org", PASSWORD).status_code == 401

    # A newer link replaces an unused older one.
    page = admin_browser.get("/users")
    third = link_token(
        admin_browser.post(f"/users/{user.id}/link", data={"csrf": csrf(page.data)}).get_data(as_text=True)
    )
    person = app.test_client()
    replaced = person.get(f"/set-password/{second}")
    assert replaced.status_code == 410 and "replaced by a newer one" in replaced.get_data(as_text=True)
    assert choose(person, third, PASSWORD + " two").status_code == 302
    person = app.test_client()
    assert password_sign_in(person, "reset.me@example.org", PASSWORD + " two").status_code == 302
    db.session.rollback()
    assert audit.verify().ok


def test_an_expired_link_says_so_and_a_disabled_user_cannot_use_one(app, admin):
    admin_browser = app.test_client()
    token = admin_creates(admin_browser, admin, "late@example.org")
    db.session.rollback()
    link = db.session.scalar(sa.select(PasswordLink))
    link.expires_at = link.created_at
    db.session.commit()
    person = app.test_client()
    response = person.get(f"/set-password/{token}")
    assert response.status_code == 410 and "expired" in response.get_data(as_text=True)
    admin_browser = app.test_client()
    token = admin_creates(admin_browser, admin, "gone@example.org")
    db.session.rollback()
    user = db.session.scalar(sa.select(User).where(User.email == "gone@example.org"))
    from workbench.auth import disable_user

    disable_user(user, actor="test")
    db.session.commit()
    person = app.test_client()
    assert person.get(f"/set-password/{token}").status_code == 410


def test_a_password_changed_in_sql_shows_in_audit_verify(app, admin):
    admin_browser = app.test_client()
    token = admin_creates(admin_browser, admin, "tamper@example.org")
    person = app.test_client()
    assert choose(person, token, PASSWORD).status_code == 302
    db.session.rollback()
    assert audit.verify().ok
    db.session.execute(
        sa.update(User).where(User.email == "tamper@example.org").values(password_hash=passwords._DUMMY_HASH)
    )
    db.session.commit()
    report = audit.verify()
    assert not report.ok
    user_id = db.session.scalar(sa.select(User.id).where(User.email == "tamper@example.org"))
    assert f"user:{user_id}" in (report.reason or "")


def test_failures_are_limited_per_account_with_retry_after(app, reviewer):
    app.config["SIGN_IN_MAX_FAILURES"] = 3
    user = db.session.get(User, reviewer.user.id)
    user.password_hash = passwords._hasher.hash(PASSWORD)
    db.session.commit()
    attacker = app.test_client()
    codes = [password_sign_in(attacker, user.email, f"guess {n}").status_code for n in range(5)]
    assert codes == [401, 401, 401, 429, 429]
    limited = password_sign_in(attacker, user.email, PASSWORD)  # even the right one, for now
    assert limited.status_code == 429
    assert int(limited.headers["Retry-After"]) > 0
    assert "too many failed sign-ins for this account" in limited.get_data(as_text=True)
    # Another account is not locked by this one's failures.
    other = make_user("reviewer")
    browser = app.test_client()
    sign_in(browser, other)
    db.session.rollback()
    outcomes = db.session.scalars(
        sa.select(SignInAttempt.outcome).where(SignInAttempt.email == user.email).order_by(SignInAttempt.id)
    ).all()
    assert outcomes == ["failed"] * 3 + ["limited"] * 3


def test_a_success_clears_the_account_s_failures(app, reviewer):
    app.config["SIGN_IN_MAX_FAILURES"] = 3  # a 4th attempt after 3 failures is refused
    user = db.session.get(User, reviewer.user.id)
    user.password_hash = passwords._hasher.hash(PASSWORD)
    db.session.commit()
    browser = app.test_client()
    for _ in range(3):  # 2 failures, then a success: 6 failures in all, never limited
        assert password_sign_in(browser, user.email, "wrong one").status_code == 401
        assert password_sign_in(browser, user.email, "wrong two").status_code == 401
        assert password_sign_in(browser, user.email, PASSWORD).status_code == 302


def test_token_sign_in_failures_are_limited_per_address(app):
    app.config["SIGN_IN_MAX_FAILURES_PER_ADDRESS"] = 2
    attacker = app.test_client()
    codes = []
    for n in range(4):
        form = attacker.get("/login")
        codes.append(attacker.post("/login", data={"csrf": csrf(form.data), "token": f"wb_{n}"}).status_code)
    assert codes == [401, 401, 429, 429]


@pytest.fixture
def served(app, database_url, tmp_path):
    instance = tmp_path / "served"
    instance.mkdir()
    with workbench_serve(database_url, instance, WORKBENCH_SIGN_IN_MAX_FAILURES="3") as url:
        yield url


def _browser(url: str) -> tuple[requests.Session, str]:
    session = requests.Session()
    page = session.get(f"{url}/login", timeout=30)
    return session, re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)


def _all_at_once(calls: list) -> list:
    barrier = threading.Barrier(len(calls))
    results: list = [None] * len(calls)

    def run(i, call):
        barrier.wait(timeout=60)
        results[i] = call()

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    return results


def test_guesses_at_once_over_http_get_no_more_tries_than_the_limit(served, reviewer):
    user = db.session.get(User, reviewer.user.id)
    user.password_hash = passwords._hasher.hash(PASSWORD)
    db.session.commit()
    email = reviewer.user.email
    browsers = [_browser(served) for _ in range(10)]
    calls = [
        lambda s=s, c=c, n=n: (
            s.post(
                f"{served}/login",
                data={"csrf": c, "email": email, "password": f"guess {n}"},
                allow_redirects=False,
                timeout=120,
            ).status_code
        )
        for n, (s, c) in enumerate(browsers)
    ]
    codes = _all_at_once(calls)
    # At most 3 guesses were checked; every other one was refused without checking.
    assert codes.count(401) <= 3 and codes.count(401) + codes.count(429) == 10, codes
    db.session.rollback()
    outcomes = db.session.scalars(
        sa.select(SignInAttempt.outcome).where(SignInAttempt.email == user.email)
    ).all()
    assert outcomes.count("failed") == codes.count(401) and outcomes.count("limited") == codes.count(429)


def test_one_link_used_in_two_tabs_at_once_sets_one_password(served, app, admin):
    admin_browser = app.test_client()
    token = admin_creates(admin_browser, admin, "twice@example.org")
    tabs = []
    for _ in range(4):
        session = requests.Session()
        page = session.get(f"{served}/set-password/{token}", timeout=30)
        assert page.status_code == 200
        tabs.append((session, re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)))
    calls = [
        lambda s=s, c=c, n=n: (
            s.post(
                f"{served}/set-password/{token}",
                data={"csrf": c, "password": f"{PASSWORD} {n}", "confirm": f"{PASSWORD} {n}"},
                allow_redirects=False,
                timeout=120,
            ).status_code
        )
        for n, (s, c) in enumerate(tabs)
    ]
    codes = _all_at_once(calls)
    assert sorted(codes) == [302, 410, 410, 410], codes
    db.session.rollback()
    user = db.session.scalar(sa.select(User).where(User.email == "twice@example.org"))
    events = db.session.scalars(
        sa.select(AuditEvent.action).where(
            AuditEvent.subject_id == str(user.id), AuditEvent.action == "user.password_set"
        )
    ).all()
    assert len(events) == 1
    assert audit.verify().ok


def test_the_cli_prints_links_that_work_and_reset_clears_the_password(app, runner):
    created = runner.invoke(
        args=["users", "create", "--email", "cli@example.org", "--role", "reviewer", "--link"]
    )
    assert created.exit_code == 0, created.output
    token, link = created.stdout.strip().splitlines()[-2:]
    assert token.startswith("wb_") and "/set-password/pw_" in link
    person = app.test_client()
    assert choose(person, link.rsplit("/", 1)[1], PASSWORD).status_code == 302

    quiet = runner.invoke(args=["users", "link", "--email", "cli@example.org", "--unless-set"])
    assert quiet.exit_code == 0 and quiet.stdout.strip() == ""
    reset = runner.invoke(args=["users", "reset-password", "--email", "cli@example.org"])
    assert reset.exit_code == 0 and "/set-password/pw_" in reset.stdout
    assert password_sign_in(app.test_client(), "cli@example.org", PASSWORD).status_code == 401
    missing = runner.invoke(args=["users", "link", "--email", "nobody@example.org"])
    assert missing.exit_code != 0 and "no user with email nobody@example.org" in missing.output


def test_behind_a_trusted_proxy_the_limit_counts_the_client_s_address(database_url, tmp_path, app):
    from tests.conftest import base_config
    from workbench import create_app

    proxied = create_app({**base_config(database_url, tmp_path), "PROXY_HOPS": 1})
    proxied.config["SIGN_IN_MAX_FAILURES_PER_ADDRESS"] = 2
    browser = proxied.test_client()

    def attempt(client_address: str) -> int:
        form = browser.get("/login")
        return browser.post(
            "/login",
            data={"csrf": csrf(form.data), "token": "wb_wrong"},
            headers={"X-Forwarded-For": client_address},
        ).status_code

    try:
        # Two clients behind the same proxy: each has its own count.
        assert [attempt("203.0.113.7"), attempt("203.0.113.7")] == [401, 401]
        assert attempt("203.0.113.7") == 429
        assert attempt("198.51.100.2") == 401
    finally:
        with proxied.app_context():  # this second app's own connections, closed now, not by the GC
            db.session.remove()
            db.engine.dispose()
    db.session.rollback()
    addresses = set(db.session.scalars(sa.select(SignInAttempt.remote_addr)))
    assert addresses == {"203.0.113.7", "198.51.100.2"}


def test_two_admins_issuing_links_at_once_leave_one_that_works(served, app):
    target = make_user("reviewer").user.id
    admins = [make_user("admin") for _ in range(4)]
    desks = []
    for admin in admins:
        session, token = _browser(served)
        assert session.post(f"{served}/login", data={"csrf": token, "token": admin.token}, timeout=30).ok
        page = session.get(f"{served}/users", timeout=30)
        desks.append((session, re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)))
    calls = [
        lambda s=s, c=c: s.post(f"{served}/users/{target}/link", data={"csrf": c}, timeout=120).status_code
        for s, c in desks
    ]
    assert _all_at_once(calls) == [200] * 4
    db.session.rollback()
    usable = db.session.scalars(
        sa.select(PasswordLink).where(
            PasswordLink.user_id == target, PasswordLink.used_at.is_(None), PasswordLink.revoked_at.is_(None)
        )
    ).all()
    assert len(usable) == 1
    assert audit.verify().ok
