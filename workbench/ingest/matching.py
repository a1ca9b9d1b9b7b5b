"""Link new claims to claims verified earlier (any article) that they repeat or paraphrase.

Both ways: an ingested claim is linked to the verified claims it repeats (link_matches), and a
claim verified now to the claims already waiting that repeat it (link_waiting, on the
``claim_verified`` signal: accepted, overridden or published). This module is imported at app
start (the API's claims and review views import it), which connects the receiver.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from flask import current_app, has_app_context
from sqlalchemy.dialects import postgresql, sqlite

from workbench import audit
from workbench.db import db
from workbench.extraction.embedder import Embedder
from workbench.extraction.matching import DEFAULT_THRESHOLD, rerank
from workbench.matching import embeddings, search
from workbench.models import Article, Claim, ClaimMatch, ClaimStatus
from workbench.models.base import utcnow
from workbench.models.verdict import newest_versions
from workbench.signals import claim_verified

METHOD = "workbench.extraction.matching"


def method(embedder: Embedder | None) -> str:
    """Name how a link was scored: TF-IDF alone (METHOD), or mixed with this embedder's cosine."""
    return METHOD if embedder is None else f"{METHOD}+{embedder.version}"


# Claims that a newly verified claim may answer: any not verified or rejected yet.
WAITING = tuple(s for s in ClaimStatus.ALL if s not in (ClaimStatus.VERIFIED, ClaimStatus.REJECTED))
# A claim verified today may answer many waiting repeats; link at most this many at once.
WAITING_LIMIT = 50


@dataclass
class Candidates:
    """What the search index offered for a list of texts, and the IDF it was chosen with."""

    found: list[list[tuple[int, str]]]
    background: search.Frequencies


def verified_candidates(texts: list[str], *, article_id: int | None) -> Candidates:
    """Ask the search index for the verified claims each text may repeat.

    Ingest asks before it writes the article's own claims: once written (the index is kept by
    triggers), a long article's claims all share its words, and every one of its lookups would
    step over all of them (filtered out by article) to reach the verified few.
    """
    background = search.background(ClaimStatus.VERIFIED)
    found = search.candidates(
        texts, statuses=[ClaimStatus.VERIFIED], exclude_article_id=article_id, rarity=background
    )
    return Candidates(found, background)


def link_matches(
    claims: list[Claim], *, actor: str, threshold: float, candidates: Candidates | None = None
) -> list[ClaimMatch]:
    """Find, store and audit the matches of new claims against verified ones.

    The database's search index picks a few candidates per claim (workbench.matching.search;
    ``candidates`` when the caller asked already, for the same texts in the same order); the
    matcher scores them with IDF estimated on the verified archive.
    """
    if not claims:
        return []
    texts = [c.text for c in claims]
    if candidates is None:
        candidates = verified_candidates(texts, article_id=claims[0].article_id)
    found, background = candidates.found, candidates.background
    if len(found) != len(texts):
        raise ValueError(f"{len(found)} candidate lists for {len(texts)} claims")
    embedder = embeddings.active()
    subjects: list[Any] = [None] * len(claims)
    if embedder is not None:
        # Every claim gets its vector now: it is matched now, and may be a candidate later.
        made = embeddings.store(embedder, [(c.id, c.text) for c in claims])
        subjects = [made[c.id] for c in claims]
    if not any(found):
        return []
    scored = score_candidates(
        texts, found, subjects, embedder, threshold=threshold, background=background, top_k=3
    )
    pairs = [(claim.id, s.key, s) for claim, matches in zip(claims, scored, strict=True) for s in matches]
    return _store(pairs, actor=actor, embedder=embedder)


def score_candidates(
    texts: list[str],
    found: list[list[tuple[int, str]]],
    subjects: list[Any],
    embedder: Embedder | None,
    *,
    threshold: float,
    background: search.Frequencies,
    top_k: int,
) -> list[list[embeddings.Scored]]:
    """Score the candidates: TF-IDF alone, or mixed with the embeddings' cosine where both claims
    have a vector (workbench.matching.embeddings)."""
    if embedder is None:
        tfidf = rerank(texts, found, threshold, background=background, top_k=top_k)
        return [[embeddings.Scored(key, score, threshold, False) for key, score in row] for row in tfidf]
    widest = max(len(row) for row in found)
    # Every candidate past the vetoes, with its TF-IDF score: the mixed score decides.
    tfidf = rerank(texts, found, 0.0, background=background, top_k=widest)
    vectors = embeddings.stored(embedder, {key for row in tfidf for key, _ in row})
    return embeddings.mix(
        tfidf,
        subjects,
        vectors,
        tfidf_threshold=threshold,
        embedding_threshold=embeddings.threshold(),
        top_k=top_k,
    )


def link_waiting(claim: Claim, *, actor: str, threshold: float) -> list[ClaimMatch]:
    """Link the claims still waiting (not verified, any other article) that repeat a claim verified now."""
    background = search.background(ClaimStatus.VERIFIED)
    found = search.candidates(
        [claim.text],
        statuses=WAITING,
        exclude_article_id=claim.article_id,
        exclude_claim_ids=[claim.id],
        limit=WAITING_LIMIT,
        rarity=background,
    )
    if not found[0]:
        return []
    embedder = embeddings.active()
    subjects: list[Any] = [None]
    if embedder is not None:
        subjects = [embeddings.ensure(embedder, [(claim.id, claim.text)])[claim.id]]
    scored = score_candidates(
        [claim.text],
        found,
        subjects,
        embedder,
        threshold=threshold,
        background=background,
        top_k=WAITING_LIMIT,
    )
    return _store([(s.key, claim.id, s) for s in scored[0]], actor=actor, embedder=embedder)


def _store(
    pairs: list[tuple[int, int, embeddings.Scored]], *, actor: str, embedder: Embedder | None
) -> list[ClaimMatch]:
    """Insert the links not stored yet and audit those only: safe when two requests link at once.

    The unique pair (claim, matched claim) decides: INSERT ... ON CONFLICT DO NOTHING RETURNING
    tells which rows this transaction added, on PostgreSQL and SQLite alike.
    """
    if not pairs:
        return []
    insert = postgresql.insert if db.session.get_bind().dialect.name == "postgresql" else sqlite.insert
    statement = (
        insert(ClaimMatch)
        .values(
            [
                {
                    "claim_id": claim_id,
                    "matched_claim_id": matched_id,
                    "score": round(float(scored.score), 4),
                    "threshold": scored.threshold,
                    "method": method(embedder if scored.embedded else None),
                    "created_at": utcnow(),
                }
                for claim_id, matched_id, scored in pairs
            ]
        )
        .on_conflict_do_nothing(index_elements=["claim_id", "matched_claim_id"])
        .returning(ClaimMatch.id)
    )
    ids = list(db.session.scalars(statement))
    if not ids:
        return []
    rows = list(
        db.session.scalars(sa.select(ClaimMatch).where(ClaimMatch.id.in_(ids)).order_by(ClaimMatch.id))
    )
    audit.append_many(
        {
            "actor": actor,
            "action": "claim.matched",
            "subject_type": "claim",
            "subject_id": m.claim_id,
            "payload": {
                "matched_claim_id": m.matched_claim_id,
                "score": m.score,
                "threshold": m.threshold,
                "method": m.method,
            },
        }
        for m in rows
    )
    return rows


@claim_verified.connect
def _link_waiting_on_verify(sender: Claim, **kwargs: Any) -> None:
    """Receive claim_verified (inside the deciding transaction): link the waiting repeats.

    A claim is matched against at ingest once it is verified (accepted, overridden or
    published), so the claims already waiting are linked to it at that same moment.
    """
    configured = current_app.config.get("MATCH_THRESHOLD") if has_app_context() else None
    threshold = DEFAULT_THRESHOLD if configured is None else float(configured)
    link_waiting(sender, actor=str(kwargs.get("actor") or "system"), threshold=threshold)


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
                "threshold": m.threshold,
                "method": m.method,
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
    how = "by wording and meaning" if "+" in str(best.get("method") or "") else "by wording"
    return f"Rated “{rating}” earlier (match {best['score']:.2f} {how}, in “{title}”): {best['text']}"
