"""The server-rendered pages: sign-in by token, the reviewer's queue and claim page, decisions by form."""

from __future__ import annotations

import re

import sqlalchemy as sa

from tests.factories import make_article
from tests.test_review import labelled
from workbench.db import db
from workbench.models import Claim, Verdict


def sign_in(client, user, next_path: str | None = None):
    """Sign in through the form: load it (it sets the session's form token), then post it."""
    url = "/login" if next_path is None else f"/login?next={next_path}"
    form = client.get(url)
    response = client.post(url, data={"token": user.token, "csrf": csrf(form.data)})
    assert response.status_code == 302
    return response


def csrf(page: bytes) -> str:
    return re.search(rb'name="csrf" value="([^"]+)"', page).group(1).decode()


def test_pages_need_a_signed_in_user(client):
    for path in ("/", "/review", "/audit", "/articles/1", "/claims/1"):
        response = client.get(path)
        assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_a_wrong_token_does_not_sign_in(client):
    form = client.get("/login")
    response = client.post("/login", data={"token": "nope", "csrf": csrf(form.data)})
    assert response.status_code == 401 and b"unknown" in response.data


def test_annotators_cannot_open_the_review_desk(client, annotator):
    sign_in(client, annotator)
    assert client.get("/review").status_code == 403
    assert client.get("/audit").status_code == 403
    assert client.get("/claims/1").status_code == 403
    assert client.get("/").status_code == 200


def test_reviewer_works_the_queue_in_the_browser(client, reviewer):
    article = make_article()
    claim = labelled(client, next(c for c in article.claims if c.checkworthy), ["False", "Half true"])
    sign_in(client, reviewer)
    queue = client.get("/review")
    assert queue.status_code == 200 and claim.text.encode() in queue.data and b"split" in queue.data
    page = client.get(f"/claims/{claim.id}")
    assert page.status_code == 200 and b"Accept" in page.data and b"Half true" in page.data
    token = csrf(page.data)

    # A form without the session's token is refused; nothing is stored.
    forged = client.post(
        f"/claims/{claim.id}/decide", data={"action": "reject", "reason": "x", "claim_version": claim.version}
    )
    assert forged.status_code == 400
    stale = claim.version
    accepted = client.post(
        f"/claims/{claim.id}/decide",
        data={
            "csrf": token,
            "action": "accept",
            "annotation_id": claim.annotations[0].id,
            "claim_version": stale,
        },
    )
    assert accepted.status_code == 302
    assert db.session.scalar(sa.select(Verdict.decision).where(Verdict.claim_id == claim.id)) == "accept"

    # The same (now stale) page submitted again: told, not stored.
    again = client.post(
        f"/claims/{claim.id}/decide",
        data={"csrf": token, "action": "reject", "reason": "dup", "claim_version": stale},
        follow_redirects=True,
    )
    assert b"Not recorded" in again.data and b"changed since you loaded it" in again.data
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Verdict)) == 1
    db.session.expire_all()
    assert db.session.get(Claim, claim.id).status == "verified"


def test_admin_sees_the_audit_chain(client, admin):
    make_article()
    sign_in(client, admin)
    page = client.get("/audit")
    assert page.status_code == 200 and b"Intact" in page.data
    db.session.execute(sa.text("UPDATE audit_events SET actor = 'x' WHERE seq = 1"))
    db.session.commit()
    assert b"BROKEN at event 1" in client.get("/audit").data


def test_article_page_highlights_claims_and_escapes_text(client, admin):
    article = make_article(text="The port moved <b>9</b> million tonnes in 2030, up 4 percent.\n")
    sign_in(client, admin)
    page = client.get(f"/articles/{article.id}")
    assert b"&lt;b&gt;9&lt;/b&gt;" in page.data and b"<b>9</b>" not in page.data
    assert b'class="claim' in page.data


def test_an_empty_form_token_is_refused_even_before_any_page_set_one(client, reviewer):
    article = make_article()
    claim = labelled(client, next(c for c in article.claims if c.checkworthy), ["False", "False"])
    sign_in(client, reviewer, "/health")  # signed in (a fresh session), no page rendered since
    response = client.post(
        f"/claims/{claim.id}/decide",
        data={"csrf": "", "action": "reject", "reason": "x", "claim_version": claim.version},
    )
    assert response.status_code == 400
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Verdict)) == 0


def test_annotators_pages_show_no_claim_status(client, annotator, reviewer):
    """Blind overlap in the browser too: statuses tell how far the other annotators got."""
    article = make_article()
    for user, shown in ((annotator, False), (reviewer, True)):
        client.post("/logout", data={"csrf": ""})
        with client.session_transaction() as session:
            session.clear()
        sign_in(client, user)
        dashboard = client.get("/").data
        page = client.get(f"/articles/{article.id}").data
        assert (b"Claims by status" in dashboard) is shown
        assert (b'class="claim queued"' in page or b'class="claim extracted"' in page) is shown
        assert (b'title="queued' in page) is shown


def test_a_stale_page_is_told_what_changed_and_keeps_what_was_typed(client, reviewer):
    from tests.test_review import act

    article = make_article()
    claim = labelled(
        client, next(c for c in article.claims if c.checkworthy), ["Half true", "Half true", "False"]
    )
    sign_in(client, reviewer)
    page = client.get(f"/claims/{claim.id}")
    # The override starts from the annotators' leading vote.
    assert b"<option selected>Half true</option>" in page.data
    loaded_version = claim.version
    assert (
        act(client, reviewer, claim.id, action="accept", annotation_id=claim.annotations[0].id).status_code
        == 201
    )
    response = client.post(
        f"/claims/{claim.id}/decide",
        data={
            "csrf": csrf(page.data),
            "claim_version": str(loaded_version),
            "action": "override",
            "rating": "False",
            "rationale": "My careful reasoning.",
        },
    )
    assert response.status_code == 409
    text = response.get_data(as_text=True)
    assert f"verdict was accepted by {reviewer.user.email}" in text.replace("&#39;", "'")
    assert "My careful reasoning." in text


def test_no_decision_forms_on_a_claim_still_in_annotation(client, reviewer):
    article = make_article()
    claim = labelled(client, next(c for c in article.claims if c.checkworthy), ["False"])
    sign_in(client, reviewer)
    page = client.get(f"/claims/{claim.id}").data
    assert claim.status == "in_annotation" and b"<h2>Decide</h2>" not in page


def test_the_claim_page_lists_the_machine_s_reasons_in_words(client, reviewer):
    from tests.factories import make_article as _make_article

    claim = next(c for c in _make_article().claims if c.reasons)
    sign_in(client, reviewer)
    page = client.get(f"/claims/{claim.id}").get_data(as_text=True)
    assert "machine's check-worthiness score (a hint)" in page
    for reason in claim.reasons:
        assert f"<li>{reason}</li>" in page.replace("&#43;", "+")
