"""A claim repeating a verified one is linked to it; reviewers and annotators see the earlier verdict."""

from __future__ import annotations

import sqlalchemy as sa

from tests.factories import make_article
from tests.test_review import act, labelled
from workbench.db import db
from workbench.labelstudio.service import task_for
from workbench.models import AuditEvent, Claim, ClaimMatch

FIRST = (
    "PORT ELLIS: The council has doubled the harbour fees since 2028. Shipping firms protested on Monday.\n\n"
    "The mayor said the money would pay for 3 new clinics by 2033.\n"
)
LATER = (
    "Opposition leaders repeated their criticism on Friday. "
    "The council has doubled the harbour fees since 2028.\n\n"
    "Fishermen say they earn 20 percent less than in 2027.\n"
)


def test_a_repeated_claim_is_linked_to_the_earlier_verdict(client, reviewer, admin):
    first = make_article(text=FIRST, title="Fees doubled", url="https://news.example.org/fees")
    claim = next(c for c in first.claims if "doubled" in c.text)
    claim = labelled(client, claim, ["Mostly true", "Mostly true"])
    assert (
        act(client, reviewer, claim.id, action="accept", annotation_id=claim.annotations[0].id).status_code
        == 201
    )

    later = client.post("/api/v1/articles", headers=admin.headers, json={"text": LATER}).json
    repeat = next(c for c in later["claims"] if "doubled" in c["text"])
    match = db.session.scalar(sa.select(ClaimMatch).where(ClaimMatch.claim_id == repeat["id"]))
    assert match is not None and match.matched_claim_id == claim.id and match.score >= match.threshold
    others = [c["id"] for c in later["claims"] if c["id"] != repeat["id"]]
    assert (
        db.session.scalar(
            sa.select(sa.func.count()).select_from(ClaimMatch).where(ClaimMatch.claim_id.in_(others))
        )
        == 0
    )

    detail = client.get(f"/api/v1/claims/{repeat['id']}", headers=reviewer.headers).json
    earlier = detail["earlier_verdicts"][0]
    assert earlier["claim_id"] == claim.id and earlier["verdict"]["rating"] == "Mostly true"
    assert earlier["article"]["url"] == "https://news.example.org/fees"

    task = task_for(
        db.session.get(Claim, repeat["id"]),
        db.session.get(Claim, repeat["id"]).article,
        detail["earlier_verdicts"],
    )
    assert "Mostly true" in task["data"]["earlier_verdict_label"]
    assert task["data"]["earlier_verdicts"][0]["claim_id"] == claim.id

    events = client.get(f"/api/v1/claims/{repeat['id']}/history", headers=reviewer.headers).json["events"]
    assert any(
        e["action"] == "claim.matched" and e["payload"]["matched_claim_id"] == claim.id for e in events
    )
    assert (
        db.session.scalar(
            sa.select(sa.func.count()).select_from(AuditEvent).where(AuditEvent.action == "claim.matched")
        )
        == 1
    )


def test_unverified_claims_are_not_matched(client, admin):
    make_article(text=FIRST)
    client.post("/api/v1/articles", headers=admin.headers, json={"text": LATER})
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ClaimMatch)) == 0


def test_a_claim_that_leans_on_a_pronoun_carries_its_context_to_the_task(client, admin):
    text = (
        "PORT ELLIS: The council approved a budget of 42 million dollars on Tuesday. "
        "It is 12 percent larger than last year's.\n"
    )
    article = make_article(text=text)
    leaning = [c for c in article.claims if c.needs_rewrite]
    assert leaning, "the pronoun-led sentence is flagged"
    task = task_for(leaning[0], article)
    assert task["data"]["needs_rewrite"] is True
    assert "42 million" in task["data"]["rewrite_label"]
