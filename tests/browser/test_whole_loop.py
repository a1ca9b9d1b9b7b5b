"""The whole loop by people, in real browsers: Label Studio's own UI, the webhook, review, export.

Two annotators sign up through Label Studio's invite link (its own sign-up page: they become
members of the organization, which is all the community edition needs to open a project's
tasks), then each logs in on Label Studio's login page in a browser context of their own, takes
the claim's task from the label stream, ticks a verdict, types evidence and a rationale into the
text areas and submits. Label Studio posts the webhook to the workbench, served over real HTTP
(no sync runs). A reviewer signs in to the workbench, finds the claim in the queue, overrides it
with a rationale and publishes it using only the keyboard; the export downloaded from the
exports page holds the published verdict with both annotators' rationales and evidence.

The second annotator leaves the check-worthy question alone: their stored annotation must say
nothing about check-worthiness (``checkworthy`` None), which is checked last.
"""

from __future__ import annotations

import json
import re
import secrets
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests
import sqlalchemy as sa

from tests.browser.conftest import Tab
from tests.conftest import LS_KEY, LS_URL
from tests.factories import make_article, make_user
from workbench.db import db
from workbench.labelstudio import service
from workbench.models import Annotation, AuditEvent, Claim, LabelStudioLink, Verdict, WebhookEvent

pytestmark = [pytest.mark.browser, pytest.mark.labelstudio]

# One clear, check-worthy claim (the agency line is a header, kept out of the claims).
ARTICLE = """Harbour Wire Service

PORT ELLIS: Unemployment in Port Ellis fell to 4.1 percent in March 2031, down from 5.3 percent \
a year earlier, the city's statistics office said on Tuesday.
"""
CLAIM_START = "Unemployment in Port Ellis fell to 4.1 percent"

LS_TIMEOUT_MS = 30_000  # Label Studio's labelling app is a large bundle: its first paint is slow
WEBHOOK_WAIT_S = 20


@dataclass
class Person:
    """An annotator: what they choose and type in Label Studio's labelling interface."""

    email: str
    password: str
    verdict: str
    evidence: str
    rationale: str
    checkworthy: str | None  # the check-worthy choice they tick, or None: they leave it alone
    ls_id: int = 0
    ls_annotation_id: int = 0


def _choice(page, text: str):
    """The checkbox (or radio) of a Choice, by its visible text ("False", not "False[7]": LS adds
    its hotkey as a superscript)."""
    return page.get_by_label(re.compile(rf"^{re.escape(text)}\s*(\[\w+\])?$"))


@contextmanager
def screenshots_on_failure(pages: dict, where: Path) -> Iterator[None]:
    """On failure, save every open page to ``where`` (a tmp dir: never docs/) and say so."""
    try:
        yield
    except BaseException:
        where.mkdir(parents=True, exist_ok=True)
        for name, page in pages.items():
            try:
                page.screenshot(path=str(where / f"{name}.png"), full_page=True, timeout=5_000)
            except Exception as exc:  # a closed page must not hide the real failure
                print(f"no screenshot of {name}: {exc}")
        print(f"screenshots of the failure: {where}")
        raise


def ls_invite_url() -> str:
    """The organization's invite link, as an admin copies it from Label Studio (Organization → Add People)."""
    response = requests.get(f"{LS_URL}/api/invite", headers={"Authorization": f"Token {LS_KEY}"}, timeout=30)
    assert response.status_code == 200, f"GET /api/invite answered {response.status_code}: {response.text}"
    return response.json()["invite_url"]


def ls_context(browser):
    """A browser context of its own (no cookies) on Label Studio."""
    context = browser.new_context(base_url=LS_URL, viewport={"width": 1280, "height": 900})
    context.set_default_timeout(LS_TIMEOUT_MS)
    return context


@pytest.fixture
def ls_contexts(browser):
    """Open Label Studio browser contexts; all closed after the test, passed or not."""
    contexts = []

    def open_context():
        contexts.append(ls_context(browser))
        return contexts[-1]

    yield open_context
    for context in contexts:
        context.close()


def ls_sign_up(browser, invite_url: str, person: Person) -> None:
    """Create the Label Studio user with a password on Label Studio's own sign-up page."""
    context = ls_context(browser)
    try:
        page = context.new_page()
        page.goto(invite_url)
        page.locator("#email").fill(person.email)
        page.locator("#password").fill(person.password)
        with page.expect_navigation():
            page.locator("#signup-form button[type='submit'], form button[type='submit']").first.click()
        assert "/user/signup" not in page.url, (
            f"Label Studio refused the sign-up of {person.email}: "
            + " | ".join(page.locator(".field_errors, .error, [class*='error']").all_inner_texts())
        )
    finally:
        context.close()


def ls_log_in(page, person: Person) -> None:
    """Log in on Label Studio's login page."""
    page.goto("/user/login/")
    page.locator("#email").fill(person.email)
    page.locator("#password").fill(person.password)
    with page.expect_navigation():
        page.get_by_role("button", name=re.compile(r"^log ?in$", re.I)).click()
    assert "/user/login" not in page.url, f"Label Studio did not log {person.email} in (still on {page.url})"


def ls_annotate(page, project_id: int, task_id: int, person: Person) -> int:
    """Take the next task from the label stream, label it as ``person`` would, submit; return the
    annotation's id from Label Studio's answer."""
    page.goto(f"/projects/{project_id}/data?labeling=1")
    page.get_by_text(CLAIM_START).first.wait_for()  # the claim's task, served by the stream
    if person.checkworthy is not None:
        _choice(page, person.checkworthy).check()
    _choice(page, person.verdict).check()
    for name, text in (("evidence", person.evidence), ("rationale", person.rationale)):
        area = page.locator(f"textarea[name='{name}']")
        area.click()
        page.keyboard.type(text)
        # LS 1.23's TextArea keeps only what is added ("Press Shift + Enter to Add").
        page.keyboard.press("Shift+Enter")
        page.get_by_text(text, exact=True).first.wait_for()  # shown as an added text, not in the box
    with page.expect_response(
        lambda r: r.request.method == "POST" and re.search(r"/api/tasks/\d+/annotations", r.url) is not None
    ) as answer:
        page.get_by_role("button", name="Submit current annotation").click()
    response = answer.value
    assert response.status == 201, f"Label Studio answered {response.status} to {person.email}'s submit"
    assert f"/api/tasks/{task_id}/annotations" in response.url, f"submitted to another task: {response.url}"
    return int(response.json()["id"])


def workbench_sign_in(tab: Tab, token: str) -> None:
    """Sign in at /login with the API token form (opening it when folded away)."""
    page = tab.page
    response = page.goto("/login")
    assert response and response.status == 200, f"GET /login answered {response and response.status}"
    field = page.locator("#token")
    if field.count() != 1:
        pytest.fail("the sign-in page has no #token field: teach test_whole_loop's workbench_sign_in")
    if not field.is_visible():  # e.g. inside a closed <details>
        page.locator("details", has=field).locator("summary").click()
    field.fill(token)
    with page.expect_navigation():
        field.press("Enter")
    assert "/login" not in page.url, f"sign-in failed: still on {page.url}"


def press_until(page, key: str, condition: str, limit: int, what: str) -> None:
    """Press ``key`` until the JavaScript ``condition`` holds, at most ``limit`` times."""
    for _ in range(limit):
        if page.evaluate(condition):
            return
        page.keyboard.press(key)
    if not page.evaluate(condition):
        focused = page.evaluate("document.activeElement && document.activeElement.outerHTML.slice(0, 200)")
        pytest.fail(f"{limit} × {key} did not reach {what}; the focus is on {focused}")


def stored_annotations(claim_id: int) -> list[Annotation]:
    db.session.rollback()  # a new snapshot: see what the live server committed
    return list(
        db.session.scalars(
            sa.select(Annotation).where(Annotation.claim_id == claim_id).order_by(Annotation.id)
        )
    )


@pytest.fixture
def ls_loop_project(app, ls_client, live_url):
    """The app pointed at the real Label Studio, with a project (overlap 2) whose webhook reaches the
    live server; deleted afterwards."""
    title = f"wb-loop-{secrets.token_hex(4)}"
    app.config.update(
        LABEL_STUDIO_URL=LS_URL,
        LABEL_STUDIO_API_KEY=LS_KEY,
        LABEL_STUDIO_PROJECT_TITLE=title,
        ANNOTATION_OVERLAP=2,
        PUBLIC_URL=live_url,
    )
    result = service.bootstrap(ls_client, actor="test")
    try:
        hooks = [h for h in ls_client.list_webhooks(result.project_id) if h["url"].startswith(live_url)]
        assert len(hooks) == 1, f"the project's webhook does not point at the live server: {hooks}"
        assert ls_client.get_project(result.project_id)["maximum_annotations"] == 2
        yield result.project_id
    finally:
        ls_client.delete_project(result.project_id)


def test_the_whole_loop_by_people(app, ls_client, ls_loop_project, browser, ls_contexts, new_tab, tmp_path):
    started = time.monotonic()
    project_id = ls_loop_project

    # An article with one clear claim, pushed to Label Studio as one task needing two annotators.
    article = make_article(ARTICLE, title="Port Ellis jobs", url="https://example.org/port-ellis-jobs")
    queued = [c for c in article.claims if c.status == "queued"]
    assert [c.text[: len(CLAIM_START)] for c in queued] == [CLAIM_START], [c.text for c in article.claims]
    claim_id = queued[0].id
    pushed = service.push(ls_client, actor="test")
    assert pushed.pushed == 1, pushed
    link = db.session.scalar(sa.select(LabelStudioLink).where(LabelStudioLink.claim_id == claim_id))
    assert link is not None and link.project_id == project_id
    task_id = link.task_id
    assert ls_client.get_task(task_id)["overlap"] == 2

    tag = secrets.token_hex(3)
    people = [
        Person(
            email=f"loop-a-{tag}@example.org",
            password=f"Ann-{secrets.token_urlsafe(12)}",
            verdict="False",
            evidence="https://stats.port-ellis.example.org/unemployment-2031-03",
            rationale="The statistics office's March table says 5.1 percent, not 4.1.",
            checkworthy="Check-worthy",
        ),
        Person(
            email=f"loop-b-{tag}@example.org",
            password=f"Ben-{secrets.token_urlsafe(12)}",
            verdict="Mostly false",
            evidence="Ministry press release, 3 Jan",
            rationale="The ministry's release gives 5.1 percent; the fall is smaller.",
            checkworthy=None,  # leaves the check-worthy question alone
        ),
    ]
    pages: dict = {}
    with screenshots_on_failure(pages, tmp_path / "failure-screenshots"):
        # Each annotator: sign up through the invite link, then log in and annotate in their own context.
        invite = ls_invite_url()
        for n, person in enumerate(people, start=1):
            ls_sign_up(browser, invite, person)
            member = ls_client.find_user_by_email(person.email)
            assert member is not None, f"{person.email} is not a member of the admin's organization"
            person.ls_id = int(member["id"])
            page = pages[f"annotator-{n}"] = ls_contexts().new_page()
            ls_log_in(page, person)
            person.ls_annotation_id = ls_annotate(page, project_id, task_id, person)
        annotated_at = time.monotonic()

        # The webhook brings both annotations: wait for them (bounded), then check what was stored.
        deadline = time.monotonic() + WEBHOOK_WAIT_S
        while len(stored := stored_annotations(claim_id)) < 2 and time.monotonic() < deadline:
            time.sleep(0.25)
        events = [
            (e.action, e.status, e.detail)
            for e in db.session.scalars(sa.select(WebhookEvent).order_by(WebhookEvent.id))
        ]
        assert len(stored) == 2, (
            f"the webhook stored {len(stored)} annotations in {WEBHOOK_WAIT_S} s: {events}"
        )
        assert [e[:2] for e in events] == [("ANNOTATION_CREATED", "processed")] * 2, events
        assert [a.source for a in stored] == ["webhook", "webhook"]
        assert not db.session.scalar(
            sa.select(sa.func.count())
            .select_from(AuditEvent)
            .where(AuditEvent.action == "labelstudio.synced")
        ), "a sync ran: this test is about the webhook"
        by_person = {a.annotator_ls_id: a for a in stored}
        assert set(by_person) == {p.ls_id for p in people}, (by_person, [p.ls_id for p in people])
        for person in people:
            a = by_person[person.ls_id]
            assert a.ls_annotation_id == person.ls_annotation_id and a.ls_task_id == task_id
            assert (a.verdict, a.rationale, a.evidence_text) == (
                person.verdict,
                person.rationale,
                person.evidence,
            )
        assert by_person[people[0].ls_id].checkworthy is True
        assert by_person[people[0].ls_id].evidence_urls == [people[0].evidence]
        assert by_person[people[1].ls_id].evidence_urls == []  # plain text is evidence, not a link
        assert db.session.get(Claim, claim_id).status == "annotated"

        # The reviewer, with the keyboard only: the queue, the claim, override with a rationale, publish.
        reviewer = make_user("reviewer")
        tab = new_tab(1280)
        page = pages["reviewer"] = tab.page
        workbench_sign_in(tab, reviewer.token)
        page.goto("/review")
        is_our_claim = f"document.activeElement.textContent.trim().startsWith({json.dumps(CLAIM_START)})"
        press_until(page, "j", is_our_claim, 20, "the claim in the review queue")
        with page.expect_navigation():
            page.keyboard.press("Enter")
        assert page.url.endswith(f"/claims/{claim_id}"), page.url
        page.keyboard.press("o")
        assert page.evaluate("document.activeElement.id") == "override-rating", "o did not reach the rating"
        rating = "Misleading"
        press_until(page, "ArrowDown", f"document.activeElement.value === {json.dumps(rating)}", 8, rating)
        rationale = "Both annotators found 5.1 percent in March 2031; the claim picks the wrong month."
        evidence = "https://stats.port-ellis.example.org/unemployment-2031-03"
        page.keyboard.press("Tab")
        assert page.evaluate("document.activeElement.id") == "override-rationale"
        page.keyboard.type(rationale)
        page.keyboard.press("Tab")
        assert page.evaluate("document.activeElement.id") == "override-evidence"
        page.keyboard.type(evidence)
        page.keyboard.press("Tab")
        assert page.evaluate("document.activeElement.textContent.trim()") == "Override"
        with page.expect_navigation():
            page.keyboard.press("Enter")
        assert "Recorded: override" in page.content(), page.locator("main").inner_text()[:500]
        focused = "document.activeElement"
        is_publish = f"{focused}.tagName === 'BUTTON' && {focused}.textContent.trim() === 'Publish'"
        press_until(page, "Tab", is_publish, 80, "the Publish button")
        with page.expect_navigation():
            page.keyboard.press("Enter")
        assert "Recorded: publish" in page.content(), page.locator("main").inner_text()[:500]
        assert "published" in page.locator("h1").inner_text()
        assert tab.page_errors == [] and tab.dialogs == []
        db.session.rollback()
        verdicts = list(
            db.session.scalars(
                sa.select(Verdict).where(Verdict.claim_id == claim_id).order_by(Verdict.version)
            )
        )
        assert [(v.decision, v.rating) for v in verdicts] == [("override", rating), ("publish", rating)]
        assert verdicts[0].rationale == rationale and verdicts[0].evidence == [evidence]

        # The export, downloaded from the exports page: the published verdict with both annotators' work.
        page.goto("/exports")
        page.get_by_label("Format").select_option(label="JSON")
        page.get_by_label("Published", exact=True).select_option(value="true")
        with page.expect_download() as download_info:
            page.get_by_role("button", name="Download").click()
        download = download_info.value
        assert download.failure() is None, download.failure()
        saved = tmp_path / "export.json"
        download.save_as(saved)
        records = json.loads(saved.read_text(encoding="utf-8"))
        assert [r["claim"]["id"] for r in records] == [claim_id], records
        record = records[0]
        assert record["claim"]["text"].startswith(CLAIM_START)
        assert record["verdict"]["rating"] == rating
        assert record["verdict"]["rationale"] == rationale
        assert record["verdict"]["published_at"], record["verdict"]
        assert record["verdict"]["reviewer"]["email"] == reviewer.user.email
        assert record["label_studio"]["task_id"] == task_id
        exported = {a["annotator_ls_id"]: a for a in record["annotations"]}
        assert set(exported) == {p.ls_id for p in people}, record["annotations"]
        for person in people:
            a = exported[person.ls_id]
            assert (a["verdict"], a["rationale"], a["evidence_text"], a["source"]) == (
                person.verdict,
                person.rationale,
                person.evidence,
                "webhook",
            ), a
        assert exported[people[0].ls_id]["evidence_urls"] == [people[0].evidence]
        assert exported[people[1].ls_id]["evidence_urls"] == []
        finished = time.monotonic()

        # Last: the annotator who left check-worthiness alone is stored (and exported) as saying nothing.
        untouched = people[1]
        origin = [
            (item.get("value"), item.get("origin"))
            for item in ls_client.get_annotation(untouched.ls_annotation_id)["result"]
            if item.get("from_name") == "checkworthy"
        ]
        assert (by_person[untouched.ls_id].checkworthy, exported[untouched.ls_id]["checkworthy"]) == (
            None,
            None,
        ), (
            f"{untouched.email} never touched the check-worthy choice, yet it was stored as "
            f"{by_person[untouched.ls_id].checkworthy}: Label Studio submitted {origin} for it "
            "(origin 'prediction': the task's prediction pre-ticks the choice and the UI submits it "
            "as the annotator's answer)"
        )
    print(
        f"annotators {annotated_at - started:.1f} s, review and export {finished - annotated_at:.1f} s, "
        f"total {time.monotonic() - started:.1f} s"
    )
