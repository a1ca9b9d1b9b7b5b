"""Many people at once, over real HTTP, against ``workbench serve`` in its own process.

The server places webhook deliveries as it does by default (a placer thread after the answer,
``WORKBENCH_WEBHOOK_PLACING=background``): each delivery is answered 202 once kept, and the
tests read the outcome once every delivery is placed. Runs on SQLite and, under ``make test``,
on PostgreSQL too (the same tests, the other database).
"""

from __future__ import annotations

import json
import random
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests
import sqlalchemy as sa

from tests.conftest import WEBHOOK_SECRET
from tests.factories import annotation_payload, link_claim, make_article, make_user
from tests.served import workbench_serve
from workbench.db import db
from workbench.labelstudio.service import WEBHOOK_HEADER
from workbench.labelstudio.webhook import PENDING
from workbench.models import Annotation, Claim, WebhookEvent

HOOK = "/api/v1/hooks/label-studio"
#: Where each served process keeps the deliveries its database did not take in time.
SPOOLS: dict[str, Path] = {}
MANY_CLAIMS_TEXT = "\n\n".join(
    f"The council spent {n + 11} million dollars on harbour project {n + 1} in {2000 + n}, "
    f"up {n + 3} percent from the year before."
    for n in range(60)
)


@pytest.fixture
def served(app, database_url, tmp_path):
    """The app's database, served by a separate ``workbench serve`` process."""
    instance = tmp_path / "served"
    instance.mkdir()
    with workbench_serve(
        database_url, instance, WORKBENCH_ANNOTATION_OVERLAP="2", WORKBENCH_WEBHOOK_PLACING="background"
    ) as url:
        SPOOLS[url] = instance / "webhook-spool"
        yield url


def deliver(url: str, body: dict | str | bytes, session: requests.Session | None = None) -> requests.Response:
    data = body if isinstance(body, str | bytes) else json.dumps(body)
    return (session or requests).post(
        url + HOOK,
        data=data,
        headers={WEBHOOK_HEADER: WEBHOOK_SECRET, "Content-Type": "application/json"},
        timeout=60,
    )


def linked_claims(n: int, first_task: int = 1000) -> list[int]:
    article = make_article(MANY_CLAIMS_TEXT)
    claims = article.claims[:n]
    assert len(claims) == n, f"the test article gave {len(article.claims)} claims, not {n}"
    for i, claim in enumerate(claims):
        link_claim(claim, task_id=first_task + i)
    return [c.id for c in claims]


def at_once(calls: list, workers: int) -> list:
    """Run calls on ``workers`` threads; calls in the same group (a list) start together."""
    groups = [c if isinstance(c, list) else [c] for c in calls]
    barriers = {id(g): threading.Barrier(len(g)) for g in groups}
    jobs = [(barriers[id(g)], call) for g in groups for call in g]

    def run(job):
        barrier, call = job
        barrier.wait(timeout=60)
        return call()

    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(run, jobs))


def fresh() -> None:
    """End the test's read snapshot so it sees what the server committed."""
    db.session.rollback()


def actions_on(subject_type: str, subject_id: int) -> list[str]:
    """The audit chain's actions on one subject, in chain order."""
    from workbench.models import AuditEvent

    return list(
        db.session.scalars(
            sa.select(AuditEvent.action)
            .where(AuditEvent.subject_type == subject_type, AuditEvent.subject_id == str(subject_id))
            .order_by(AuditEvent.seq)
        )
    )


def until_placed(url: str, timeout: float = 120) -> float:
    """Wait until the server at ``url`` has placed every delivery it kept (in its table or on its
    disk); return how long that took."""
    started = time.monotonic()
    while True:
        fresh()
        # The disk first: a delivery leaves it only once its row is committed, so it is counted.
        waiting = len(list(SPOOLS[url].glob("*.body")))
        waiting += db.session.scalar(
            sa.select(sa.func.count()).select_from(WebhookEvent).where(WebhookEvent.status.in_(PENDING))
        )
        if not waiting:
            return time.monotonic() - started
        assert time.monotonic() - started < timeout, f"{waiting} deliveries still unplaced after {timeout} s"
        time.sleep(0.1)


def test_two_annotators_at_once_on_fifty_claims_all_reach_the_queue(served):
    reviewer = make_user("reviewer")
    claim_ids = linked_claims(50)
    pairs = []
    for i in range(50):
        task = 1000 + i
        pairs.append(
            [
                lambda t=task, a=2 * i + 1: deliver(
                    served, annotation_payload(a, t, user_id=7, verdict="True")
                ),
                lambda t=task, a=2 * i + 2: deliver(
                    served, annotation_payload(a, t, user_id=8, verdict="False")
                ),
            ]
        )
    responses = at_once(pairs, workers=16)
    assert [r.status_code for r in responses] == [202] * 100, [
        r.text for r in responses if r.status_code != 202
    ]
    assert {r.json()["status"] for r in responses} == {"received"}
    until_placed(served)
    assert set(db.session.scalars(sa.select(WebhookEvent.status))) == {"processed"}
    claims = db.session.scalars(sa.select(Claim).where(Claim.id.in_(claim_ids))).all()
    assert (
        sorted((c.annotator_count, c.status, c.agreement) for c in claims) == [(2, "annotated", "split")] * 50
    )
    queue = requests.get(
        served + "/api/v1/review/queue?limit=500", headers=reviewer.headers, timeout=60
    ).json()
    assert queue["total"] == 50
    admin = make_user("admin")
    report = requests.get(served + "/api/v1/audit/verify", headers=admin.headers, timeout=120).json()
    assert report["ok"], report


def test_twenty_annotators_at_once_on_one_claim_are_all_counted(served):
    (claim_id,) = linked_claims(1, first_task=7000)
    group = [
        lambda n=n: deliver(served, annotation_payload(100 + n, 7000, user_id=50 + n, verdict="Half true"))
        for n in range(20)
    ]
    responses = at_once([group], workers=20)
    assert [r.status_code for r in responses] == [202] * 20
    until_placed(served)
    claim = db.session.get(Claim, claim_id)
    assert (claim.annotator_count, claim.agreement, claim.status) == (20, "unanimous", "annotated")
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Annotation)) == 20


def test_ten_reviewers_at_once_exactly_one_decides_the_others_are_told(served):
    (claim_id,) = linked_claims(1, first_task=7100)
    for n, verdict in ((1, "False"), (2, "False")):
        assert deliver(served, annotation_payload(n, 7100, user_id=n, verdict=verdict)).status_code == 202
    until_placed(served)
    claim = db.session.get(Claim, claim_id)
    annotation_id = claim.annotations[0].id
    reviewers = [make_user("reviewer") for _ in range(10)]
    body = {"action": "accept", "annotation_id": annotation_id, "claim_version": claim.version}
    group = [
        lambda r=r: requests.post(
            f"{served}/api/v1/claims/{claim_id}/review", json=body, headers=r.headers, timeout=60
        )
        for r in reviewers
    ]
    responses = at_once([group], workers=10)
    assert sorted(r.status_code for r in responses) == [201] + [409] * 9, [r.text for r in responses]
    losers = [r.json() for r in responses if r.status_code == 409]
    assert all(body["errors"]["current"]["status"] == "verified" for body in losers)
    fresh()
    assert len(db.session.get(Claim, claim_id).verdicts) == 1


def versions(annotation_id: int, task: int, user: int, history: list[tuple[str, str]]) -> list[dict]:
    """The webhook deliveries of one annotation's versions: (verdict, Label Studio updated_at)."""
    out = []
    for n, (verdict, stamp) in enumerate(history):
        body = annotation_payload(
            annotation_id,
            task,
            user_id=user,
            verdict=verdict,
            action="ANNOTATION_CREATED" if n == 0 else "ANNOTATION_UPDATED",
        )
        body["annotation"]["updated_at"] = stamp
        out.append(body)
    return out


def test_deliveries_replayed_duplicated_and_reordered_end_in_label_studios_newest_versions(served):
    claim_ids = linked_claims(10, first_task=8000)
    rng = random.Random(4)
    deliveries, newest = [], {}
    for i in range(10):
        for user in (31, 32):
            annotation_id = 900 + 10 * i + user
            history = [
                (rng.choice(["True", "False", "Half true"]), f"2031-05-0{d}T1{d}:00:00.000000Z")
                for d in range(1, rng.randint(2, 5))
            ]
            if rng.random() < 0.5:  # an annotator who goes back to an earlier verdict
                history.append((history[0][0], "2031-05-09T09:00:00+00:00"))
            newest[annotation_id] = history[-1][0]
            deliveries += versions(annotation_id, 8000 + i, user, history)
    # Replayed and duplicated, in any order.
    scrambled = deliveries + rng.sample(deliveries, len(deliveries) // 2)
    rng.shuffle(scrambled)
    responses = at_once([lambda b=b: deliver(served, b) for b in scrambled], workers=8)
    assert all(r.status_code == 202 for r in responses)
    until_placed(served)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(WebhookEvent)) == len(scrambled)
    from workbench.review.agreement import current_votes

    for claim_id in claim_ids:
        claim = db.session.get(Claim, claim_id)
        current = current_votes(claim.annotations)
        assert {a.ls_annotation_id: a.verdict for a in current.values()} == {
            a.ls_annotation_id: newest[a.ls_annotation_id] for a in current.values()
        }
        assert claim.annotator_count == 2
    # Every distinct version stored once, reverts included.
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Annotation)) == len(deliveries)


def test_admins_disabling_one_user_at_once_write_one_event(served):

    headers = [make_user("admin").headers for _ in range(6)]
    target = make_user("annotator").user.id
    group = [
        lambda h=h: requests.post(f"{served}/api/v1/users/{target}/disable", headers=h, timeout=60)
        for h in headers
    ]
    responses = at_once([group], workers=6)
    assert [r.status_code for r in responses] == [200] * 6, [r.text for r in responses]
    fresh()
    assert actions_on("user", target) == ["user.created", "user.disabled"]


def test_admins_deleting_one_endpoint_at_once_record_one_deletion(app, served):
    """Each DELETE read the endpoint before the first one committed: all answered 204 and the
    chain recorded up to four deletions of one endpoint (PostgreSQL). Now the row is locked and
    read again: one deletion, the others told it is gone."""
    from workbench.outbound import endpoints

    headers = [make_user("admin").headers for _ in range(4)]
    app.config["OUTBOUND_ALLOW_PRIVATE"] = True
    # All registered first: SQLite gives a deleted highest id to the next row.
    registered = [endpoints.register(f"http://127.0.0.1:9/hook{n}", actor="test")[0].id for n in range(3)]
    db.session.commit()
    for endpoint_id in registered:
        group = [
            lambda h=h, e=endpoint_id: requests.delete(
                f"{served}/api/v1/outbound/endpoints/{e}", headers=h, timeout=60
            )
            for h in headers
        ]
        responses = at_once([group], workers=4)
        assert sorted(r.status_code for r in responses) == [204, 404, 404, 404], [r.text for r in responses]
        assert all("no outbound endpoint" in r.json()["message"] for r in responses if r.status_code == 404)
        fresh()
        assert actions_on("outbound_endpoint", endpoint_id) == [
            "outbound.endpoint_registered",
            "outbound.endpoint_deleted",
        ]
