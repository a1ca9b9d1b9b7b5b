"""Claims: detail with provenance, history, and the reviewer's decisions."""

from __future__ import annotations

from flask import g
from flask.views import MethodView

from workbench.api.common import With, by_role
from workbench.api.framework import Blueprint, documents
from workbench.auth import require_role
from workbench.db import db
from workbench.errors import NotFound
from workbench.ingest.matching import earlier_verdicts
from workbench.models import Claim
from workbench.review import decide, history, record_verdict
from workbench.review.agreement import claim_agreement
from workbench.schemas import (
    BlindClaimViewSchema,
    ClaimHistorySchema,
    ClaimViewSchema,
    ReviewActionSchema,
    VerdictInputSchema,
    VerdictSchema,
    sees_blind,
)

blp = Blueprint("claims", __name__, description="Claims: provenance, history, verdicts and review actions.")

ClaimView = by_role(ClaimViewSchema, BlindClaimViewSchema, "ClaimViewByRole")


@blp.route("/claims/<int:claim_id>")
class ClaimDetail(MethodView):
    @require_role("annotator", "reviewer")
    @blp.response(200, ClaimView)
    @documents(404)
    def get(self, claim_id: int):
        """Return a claim with its annotations, verdicts, Label Studio link and article.

        Annotators get the blind shape: their own annotations only, and nothing that tells of
        others' work (no count, agreement, status, version, verdicts or earlier verdicts).
        """
        claim = db.session.get(Claim, claim_id)
        if claim is None:
            raise NotFound(f"no claim with id {claim_id}")
        if sees_blind(g.user.role):
            own = g.user.label_studio_user_id
            mine = [] if own is None else [a for a in claim.annotations if a.annotator_ls_id == own]
            return With(claim, annotations=mine)
        return With(
            claim,
            agreement_detail=claim_agreement(claim.annotations),
            earlier_verdicts=earlier_verdicts([claim.id]).get(claim.id, []),
        )


@blp.route("/claims/<int:claim_id>/history")
class ClaimHistory(MethodView):
    @require_role("reviewer")
    @blp.response(200, ClaimHistorySchema)
    @documents(404)
    def get(self, claim_id: int):
        """Return the claim's whole timeline from the audit chain."""
        return {"claim_id": claim_id, "events": history(claim_id)}


@blp.route("/claims/<int:claim_id>/verdict")
class ClaimVerdict(MethodView):
    @require_role("reviewer")
    @blp.arguments(VerdictInputSchema)
    @blp.response(201, VerdictSchema)
    @documents(404, 409)
    def post(self, body: dict, claim_id: int):
        """Record the reviewer's rating, resting on the claim's annotations (send ``claim_version``)."""
        verdict = record_verdict(claim_id, g.user, body)
        db.session.commit()
        return verdict


@blp.route("/claims/<int:claim_id>/review")
class ClaimReview(MethodView):
    @require_role("reviewer")
    @blp.arguments(ReviewActionSchema)
    @blp.response(201, VerdictSchema)
    @documents(404, 409, 502, 503)
    def post(self, body: dict, claim_id: int):
        """Apply a reviewer action: accept, override, reject, send_back, publish or reopen."""
        from workbench.labelstudio.rework import request_rework

        verdict = decide(claim_id, g.user, body, send_back_hook=lambda claim: request_rework(claim=claim))
        db.session.commit()
        return verdict
