"""Claim matching with sentence embeddings: each claim's stored vector, and the mixed score.

The search index (search.py) offers a few candidates per claim; the TF-IDF matcher
(workbench.extraction.matching.rerank) scores them. With the embedder in use, a candidate pair
whose two claims both have a vector is scored MIX_WEIGHT x TF-IDF + the rest x the cosine of the
vectors (workbench.extraction.embedder.mixed_score; the TF-IDF number and negation vetoes still
rule a pair out) and linked from MATCH_EMBEDDING_THRESHOLD (0.7); a pair without both vectors is
scored by TF-IDF alone at MATCH_THRESHOLD, as before. Each link records which: its ``method``
names the embedder when the cosine took part.

Vectors are made once per claim and embedder (claim texts never change) and kept in
``claim_embeddings``: a new article's claims at ingest, a claim verified now when it has none,
the claims made before the embedder shipped by ``workbench matching embed``. A candidate is
never embedded at lookup time, so a lookup costs one primary-key read of a few rows however large
the archive.

The embedder is all-MiniLM-L6-v2, int8, shipped in the package (extraction/model/embedder/);
WORKBENCH_EMBEDDER_DIR names another directory. When it cannot be loaded, matching falls back
to TF-IDF alone and logs why, once per process, as an error.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import sqlalchemy as sa
from flask import current_app, has_app_context
from sqlalchemy.dialects import postgresql, sqlite

from workbench.db import db
from workbench.extraction.embedder import (
    MIX_THRESHOLD,
    Embedder,
    EmbedderUnavailable,
    configured_dir,
    mixed_score,
)
from workbench.models import Claim, ClaimEmbedding
from workbench.models.base import utcnow
from workbench.resources import resource_path

log = logging.getLogger(__name__)

#: The embedder shipped in the package.
SHIPPED_DIR = resource_path("extraction", "model", "embedder")
#: Claims embedded per statement by ``embed_missing``.
BACKFILL_BATCH = 256

_lock = threading.Lock()
_loaded: dict[str, Embedder | EmbedderUnavailable] = {}


def embedder_dir():
    """Return the directory the embedder is loaded from (WORKBENCH_EMBEDDER_DIR, else the shipped one)."""
    return configured_dir() or SHIPPED_DIR


def load() -> Embedder:
    """Return the embedder, loaded once per process and directory; EmbedderUnavailable if it cannot be."""
    directory = str(embedder_dir())
    with _lock:
        found = _loaded.get(directory)
        if found is None:
            try:
                found = Embedder.load(directory)
            except EmbedderUnavailable as exc:
                log.error("claim matching: the embedder cannot be used, matching with TF-IDF alone: %s", exc)
                found = exc
            _loaded[directory] = found
    if isinstance(found, EmbedderUnavailable):
        raise found
    return found


def active() -> Embedder | None:
    """Return the embedder matching uses now: None when the setting is off or it cannot be loaded."""
    if has_app_context() and not current_app.config.get("MATCH_EMBEDDINGS", True):
        return None
    try:
        return load()
    except EmbedderUnavailable:
        return None


def threshold() -> float:
    """Return the mixed score from which two claims are linked (MATCH_EMBEDDING_THRESHOLD)."""
    configured = current_app.config.get("MATCH_EMBEDDING_THRESHOLD") if has_app_context() else None
    return MIX_THRESHOLD if configured is None else float(configured)


def pack(vector: npt.NDArray[np.float32]) -> bytes:
    """Return a vector as stored: little-endian float16."""
    return np.asarray(vector, dtype="<f2").tobytes()


def _unpack(blob: bytes) -> npt.NDArray[np.float32]:
    return np.frombuffer(blob, dtype="<f2").astype(np.float32)


def store(embedder: Embedder, claims: Sequence[tuple[int, str]]) -> dict[int, npt.NDArray[np.float32]]:
    """Embed (claim id, text) pairs and keep the vectors (a row already there is left as it is).

    Returns the vectors made, by claim id. Safe when two transactions store the same claim: the
    primary key (claim, embedder) decides, and the same text gives the same vector.
    """
    if not claims:
        return {}
    vectors = embedder.embed([text for _, text in claims])
    insert = postgresql.insert if db.session.get_bind().dialect.name == "postgresql" else sqlite.insert
    now = utcnow()
    db.session.execute(
        insert(ClaimEmbedding)
        .values(
            [
                {"claim_id": claim_id, "model": embedder.version, "vector": pack(vector), "created_at": now}
                for (claim_id, _), vector in zip(claims, vectors, strict=True)
            ]
        )
        .on_conflict_do_nothing(index_elements=["claim_id", "model"])
    )
    return {claim_id: vectors[i] for i, (claim_id, _) in enumerate(claims)}


def stored(embedder: Embedder, claim_ids: Iterable[int]) -> dict[int, npt.NDArray[np.float32]]:
    """Return the stored vectors of these claims made by this embedder (claims without one are absent)."""
    ids = sorted(set(claim_ids))
    out: dict[int, npt.NDArray[np.float32]] = {}
    for start in range(0, len(ids), 1000):
        rows = db.session.execute(
            sa.select(ClaimEmbedding.claim_id, ClaimEmbedding.vector).where(
                ClaimEmbedding.model == embedder.version,
                ClaimEmbedding.claim_id.in_(ids[start : start + 1000]),
            )
        )
        out.update((claim_id, _unpack(blob)) for claim_id, blob in rows)
    return out


def ensure(embedder: Embedder, claims: Sequence[tuple[int, str]]) -> dict[int, npt.NDArray[np.float32]]:
    """Return these claims' vectors: stored ones read, missing ones made and stored."""
    have = stored(embedder, [claim_id for claim_id, _ in claims])
    missing = [(claim_id, text) for claim_id, text in claims if claim_id not in have]
    have.update(store(embedder, missing))
    return have


@dataclass(frozen=True)
class Scored:
    """One candidate link: its score, the threshold it was held to, and how it was scored."""

    key: int
    score: float
    threshold: float
    embedded: bool


def mix(
    tfidf: Sequence[Sequence[tuple[int, float]]],
    subjects: Sequence[npt.NDArray[np.float32] | None],
    vectors: dict[int, npt.NDArray[np.float32]],
    *,
    tfidf_threshold: float,
    embedding_threshold: float,
    top_k: int,
) -> list[list[Scored]]:
    """Score each subject's candidates: mixed where both vectors exist, TF-IDF alone otherwise.

    tfidf: per subject, every candidate that passed the vetoes with its TF-IDF score (rerank at
    threshold 0); subjects: the subject's vector or None; vectors: the candidates' stored ones.
    Keeps, per subject, the top_k that reach their threshold, best first.
    """
    out: list[list[Scored]] = []
    for scored, subject in zip(tfidf, subjects, strict=True):
        kept = []
        for key, value in scored:
            other = vectors.get(key)
            if subject is not None and other is not None:
                cosine = min(1.0, max(-1.0, float(subject @ other)))
                mixed = round(mixed_score(value, cosine), 4)
                if mixed >= embedding_threshold:
                    kept.append(Scored(key, mixed, embedding_threshold, True))
            elif value >= tfidf_threshold:
                kept.append(Scored(key, value, tfidf_threshold, False))
        kept.sort(key=lambda s: -s.score)
        out.append(kept[:top_k])
    return out


def missing(embedder: Embedder) -> tuple[int, int]:
    """Return (claims without a vector by this embedder, all claims)."""
    total = db.session.scalar(sa.select(sa.func.count()).select_from(Claim)) or 0
    have = (
        db.session.scalar(
            sa.select(sa.func.count())
            .select_from(ClaimEmbedding)
            .where(ClaimEmbedding.model == embedder.version)
        )
        or 0
    )
    return total - have, total


def embed_missing(*, batch: int = BACKFILL_BATCH, limit: int | None = None) -> int:
    """Embed the claims that have no vector by the embedder in use, in batches; return how many.

    Each batch commits, so a long run can stop and start again where it left off; claims stored
    by ingest meanwhile are skipped (the primary key decides).
    """
    embedder = load()
    done = 0
    last = 0
    while limit is None or done < limit:
        size = batch if limit is None else min(batch, limit - done)
        rows = db.session.execute(
            sa.select(Claim.id, Claim.text)
            .where(Claim.id > last)
            .where(
                ~sa.exists().where(
                    ClaimEmbedding.claim_id == Claim.id, ClaimEmbedding.model == embedder.version
                )
            )
            .order_by(Claim.id)
            .limit(size)
        ).all()
        if not rows:
            break
        store(embedder, [(int(r.id), r.text) for r in rows])
        db.session.commit()
        done += len(rows)
        last = int(rows[-1].id)
    return done
