"""Faults on the scale-out stack (``scripts/stack``), each done for real, each followed by the
workbench and Label Studio agreeing: Label Studio killed mid-push, an RQ worker killed mid-job,
the database taken away while webhooks arrive, webhooks dropped, duplicated and reordered, the
webhook deleted or disabled in Label Studio.

The stack is started once for the module: PostgreSQL (its own database), Redis (db 13), its own
Label Studio, two ``workbench serve`` behind nginx, two RQ workers. It runs on PostgreSQL only,
so these tests run on ``make test``'s PostgreSQL pass (``WORKBENCH_TEST_DATABASE_URL``) and skip
on the SQLite one. Only processes the stack started are ever signalled, by their recorded pids.
"""

from __future__ import annotations

import collections
import hashlib
import json
import os
import random
import secrets
import shutil
import signal
import time
from pathlib import Path

import pytest
import requests
import sqlalchemy as sa

from tests.conftest import TEST_DATABASE_URL
from tests.factories import verdict_result
from tests.stack_helpers import (
    HOOK,
    STACK_DB,
    STACK_REDIS_URL,
    claims_text,
    database_outage,
    kill_session,
    running_stack,
    session_pids,
    wait_until,
)

pytestmark = [pytest.mark.stack, pytest.mark.labelstudio]

PROJECT = "Stack faults"
Link = collections.namedtuple("Link", "claim_id task_id")
PUSH_BATCH = 100


def _skip_unless_the_stack_can_run() -> None:
    if not TEST_DATABASE_URL:
        pytest.skip(
            "the stack runs on PostgreSQL: its tests run on make test's PostgreSQL pass "
            "(WORKBENCH_TEST_DATABASE_URL is not set)"
        )
    from redis import Redis
    from redis.exceptions import ConnectionError as RedisDown

    try:
        Redis.from_url(STACK_REDIS_URL, socket_connect_timeout=2).ping()
    except RedisDown:
        pytest.skip(f"no Redis at {STACK_REDIS_URL} (the stack's job queue)")
    if not (shutil.which("nginx") or os.path.exists("/usr/sbin/nginx")) and os.geteuid() != 0:
        pytest.skip(
            "nginx is not installed and scripts/stack can install it only as root (apt-get install nginx)"
        )


def _urls() -> tuple[str, str]:
    """The stack's database URL and the server's maintenance database, from the test server's URL."""
    url = sa.engine.make_url(TEST_DATABASE_URL)
    assert STACK_DB.startswith("wb_stack"), f"the stack database must be a wb_stack* one, not {STACK_DB}"
    stack = url.set(drivername="postgresql", database=STACK_DB).render_as_string(hide_password=False)
    maintenance = url.set(drivername="postgresql", database="postgres").render_as_string(hide_password=False)
    return stack, maintenance


def _drop_stack_database(maintenance: str) -> None:
    import psycopg
    from psycopg import sql

    with psycopg.connect(maintenance, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(STACK_DB)))


def _flush_redis() -> None:
    from redis import Redis

    Redis.from_url(STACK_REDIS_URL).flushdb()


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    _skip_unless_the_stack_can_run()
    database_url, maintenance = _urls()
    _drop_stack_database(maintenance)
    _flush_redis()
    started = time.monotonic()
    with running_stack(
        tmp_path_factory.mktemp("stack"),
        database_url,
        WORKBENCH_LABEL_STUDIO_PROJECT=PROJECT,
        WORKBENCH_PUSH_BATCH_SIZE=str(PUSH_BATCH),  # 50 imports for 5,000 claims: a kill lands mid-push
        WORKBENCH_SYNC_INTERVAL="0",  # the tests reconcile when they mean to
        WORKBENCH_CHECKWORTHY_THRESHOLD="0",  # every claim of the test articles is queued
        WORKBENCH_ANNOTATION_OVERLAP="2",
        WORKBENCH_WORKERS="1",
        WORKBENCH_THREADS="8",
    ) as running:
        print(f"stack up in {time.monotonic() - started:.1f} s")
        running.maintenance_url = maintenance
        yield running
    _drop_stack_database(maintenance)
    _flush_redis()


@pytest.fixture(scope="module")
def wb(stack):
    """The workbench's models on the stack's database, read from this process."""
    from workbench import create_app

    app = create_app({"SQLALCHEMY_DATABASE_URI": stack.database_url, "TESTING": True, "SECRET_KEY": "t"})
    with app.app_context():
        yield app
        from workbench.db import db

        db.session.remove()
        db.engine.dispose()


@pytest.fixture(scope="module")
def ls(stack):
    from tests.ls_client_helpers import LabelStudioTestClient

    client = LabelStudioTestClient(stack.label_studio_url, stack.label_studio_key, timeout=60)
    yield client
    client.close()


@pytest.fixture(scope="module")
def project(ls) -> int:
    found = ls.find_project(PROJECT)
    assert found is not None, "scripts/stack up bootstraps the project"
    return int(found["id"])


def fresh() -> None:
    """End this process's snapshot so it sees what the stack committed."""
    from workbench.db import db

    try:
        db.session.rollback()
    except sa.exc.OperationalError:  # its connection was cut (the outage test): start afresh
        db.session.remove()


def links_of(article_id: int):
    from workbench.db import db
    from workbench.models import Claim, LabelStudioLink

    fresh()
    rows = db.session.execute(
        sa.select(LabelStudioLink.claim_id, LabelStudioLink.task_id)
        .join(Claim)
        .where(Claim.article_id == article_id)
        .order_by(Claim.id)
    )
    return [Link(claim_id, task_id) for claim_id, task_id in rows]


def claim_uuids(article_id: int) -> set[str]:
    from workbench.db import db
    from workbench.models import Claim

    fresh()
    return set(db.session.scalars(sa.select(Claim.uuid).where(Claim.article_id == article_id)))


def task_count(ls, project: int) -> int:
    return int(ls._sdk.projects.get(project).task_number or 0)


def tasks_of(ls, project: int, article_uuid: str) -> list[dict]:
    """Every task of the project made for this article's claims (ids and data only: fast)."""
    tasks = ls._sdk.tasks.list(project=project, page_size=1000, fields="task_only")
    return [{"id": t.id, "data": t.data} for t in tasks if (t.data or {}).get("article_uuid") == article_uuid]


def ls_people(ls, n: int = 2) -> list[int]:
    return [
        int(
            ls.create_user(f"stack-{secrets.token_hex(4)}@example.org", first_name="S", last_name=str(k))[
                "id"
            ]
        )
        for k in range(n)
    ]


def delivery(action: str, annotation: dict, task: dict, project: int) -> dict:
    return {
        "action": action,
        "annotation": annotation,
        "task": {"id": task["id"], "project": project, "data": task["data"]},
        "project": {"id": project},
    }


def kept_bodies() -> set[str]:
    """The sha256 of every delivery the workbench keeps (in its table)."""
    from workbench.db import db
    from workbench.models import WebhookEvent

    fresh()
    return set(db.session.scalars(sa.select(WebhookEvent.body_sha256)))


def wait_all_placed(timeout: float = 30) -> None:
    """Wait until no kept delivery waits to be placed (the workbench keeps a delivery first and
    stores what it carries after, on its own)."""
    from workbench.db import db
    from workbench.models import WebhookEvent

    placed_at = getattr(WebhookEvent, "placed_at", None)
    if placed_at is None:  # a workbench that places each delivery in its request
        return

    def nothing_waits() -> bool:
        fresh()
        return not db.session.scalar(
            sa.select(sa.func.count()).select_from(WebhookEvent).where(placed_at.is_(None))
        )

    wait_until(nothing_waits, timeout, "every kept webhook delivery to be placed", 0.3)


def assert_workbench_holds_exactly_label_studios_annotations(ls, links) -> None:
    """Each claim's current votes are Label Studio's annotations, results and all; each stored
    annotation version is stored once."""
    from workbench.db import db
    from workbench.models import Annotation, Claim, ClaimStatus
    from workbench.review.agreement import current_votes

    fresh()
    for link in links:
        in_ls = {int(a["id"]): a for a in ls.list_annotations(link.task_id)}
        claim = db.session.get(Claim, link.claim_id)
        ours = current_votes(claim.annotations)
        assert {a.ls_annotation_id for a in ours.values()} == set(in_ls), f"claim {claim.id}"
        for a in ours.values():
            assert a.result == in_ls[a.ls_annotation_id]["result"], f"annotation {a.ls_annotation_id}"
        if len(in_ls) >= 2:
            assert (claim.annotator_count, claim.status) == (2, ClaimStatus.ANNOTATED)
    versions = db.session.execute(
        sa.select(Annotation.ls_annotation_id, Annotation.ls_updated_key).where(
            Annotation.claim_id.in_([link.claim_id for link in links])
        )
    ).all()
    assert len(versions) == len(set(versions)), "an annotation version is stored twice"


def assert_each_claim_pushed_once(ls, project: int, article: dict, uuids: set[str]) -> None:
    """Each claim of the article is one task in Label Studio, linked once, pushed once (one
    ``claim.pushed`` event), and Label Studio holds no other task for the article."""
    from workbench.db import db
    from workbench.models import AuditEvent, Claim

    tasks = tasks_of(ls, project, article["uuid"])
    in_ls = collections.Counter(t["data"]["claim_uuid"] for t in tasks)
    assert set(in_ls) == uuids and set(in_ls.values()) == {1}, collections.Counter(in_ls.values())
    assert {link.task_id for link in links_of(article["id"])} == {int(t["id"]) for t in tasks}
    fresh()
    pushed = collections.Counter(
        db.session.scalars(
            sa.select(AuditEvent.subject_id)
            .join(Claim, sa.cast(Claim.id, sa.String) == AuditEvent.subject_id)
            .where(
                AuditEvent.action == "claim.pushed",
                AuditEvent.subject_type == "claim",
                Claim.article_id == article["id"],
            )
        )
    )
    assert len(pushed) == len(uuids) and set(pushed.values()) == {1}


# ---------------------------------------------------------------------------------------------


def test_the_stack_is_up_behind_one_port_and_every_part_answers(stack):
    status = stack.script("status", timeout=120)
    assert status.returncode == 0, status.stdout + status.stderr
    parts = {line.split()[0]: line.split()[2] for line in status.stdout.splitlines()[1:]}
    assert parts == {
        name: "ok"
        for name in ("postgres", "redis", "label-studio", "web-1", "web-2", "nginx", "worker-1", "worker-2")
    }
    ready = requests.get(f"{stack.url}/ready", timeout=10)
    assert ready.status_code == 200 and ready.json()["status"] == "ok", ready.text
    # nginx spreads requests over both web processes and hands each its request id.
    for _ in range(6):
        assert requests.get(f"{stack.url}/health", timeout=10).status_code == 200
    served_by = {
        line.split()[-2] for line in (stack.dir / "logs" / "nginx-access.log").read_text().splitlines()
    }
    web_ports = stack.env["STACK_WEB_PORTS"].split()
    assert {f"127.0.0.1:{port}" for port in web_ports} <= served_by
    # Label Studio reports nothing to third parties.
    environ = dict(
        item.split("=", 1)
        for item in Path(f"/proc/{stack.pid('label-studio')}/environ").read_bytes().decode().split("\0")
        if "=" in item
    )
    assert environ["SENTRY_DSN"] == environ["FRONTEND_SENTRY_DSN"] == ""
    assert environ["COLLECT_ANALYTICS"] == environ["LATEST_VERSION_CHECK"] == "false"
    # `up` again starts nothing new.
    pids = {name: stack.pid(name) for name in ("web-1", "web-2", "nginx", "worker-1", "worker-2")}
    stack.up()
    assert {name: stack.pid(name) for name in pids} == pids


def test_webhooks_dropped_duplicated_and_reordered_then_reconcile_holds_exactly_label_studios_versions(
    stack, wb, ls, project
):
    from workbench.db import db
    from workbench.labelstudio.annotations import updated_key
    from workbench.models import Annotation

    article = stack.ingest(claims_text(8, "Arden"), "Arden")
    stack.run_job("push")
    links = links_of(article["id"])[:6]
    # Label Studio delivers nothing while the test plays the network: this test is the only sender.
    for hook in ls.list_webhooks(project):
        ls._sdk.webhooks.update(hook["id"], is_active=False)
    people = ls_people(ls)
    rng = random.Random(11)
    versions_of: list[list[dict]] = []
    for link in links:
        task = ls.get_task(link.task_id)
        for who in people:
            made = ls.create_annotation(
                link.task_id, verdict_result("True", "first", "https://e.org/1", 3), completed_by=who
            )
            snapshots = [ls.get_annotation(int(made["id"]))]
            for n in range(rng.randint(1, 2)):
                verdict = rng.choice(["False", "Half true", "Misleading"])
                ls.update_annotation(
                    int(made["id"]), verdict_result(verdict, f"again {n}", "https://e.org/2", 4)
                )
                snapshots.append(ls.get_annotation(int(made["id"])))
            versions_of.append(
                [
                    delivery("ANNOTATION_CREATED" if n == 0 else "ANNOTATION_UPDATED", snap, task, project)
                    for n, snap in enumerate(snapshots)
                ]
            )
    # A third of the deliveries are dropped; of every second annotation the versions come newest
    # first (updated before created); a quarter come twice; all are sent six at a time.
    kept, sent = [], []
    for k, versions in enumerate(versions_of):
        survivors = [d for d in versions if rng.random() > 1 / 3]
        kept += survivors
        sent.append(list(reversed(survivors)) if k % 2 else survivors)
    order = [d for group in sent for d in group]
    order += rng.sample(order, len(order) // 4)
    rng.shuffle(order)
    assert any(
        len(group) >= 2
        and group[0]["action"] == "ANNOTATION_UPDATED"
        and group[-1]["action"] == "ANNOTATION_CREATED"
        for group in sent
    ), "no annotation had its update delivered before its creation: change the seed"
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=6) as pool:
        responses = list(pool.map(lambda body: stack.deliver(body), order))
    assert all(r.status_code in (200, 202) for r in responses), [
        r.text[:200] for r in responses if r.status_code not in (200, 202)
    ]
    wait_all_placed()

    first = stack.run_job("sync")
    assert first["webhook_recreated"] is True, first  # the disabled webhook is switched back on
    assert first["repaired"] >= len(versions_of) - len({(d["annotation"]["id"]) for d in kept}), first
    assert stack.run_job("sync")["total_repaired"] == 0

    assert_workbench_holds_exactly_label_studios_annotations(ls, links)
    fresh()
    stored = set(
        db.session.execute(
            sa.select(Annotation.ls_annotation_id, Annotation.ls_updated_key).where(
                Annotation.claim_id.in_([link.claim_id for link in links])
            )
        ).all()
    )
    # Every version that arrived is kept, once; the dropped ones are not invented.
    assert {(d["annotation"]["id"], updated_key(d["annotation"]["updated_at"])) for d in kept} <= stored
    (hook,) = [h for h in ls.list_webhooks(project) if h["is_active"]]
    assert hook["url"] == stack.url + HOOK


def test_a_deleted_or_disabled_webhook_is_restored_by_the_next_reconcile(stack, wb, ls, project):
    from workbench.db import db
    from workbench.models import Annotation

    article = stack.ingest(claims_text(3, "Brise"), "Brise")
    stack.run_job("push")
    links = links_of(article["id"])
    (person,) = ls_people(ls, 1)
    for n, breakage in enumerate(("disabled", "deleted")):
        for hook in ls.list_webhooks(project):
            if breakage == "disabled":
                ls._sdk.webhooks.update(hook["id"], is_active=False)
            else:
                ls._sdk.webhooks.delete(hook["id"])
        assert not [h for h in ls.list_webhooks(project) if h["is_active"]]
        result = stack.run_job("sync")
        assert result["webhook_recreated"] is True, (breakage, result)
        (hook,) = [h for h in ls.list_webhooks(project) if h["is_active"]]
        assert hook["url"] == stack.url + HOOK
        # And it works: an annotation made in Label Studio now reaches the workbench through
        # nginx, with no reconcile.
        made = ls.create_annotation(
            links[n].task_id, verdict_result("False", breakage, "https://e.org", 2), completed_by=person
        )

        def arrived(annotation_id=int(made["id"])):
            fresh()
            return db.session.scalar(
                sa.select(Annotation.source).where(Annotation.ls_annotation_id == annotation_id)
            )

        assert wait_until(arrived, 20, f"the webhook for annotation {made['id']}") == "webhook"


def test_database_restarted_while_webhooks_arrive_each_is_stored_or_answered_5xx_then_reconcile_repairs(
    stack, wb, ls, project
):

    article = stack.ingest(claims_text(10, "Corrin"), "Corrin")
    stack.run_job("push")
    links = links_of(article["id"])[:8]
    people = ls_people(ls)
    rng = random.Random(5)
    outcomes: list[tuple[str, int]] = []  # (sha256 of the body sent, HTTP status)
    session = requests.Session()

    def send(action: str, annotation: dict, task: dict) -> None:
        body = json.dumps(delivery(action, annotation, task, project))
        try:
            status = stack.deliver(body, session=session).status_code
        except requests.ConnectionError:
            status = 0  # the door itself was gone: not what this fault may do
        outcomes.append((hashlib.sha256(body.encode()).hexdigest(), status))

    started = time.monotonic()
    with database_outage(stack.maintenance_url, STACK_DB, down=1.0, up=0.7) as cycles:
        for link in links:
            task = ls.get_task(link.task_id)
            for who in people:
                # Label Studio delivers its own webhook for each change too (through nginx).
                made = ls.create_annotation(
                    link.task_id, verdict_result("True", "first", "https://e.org/1", 3), completed_by=who
                )
                send("ANNOTATION_CREATED", ls.get_annotation(int(made["id"])), task)
                if rng.random() < 0.5:
                    ls.update_annotation(
                        int(made["id"]), verdict_result("False", "second", "https://e.org/2", 4)
                    )
                    send("ANNOTATION_UPDATED", ls.get_annotation(int(made["id"])), task)
    print(f"{len(outcomes)} deliveries during {cycles[0]} outages in {time.monotonic() - started:.1f} s")
    assert cycles[0] >= 3, "the deliveries ended before the database went away three times"
    statuses = collections.Counter(status for _, status in outcomes)
    print(f"answers: {dict(statuses)}")
    assert set(statuses) <= {200, 202} | set(range(500, 600)), statuses
    # Answered 2xx: kept, whatever happened to the database afterwards: in the workbench's table
    # at once, or kept on disk while the database was away and moved there once it is back.
    accepted = {digest for digest, status in outcomes if status in (200, 202)}
    wait_until(lambda: accepted <= kept_bodies(), 30, "every accepted delivery in the workbench's table")
    wait_all_placed()

    stack.run_job("sync")
    assert_workbench_holds_exactly_label_studios_annotations(ls, links)
    assert stack.run_job("sync")["total_repaired"] == 0


def test_a_worker_killed_in_the_middle_of_a_push_the_job_is_run_again_and_each_claim_lands_once(
    stack, wb, ls, project
):
    from redis import Redis
    from rq.job import Job

    article = stack.ingest(claims_text(2000, "Eskdale"), "Eskdale")
    uuids = claim_uuids(article["id"])
    before = task_count(ls, project)
    job_id = stack.start_job("push")
    wait_until(lambda: task_count(ls, project) >= before + 400, 60, "the push to import 400 tasks", 0.1)
    runner = Job.fetch(job_id, connection=Redis.from_url(STACK_REDIS_URL)).meta["runner"]
    workers = {stack.pid("worker-1"): "worker-1", stack.pid("worker-2"): "worker-2"}
    assert runner["worker_pid"] in workers, (runner, workers)
    killed = kill_session(runner["worker_pid"])  # the worker and its work horse, mid-import
    assert runner["pid"] in killed
    linked = len(links_of(article["id"]))
    assert linked < 2000, "the push ended before the kill"

    done = stack.wait_job(job_id, timeout=120)
    assert done["status"] == "finished", done
    assert Job.fetch(job_id, connection=Redis.from_url(STACK_REDIS_URL)).meta.get("requeues") == 1

    assert_each_claim_pushed_once(ls, project, article, uuids)

    stack.up()  # the killed worker is started again
    status = stack.script("status", timeout=120)
    assert status.returncode == 0, status.stdout


def test_a_work_horse_killed_under_its_live_worker_the_job_is_run_again_and_never_reported_failed(
    stack, wb, ls, project
):
    from redis import Redis
    from rq.job import Job

    article = stack.ingest(claims_text(1000, "Fenwick"), "Fenwick")
    uuids = claim_uuids(article["id"])
    before = task_count(ls, project)
    job_id = stack.start_job("push")
    wait_until(lambda: task_count(ls, project) >= before + 200, 60, "the push to import 200 tasks", 0.1)
    runner = Job.fetch(job_id, connection=Redis.from_url(STACK_REDIS_URL)).meta["runner"]
    worker = runner["worker_pid"]
    assert worker in {stack.pid("worker-1"), stack.pid("worker-2")}, runner
    horse = runner["pid"]
    assert horse in session_pids(worker), "not the work horse of a worker this stack started"
    os.kill(horse, signal.SIGKILL)  # the work horse only: its worker lives on
    assert len(links_of(article["id"])) < 1000, "the push ended before the kill"

    seen: set[str] = set()

    def ended():
        body = stack.job(job_id)
        seen.add(body["status"])
        return body["status"] in ("finished", "failed") and body

    done = wait_until(ended, 120, f"job {job_id} to end", 0.3)
    assert done["status"] == "finished" and "failed" not in seen, (done, seen)
    assert Job.fetch(job_id, connection=Redis.from_url(STACK_REDIS_URL)).meta.get("requeues") == 1
    assert worker in session_pids(worker), "the worker died with its work horse"
    assert_each_claim_pushed_once(ls, project, article, uuids)


def test_label_studio_killed_in_the_middle_of_a_push_of_5000_claims_then_pushed_again_each_claim_once(
    stack, wb, ls, project
):
    article = stack.ingest(claims_text(5000, "Dunmore"), "Dunmore")
    uuids = claim_uuids(article["id"])
    assert len(uuids) == 5000
    before = task_count(ls, project)
    job_id = stack.start_job("push")
    wait_until(lambda: task_count(ls, project) >= before + 1000, 60, "the push to import 1,000 tasks", 0.1)
    old_pid = stack.pid("label-studio")
    kill_session(old_pid)

    failed = stack.wait_job(job_id)
    assert failed["status"] == "failed", failed
    assert "Label Studio" in " ".join(failed.get("error") or []), failed
    linked = len(links_of(article["id"]))
    assert 0 < linked < 5000, f"the kill did not land mid-push ({linked} of 5000 linked)"
    ready = requests.get(f"{stack.url}/ready", timeout=10)
    assert ready.status_code == 503 and ready.json()["checks"]["label_studio"]["ok"] is False

    stack.up()  # starts Label Studio again (and nothing else: the rest still runs)
    assert stack.pid("label-studio") != old_pid
    again = stack.run_job("push", timeout=300)
    assert again["pushed"] + again["reconciled"] == 5000 - linked, again
    assert again["remaining"] == 0

    assert_each_claim_pushed_once(ls, project, article, uuids)
