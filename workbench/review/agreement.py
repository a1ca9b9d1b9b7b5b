"""Agreement between annotators: per claim (unanimous, majority, split) and Krippendorff's alpha.

Alpha comes from the maintained ``krippendorff`` package (Castro's implementation, the one the
literature cites); nominal on the verdict labels, ordinal on the five-point truth scale
(True … False; "Misleading" and "Unverifiable" are off that scale and are left out of it).
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import sqlalchemy as sa

from workbench.config import RATINGS
from workbench.db import db
from workbench.models import Annotation, Claim, LabelStudioUser

ORDINAL_SCALE = ("True", "Mostly true", "Half true", "Mostly false", "False")
RANK = {"split": 0, "majority": 1, "unanimous": 2, None: 3}


@dataclass(frozen=True)
class Vote:
    claim_id: int
    annotator: int
    verdict: str


def current_votes(annotations: Iterable[Annotation]) -> dict[int, Annotation]:
    """Return each annotator's current annotation: the newest version of their newest annotation.

    A version is newer by Label Studio's ``updated_at`` (``ls_updated_key``), never by the order
    deliveries arrived in; versions stamped alike fall back to arrival order.
    """
    latest: dict[int, Annotation] = {}
    for a in sorted(annotations, key=lambda a: (a.ls_annotation_id, a.ls_updated_key or "", a.id or 0)):
        if a.annotator_ls_id is None:
            continue
        if a.was_cancelled:
            if (
                latest.get(a.annotator_ls_id)
                and latest[a.annotator_ls_id].ls_annotation_id == a.ls_annotation_id
            ):
                del latest[a.annotator_ls_id]
            continue
        latest[a.annotator_ls_id] = a
    return latest


def classify(verdicts: list[str]) -> tuple[str | None, dict[str, int]]:
    """Say whether verdicts are unanimous, a majority or split (None with fewer than two)."""
    votes = Counter(v for v in verdicts if v)
    total = sum(votes.values())
    if total < 2:
        return None, dict(votes)
    top = votes.most_common(1)[0][1]
    if top == total:
        return "unanimous", dict(votes)
    return ("majority" if top * 2 > total else "split"), dict(votes)


def claim_agreement(annotations: Iterable[Annotation]) -> dict[str, Any]:
    """Summarise a claim's agreement from its annotations."""
    current = current_votes(annotations)
    kind, votes = classify([a.verdict for a in current.values() if a.verdict])
    leading = max(votes, key=lambda rating: votes[rating]) if votes else None
    return {"kind": kind, "votes": votes, "leading": leading, "annotators": len(current)}


def _alpha(matrix: np.ndarray, level: Literal["nominal", "ordinal"]) -> float | None:
    """Krippendorff's alpha, or None when it is undefined (too few pairable values, one value only)."""
    if matrix.size == 0:
        return None
    pairable = np.sum(~np.isnan(matrix), axis=0)
    usable = matrix[:, pairable >= 2]
    values = usable[~np.isnan(usable)]
    if usable.shape[1] == 0 or len(np.unique(values)) < 2:
        return None
    import krippendorff

    value = float(krippendorff.alpha(reliability_data=usable, level_of_measurement=level))
    return None if math.isnan(value) else round(value, 4)


def alpha(votes: list[Vote], level: str) -> float | None:
    """Compute alpha over votes: ``nominal`` on all ratings, ``ordinal`` on the truth scale."""
    if level not in ("nominal", "ordinal"):
        raise ValueError(f"alpha: level must be 'nominal' or 'ordinal', not {level!r}")
    scale = RATINGS if level == "nominal" else ORDINAL_SCALE
    code = {r: i for i, r in enumerate(scale)}
    kept = [v for v in votes if v.verdict in code]
    annotators = sorted({v.annotator for v in kept})
    units = sorted({v.claim_id for v in kept})
    if len(annotators) < 2 or not units:
        return None
    row = {a: i for i, a in enumerate(annotators)}
    col = {u: j for j, u in enumerate(units)}
    matrix = np.full((len(annotators), len(units)), np.nan)
    for v in kept:
        matrix[row[v.annotator], col[v.claim_id]] = code[v.verdict]
    return _alpha(matrix, "nominal" if level == "nominal" else "ordinal")


def load_votes(article_id: int | None = None) -> list[Vote]:
    """Load every claim's current vote per annotator (one query, grouped in Python)."""
    stmt = sa.select(Annotation).order_by(Annotation.claim_id)
    if article_id is not None:
        stmt = stmt.join(Claim, Claim.id == Annotation.claim_id).where(Claim.article_id == article_id)
    by_claim: dict[int, list[Annotation]] = defaultdict(list)
    for a in db.session.scalars(stmt.execution_options(yield_per=5000)):
        by_claim[a.claim_id].append(a)
    votes = []
    for claim_id, rows in by_claim.items():
        for annotator, a in current_votes(rows).items():
            if a.verdict:
                votes.append(Vote(claim_id, annotator, a.verdict))
    return votes


def report(article_id: int | None = None) -> dict[str, Any]:
    """Agreement for the project (or one article) and for each annotator.

    An annotator's alpha is computed on the claims they labelled, with everyone's votes on
    those claims; ``agreement_rate`` is the share of their pairings with other annotators
    that gave the same verdict.
    """
    votes = load_votes(article_id)
    per_claim: dict[int, list[Vote]] = defaultdict(list)
    for v in votes:
        per_claim[v.claim_id].append(v)
    shared = {c: vs for c, vs in per_claim.items() if len(vs) >= 2}
    emails = dict(db.session.execute(sa.select(LabelStudioUser.id, LabelStudioUser.email)).all())
    annotators = []
    for annotator in sorted({v.annotator for v in votes}):
        mine = [c for c, vs in shared.items() if any(v.annotator == annotator for v in vs)]
        subset = [v for c in mine for v in shared[c]]
        agree = total = 0
        for c in mine:
            own = next(v.verdict for v in shared[c] if v.annotator == annotator)
            for other in shared[c]:
                if other.annotator != annotator:
                    total += 1
                    agree += other.verdict == own
        annotators.append(
            {
                "annotator_ls_id": annotator,
                "email": emails.get(annotator),
                "claims": sum(1 for v in votes if v.annotator == annotator),
                "claims_shared": len(mine),
                "alpha_nominal": alpha(subset, "nominal"),
                "alpha_ordinal": alpha(subset, "ordinal"),
                "agreement_rate": round(agree / total, 4) if total else None,
            }
        )
    kinds = Counter(classify([v.verdict for v in vs])[0] for vs in shared.values())
    return {
        "claims_with_votes": len(per_claim),
        "claims_shared": len(shared),
        "alpha_nominal": alpha(votes, "nominal"),
        "alpha_ordinal": alpha(votes, "ordinal"),
        "claims_by_agreement": {k: kinds.get(k, 0) for k in ("unanimous", "majority", "split")},
        "annotators": annotators,
    }
