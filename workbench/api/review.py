"""The reviewer queue."""

from __future__ import annotations

from flask import current_app, request

from workbench.api import bp
from workbench.api.common import int_arg
from workbench.auth import require_role
from workbench.review import queue
from workbench.review.service import agreement
from workbench.schemas import AnnotationSchema, ClaimSchema


@bp.get("/review/queue")
@require_role("reviewer")
def review_queue():
    """List claims with enough annotations and no verdict, best first."""
    limit = int_arg("limit", 50, minimum=1, maximum=500)
    offset = int_arg("offset", 0)
    article_id = int_arg("article_id", 0, minimum=1) if request.args.get("article_id") else None
    claims, total = queue(
        overlap=current_app.config["ANNOTATION_OVERLAP"], limit=limit, offset=offset, article_id=article_id
    )
    items = []
    for claim in claims:
        item = ClaimSchema().dump(claim)
        item["annotations"] = AnnotationSchema(many=True).dump(claim.annotations)
        item["agreement"] = agreement(claim.annotations)
        items.append(item)
    return {"items": items, "total": total, "limit": limit, "offset": offset}
