"""People on the pages: Label Studio ids resolved when annotations arrive, named by name and email.

A webhook carries only the annotator's Label Studio id. The workbench stores the annotation
first, then asks Label Studio (the real server here) who an id it has not seen is; a Label
Studio that does not answer costs nothing but the name, which a later sync fills in.
"""

from __future__ import annotations

import secrets
import time

import pytest
import sqlalchemy as sa

from tests.conftest import LS_KEY, LS_URL
from tests.factories import annotation_payload, link_claim, make_article, make_user
from tests.labelstudio_helpers import annotate_as, live_server, new_annotator
from tests.test_sync_repairs import ScriptedLabelStudio
from tests.test_web import sign_in
from tests.test_webhook import post
from workbench import audit
from workbench.db import db
from workbench.labelstudio import service
from workbench.labelstudio.client import LabelStudioClient
from workbench.labelstudio.people import UNKNOWN_ACTION, Directory
from workbench.models import Annotation, AuditEvent, Claim, LabelStudioUser, User

CLOSED_PORT = "http://127.0.0.1:9"  # nothing listens on the discard port
TASK = 601


@pytest.fixture
def claim(app):
    article = make_article()
    claim = next(c for c in article.claims if c.checkworthy)
    link_claim(claim, task_id=TASK)
    return claim


@pytest.fixture
def real_ls(app, ls_client):
    """The app pointed at the real Label Studio (the test posts the webhooks itself)."""
    app.config.update(LABEL_STUDIO_URL=LS_URL, LABEL_STUDIO_API_KEY=LS_KEY)
    return ls_client


def new_ls_user(ls_client, first: str = "Ana", last: str = "Silva") -> tuple[int, str]:
    email = f"ana-{secrets.token_hex(4)}@example.org"
    user = ls_client.create_user(email, first_name=first, last_name=last)
    return int(user["id"]), email


def events(action: str) -> list[AuditEvent]:
    return list(db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == action)))


def claim_page(client, claim_id: int) -> str:
    response = client.get(f"/claims/{claim_id}")
    assert response.status_code == 200
    return response.get_data(as_text=True)


@pytest.mark.labelstudio
def test_a_webhook_from_an_annotator_never_seen_caches_them_from_label_studio(
    client, claim, real_ls, reviewer
):
    ls_id, email = new_ls_user(real_ls)
    response = post(client, annotation_payload(70001, TASK, user_id=ls_id))
    assert response.status_code == 200 and response.json["status"] == "processed"

    db.session.expire_all()
    cached = db.session.get(LabelStudioUser, ls_id)
    assert (cached.email, cached.first_name, cached.last_name) == (email, "Ana", "Silva")
    (event,) = [e for e in events("labelstudio.user_cached") if e.subject_id == str(ls_id)]
    assert event.actor == "webhook" and event.payload["email"] == email

    sign_in(client, reviewer)
    page = claim_page(client, claim.id)
    assert f"Ana Silva · {email}" in page
    assert "Label Studio only, no workbench account" in page
    assert f"Label Studio user {ls_id}" not in page

    # The same author again: the cache answers, Label Studio is not asked and nothing is written.
    before = db.session.scalar(sa.select(sa.func.count()).select_from(AuditEvent))
    post(client, annotation_payload(70002, TASK, user_id=ls_id, verdict="True"))
    db.session.expire_all()
    assert len([e for e in events("labelstudio.user_cached") if e.subject_id == str(ls_id)]) == 1
    received = db.session.scalar(sa.select(sa.func.count()).select_from(AuditEvent)) - before
    assert received == 1  # the annotation.received event only
    assert audit.verify().ok


@pytest.mark.labelstudio
def test_an_annotator_with_a_workbench_account_is_named_by_it_and_mapped(client, claim, real_ls, reviewer):
    ls_id, email = new_ls_user(real_ls, "Ana", "S.")
    account = make_user("annotator", email=email)
    post(client, annotation_payload(70011, TASK, user_id=ls_id))
    db.session.expire_all()
    assert db.session.get(User, account.user.id).label_studio_user_id == ls_id
    assert [e.subject_id for e in events("user.label_studio_mapped")] == [str(account.user.id)]

    sign_in(client, reviewer)
    page = claim_page(client, claim.id)
    assert f"Annotator Tester · {email}" in page  # the workbench account's name wins
    assert "no workbench account" not in page
    assert audit.verify().ok


@pytest.mark.labelstudio
def test_with_label_studio_down_the_annotation_is_stored_unresolved_and_sync_names_it_later(
    client, app, ls_project, ls_client, reviewer
):
    ls_id, email = new_ls_user(ls_client, "Bea", "Costa")
    article = make_article()
    claim = next(c for c in article.claims if c.checkworthy)
    link_claim(claim, task_id=TASK, project_id=ls_project[1])

    app.config["LABEL_STUDIO_URL"] = CLOSED_PORT
    started = time.monotonic()
    response = post(client, annotation_payload(70021, TASK, user_id=ls_id, project_id=ls_project[1]))
    assert response.status_code == 200 and response.json["status"] == "processed"
    assert time.monotonic() - started < 1.0  # one try, no backoff: Label Studio waits about 1 s
    db.session.expire_all()
    assert db.session.scalar(sa.select(Annotation.annotator_ls_id)) == ls_id
    assert db.session.get(LabelStudioUser, ls_id) is None
    assert not events(UNKNOWN_ACTION)

    sign_in(client, reviewer)
    page = claim_page(client, claim.id)
    assert f"Label Studio user {ls_id}" in page and "unresolved" in page
    assert "unknown to Label Studio" not in page

    app.config["LABEL_STUDIO_URL"] = LS_URL
    service.sync(actor="test")
    db.session.expire_all()
    assert db.session.get(LabelStudioUser, ls_id).email == email
    page = claim_page(client, claim.id)
    assert f"Bea Costa · {email}" in page and "unresolved" not in page
    assert not events(UNKNOWN_ACTION)
    assert audit.verify().ok


@pytest.mark.labelstudio
def test_an_id_label_studio_does_not_know_is_said_to_be_unknown_once(client, claim, real_ls, reviewer):
    ghost = 2_000_000_000 + secrets.randbelow(100_000_000)
    for n in range(2):
        post(client, annotation_payload(70031 + n, TASK, user_id=ghost, verdict=("True", "False")[n]))
    db.session.expire_all()
    assert db.session.get(LabelStudioUser, ghost) is None
    (marked,) = events(UNKNOWN_ACTION)
    assert (marked.subject_type, marked.subject_id, marked.actor) == (
        "label_studio_user",
        str(ghost),
        "webhook",
    )

    sign_in(client, reviewer)
    page = claim_page(client, claim.id)
    assert f'Label Studio user {ghost} <span class="muted">(unknown to Label Studio)</span>' in page
    assert audit.verify().ok


def test_the_webhook_holds_no_transaction_while_label_studio_answers(app, client, claim, monkeypatch):
    asked = []
    claim_id = claim.id  # read now: loading it later would open a transaction of the test's own

    def others_can_write() -> bool:
        """Another writer gets in now: no SQLite write lock, no lock on the claim's row."""
        if db.engine.dialect.name == "sqlite":
            raw = db.engine.raw_connection()  # the driver's own: no BEGIN of ours in the way
            try:
                raw.execute("PRAGMA busy_timeout=0")
                raw.execute("BEGIN IMMEDIATE")
                raw.execute("ROLLBACK")
            finally:
                raw.close()
        else:
            with db.engine.connect() as other, other.begin():
                other.execute(
                    sa.text("SELECT id FROM claims WHERE id = :id FOR UPDATE NOWAIT"), {"id": claim_id}
                )
        return True

    def get_user(self, user_id, *, retry=True):
        with db.engine.connect() as other:
            stored = other.execute(sa.select(sa.func.count()).select_from(Annotation)).scalar()
        # What it saw is checked after the request: resolve() swallows any error, ours included.
        asked.append((user_id, retry, db.session().in_transaction(), stored, others_can_write()))
        return {"id": user_id, "email": f"u{user_id}@example.org", "first_name": "Cai", "last_name": ""}

    monkeypatch.setattr(LabelStudioClient, "get_user", get_user)
    payload = annotation_payload(70041, TASK, user_id=41)
    payload["annotation"]["updated_by"] = {"id": 42}
    assert post(client, payload).status_code == 200
    # Asked once each, without retries, with the annotation already committed.
    assert asked == [(41, False, False, 1, True), (42, False, False, 1, True)]
    db.session.expire_all()
    assert {u.id: u.email for u in db.session.scalars(sa.select(LabelStudioUser))} == {
        41: "u41@example.org",
        42: "u42@example.org",
    }
    assert audit.verify().ok


def test_a_failure_while_naming_the_author_leaves_the_annotation_stored(app, client, claim, monkeypatch):
    def get_user(self, user_id, *, retry=True):
        raise RuntimeError("a bug of ours")

    monkeypatch.setattr(LabelStudioClient, "get_user", get_user)
    response = post(client, annotation_payload(70051, TASK, user_id=51))
    assert response.status_code == 200 and response.json["status"] == "processed"
    db.session.expire_all()
    assert db.session.scalar(sa.select(Annotation.annotator_ls_id)) == 51
    assert db.session.get(LabelStudioUser, 51) is None


def test_sync_names_ids_missing_from_label_studios_user_list_unknown_once(app, claim):
    by_61 = annotation_payload(70061, TASK, user_id=61)["annotation"]
    by_62 = {**annotation_payload(70062, TASK, user_id=62)["annotation"], "updated_by": 63}
    listed = [{"id": 62, "email": "Dee@Example.org", "first_name": "Dee", "last_name": "Lima"}]
    tasks = [{"id": TASK, "data": {"claim_uuid": claim.uuid}, "annotations": [by_61, by_62]}]
    fake = ScriptedLabelStudio(tasks, listed)
    service.sync(fake, actor="test")
    service.sync(fake, actor="test")
    assert sorted(int(e.subject_id) for e in events(UNKNOWN_ACTION)) == [61, 63]
    assert [e.subject_id for e in events("labelstudio.user_cached")] == ["62"]
    directory = Directory()
    assert str(directory.annotator(61)) == "Label Studio user 61 (unknown to Label Studio)"
    assert (
        str(directory.annotator(62)) == "Dee Lima · dee@example.org (Label Studio only, no workbench account)"
    )
    assert audit.verify().ok


def test_one_directory_names_everyone_with_two_queries(app):
    ana = make_user("reviewer", email="ana@example.org")
    db.session.add(LabelStudioUser(id=5, email="ana@example.org", first_name="Ana", last_name="Silva"))
    db.session.add(LabelStudioUser(id=6, email="bo@example.org", first_name="", last_name=""))
    db.session.commit()
    ana_id, ana_email = ana.user.id, ana.user.email
    directory = Directory()
    statements = []

    def count(*args):
        if args[2].lstrip().upper().startswith("SELECT"):
            statements.append(args[2])

    sa.event.listen(db.engine, "before_cursor_execute", count)
    try:
        names = [
            directory.annotator(5),
            directory.annotator(6),
            directory.actor("label-studio:5"),
            directory.actor(ana_email),
            directory.user(ana_id),
            directory.actor("sync"),
            directory.actor("label-studio"),
            directory.annotator(None, "carl@example.org"),
        ]
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", count)
    assert [str(n) for n in names] == [
        "Reviewer Tester · ana@example.org",
        "bo@example.org (Label Studio only, no workbench account)",
        "Reviewer Tester · ana@example.org",
        "Reviewer Tester · ana@example.org",
        "Reviewer Tester · ana@example.org",
        "sync",
        "Label Studio",
        "carl@example.org (Label Studio only, no workbench account)",
    ]
    assert len(statements) == 2
    assert str(directory.annotator(7)) == (
        "Label Studio user 7 (unresolved: Label Studio has not said who this is yet)"
    )


def test_an_annotator_sees_no_other_annotators_identity(app):
    db.session.add(LabelStudioUser(id=5, email="ana@example.org", first_name="Ana", last_name="Silva"))
    db.session.commit()
    blind = Directory(blind=True, own_ls_id=6)
    assert str(blind.annotator(5)) == "another annotator"
    assert str(blind.actor("label-studio:5")) == "another annotator"
    assert str(Directory(blind=True, own_ls_id=5).annotator(5)).startswith("Ana Silva")


def test_pages_name_actors_and_show_times_as_time_elements(app, client, claim, admin):
    db.session.add(LabelStudioUser(id=71, email="eva@example.org", first_name="Eva", last_name="Rao"))
    db.session.commit()
    payload = annotation_payload(70071, TASK, user_id=71)
    payload["annotation"]["updated_by"] = 72
    post(client, payload)
    sign_in(client, admin)
    page = claim_page(client, claim.id)
    assert "Eva Rao · eva@example.org" in page
    assert "edited by Label Studio user 72" in page and "unresolved" in page
    assert '<time datetime="2031-04-03T10:00:00Z">' in page  # the annotation's own time
    audit_page = client.get("/audit").get_data(as_text=True)
    assert "Eva Rao · eva@example.org" in audit_page  # the actor label-studio:71, named
    article = client.get(f"/articles/{claim.article_id}").get_data(as_text=True)
    assert "ingested <time datetime=" in article


@pytest.mark.labelstudio
def test_label_studio_delivering_the_webhook_is_asked_back_who_the_annotator_is(
    app, client, ls_project, ls_client, reviewer
):
    """Label Studio sends the webhook from inside the annotator's request; the workbench's call
    back to it (who is this id?) must not wait on that request."""
    _, pid = ls_project
    article = make_article()
    claim = next(c for c in article.claims if c.checkworthy)
    with live_server(app) as base_url:
        app.config["PUBLIC_URL"] = base_url
        service.bootstrap(actor="test")  # the webhook, to this server
        service.push(actor="test")
        db.session.rollback()
        task_id = db.session.get(Claim, claim.id).link.task_id
        ls_id, email, token = new_annotator(ls_client, "named")
        started = time.monotonic()
        annotate_as(token, task_id, "Mostly true", "Checked against the ministry's figures.")
        assert time.monotonic() - started < 5
        db.session.rollback()  # a new snapshot: see what the server committed
        assert db.session.scalar(sa.select(Annotation.annotator_ls_id)) == ls_id
        assert db.session.get(LabelStudioUser, ls_id).email == email  # before any sync
    sign_in(client, reviewer)
    assert f"Ann Otator · {email}" in claim_page(client, claim.id)
    assert audit.verify().ok
