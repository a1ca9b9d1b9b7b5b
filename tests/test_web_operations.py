"""The operator's desk: what waits, what arrived, what needs a look; push and sync as jobs."""

from __future__ import annotations

import re

from tests.factories import make_article
from tests.test_web import sign_in
from tests.test_webhook import post


def token(page: bytes) -> str:
    return re.search(rb'name="csrf" value="([^"]+)"', page).group(1).decode()


def test_the_desk_shows_waiting_claims_deliveries_to_look_at_and_label_studio_down(client, admin):
    make_article()
    post(client, "{not json")
    sign_in(client, admin)
    page = client.get("/operations").get_data(as_text=True)
    assert "does not answer" in page  # the test config points Label Studio at a dead port
    assert "malformed: 1" in page and "queued" in page
    assert "Waiting to be pushed" in page


def test_push_with_label_studio_down_says_why_and_changes_nothing(client, admin):
    make_article()
    sign_in(client, admin)
    csrf = token(client.get("/operations").data)
    response = client.post("/operations/push", data={"csrf": csrf}, follow_redirects=True)
    assert "push not started" in response.get_data(as_text=True)


def test_only_admins_run_the_desk(client, reviewer):
    sign_in(client, reviewer)
    assert client.get("/operations").status_code == 403


def test_the_desk_shows_deliveries_kept_and_not_placed_yet(app, client, admin):
    from workbench.db import db
    from workbench.labelstudio import webhook_spool
    from workbench.models import WebhookEvent
    from workbench.models.base import utcnow

    sign_in(client, admin)
    assert "Kept, not placed yet: 0" in client.get("/operations").get_data(as_text=True)
    # One kept in the table and one on disk, as a placer that has not run yet leaves them.
    db.session.add(WebhookEvent(action="ANNOTATION_CREATED", body="{}", status="received"))
    db.session.commit()
    folder = webhook_spool.directory(app)
    folder.mkdir(parents=True, exist_ok=True)
    webhook_spool.write(folder, b'{"action": "ANNOTATION_CREATED"}', utcnow())
    page = client.get("/operations").get_data(as_text=True)
    assert "Kept, not placed yet: 1 · on disk (the database was busy): 1" in page
