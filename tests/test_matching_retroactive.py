"""A claim verified today is linked to the repeats already waiting; links are stored once."""

from __future__ import annotations

import threading

import sqlalchemy as sa

from tests.factories import make_article
from tests.test_claim_matching_integration import FIRST, LATER
from tests.test_review import act, labelled
from workbench.db import db, writer
from workbench.ingest.matching import link_waiting
from workbench.matching import search
from workbench.models import AuditEvent, Claim, ClaimMatch, ClaimStatus


def _count(model, *where) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(model).where(*where))


def _matched_events() -> int:
    return _count(AuditEvent, AuditEvent.action == "claim.matched")


def test_verifying_a_claim_links_the_waiting_repeats(client, reviewer):
    first = make_article(text=FIRST)
    claim = next(c for c in first.claims if "doubled" in c.text)
    later = make_article(text=LATER)
    waiting = next(c for c in later.claims if "doubled" in c.text)
    assert _count(ClaimMatch) == 0, "nothing verified yet"

    claim = labelled(client, claim, ["Mostly true", "Mostly true"])
    response = act(client, reviewer, claim.id, action="accept", annotation_id=claim.annotations[0].id)
    assert response.status_code == 201
    # Verified (accepted) is enough: ingest matches against verified claims, so must this.
    assert [(m.claim_id, m.matched_claim_id) for m in db.session.scalars(sa.select(ClaimMatch))] == [
        (waiting.id, claim.id)
    ]
    assert act(client, reviewer, claim.id, action="publish").status_code == 201

    links = list(db.session.scalars(sa.select(ClaimMatch)))
    assert [(m.claim_id, m.matched_claim_id) for m in links] == [(waiting.id, claim.id)]
    assert links[0].score >= links[0].threshold
    event = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "claim.matched"))
    assert event.subject_id == str(waiting.id) and event.payload["matched_claim_id"] == claim.id
    assert event.actor == reviewer.user.email
    detail = client.get(f"/api/v1/claims/{waiting.id}", headers=reviewer.headers).json
    assert detail["earlier_verdicts"][0]["verdict"]["rating"] == "Mostly true"


def test_linking_again_stores_and_audits_nothing_new(client):
    claim = next(c for c in make_article(text=FIRST).claims if "doubled" in c.text)
    make_article(text=LATER)
    assert len(link_waiting(claim, actor="test", threshold=0.5)) == 1
    assert link_waiting(claim, actor="test", threshold=0.5) == []
    db.session.commit()
    assert _count(ClaimMatch) == 1 and _matched_events() == 1


def test_two_processes_linking_at_once_store_one_link(app, client):
    claim_id = next(c for c in make_article(text=FIRST).claims if "doubled" in c.text).id
    make_article(text=LATER)
    barrier = threading.Barrier(2)
    made: list[int] = []
    errors: list[BaseException] = []

    def link() -> None:
        try:
            # As the publishing request does: on SQLite a writer's transaction begins IMMEDIATE.
            with app.app_context(), writer():
                barrier.wait(timeout=10)
                claim = db.session.get(Claim, claim_id)
                made.append(len(link_waiting(claim, actor="test", threshold=0.5)))
                db.session.commit()
                db.session.remove()
        except BaseException as error:  # reported below, in the test's thread
            errors.append(error)

    threads = [threading.Thread(target=link) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert not errors, errors
    db.session.expire_all()
    assert sorted(made) == [0, 1]
    assert _count(ClaimMatch) == 1 and _matched_events() == 1


def test_the_search_index_follows_claims_and_filters_status_and_article(client):
    first = make_article(text=FIRST)
    later = make_article(text=LATER)
    repeat = next(c for c in later.claims if "doubled" in c.text)
    text = "The council has doubled the harbour fees since 2028."

    def found(**kwargs) -> list[int]:
        return [i for i, _ in search.candidates([text], **kwargs)[0]]

    assert repeat.id in found(statuses=ClaimStatus.ALL)
    assert repeat.id not in found(statuses=ClaimStatus.ALL, exclude_article_id=later.id)
    assert repeat.id not in found(statuses=[ClaimStatus.VERIFIED])
    assert repeat.id not in found(statuses=ClaimStatus.ALL, exclude_claim_ids=[repeat.id])
    assert {c.id for c in first.claims if "doubled" in c.text} <= set(found(statuses=ClaimStatus.ALL))

    repeat.text = "Fishermen staged a silent protest at the quay."
    db.session.commit()
    assert repeat.id not in found(statuses=ClaimStatus.ALL)
    best = search.candidates(["A silent protest at the quay"], statuses=ClaimStatus.ALL)[0]
    assert best[0][0] == repeat.id
