"""The review queue and the reviewer's actions: versions, the publish lock, 409s and history."""

from __future__ import annotations

import threading

import pytest
import sqlalchemy as sa

from tests.factories import annotation_payload, link_claim, make_article, make_user
from tests.test_webhook import post
from workbench.db import db
from workbench.models import AuditEvent, Claim, LabelStudioUser, Verdict

_next_task = iter(range(1000, 100000))
_next_annotation = iter(range(5000, 500000))


def labelled(client, claim, verdicts, *, users=None):
    """Link a claim to a fresh task and deliver one annotation per verdict, from distinct annotators."""
    task = next(_next_task)
    link_claim(claim, task_id=task)
    for i, verdict in enumerate(verdicts):
        user = (users or [21, 22, 23, 24])[i]
        assert (
            post(
                client, annotation_payload(next(_next_annotation), task, user_id=user, verdict=verdict)
            ).status_code
            == 200
        )
    db.session.expire_all()
    return db.session.get(Claim, claim.id)


@pytest.fixture
def article(app):
    return make_article()


@pytest.fixture
def three(client, article):
    """Three check-worthy claims: unanimous, split, and majority."""
    claims = [c for c in article.claims if c.checkworthy][:3]
    assert len(claims) == 3
    return (
        labelled(client, claims[0], ["False", "False"]),
        labelled(client, claims[1], ["True", "False"]),
        labelled(client, claims[2], ["False", "False", "True"]),
    )


def act(client, user, claim_id, **body):
    if "claim_version" not in body:
        db.session.expire_all()
        body["claim_version"] = db.session.get(Claim, claim_id).version
    return client.post(f"/api/v1/claims/{claim_id}/review", headers=user.headers, json=body)


def ids(response):
    return [i["id"] for i in response.json["items"]]


def test_queue_puts_disagreements_first_then_checkworthiness(client, reviewer, three):
    unanimous, split, majority = three
    body = client.get("/api/v1/review/queue", headers=reviewer.headers)
    assert ids(body) == [split.id, majority.id, unanimous.id]
    assert body.json["items"][0]["agreement"] == "split"
    assert body.json["items"][2]["agreement_detail"]["votes"] == {"False": 2}


def test_queue_orders_equal_agreement_by_checkworthiness_then_age(client, reviewer, article):
    claims = sorted([c for c in article.claims if c.checkworthy][:3], key=lambda c: c.id)
    db.session.execute(sa.update(Claim).where(Claim.id == claims[0].id).values(checkworthiness=0.6))
    db.session.execute(sa.update(Claim).where(Claim.id == claims[1].id).values(checkworthiness=0.9))
    db.session.execute(sa.update(Claim).where(Claim.id == claims[2].id).values(checkworthiness=0.6))
    db.session.commit()
    for c in claims:
        labelled(client, c, ["True", "True"])
    assert ids(client.get("/api/v1/review/queue", headers=reviewer.headers)) == [
        claims[1].id,
        claims[0].id,
        claims[2].id,
    ]


def test_claims_below_the_overlap_wait(client, reviewer, article):
    claim = next(c for c in article.claims if c.checkworthy)
    labelled(client, claim, ["True"])
    assert ids(client.get("/api/v1/review/queue", headers=reviewer.headers)) == []


def test_queue_filters_and_pagination(client, reviewer, three):
    unanimous, split, majority = three
    q = "/api/v1/review/queue"
    assert set(ids(client.get(q + "?rating=True", headers=reviewer.headers))) == {split.id, majority.id}
    assert ids(client.get(q + "?annotator=23", headers=reviewer.headers)) == [majority.id]
    db.session.add(LabelStudioUser(id=23, email="third@example.org"))
    db.session.commit()
    assert ids(client.get(q + "?annotator=third@example.org", headers=reviewer.headers)) == [majority.id]
    assert client.get(q + "?annotator=nobody@example.org", headers=reviewer.headers).status_code == 422
    other = make_article(text="The harbour moved 7 million tonnes in 2030, up 3 percent on 2029.\n")
    assert ids(client.get(q + f"?article_id={other.id}", headers=reviewer.headers)) == []
    page = client.get(q + "?limit=2&offset=1", headers=reviewer.headers).json
    assert page["total"] == 3 and [i["id"] for i in page["items"]] == [majority.id, unanimous.id]
    assert client.get(q + "?status=verified", headers=reviewer.headers).status_code == 422
    assert client.get(q + "?rating=Maybe", headers=reviewer.headers).status_code == 422
    assert client.get(q + "?limit=0", headers=reviewer.headers).status_code == 422


def test_accept_an_annotators_verdict(client, reviewer, three):
    unanimous, _, _ = three
    annotation = unanimous.annotations[0]
    response = act(client, reviewer, unanimous.id, action="accept", annotation_id=annotation.id)
    assert response.status_code == 201, response.json
    assert (response.json["decision"], response.json["rating"]) == ("accept", "False")
    assert response.json["annotation_ids"] == [annotation.id]
    assert db.session.get(Claim, unanimous.id).status == "verified"
    assert unanimous.id not in ids(client.get("/api/v1/review/queue", headers=reviewer.headers))


def test_override_needs_a_rationale(client, reviewer, three):
    _, split, _ = three
    assert act(client, reviewer, split.id, action="override", rating="Half true").status_code == 422
    ok = act(
        client,
        reviewer,
        split.id,
        action="override",
        rating="Half true",
        rationale="Both are partly right: 4.1% is seasonally adjusted.",
    )
    assert ok.status_code == 201 and ok.json["decision"] == "override" and ok.json["rating"] == "Half true"
    assert len(ok.json["annotation_ids"]) == 2


def test_reject_as_not_a_claim(client, reviewer, three):
    unanimous, _, _ = three
    assert act(client, reviewer, unanimous.id, action="reject").status_code == 422
    response = act(
        client, reviewer, unanimous.id, action="reject", reason="An opinion, not a checkable claim."
    )
    assert response.status_code == 201 and response.json["rating"] is None
    assert db.session.get(Claim, unanimous.id).status == "rejected"


def test_send_back_when_label_studio_is_down_stores_nothing(client, reviewer, three):
    _, split, _ = three
    before = db.session.get(Claim, split.id).version
    response = act(client, reviewer, split.id, action="send_back", reason="Read the ministry's release.")
    assert response.status_code == 503
    db.session.expire_all()
    assert db.session.get(Claim, split.id).version == before
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Verdict)) == 0


def test_each_action_appends_a_verdict_version(client, reviewer, three):
    unanimous, _, _ = three
    act(client, reviewer, unanimous.id, action="accept", annotation_id=unanimous.annotations[0].id)
    act(client, reviewer, unanimous.id, action="override", rating="Mostly false", rationale="Rounded figure.")
    versions = db.session.scalars(
        sa.select(Verdict).where(Verdict.claim_id == unanimous.id).order_by(Verdict.version)
    )
    assert [(v.version, v.decision, v.rating) for v in versions] == [
        (1, "accept", "False"),
        (2, "override", "Mostly false"),
    ]


def test_a_stale_version_gets_409_with_the_current_state(client, reviewer, three):
    unanimous, _, _ = three
    stale = db.session.get(Claim, unanimous.id).version
    first = act(
        client,
        reviewer,
        unanimous.id,
        action="accept",
        annotation_id=unanimous.annotations[0].id,
        claim_version=stale,
    )
    second = act(client, reviewer, unanimous.id, action="reject", reason="dup", claim_version=stale)
    assert first.status_code == 201 and second.status_code == 409
    current = second.json["errors"]["current"]
    assert current["status"] == "verified" and current["verdict"]["decision"] == "accept"
    assert current["version"] == stale + 1


def test_a_missing_version_is_refused(client, reviewer, three):
    unanimous, _, _ = three
    response = client.post(
        f"/api/v1/claims/{unanimous.id}/review",
        headers=reviewer.headers,
        json={"action": "reject", "reason": "x"},
    )
    assert response.status_code == 422 and "claim_version" in response.json["errors"]


def test_a_new_annotation_makes_an_open_review_stale(client, reviewer, three):
    _, split, _ = three
    loaded = db.session.get(Claim, split.id).version
    post(client, annotation_payload(next(_next_annotation), split.link.task_id, user_id=29, verdict="True"))
    response = act(
        client, reviewer, split.id, action="override", rating="True", rationale="x", claim_version=loaded
    )
    assert response.status_code == 409


def test_publish_lock_and_reopen(client, reviewer, three):
    unanimous, split, _ = three
    assert act(client, reviewer, split.id, action="publish").status_code == 409  # not verified yet
    act(client, reviewer, unanimous.id, action="accept", annotation_id=unanimous.annotations[0].id)
    published = act(client, reviewer, unanimous.id, action="publish")
    assert published.status_code == 201 and published.json["rating"] == "False"
    assert db.session.get(Claim, unanimous.id).published_at is not None
    locked = act(
        client, reviewer, unanimous.id, action="override", rating="True", rationale="changed my mind"
    )
    assert locked.status_code == 409 and "reopen" in locked.json["message"]
    assert act(client, reviewer, unanimous.id, action="reopen").status_code == 422  # a reason is required
    reopened = act(client, reviewer, unanimous.id, action="reopen", reason="New figures from the ministry.")
    assert reopened.status_code == 201
    claim = db.session.get(Claim, unanimous.id)
    assert claim.published_at is None and claim.status == "in_review"
    assert unanimous.id in ids(client.get("/api/v1/review/queue", headers=reviewer.headers))
    again = act(
        client, reviewer, unanimous.id, action="override", rating="Mostly false", rationale="Revised."
    )
    assert again.status_code == 201 and again.json["version"] == 4
    history = client.get(f"/api/v1/claims/{unanimous.id}/history", headers=reviewer.headers).json["events"]
    decisions = [e["action"] for e in history if e["action"].startswith("verdict.")]
    assert decisions == ["verdict.accept", "verdict.publish", "verdict.reopen", "verdict.override"]
    reopen = next(e for e in history if e["action"] == "verdict.reopen")
    assert (
        reopen["payload"]["rationale"] == "New figures from the ministry."
        and reopen["actor"] == reviewer.user.email
    )


def test_history_is_the_whole_timeline(client, reviewer, three):
    unanimous, _, _ = three
    act(client, reviewer, unanimous.id, action="accept", annotation_id=unanimous.annotations[0].id)
    events = client.get(f"/api/v1/claims/{unanimous.id}/history", headers=reviewer.headers).json["events"]
    actions = [e["action"] for e in events]
    assert actions[0] == "claim.extracted"
    assert actions.count("annotation.received") == 2
    assert actions[-1] == "verdict.accept"
    assert [e["seq"] for e in events] == sorted(e["seq"] for e in events)
    assert client.get("/api/v1/claims/999999/history", headers=reviewer.headers).status_code == 404


def test_two_reviewers_deciding_at_once_never_overwrite_each_other(app, client, three):
    """Both requests carry the same version; exactly one wins, the other is told (409)."""
    unanimous, _, _ = three
    reviewers = [make_user("reviewer"), make_user("reviewer")]
    version = db.session.get(Claim, unanimous.id).version
    bodies = [
        {"action": "accept", "annotation_id": unanimous.annotations[0].id, "claim_version": version},
        {"action": "override", "rating": "True", "rationale": "I disagree.", "claim_version": version},
    ]
    barrier = threading.Barrier(2)
    statuses: list[int] = []

    def decide(i: int) -> None:
        with app.test_client() as c:
            barrier.wait()
            statuses.append(
                c.post(
                    f"/api/v1/claims/{unanimous.id}/review", headers=reviewers[i].headers, json=bodies[i]
                ).status_code
            )

    threads = [threading.Thread(target=decide, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    db.session.rollback()  # end the read snapshot: see what the threads committed
    verdicts = db.session.scalars(sa.select(Verdict).where(Verdict.claim_id == unanimous.id)).all()
    assert len(verdicts) == 1
    assert sorted(statuses)[0] == 201
    # PostgreSQL queues the loser behind the winner's row lock: a clean 409. SQLite may refuse the
    # loser's write outright (503 "busy"): never a second verdict either way.
    assert sorted(statuses)[1] in ((409,) if db.engine.dialect.name == "postgresql" else (409, 503))


def test_annotators_see_only_their_own_annotations_and_no_verdicts(client, reviewer, three):
    unanimous, _, _ = three
    act(client, reviewer, unanimous.id, action="accept", annotation_id=unanimous.annotations[0].id)
    annotator = make_user("annotator")
    annotator.user.label_studio_user_id = 21
    db.session.commit()
    body = client.get(f"/api/v1/claims/{unanimous.id}", headers=annotator.headers).json
    assert [a["annotator_ls_id"] for a in body["annotations"]] == [21]
    assert "verdicts" not in body and "agreement_detail" not in body
    full = client.get(f"/api/v1/claims/{unanimous.id}", headers=reviewer.headers).json
    assert len(full["annotations"]) == 2 and len(full["verdicts"]) == 1


def test_claims_below_review_cannot_be_decided(client, reviewer, article):
    waiting = next(c for c in article.claims if c.status == "queued")
    response = act(client, reviewer, waiting.id, action="reject", reason="too early")
    assert response.status_code == 409 and "not reached review" in response.json["message"]


def test_a_send_back_that_loses_the_race_still_records_that_label_studio_was_asked(app, reviewer, three):
    """Sending back asks Label Studio first (holding no lock), then takes the claim's next
    version. A webhook that moves the claim on meanwhile makes the reviewer's send-back stale
    (409), but Label Studio already serves the task again: the chain must say so."""
    from workbench.db import release_for_network, writer
    from workbench.errors import Conflict
    from workbench.review.service import decide

    claim = three[0]
    version = claim.version

    def label_studio_asked_while_a_webhook_lands(c):
        claim_id = c.id
        release_for_network()  # as request_rework does before it calls Label Studio
        with db.engine.begin() as conn:  # the webhook's own transaction
            conn.execute(sa.update(Claim).where(Claim.id == claim_id).values(version=Claim.version + 1))

    body = {"action": "send_back", "reason": "check the source", "claim_version": version}
    with writer(), pytest.raises(Conflict):  # a POST's transactions are writers
        decide(claim.id, reviewer.user, body, send_back_hook=label_studio_asked_while_a_webhook_lands)
    db.session.rollback()
    events = db.session.scalars(
        sa.select(AuditEvent).where(
            AuditEvent.subject_type == "claim", AuditEvent.subject_id == str(claim.id)
        )
    ).all()
    reopened = [e for e in events if e.action == "labelstudio.task_reopened"]
    assert len(reopened) == 1 and reopened[0].payload["verdict_recorded"] is False
    assert reopened[0].actor == reviewer.user.email
    assert not [e for e in events if e.action == "verdict.send_back"]
    assert db.session.get(Claim, claim.id).status != "needs_rework"
