"""Claims: detail with provenance, and the reviewer's verdict."""

from __future__ import annotations

from flask import g
from marshmallow import ValidationError as SchemaError

from workbench.api import bp
from workbench.api.common import json_body
from workbench.auth import require_role
from workbench.db import db
from workbench.errors import NotFound, ValidationError
from workbench.models import Claim
from workbench.review import record_verdict
from workbench.review.service import agreement
from workbench.schemas import ArticleSchema, ClaimDetailSchema, VerdictInputSchema, VerdictSchema


@bp.get("/claims/<int:claim_id>")
@require_role("annotator", "reviewer")
def claim_detail(claim_id: int):
    """Return a claim with its annotations, verdicts, Label Studio link and article."""
    claim = db.session.get(Claim, claim_id)
    if claim is None:
        raise NotFound(f"no claim with id {claim_id}")
    body = ClaimDetailSchema().dump(claim)
    body["article"] = ArticleSchema().dump(claim.article)
    body["agreement"] = agreement(claim.annotations)
    return body


@bp.post("/claims/<int:claim_id>/verdict")
@require_role("reviewer")
def claim_verdict(claim_id: int):
    """Record the reviewer's verdict, resting on the claim's annotations."""
    try:
        data = VerdictInputSchema().load(json_body())
    except SchemaError as exc:
        raise ValidationError(
            "invalid verdict: " + ", ".join(sorted(exc.messages)), errors=exc.messages
        ) from None
    verdict = record_verdict(claim_id, g.user, data)
    db.session.commit()
    return VerdictSchema().dump(verdict), 201
