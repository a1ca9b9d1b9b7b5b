"""The whole loop against the real Label Studio server and the workbench over real HTTP."""

from __future__ import annotations

import json
import secrets

import pytest
import requests
import sqlalchemy as sa

from tests.conftest import LS_KEY, LS_URL, shared_path
from tests.factories import verdict_result
from tests.labelstudio_helpers import annotate_as, live_server, new_annotator
from tests.ls_client_helpers import LabelStudioTestClient
from workbench.db import db
from workbench.extraction import claim_types
from workbench.labelstudio import service
from workbench.models import Annotation, Claim, LabelStudioLink, WebhookEvent

pytestmark = pytest.mark.labelstudio


@pytest.fixture
def ls_app(app, ls_client):
    """The app pointed at the real Label Studio, with a project of its own, deleted afterwards."""
    title = f"wb-test-{secrets.token_hex(4)}"
    app.config.update(
        LABEL_STUDIO_URL=LS_URL,
        LABEL_STUDIO_API_KEY=LS_KEY,
        LABEL_STUDIO_PROJECT_TITLE=title,
        ANNOTATION_OVERLAP=1,
    )
    yield app
    project = ls_client.find_project(title)
    if project is not None:
        ls_client.delete_project(int(project["id"]))


def sample_text() -> str:
    try:
        return shared_path("samples", "express-putin-modi-2023-12-28.txt").read_text(encoding="utf-8")
    except pytest.skip.Exception:
        from pathlib import Path

        return (Path(__file__).resolve().parents[1] / "workbench" / "data" / "demo-article.txt").read_text()


def test_the_whole_loop(ls_app, ls_client, client, admin, reviewer, runner):
    # Ingest the sample through the API.
    created = client.post(
        "/api/v1/articles",
        headers=admin.headers,
        json={
            "text": sample_text(),
            "title": "Putin invites Modi",
            "url": "https://www.newindianexpress.com/example",
            "published_at": "2023-12-28",
        },
    )
    assert created.status_code == 201
    queued = [c for c in created.json["claims"] if c["status"] == "queued"]
    assert queued

    with live_server(ls_app) as base_url:
        ls_app.config["PUBLIC_URL"] = base_url

        # Bootstrap: the project and its webhook; a second run creates nothing.
        first = runner.invoke(args=["labelstudio", "bootstrap"])
        assert first.exit_code == 0, first.output
        second = service.bootstrap(ls_client)
        assert not second.project_created and not second.webhook_created
        hooks = [h for h in ls_client.list_webhooks(second.project_id) if h["url"].startswith(base_url)]
        assert len(hooks) == 1

        # Push: every queued claim becomes one task, and a second push adds none.
        pushed = runner.invoke(args=["labelstudio", "push", "--batch-size", "4"])
        assert pushed.exit_code == 0, pushed.output
        assert f"pushed {len(queued)} claims" in pushed.output
        again = runner.invoke(args=["labelstudio", "push"])
        assert "pushed 0 claims" in again.output
        assert ls_client.count_tasks(second.project_id) == len(queued)
        links = {lk.claim_id: lk.task_id for lk in db.session.scalars(sa.select(LabelStudioLink))}
        assert set(links) == {c["id"] for c in queued}
        task = ls_client.get_task(links[queued[0]["id"]])
        assert task["data"]["claim_uuid"] == queued[0]["uuid"]
        assert task["data"]["article_url"] == "https://www.newindianexpress.com/example"
        assert task["data"]["source_label"] == "Source: https://www.newindianexpress.com/example"

        # An annotator created in Label Studio logs in and annotates two claims with their own token.
        ann_id, ann_email, ann_token = new_annotator(ls_client)
        targets = queued[:2]
        for claim in targets:
            annotate_as(
                ann_token, links[claim["id"]], "Mostly true", "Checked against the ministry's figures."
            )

        # Label Studio posts the webhook inside the annotator's request, so it has arrived by now.
        db.session.rollback()  # a new snapshot: see what the server and workers committed
        stored = list(db.session.scalars(sa.select(Annotation).order_by(Annotation.id)))
        assert [a.claim_id for a in stored] == [c["id"] for c in targets]
        assert all(a.source == "webhook" and a.annotator_ls_id == ann_id for a in stored)
        events = list(db.session.scalars(sa.select(WebhookEvent.status)))
        assert events.count("processed") == 2

    # Sync finds nothing left to repair.
    synced = runner.invoke(args=["labelstudio", "sync"])
    assert synced.exit_code == 0, synced.output
    assert "repaired 0" in synced.output

    # A reviewer's verdict, then the export carries the annotator's Label Studio identity.
    claim_id = targets[0]["id"]
    queue = client.get("/api/v1/review/queue", headers=reviewer.headers).json
    assert claim_id in [i["id"] for i in queue["items"]]
    version = client.get(f"/api/v1/claims/{claim_id}", headers=reviewer.headers).json["version"]
    verdict = client.post(
        f"/api/v1/claims/{claim_id}/verdict",
        headers=reviewer.headers,
        json={"rating": "Mostly true", "rationale": "Agrees with the ministry.", "claim_version": version},
    )
    assert verdict.status_code == 201, verdict.json
    export = client.get("/api/v1/exports/verified-claims?format=jsonl", headers=reviewer.headers)
    records = [json.loads(line) for line in export.get_data(as_text=True).splitlines()]
    record = next(r for r in records if r["claim"]["id"] == claim_id)
    annotation = record["annotations"][0]
    assert annotation["annotator_ls_id"] == ann_id
    assert annotation["annotator_email"] == ann_email
    assert annotation["ls_created_at"]
    assert record["verdict"]["reviewer"]["email"] == reviewer.user.email
    assert record["label_studio"]["task_id"] == links[claim_id]


def test_sync_repairs_what_webhooks_missed(ls_app, ls_client, client, admin, runner):
    client.post("/api/v1/articles", headers=admin.headers, json={"text": sample_text()})
    # No workbench server is listening at PUBLIC_URL, so every webhook is lost.
    ls_app.config["PUBLIC_URL"] = "http://127.0.0.1:9"
    service.bootstrap(ls_client)
    service.push(ls_client)
    task_ids = list(db.session.scalars(sa.select(LabelStudioLink.task_id).order_by(LabelStudioLink.id)))[:3]
    user_id = int(ls_client.whoami()["id"])
    for task_id in task_ids:
        ls_client.create_annotation(
            task_id,
            [
                {
                    "from_name": "verdict",
                    "to_name": "claim",
                    "type": "choices",
                    "value": {"choices": ["False"]},
                }
            ],
            completed_by=user_id,
        )
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Annotation)) == 0

    result = runner.invoke(args=["labelstudio", "sync"])
    assert result.exit_code == 0, result.output
    assert "repaired 3" in result.output
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Annotation)) == 3
    assert "repaired 0" in runner.invoke(args=["labelstudio", "sync"]).output


def test_the_machine_score_is_a_hint_never_a_prefilled_answer(ls_app, ls_client, client, admin, runner):
    """No prediction pre-fills a control, the project never prelabels, and an annotation submitted
    without a check-worthy choice is stored as unanswered, not as the machine's guess."""
    client.post("/api/v1/articles", headers=admin.headers, json={"text": sample_text()})  # no URL
    ls_app.config["PUBLIC_URL"] = "http://127.0.0.1:9"  # no webhooks: sync brings the annotation
    boot = service.bootstrap(ls_client)
    assert ls_client.get_project(boot.project_id)["show_collab_predictions"] is False
    # Someone turns "use predictions to prelabel" on in Label Studio: bootstrap turns it off again.
    ls_client.update_project(boot.project_id, show_collab_predictions=True)
    service.bootstrap(ls_client)
    assert ls_client.get_project(boot.project_id)["show_collab_predictions"] is False
    service.push(ls_client)

    link = db.session.scalars(sa.select(LabelStudioLink).order_by(LabelStudioLink.id)).first()
    task = ls_client.get_task(link.task_id)
    prefilled = [r for p in task.get("predictions") or [] for r in p.get("result") or []]
    assert prefilled == []
    claim = db.session.get(Claim, link.claim_id)
    data = task["data"]
    assert data["source_label"] == "Source: no URL given"
    assert data["score_label"].startswith(f"Check-worthiness score: {claim.checkworthiness:.2f}")
    expected = [f"• {r}" for r in claim.reasons] or ["• nothing a fact-checker would recognise was found"]
    assert data["reasons_label"].splitlines() == expected
    assert data["speaker_line"].startswith("Speaker: ")
    assert data["claim_type_line"].endswith(claim_types.label(claim.claim_type))

    # What the annotator's own stream serves carries nothing to pre-fill with.
    _ls_id, _email, token = new_annotator(ls_client, "hint")
    with LabelStudioTestClient(LS_URL, token) as own:
        served = own.next_task(boot.project_id)
    assert served is not None and not served.get("predictions") and served["annotations"] == []
    # They answer the verdict only, leaving "check-worthy" untouched.
    verdict_only = [
        r
        for r in verdict_result("False", "The figure is from 2021.", "", 3)
        if r["from_name"] != "checkworthy"
    ]
    response = requests.post(
        f"{LS_URL}/api/tasks/{served['id']}/annotations/",
        json={"result": verdict_only, "lead_time": 4.0},
        headers={"Authorization": f"Token {token}"},
        timeout=30,
    )
    assert response.status_code == 201, response.text
    assert "repaired 1" in runner.invoke(args=["labelstudio", "sync"]).output
    db.session.rollback()  # a new snapshot: see what the sync committed
    stored = db.session.scalars(sa.select(Annotation).where(Annotation.ls_task_id == served["id"])).one()
    assert stored.verdict == "False"
    assert stored.checkworthy is None


def test_push_when_label_studio_is_unreachable_keeps_claims_queued(app, client, admin, runner):
    app.config.update(LABEL_STUDIO_URL="http://127.0.0.1:9", LABEL_STUDIO_API_KEY="f" * 40)
    client.post("/api/v1/articles", headers=admin.headers, json={"text": sample_text()})
    before = db.session.scalar(sa.select(sa.func.count()).select_from(Claim).where(Claim.status == "queued"))
    result = runner.invoke(args=["labelstudio", "push"])
    assert result.exit_code == 1
    assert "unreachable" in result.output and f"{before} claims stay queued" in result.output
    db.session.rollback()  # a new snapshot: see what the server and workers committed
    assert (
        db.session.scalar(sa.select(sa.func.count()).select_from(Claim).where(Claim.status == "queued"))
        == before
    )
    assert db.session.scalar(sa.select(sa.func.count()).select_from(LabelStudioLink)) == 0


def test_push_over_the_api_runs_inline_without_redis(ls_app, ls_client, client, admin):
    created = client.post("/api/v1/articles", headers=admin.headers, json={"text": sample_text()}).json
    queued = sum(1 for c in created["claims"] if c["status"] == "queued")
    service.bootstrap(ls_client)
    response = client.post("/api/v1/labelstudio/push", headers=admin.headers)
    assert response.status_code == 200, response.json
    assert response.json["mode"] == "inline" and response.json["result"]["pushed"] == queued


def test_push_as_an_rq_job_on_real_redis(ls_app, ls_client, client, admin, database_url, monkeypatch):
    redis = pytest.importorskip("redis")
    from rq import SimpleWorker

    connection = redis.Redis.from_url("redis://127.0.0.1:6379/15")
    try:
        connection.ping()
    except redis.exceptions.ConnectionError:
        pytest.skip("no Redis on 127.0.0.1:6379")
    connection.flushdb()
    created = client.post("/api/v1/articles", headers=admin.headers, json={"text": sample_text()}).json
    queued = sum(1 for c in created["claims"] if c["status"] == "queued")
    service.bootstrap(ls_client)
    ls_app.config["REDIS_URL"] = "redis://127.0.0.1:6379/15"

    response = client.post("/api/v1/labelstudio/push", headers=admin.headers)
    assert response.status_code == 202 and response.json["mode"] == "rq"
    assert db.session.scalar(sa.select(sa.func.count()).select_from(LabelStudioLink)) == 0

    # The worker builds its own app from the environment, as a real `rq worker` would.
    for name, value in {
        "WORKBENCH_DATABASE_URL": database_url,
        "WORKBENCH_LABEL_STUDIO_URL": LS_URL,
        "WORKBENCH_LABEL_STUDIO_API_KEY": LS_KEY,
        "WORKBENCH_LABEL_STUDIO_PROJECT": ls_app.config["LABEL_STUDIO_PROJECT_TITLE"],
    }.items():
        monkeypatch.setenv(name, value)
    from rq import Queue

    from workbench.jobs import QUEUE

    assert SimpleWorker([Queue(QUEUE, connection=connection)], connection=connection).work(burst=True)
    job = client.get(f"/api/v1/jobs/{response.json['id']}", headers=admin.headers).json
    assert job["status"] == "finished", job
    assert job["result"]["pushed"] == queued
    db.session.rollback()  # a new snapshot: see what the server and workers committed
    assert db.session.scalar(sa.select(sa.func.count()).select_from(LabelStudioLink)) == queued
    connection.flushdb()
    connection.close()


def test_push_over_the_api_when_label_studio_is_down_is_a_503(app, client, admin):
    app.config.update(LABEL_STUDIO_URL="http://127.0.0.1:9", LABEL_STUDIO_API_KEY="f" * 40)
    client.post("/api/v1/articles", headers=admin.headers, json={"text": sample_text()})
    response = client.post("/api/v1/labelstudio/push", headers=admin.headers)
    assert response.status_code == 503 and "unreachable" in response.json["message"]
    assert db.session.scalar(sa.select(sa.func.count()).select_from(LabelStudioLink)) == 0


def test_two_blind_annotators_then_send_back_for_rework(ls_app, ls_client, client, admin, reviewer, runner):
    """Overlap 2 with real annotators on their own tokens; the reviewer sends the claim back and a
    third annotator gets the task from Label Studio's queue again."""

    ls_app.config["ANNOTATION_OVERLAP"] = 2
    client.post("/api/v1/articles", headers=admin.headers, json={"text": sample_text()})
    with live_server(ls_app) as base_url:
        ls_app.config["PUBLIC_URL"] = base_url
        boot = service.bootstrap(ls_client)
        assert ls_client.get_project(boot.project_id)["maximum_annotations"] == 2
        service.push(ls_client)
        annotators = [new_annotator(ls_client, f"blind{i}") for i in range(3)]
        first_two = []
        for _ls_id, _email, token in annotators[:2]:
            with LabelStudioTestClient(LS_URL, token) as own:
                task = own.next_task(boot.project_id)
            assert task is not None and task["annotations"] == []  # the stream shows no one's verdict
            first_two.append(task["id"])
        assert first_two[0] == first_two[1], "both annotators are routed to the same task"
        task_id = first_two[0]
        annotate_as(annotators[0][2], task_id, "Mostly true", "Matches the ministry's figures.")
        annotate_as(annotators[1][2], task_id, "False", "The figure is from 2021.")

        claim_id = db.session.scalar(
            sa.select(LabelStudioLink.claim_id).where(LabelStudioLink.task_id == task_id)
        )
        queue = client.get("/api/v1/review/queue", headers=reviewer.headers).json
        item = next(i for i in queue["items"] if i["id"] == claim_id)
        assert item["agreement"] == "split" and item["annotator_count"] == 2
        assert queue["items"][0]["agreement"] == "split"  # disagreements first

        # Send back: Label Studio serves the task again, to an annotator who has not seen it.
        response = client.post(
            f"/api/v1/claims/{claim_id}/review",
            headers=reviewer.headers,
            json={
                "action": "send_back",
                "reason": "Check the 2023 release.",
                "claim_version": item["version"],
            },
        )
        assert response.status_code == 201, response.json
        assert (
            client.get(f"/api/v1/claims/{claim_id}", headers=reviewer.headers).json["status"]
            == "needs_rework"
        )
        with LabelStudioTestClient(LS_URL, annotators[2][2]) as third:
            again = third.next_task(boot.project_id)
        assert again is not None and again["id"] == task_id
        annotate_as(annotators[2][2], task_id, "Mostly true", "The 2023 release agrees.")
        db.session.rollback()  # the live server committed the webhook: end this test's snapshot
        claim = client.get(f"/api/v1/claims/{claim_id}", headers=reviewer.headers).json
        assert claim["status"] == "annotated" and claim["annotator_count"] == 3
        assert claim["agreement"] == "majority"

    # Label Studio users map to workbench users by email.
    email = annotators[0][1]
    runner.invoke(args=["users", "create", "--email", email, "--role", "annotator"])
    assert "repaired 0" in runner.invoke(args=["labelstudio", "sync"]).output
    from workbench.models import User

    db.session.rollback()  # a new snapshot: see what the server and workers committed
    assert (
        db.session.scalar(sa.select(User.label_studio_user_id).where(User.email == email)) == annotators[0][0]
    )
    by_email = client.get(f"/api/v1/review/queue?annotator={email}", headers=reviewer.headers).json
    assert [i["id"] for i in by_email["items"]] == [claim_id]


def test_bootstrap_audits_a_changed_labelling_config(ls_app, ls_client, tmp_path):
    from workbench.models import AuditEvent

    service.bootstrap(ls_client)
    changed = tmp_path / "label_config.xml"
    changed.write_text(
        service.label_config_path().read_text().replace("Rationale", "Rationale (why)"), encoding="utf-8"
    )
    ls_app.config["LABEL_CONFIG_PATH"] = str(changed)
    service.bootstrap(ls_client)
    service.bootstrap(ls_client)  # nothing changes the second time
    events = db.session.scalars(
        sa.select(AuditEvent).where(AuditEvent.action == "labelstudio.bootstrapped")
    ).all()
    assert [e.payload["label_config_changed"] for e in events] == [False, True]
