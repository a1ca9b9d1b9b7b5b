"""Claims: detail with provenance, history, and the reviewer's decisions."""

from __future__ import annotations

from flask import g
from marshmallow import ValidationError as SchemaError

from workbench.api import bp
from workbench.api.common import json_body
from workbench.auth import require_role
from workbench.db import db
from workbench.errors import NotFound, ValidationError
from workbench.ingest.matching import earlier_verdicts
from workbench.models import Claim
from workbench.review import decide, history, record_verdict
from workbench.review.agreement import claim_agreement
from workbench.schemas import (
    ArticleSchema,
    BlindClaimDetailSchema,
    ClaimDetailSchema,
    ReviewActionSchema,
    VerdictInputSchema,
    VerdictSchema,
    sees_blind,
)


@bp.get("/claims/<int:claim_id>")
@require_role("annotator", "reviewer")
def claim_detail(claim_id: int):
    """Return a claim with its annotations, verdicts, Label Studio link and article."""
    claim = db.session.get(Claim, claim_id)
    if claim is None:
        raise NotFound(f"no claim with id {claim_id}")
    if sees_blind(g.user.role):
        # Blind overlap: the annotator's own annotations only, and nothing that tells of others'
        # work (no count, agreement, status, version, verdicts or earlier verdicts).
        body = BlindClaimDetailSchema(annotator_ls_id=g.user.label_studio_user_id).dump(claim)
        body["article"] = ArticleSchema().dump(claim.article)
        return body
    body = ClaimDetailSchema().dump(claim)
    body["article"] = ArticleSchema().dump(claim.article)
    body["agreement_detail"] = claim_agreement(claim.annotations)
    body["earlier_verdicts"] = earlier_verdicts([claim.id]).get(claim.id, [])
    return body


@bp.get("/claims/<int:claim_id>/history")
@require_role("reviewer")
def claim_history(claim_id: int):
    """Return the claim's whole timeline from the audit chain."""
    return {"claim_id": claim_id, "events": history(claim_id)}


def _load(schema, body):
    try:
        return schema.load(body)
    except SchemaError as exc:
        raise ValidationError(
            "invalid request: " + ", ".join(sorted(exc.messages)), errors=exc.messages
        ) from None


@bp.post("/claims/<int:claim_id>/verdict")
@require_role("reviewer")
def claim_verdict(claim_id: int):
    """Record the reviewer's rating, resting on the claim's annotations (send ``claim_version``)."""
    verdict = record_verdict(claim_id, g.user, _load(VerdictInputSchema(), json_body()))
    db.session.commit()
    return VerdictSchema().dump(verdict), 201


@bp.post("/claims/<int:claim_id>/review")
@require_role("reviewer")
def claim_review(claim_id: int):
    """Apply a reviewer action: accept, override, reject, send_back, publish or reopen."""
    from workbench.labelstudio.rework import request_rework

    data = _load(ReviewActionSchema(), json_body())
    verdict = decide(claim_id, g.user, data, send_back_hook=lambda claim: request_rework(claim=claim))
    db.session.commit()
    return VerdictSchema().dump(verdict), 201
