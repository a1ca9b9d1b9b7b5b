"""The reviewer queue and agreement figures."""

from __future__ import annotations

from flask import current_app
from flask.views import MethodView

from workbench.api.common import With
from workbench.api.framework import Blueprint
from workbench.auth import require_role
from workbench.ingest.matching import earlier_verdicts
from workbench.review import QueueFilters, queue
from workbench.review.agreement import claim_agreement, report
from workbench.schemas import AgreementArgs, AgreementReportSchema, QueueArgs, QueuePageSchema

blp = Blueprint("review", __name__, description="The reviewer's queue and the annotators' agreement.")


@blp.route("/review/queue")
class ReviewQueue(MethodView):
    @require_role("reviewer")
    @blp.arguments(QueueArgs, location="query")
    @blp.response(200, QueuePageSchema)
    def get(self, args: dict):
        """List claims with enough annotations and no final verdict: disagreements first, then
        check-worthiness, then age. Filters: article_id, rating, annotator (id or email), status."""
        overlap = current_app.config["ANNOTATION_OVERLAP"]
        filters = QueueFilters(
            article_id=args["article_id"],
            rating=args["rating"],
            annotator=args["annotator"],
            status=args["status"],
        )
        claims, total = queue(overlap=overlap, filters=filters, limit=args["limit"], offset=args["offset"])
        earlier = earlier_verdicts([c.id for c in claims])
        items = [
            With(
                claim,
                agreement_detail=claim_agreement(claim.annotations),
                earlier_verdicts=earlier.get(claim.id, []),
            )
            for claim in claims
        ]
        return {
            "items": items,
            "total": total,
            "limit": args["limit"],
            "offset": args["offset"],
            "overlap": overlap,
        }


@blp.route("/review/agreement")
class ReviewAgreement(MethodView):
    @require_role("reviewer")
    @blp.arguments(AgreementArgs, location="query")
    @blp.response(200, AgreementReportSchema)
    def get(self, args: dict):
        """Krippendorff's alpha for the project (or one article) and for each annotator."""
        return report(args["article_id"])
