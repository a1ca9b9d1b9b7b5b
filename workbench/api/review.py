"""The reviewer queue and agreement figures."""

from __future__ import annotations

from flask import current_app, request

from workbench.api import bp
from workbench.api.common import int_arg
from workbench.auth import require_role
from workbench.config import RATINGS
from workbench.errors import ValidationError
from workbench.ingest.matching import earlier_verdicts
from workbench.review import QueueFilters, queue
from workbench.review.agreement import claim_agreement, report
from workbench.schemas import AnnotationSchema, ClaimSchema

# Built once: constructing a marshmallow schema costs more than dumping a page with it.
_CLAIM = ClaimSchema()
_ANNOTATIONS = AnnotationSchema(many=True, exclude=("result",))


@bp.get("/review/queue")
@require_role("reviewer")
def review_queue():
    """List claims with enough annotations and no final verdict: disagreements first, then
    check-worthiness, then age. Filters: article_id, rating, annotator (id or email), status."""
    limit = int_arg("limit", 50, minimum=1, maximum=500)
    offset = int_arg("offset", 0)
    rating = request.args.get("rating") or None
    if rating is not None and rating not in RATINGS:
        raise ValidationError(f"unknown rating {rating!r}", errors={"rating": ["unknown"]})
    filters = QueueFilters(
        article_id=int_arg("article_id", 0, minimum=1) if request.args.get("article_id") else None,
        rating=rating,
        annotator=request.args.get("annotator") or None,
        status=request.args.get("status") or None,
    )
    claims, total = queue(
        overlap=current_app.config["ANNOTATION_OVERLAP"], filters=filters, limit=limit, offset=offset
    )
    earlier = earlier_verdicts([c.id for c in claims])
    items = []
    for claim in claims:
        item = _CLAIM.dump(claim)
        item["annotations"] = _ANNOTATIONS.dump(claim.annotations)
        item["agreement_detail"] = claim_agreement(claim.annotations)
        item["earlier_verdicts"] = earlier.get(claim.id, [])
        items.append(item)
    return {
        "items": items,
        "total": total,
        "limit": limit,
        "offset": offset,
        "overlap": current_app.config["ANNOTATION_OVERLAP"],
    }


@bp.get("/review/agreement")
@require_role("reviewer")
def review_agreement():
    """Krippendorff's alpha for the project (or one article) and for each annotator."""
    article_id = int_arg("article_id", 0, minimum=1) if request.args.get("article_id") else None
    return report(article_id)
