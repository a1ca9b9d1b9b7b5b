"""The agreement page: Krippendorff's alpha for the project and per annotator, split claims, trend."""

from __future__ import annotations

import sqlalchemy as sa
from flask import render_template

from workbench.db import db
from workbench.models import Claim
from workbench.review.agreement import report
from workbench.review.agreement_chart import svg, weekly
from workbench.web import bp, login_required


@bp.get("/agreement")
@login_required("reviewer")
def agreement_page():
    """Show how far annotators agree, who agrees with whom, and the claims they split on."""
    split = db.session.scalars(
        sa.select(Claim)
        .where(Claim.agreement == "split", Claim.status.in_(("annotated", "in_review")))
        .order_by(Claim.checkworthiness.desc())
        .limit(50)
    ).all()
    weeks = weekly()
    return render_template("agreement.html", report=report(), split=split, weeks=weeks, chart=svg(weeks))
