"""Link new claims to claims verified earlier (any article) that they repeat or paraphrase."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from workbench import audit
from workbench.db import db
from workbench.extraction.matching import find_matches
from workbench.models import Article, Claim, ClaimMatch, ClaimStatus
from workbench.models.verdict import newest_versions

METHOD = "workbench.extraction.matching"


def verified_claims(exclude_article_id: int | None = None) -> list[tuple[int, str]]:
    """Every verified claim as (id, text): what a new claim may repeat."""
    stmt = sa.select(Claim.id, Claim.text).where(Claim.status == ClaimStatus.VERIFIED)
    if exclude_article_id is not None:
        stmt = stmt.where(Claim.article_id != exclude_article_id)
    return [(row.id, row.text) for row in db.session.execute(stmt)]


def link_matches(claims: list[Claim], *, actor: str, threshold: float) -> list[ClaimMatch]:
    """Find, store and audit the matches of new claims against verified ones."""
    if not claims:
        return []
    known = verified_claims(exclude_article_id=claims[0].article_id)
    if not known:
        return []
    found = find_matches([c.text for c in claims], known, threshold)
    rows = []
    for claim, matches in zip(claims, found, strict=True):
        for matched_id, score in matches:
            rows.append(
                ClaimMatch(
                    claim_id=claim.id,
                    matched_claim_id=int(matched_id),
                    score=round(float(score), 4),
                    threshold=threshold,
                    method=METHOD,
                )
            )
    if not rows:
        return []
    db.session.add_all(rows)
    db.session.flush()
    audit.append_many(
        {
            "actor": actor,
            "action": "claim.matched",
            "subject_type": "claim",
            "subject_id": m.claim_id,
            "payload": {
                "matched_claim_id": m.matched_claim_id,
                "score": m.score,
                "threshold": threshold,
                "method": METHOD,
            },
        }
        for m in rows
    )
    return rows


def earlier_verdicts(claim_ids: list[int]) -> dict[int, list[dict[str, Any]]]:
    """For each claim, the earlier verified claims it matches, with their current verdict."""
    if not claim_ids:
        return {}
    matches = list(
        db.session.scalars(
            sa.select(ClaimMatch).where(ClaimMatch.claim_id.in_(claim_ids)).order_by(ClaimMatch.score.desc())
        )
    )
    if not matches:
        return {}
    earlier_ids = {m.matched_claim_id for m in matches}
    earlier = {c.id: c for c in db.session.scalars(sa.select(Claim).where(Claim.id.in_(earlier_ids)))}
    articles = {
        a.id: a
        for a in db.session.scalars(
            sa.select(Article).where(Article.id.in_({c.article_id for c in earlier.values()}))
        )
    }
    verdicts = {v.claim_id: v for v in db.session.scalars(newest_versions(claim_ids=list(earlier_ids)))}
    out: dict[int, list[dict[str, Any]]] = {}
    for m in matches:
        c = earlier[m.matched_claim_id]
        v = verdicts.get(c.id)
        out.setdefault(m.claim_id, []).append(
            {
                "claim_id": c.id,
                "claim_uuid": c.uuid,
                "text": c.text,
                "score": m.score,
                "article": {
                    "id": c.article_id,
                    "title": articles[c.article_id].title,
                    "url": articles[c.article_id].url,
                },
                "status": c.status,
                "verdict": None
                if v is None
                else {
                    "rating": v.rating,
                    "decision": v.decision,
                    "version": v.version,
                    "rationale": v.rationale,
                },
            }
        )
    return out


def earlier_verdict_label(items: list[dict[str, Any]]) -> str:
    """One line for annotators: the best earlier match and how it was rated."""
    if not items:
        return "No earlier verdict on a matching claim."
    best = items[0]
    rating = (best["verdict"] or {}).get("rating") or "no rating"
    title = best["article"]["title"] or "an earlier article"
    return f"Rated “{rating}” earlier (match {best['score']:.2f}, in “{title}”): {best['text']}"
