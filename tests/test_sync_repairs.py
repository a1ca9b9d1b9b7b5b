"""Sync goes on past what it cannot store, says why, and repairs state; a second run repairs nothing."""

from __future__ import annotations

import sqlalchemy as sa

from tests.factories import annotation_payload, link_claim, make_article, make_user
from workbench import audit
from workbench.db import db
from workbench.errors import LabelStudioError
from workbench.labelstudio import service
from workbench.models import Annotation, AuditEvent, Claim, User


class ScriptedLabelStudio:
    """Label Studio's answers for one project, as the client returns them (the real server is
    used in test_label_studio_reliability.py; here the payloads are ones it cannot be made to send)."""

    def __init__(self, tasks: list[dict], users: list[dict], *, export_fails: bool = False):
        self.tasks, self.users, self.webhooks = tasks, users, 0
        self.export_fails, self.reads = export_fails, []

    def find_project(self, title):
        return {"id": 1, "title": title}

    def list_users(self):
        return self.users

    def export_tasks(self, project_id, *, timeout=None):
        self.reads.append("export")
        if self.export_fails:
            raise LabelStudioError("Label Studio could not export the tasks of project 1: HTTP 500 boom")
        return iter(self.tasks)

    def iter_tasks(self, project_id):
        self.reads.append("listing")
        yield from self.tasks

    def ensure_webhook(self, project_id, url, headers, actions):
        self.webhooks += 1
        return {"id": 1}, "unchanged"


def task(task_id: int, claim, *annotations: dict) -> dict:
    return {"id": task_id, "data": {"claim_uuid": claim.uuid}, "annotations": list(annotations)}


def test_a_bad_annotation_is_skipped_with_its_reason_and_the_rest_is_stored(app):
    article = make_article()
    first, second = [c for c in article.claims if c.checkworthy][:2]
    link_claim(first, 501)
    link_claim(second, 502)
    bad = annotation_payload(1, 501, user_id=3)["annotation"] | {"created_at": "x" * 300}
    nul = annotation_payload(2, 501, user_id=4, rationale="nul \x00 here")["annotation"]
    later = annotation_payload(3, 502, user_id=3)["annotation"]
    fake = ScriptedLabelStudio(
        [task(501, first, bad, nul), task(502, second, later)],
        [{"id": 3, "email": "ann3@example.org"}, {"id": 4, "email": "x" * 400}],
    )
    result = service.sync(fake, actor="test")
    assert (result.repaired, result.malformed) == (2, 1)
    assert "created_at" in result.skipped[0]
    rows = db.session.scalars(sa.select(Annotation).order_by(Annotation.ls_annotation_id)).all()
    assert [(r.ls_annotation_id, r.annotator_email) for r in rows] == [(2, None), (3, "ann3@example.org")]
    assert rows[0].rationale == "nul \ufffd here"
    synced = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "labelstudio.synced"))
    assert synced.payload["malformed"] == 1 and "created_at" in synced.payload["skipped"][0]
    again = service.sync(fake, actor="test")
    assert again.total_repaired == 0
    assert audit.verify().ok


def test_sync_maps_users_with_one_event_each_and_only_when_something_changed(app):
    ann = make_user("annotator", email="ann9@example.org")
    fake = ScriptedLabelStudio([], [{"id": 9, "email": "ANN9@example.org", "first_name": "Ann"}])
    service.sync(fake, actor="test")
    service.sync(fake, actor="test")
    actions = db.session.scalars(
        sa.select(AuditEvent.action).where(
            AuditEvent.action.in_(["labelstudio.user_cached", "user.label_studio_mapped"])
        )
    ).all()
    assert sorted(actions) == ["labelstudio.user_cached", "user.label_studio_mapped"]
    assert db.session.get(User, ann.user.id).label_studio_user_id == 9
    assert audit.verify().ok


def test_sync_derives_a_lost_count_again(app):
    article = make_article()
    claim = next(c for c in article.claims if c.checkworthy)
    link_claim(claim, 501)
    fake = ScriptedLabelStudio(
        [
            task(
                501,
                claim,
                annotation_payload(1, 501, user_id=3)["annotation"],
                annotation_payload(2, 501, user_id=4)["annotation"],
            )
        ],
        [],
    )
    first = service.sync(fake, actor="test")
    assert (first.repaired, first.malformed) == (2, 0), first.skipped
    db.session.execute(
        sa.update(Claim).where(Claim.id == claim.id).values(annotator_count=1, status="in_annotation")
    )
    db.session.commit()
    result = service.sync(fake, actor="test")
    assert (result.repaired, result.states_repaired) == (0, 1)
    db.session.expire_all()
    assert db.session.get(Claim, claim.id).status == "annotated"
    assert service.sync(fake, actor="test").total_repaired == 0


def test_a_failed_export_falls_back_to_the_paged_list_and_says_so(app):
    article = make_article()
    claim = next(c for c in article.claims if c.checkworthy)
    link_claim(claim, 501)
    tasks = [task(501, claim, annotation_payload(1, 501, user_id=3)["annotation"])]
    broken = ScriptedLabelStudio(tasks, [], export_fails=True)
    result = service.sync(broken, actor="test")
    assert broken.reads == ["export", "listing"]
    assert (result.repaired, result.read_via) == (1, "listing")
    assert "HTTP 500 boom" in result.export_error
    synced = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "labelstudio.synced"))
    assert synced.payload["read_via"] == "listing" and "HTTP 500" in synced.payload["export_error"]
    # Read through the export, the same versions are stored already: nothing new.
    working = ScriptedLabelStudio(tasks, [])
    again = service.sync(working, actor="test")
    assert working.reads == ["export"]
    assert (again.read_via, again.total_repaired, again.export_error) == ("export", 0, None)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Annotation)) == 1
    assert audit.verify().ok
