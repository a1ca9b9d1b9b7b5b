"""Tiny factories with lazy defaults."""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import sqlalchemy as sa

from workbench.auth import create_user
from workbench.db import db
from workbench.ingest import ingest_article, validate_input
from workbench.models import Article, Claim, LabelStudioLink, User

_counter = itertools.count(1)

DEMO_TEXT = """ date 2031-04-02 Mara Quill By

Harbour Wire Service

PORT ELLIS: The city council of Port Ellis approved a budget of 42 million dollars on Tuesday, up 12 percent from last year. “We will build three new clinics. Unemployment fell to 4.1 percent in March,” Mayor Ilse Varga said after the vote.

Opposition leader Tomas Brandt criticised the plan. “The council has doubled the harbour fees since 2028. Families pay more than ever,” said Brandt.
"""


@dataclass
class UserWithToken:
    user: User
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


def make_user(role: str = "reviewer", email: str | None = None) -> UserWithToken:
    """Create a user with a fresh email and return it with its token."""
    user, token = create_user(email or f"{role}{next(_counter)}@example.org", role, f"{role.title()} Tester")
    db.session.commit()
    return UserWithToken(user, token)


def make_article(text: str | None = None, **fields) -> Article:
    """Ingest an article through the real ingest rule."""
    raw = {"text": text or DEMO_TEXT + f"\nEdition {next(_counter)}.\n", **fields}
    article, _ = ingest_article(
        validate_input(raw, max_bytes=10**7),
        actor="factory",
        user_id=None,
        via="test",
        raw_input=raw,
        threshold=0.5,
    )
    db.session.commit()
    return article


def link_claim(claim: Claim, task_id: int, project_id: int = 1) -> LabelStudioLink:
    """Pretend the claim was pushed to Label Studio task ``task_id`` (recorded as push records it)."""
    from workbench.labelstudio.service import _Pending, _record_links

    _record_links(
        [(_Pending(claim.id, claim.uuid, claim.version), task_id)],
        project_id,
        "0" * 64,
        "factory",
        reconciled=False,
    )
    db.session.commit()
    db.session.refresh(claim)
    if claim.status != "in_annotation":  # a claim below the threshold: pushed by hand in tests
        claim.status = "in_annotation"
        db.session.commit()
    return db.session.scalar(sa.select(LabelStudioLink).where(LabelStudioLink.claim_id == claim.id))


def verdict_result(verdict: str, rationale: str, evidence: str, confidence: int) -> list[dict]:
    """An annotation result as label_config.xml's controls produce it."""
    return [
        {
            "from_name": "checkworthy",
            "to_name": "claim",
            "type": "choices",
            "value": {"choices": ["Check-worthy"]},
        },
        {"from_name": "verdict", "to_name": "claim", "type": "choices", "value": {"choices": [verdict]}},
        {"from_name": "evidence", "to_name": "claim", "type": "textarea", "value": {"text": [evidence]}},
        {"from_name": "rationale", "to_name": "claim", "type": "textarea", "value": {"text": [rationale]}},
        {"from_name": "confidence", "to_name": "claim", "type": "rating", "value": {"rating": confidence}},
    ]


def annotation_payload(
    annotation_id: int,
    task_id: int,
    *,
    user_id: int = 7,
    verdict: str = "False",
    action: str = "ANNOTATION_CREATED",
    rationale: str = "Official data disagree.",
    claim_uuid: str | None = None,
    project_id: int = 1,
) -> dict:
    """A webhook body shaped like Label Studio's."""
    result = verdict_result(
        verdict, rationale, "https://stats.example.org/table-1 and https://example.org/b", 4
    )
    return {
        "action": action,
        "annotation": {
            "id": annotation_id,
            "task": task_id,
            "project": project_id,
            "completed_by": user_id,
            "result": result,
            "was_cancelled": False,
            "lead_time": 12.5,
            "created_at": "2031-04-03T10:00:00.000000Z",
            "updated_at": "2031-04-03T10:00:00.000000Z",
        },
        "task": {
            "id": task_id,
            "project": project_id,
            "data": {"claim_uuid": claim_uuid} if claim_uuid else {},
        },
        "project": {"id": project_id},
    }


def annotated_claim(task_id: int = 501, annotators: tuple[int, ...] = (1, 2)) -> Claim:
    """A new article's first check-worthy claim, pushed and labelled once by each annotator id."""
    from workbench.labelstudio.annotations import store_annotation

    article = make_article()
    claim = next(c for c in article.claims if c.checkworthy)
    link_claim(claim, task_id=task_id)
    for n in annotators:
        store_annotation(
            claim,
            annotation_payload(task_id * 100 + n, task_id, user_id=n)["annotation"],
            source="webhook",
            project_id=1,
            overlap=len(annotators),
        )
    db.session.commit()
    return claim
