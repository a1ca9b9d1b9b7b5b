"""Against the real Label Studio: pushes at once, and deliveries lost or scrambled then reconciled."""

from __future__ import annotations

import json
import random
import secrets

import pytest
import requests
import sqlalchemy as sa

from tests.conftest import LS_KEY, LS_URL
from tests.factories import make_article, make_user, verdict_result
from tests.served import workbench_serve
from tests.stack_helpers import claims_text
from tests.test_concurrency_http import MANY_CLAIMS_TEXT, at_once, deliver, fresh
from workbench.db import db
from workbench.labelstudio import service
from workbench.labelstudio.annotations import updated_key
from workbench.models import Annotation, Claim, ClaimStatus, LabelStudioLink
from workbench.review.agreement import current_votes

pytestmark = pytest.mark.labelstudio


@pytest.fixture
def served_ls(ls_project, database_url, tmp_path):
    title, _ = ls_project
    instance = tmp_path / "served"
    instance.mkdir()
    with workbench_serve(
        database_url,
        instance,
        WORKBENCH_LABEL_STUDIO_URL=LS_URL,
        WORKBENCH_LABEL_STUDIO_API_KEY=LS_KEY,
        WORKBENCH_LABEL_STUDIO_PROJECT=title,
        WORKBENCH_ANNOTATION_OVERLAP="2",
        WORKBENCH_PUSH_BATCH_SIZE="40",
    ) as url:
        yield url


def test_four_pushes_at_once_one_runs_the_others_are_told(ls_project, served_ls, ls_client):
    _, pid = ls_project
    for n in range(4):
        make_article(MANY_CLAIMS_TEXT + f"\n\nEdition {n}.")
    queued = db.session.scalar(sa.select(sa.func.count()).select_from(Claim).where(Claim.status == "queued"))
    admin = make_user("admin")
    group = [
        lambda: requests.post(f"{served_ls}/api/v1/labelstudio/push", headers=admin.headers, timeout=300)
        for _ in range(4)
    ]
    responses = at_once([group], workers=4)
    seen = [r.text[:300] for r in responses]
    assert {r.status_code for r in responses} <= {200, 409}, seen
    refused = [r.json() for r in responses if r.status_code == 409]
    ran = sorted((r.json()["result"]["pushed"] for r in responses if r.status_code == 200), reverse=True)
    # One push imports every queued claim. The others arrive while it runs and are told who runs
    # it; on a loaded machine one may come only after it ended, runs, and finds nothing left.
    assert ran[0] == queued and all(pushed == 0 for pushed in ran[1:]), seen
    assert refused, seen
    assert all(body["errors"]["running"]["holder"] == admin.user.email for body in refused)
    assert "already running" in refused[0]["message"]
    uuids = [t["data"]["claim_uuid"] for t in ls_client.iter_tasks(pid)]
    assert len(uuids) == len(set(uuids)) == queued
    # The lock is given back: the next push runs (and finds nothing left).
    again = requests.post(f"{served_ls}/api/v1/labelstudio/push", headers=admin.headers, timeout=300)
    assert again.status_code == 200 and again.json()["result"]["pushed"] == 0


def _snapshot(ls_client, annotation_id: int) -> dict:
    return ls_client.get_annotation(annotation_id)


def test_lost_duplicated_and_reordered_deliveries_then_sync_hold_exactly_label_studios_versions(
    ls_project, served_ls, ls_client
):
    title, pid = ls_project
    admin = make_user("admin")
    article = make_article(MANY_CLAIMS_TEXT)
    service.push(actor="test")
    fresh()
    links = db.session.scalars(
        sa.select(LabelStudioLink).join(Claim).where(Claim.article_id == article.id).order_by(Claim.id)
    ).all()[:8]
    people = [
        int(
            ls_client.create_user(
                f"rel-{secrets.token_hex(4)}@example.org", first_name="R", last_name=str(n)
            )["id"]
        )
        for n in range(2)
    ]
    rng = random.Random(7)
    deliveries = []
    for link in links:
        task = ls_client.get_task(link.task_id)
        for who in people:
            verdict = rng.choice(["True", "False", "Half true"])
            made = ls_client.create_annotation(
                link.task_id, verdict_result(verdict, "first", "https://e.org/1", 3), completed_by=who
            )
            versions = [_snapshot(ls_client, int(made["id"]))]
            for _ in range(rng.randint(0, 2)):
                verdict = rng.choice(["True", "False", "Half true"])
                ls_client.update_annotation(
                    int(made["id"]), verdict_result(verdict, "again", "https://e.org/2", 4)
                )
                versions.append(_snapshot(ls_client, int(made["id"])))
            for n, snapshot in enumerate(versions):
                deliveries.append(
                    {
                        "action": "ANNOTATION_CREATED" if n == 0 else "ANNOTATION_UPDATED",
                        "annotation": snapshot,
                        "task": {"id": task["id"], "project": pid, "data": task["data"]},
                        "project": {"id": pid},
                    }
                )
    # A third of the deliveries are lost, a quarter come twice, all in any order.
    kept = [d for d in deliveries if rng.random() > 1 / 3]
    scrambled = kept + rng.sample(kept, len(kept) // 4)
    rng.shuffle(scrambled)
    responses = at_once([lambda b=b: deliver(served_ls, json.dumps(b)) for b in scrambled], workers=6)
    assert all(r.status_code == 200 for r in responses), [r.text for r in responses if r.status_code != 200]

    fresh()
    first = requests.post(f"{served_ls}/api/v1/labelstudio/sync", headers=admin.headers, timeout=300)
    assert first.status_code == 200, first.text
    second = requests.post(f"{served_ls}/api/v1/labelstudio/sync", headers=admin.headers, timeout=300)
    assert second.json()["result"]["total_repaired"] == 0, second.json()

    fresh()
    for link in links:
        in_ls = {int(a["id"]): a for a in ls_client.list_annotations(link.task_id)}
        claim = db.session.get(Claim, link.claim_id)
        ours = current_votes(claim.annotations)
        assert {a.ls_annotation_id for a in ours.values()} == set(in_ls)
        for a in ours.values():
            assert a.result == in_ls[a.ls_annotation_id]["result"]
        assert claim.annotator_count == 2 and claim.status == ClaimStatus.ANNOTATED
    # Every version that did arrive is kept, once; the lost ones are not invented.
    delivered = {(d["annotation"]["id"], updated_key(d["annotation"]["updated_at"])) for d in kept}
    stored = set(db.session.execute(sa.select(Annotation.ls_annotation_id, Annotation.ls_updated_key)).all())
    assert delivered <= stored
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Annotation)) == len(stored)
    report = requests.get(f"{served_ls}/api/v1/audit/verify", headers=admin.headers, timeout=120).json()
    assert report["ok"], report


def test_sync_recreates_a_lost_or_disabled_webhook_and_pushes_claims_stuck_as_attempted(
    app, ls_project, ls_client
):
    _, pid = ls_project
    # Bootstrap ran without a secret: no webhook yet, as if Label Studio had lost it.
    assert service.sync(actor="test").webhook_recreated is True
    assert service.sync(actor="test").total_repaired == 0
    (hook,) = ls_client.list_webhooks(pid)
    ls_client._sdk.webhooks.update(hook["id"], is_active=False)
    assert service.sync(actor="test").webhook_recreated is True
    assert ls_client.list_webhooks(pid)[0]["is_active"] is True

    # Two pushes that died: one before Label Studio imported, one after it did, before we recorded.
    article = make_article(MANY_CLAIMS_TEXT)
    queued = [c for c in article.claims if c.status == "queued"]
    lost_before, lost_after = queued[:5], queued[5:10]
    ls_client.import_tasks(pid, [service.task_for(c, article) for c in lost_after])
    db.session.execute(
        sa.update(Claim)
        .where(Claim.id.in_([c.id for c in lost_before + lost_after]))
        .values(push_attempted_at=sa.func.now())
    )
    db.session.commit()
    result = service.sync(actor="test")
    assert result.repushed == 10
    fresh()
    uuids = [t["data"]["claim_uuid"] for t in ls_client.iter_tasks(pid)]
    assert sorted(uuids) == sorted(c.uuid for c in lost_before + lost_after)
    assert all(db.session.get(Claim, c.id).status == "in_annotation" for c in lost_before + lost_after)
    assert service.sync(actor="test").total_repaired == 0


def test_a_push_right_after_a_timed_out_push_imports_no_claim_twice(app, ls_project, ls_client):
    """The first push gives up on Label Studio's answer (a timeout far shorter than the import
    takes) while Label Studio goes on importing; the push at once after it must not import the
    same claims again."""
    from workbench.errors import LabelStudioUnavailable

    _, pid = ls_project
    article = make_article(claims_text(300, "Kilrush"))
    queued = sorted(c.uuid for c in article.claims if c.status == "queued")
    assert len(queued) == 300
    app.config.update(LABEL_STUDIO_TIMEOUT=0.05, PUSH_BATCH_SIZE=300)
    with pytest.raises(LabelStudioUnavailable):
        service.push(actor="test")
    app.config["LABEL_STUDIO_TIMEOUT"] = 60
    again = service.push(actor="test")
    assert again.remaining == 0
    fresh()
    uuids = [t["data"]["claim_uuid"] for t in ls_client.iter_tasks(pid)]
    assert sorted(uuids) == queued  # each claim once
    links = db.session.scalars(sa.select(LabelStudioLink.claim_id)).all()
    assert len(links) == len(set(links)) == 300


def test_sync_reads_one_export_that_names_the_same_versions_as_the_paged_list(
    app, ls_project, ls_client, monkeypatch
):
    """Synced through the paged list, then through the export: the second stores nothing, and the
    export's tasks (cancelled annotations, edited ones, tasks without any) match the list's."""
    from workbench.errors import LabelStudioError
    from workbench.labelstudio.client import LabelStudioClient

    _, pid = ls_project
    article = make_article(MANY_CLAIMS_TEXT)
    service.push(actor="test")
    fresh()
    links = db.session.scalars(
        sa.select(LabelStudioLink).join(Claim).where(Claim.article_id == article.id).order_by(Claim.id)
    ).all()
    assert len(links) >= 4
    who = int(ls_client.create_user(f"exp-{secrets.token_hex(4)}@example.org", first_name="E")["id"])
    ls_client.create_annotation(
        links[0].task_id, verdict_result("False", "a", "https://e.org/1", 3), completed_by=who
    )
    edited = ls_client.create_annotation(
        links[1].task_id, verdict_result("True", "b", "https://e.org/2", 2), lead_time=12.5
    )
    ls_client.update_annotation(int(edited["id"]), verdict_result("Half true", "c", "https://e.org/3", 4))
    ls_client._http(
        "POST",
        f"/api/tasks/{links[2].task_id}/annotations/",
        "skip a task",
        json={"result": [], "was_cancelled": True},
    )

    listed = {t["id"]: t for t in ls_client.iter_tasks(pid)}
    exported = {t["id"]: t for t in ls_client.export_tasks(pid)}
    assert exported.keys() == listed.keys()  # tasks without annotations included
    for task_id, task in exported.items():
        assert task["data"] == listed[task_id]["data"]
        mine = {a["id"]: a for a in task["annotations"]}
        theirs = {a["id"]: a for a in listed[task_id]["annotations"]}
        assert mine.keys() == theirs.keys()
        for aid, a in mine.items():
            for key in (
                "result",
                "completed_by",
                "was_cancelled",
                "lead_time",
                "created_at",
                "updated_at",
                "updated_by",
                "task",
            ):
                assert a[key] == theirs[aid][key], (key, a[key], theirs[aid][key])

    def broken(self, project_id, *, timeout=None):
        raise LabelStudioError("Label Studio could not export: HTTP 500 test")

    monkeypatch.setattr(LabelStudioClient, "export_tasks", broken)
    first = service.sync(actor="test")
    assert (first.read_via, first.repaired) == ("listing", 3)
    monkeypatch.undo()
    second = service.sync(actor="test")
    assert (second.read_via, second.export_error) == ("export", None)
    assert (second.tasks_seen, second.annotations_seen) == (len(listed), 3)
    assert second.total_repaired == 0
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Annotation)) == 3
