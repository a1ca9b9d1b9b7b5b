"""The users page: a token shown once, role changes, disabling; Label Studio members one click away."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from tests.factories import make_user
from tests.test_web import sign_in
from workbench import audit
from workbench.db import db
from workbench.models import AuditEvent, LabelStudioUser, User


def csrf(client) -> str:
    return re.search(rb'name="csrf" value="([^"]+)"', client.get("/users").data).group(1).decode()


def test_create_shows_the_token_once_and_it_works(client, admin):
    sign_in(client, admin)
    response = client.post(
        "/users",
        data={
            "csrf": csrf(client),
            "email": "New.Reviewer@example.org",
            "name": "New",
            "role": "reviewer",
            "credential": "token",
        },
    )
    assert response.status_code == 201
    token = re.search(r'<code class="token">([^<]+)</code>', response.get_data(as_text=True)).group(1)
    assert client.get("/api/v1/review/queue", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    assert token not in client.get("/users").get_data(as_text=True)


def test_a_refused_create_keeps_what_was_typed(client, admin):
    sign_in(client, admin)
    response = client.post(
        "/users", data={"csrf": csrf(client), "email": "no-at-sign", "name": "Typed Name", "role": "admin"}
    )
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "not an email address" in page and "Typed Name" in page


def test_role_change_and_disable_write_one_event_each_and_none_when_nothing_changes(client, admin):
    other = make_user("annotator")
    sign_in(client, admin)
    for _ in range(2):
        client.post(f"/users/{other.user.id}/role", data={"csrf": csrf(client), "role": "reviewer"})
        client.post(f"/users/{other.user.id}/disable", data={"csrf": csrf(client)})
    db.session.rollback()
    user = db.session.get(User, other.user.id)
    assert (user.role, user.active) == ("reviewer", False)
    actions = db.session.scalars(
        sa.select(AuditEvent.action).where(
            AuditEvent.subject_type == "user", AuditEvent.subject_id == str(user.id)
        )
    ).all()
    assert actions == ["user.created", "user.role_changed", "user.disabled"]
    assert audit.verify().ok


def test_a_label_studio_member_gets_an_account_in_one_click(client, admin):
    db.session.add(LabelStudioUser(id=41, email="member@example.org", first_name="Mem", last_name="Ber"))
    db.session.commit()
    sign_in(client, admin)
    page = client.get("/users").get_data(as_text=True)
    assert "member@example.org" in page and "Create annotator account" in page
    response = client.post(
        "/users",
        data={
            "csrf": csrf(client),
            "email": "member@example.org",
            "name": "Mem Ber",
            "role": "annotator",
            "label_studio_user_id": "41",
        },
    )
    assert response.status_code == 201
    db.session.rollback()
    user = db.session.scalar(sa.select(User).where(User.email == "member@example.org"))
    assert (user.role, user.label_studio_user_id) == ("annotator", 41)
    assert "Create annotator account" not in client.get("/users").get_data(as_text=True)


def test_reviewers_may_not_manage_users(client, reviewer):
    sign_in(client, reviewer)
    assert client.get("/users").status_code == 403


def test_two_role_changes_at_once_each_record_the_role_they_replaced(app):
    """Both read the user as an annotator; the second change recorded 'before: annotator' though
    the first had made them a reviewer. Each change now locks the row and reads it again."""
    import threading

    from workbench.auth import change_role

    make_user("admin")  # so that the target may be demoted again (never the last admin)
    target = make_user("annotator").user.id
    db.session.commit()
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def change(role: str) -> None:
        try:
            with app.app_context():
                user = db.session.get(User, target)
                assert user is not None and user.role == "annotator"
                barrier.wait(timeout=30)  # both have read the old role
                change_role(user, role, actor="admin@example.org")
                db.session.commit()
                db.session.remove()
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=change, args=(role,)) for role in ("reviewer", "admin")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not errors, errors
    db.session.expire_all()
    changes = [
        (e.payload["before"], e.payload["role"])
        for e in db.session.scalars(
            sa.select(AuditEvent)
            .where(AuditEvent.action == "user.role_changed", AuditEvent.subject_id == str(target))
            .order_by(AuditEvent.seq)
        )
    ]
    assert len(changes) == 2 and changes[0][0] == "annotator", changes
    assert changes[1][0] == changes[0][1], f"the second change did not record the first one's role: {changes}"
    assert db.session.get(User, target).role == changes[1][1]


def test_the_last_active_admin_cannot_be_disabled_or_demoted_at_any_door(app, client, runner):
    from workbench.auth import change_role, disable_user
    from workbench.errors import Conflict

    only = make_user("admin")
    other = make_user("admin")
    # The API refuses an admin disabling themselves, as the users page does.
    refused = client.post(f"/api/v1/users/{only.user.id}/disable", headers=only.headers)
    assert refused.status_code == 409 and "yourself" in refused.json["message"]
    assert client.post(f"/api/v1/users/{other.user.id}/disable", headers=only.headers).status_code == 200
    before = db.session.scalar(sa.select(sa.func.count()).select_from(AuditEvent))
    with pytest.raises(Conflict, match="last active admin"):
        change_role(db.session.get(User, only.user.id), "reviewer", actor="cli")
    db.session.rollback()
    with pytest.raises(Conflict, match="last active admin"):
        disable_user(db.session.get(User, only.user.id), actor="cli")
    db.session.rollback()
    result = runner.invoke(args=["users", "disable", "--email", only.user.email])
    assert result.exit_code != 0 and "last active admin" in result.output, result.output
    db.session.expire_all()
    assert db.session.get(User, only.user.id).active and db.session.get(User, only.user.id).role == "admin"
    assert db.session.scalar(sa.select(sa.func.count()).select_from(AuditEvent)) == before
    # With another admin, the change is allowed.
    make_user("admin")
    assert change_role(db.session.get(User, only.user.id), "reviewer", actor="cli")
    db.session.commit()


def test_two_admins_disabling_each_other_at_once_leave_one_admin(app):
    import threading

    from workbench.auth import disable_user
    from workbench.errors import Conflict

    first, second = make_user("admin").user.id, make_user("admin").user.id
    db.session.commit()
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def disable(target: int) -> None:
        with app.app_context():
            user = db.session.get(User, target)
            barrier.wait(timeout=30)
            try:
                disable_user(user, actor="admin@example.org")
                db.session.commit()
                outcomes.append("disabled")
            except Conflict:
                db.session.rollback()
                outcomes.append("refused")
            finally:
                db.session.remove()

    threads = [threading.Thread(target=disable, args=(t,)) for t in (first, second)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert sorted(outcomes) == ["disabled", "refused"]
    db.session.expire_all()
    assert (
        db.session.scalar(
            sa.select(sa.func.count()).select_from(User).where(User.role == "admin", User.active.is_(True))
        )
        == 1
    )


def test_a_demotion_waiting_for_a_lower_admins_row_holds_no_other_row(app, database_url):
    """A demotion locked its user's row, then every active admin's; a disable locked every active
    admin's. T1 (demote 3) held 3 and waited for 1 while T2 (disable 1) held 1 and waited for 3:
    PostgreSQL aborted one as a deadlock (a 500). Every user change now locks in one order (the
    audit chain, then the rows by id), so while it waits for row 1 it holds row 3 not yet."""
    import threading
    import time

    from workbench.auth import change_role

    if not database_url.startswith("postgresql"):
        pytest.skip("SQLite has one writer at a time: there are no row locks to order")
    ids = [make_user("admin").user.id for _ in range(3)]
    db.session.commit()
    other = sa.create_engine(database_url)
    errors: list[BaseException] = []

    def demote() -> None:
        try:
            with app.app_context():
                change_role(db.session.get(User, ids[2]), "reviewer", actor="admin@example.org")
                db.session.commit()
                db.session.remove()
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    try:
        with other.connect() as holder:  # "T2": holds the lowest admin's row
            holder.execute(sa.text("SELECT id FROM users WHERE id = :i FOR UPDATE"), {"i": ids[0]})
            thread = threading.Thread(target=demote)
            thread.start()
            time.sleep(1.0)  # the demotion is now waiting for row ids[0]
            assert thread.is_alive()
            with other.connect() as probe:
                # Old order: the demoted admin's row was already locked: "could not obtain lock".
                probe.execute(sa.text("SELECT id FROM users WHERE id = :i FOR UPDATE NOWAIT"), {"i": ids[2]})
                probe.rollback()
            holder.rollback()
        thread.join(timeout=60)
    finally:
        other.dispose()
    assert not errors, errors
    db.session.expire_all()
    assert db.session.get(User, ids[2]).role == "reviewer"
