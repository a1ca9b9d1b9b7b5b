"""The reviewer's desk: the queue, a claim with every annotation side by side, the decisions."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask import abort, current_app, flash, g, redirect, render_template, request, url_for

from workbench import audit
from workbench.api.common import int_arg
from workbench.api.common import load as _load_like_the_api
from workbench.config import RATINGS
from workbench.db import db
from workbench.errors import ValidationError, WorkbenchError
from workbench.ingest.matching import earlier_verdicts
from workbench.models import Claim, Verdict
from workbench.paragraphs import paragraph_bounds
from workbench.review import QueueFilters, decide, history, queue
from workbench.review.agreement import claim_agreement, current_votes
from workbench.review.service import queue_neighbours
from workbench.schemas import ReviewActionSchema
from workbench.validation import MAX_INT
from workbench.web import bp, login_required
from workbench.web.security import http_url


@bp.get("/review")
@login_required("reviewer")
def review_queue_page():
    """List the claims waiting for a reviewer, disagreements first."""
    args = request.args
    # Bounded like the API's: a 30-digit page or article id is a 422, not a database error.
    filters = QueueFilters(
        article_id=int_arg("article_id", 0, minimum=1) if args.get("article_id") else None,
        rating=args.get("rating") or None,
        annotator=args.get("annotator") or None,
        status=args.get("status") or None,
    )
    page = int_arg("page", 1, minimum=1, maximum=MAX_INT // 50)
    try:
        claims, total = queue(
            overlap=current_app.config["ANNOTATION_OVERLAP"],
            filters=filters,
            limit=50,
            offset=(page - 1) * 50,
        )
    except WorkbenchError as exc:
        flash(exc.message)
        claims, total = [], 0
    summaries = {c.id: claim_agreement(c.annotations) for c in claims}
    return render_template(
        "review_queue.html",
        claims=claims,
        total=total,
        page=page,
        summaries=summaries,
        ratings=RATINGS,
        args=args,
        earlier=earlier_verdicts([c.id for c in claims]),
    )


DECIDABLE = ("annotated", "in_review", "verified")


@bp.get("/claims/<int:claim_id>")
@login_required("reviewer")
def claim_page(claim_id: int, *, typed: dict[str, str] | None = None, status: int = 200):
    """Show a claim in context with its annotations side by side, its verdicts and its history.

    ``typed``: what the reviewer sent in a refused decision, shown again in its form.
    """
    claim = db.session.get(Claim, claim_id)
    if claim is None:
        abort(404, description=f"no claim with id {claim_id}")
    text = claim.article.text
    para_start, para_end = paragraph_bounds(text, claim.start, claim.end)
    verdicts = list(
        db.session.scalars(
            sa.select(Verdict).where(Verdict.claim_id == claim.id).order_by(Verdict.version.desc())
        )
    )
    current = {a.id for a in current_votes(claim.annotations).values()}
    agreement = claim_agreement(claim.annotations)
    typed = typed or {}
    # "a" goes to the accept button of a current annotation that carries the leading verdict.
    accept_shortcut = next(
        (
            a.id
            for a in claim.annotations
            if a.id in current and a.verdict and a.verdict == agreement["leading"]
        ),
        None,
    )
    return render_template(
        "claim.html",
        typed=typed,
        accept_shortcut=accept_shortcut,
        neighbours=queue_neighbours(claim.id, overlap=current_app.config["ANNOTATION_OVERLAP"]),
        # The override starts from what the annotators lean to, not from the scale's first rating.
        preselected=typed.get("rating") or agreement["leading"],
        claim=claim,
        before=text[para_start : claim.start],
        after=text[claim.end : para_end],
        annotations=sorted(claim.annotations, key=lambda a: (a.annotator_ls_id or 0, a.version)),
        current=current,
        agreement=agreement,
        verdicts=verdicts,
        ratings=RATINGS,
        earlier=earlier_verdicts([claim.id]).get(claim.id, []),
        history=history(claim.id) if g.user.role in ("reviewer", "admin") else [],
        # Decision forms only where a decision can be taken (not on a claim still in annotation).
        can_decide=g.user.role in ("reviewer", "admin") and claim.status in DECIDABLE,
    ), status


def _form_data() -> dict[str, Any]:
    """Read the decide form into the shape the API's JSON body has (then loaded by its schema)."""
    form = request.form
    data: dict[str, Any] = {"action": form.get("action")}
    for name in ("claim_version", "annotation_id"):
        value = form.get(name, "").strip()
        if value or name == "claim_version":
            if not (value.isascii() and value.isdigit() and len(value) <= len(str(MAX_INT))):
                abort(400, description=f"{name} must be a number from 0 to {MAX_INT}")
            data[name] = int(value)
    for name in ("rating", "rationale", "reason"):
        if form.get(name, "").strip():
            data[name] = form[name].strip()
    evidence = form.get("evidence", "").split()
    if evidence:
        data["evidence"] = evidence
    return data


def load_review_action(data: dict[str, Any]) -> dict[str, Any]:
    """Load a reviewer action exactly as the API does (ReviewActionSchema, the same message),
    and allow only http(s) evidence links.

    The schema's ``fields.Url()`` also takes ftp/ftps; a link a reviewer publishes must open in
    a browser, so the form refuses those too, in the schema's own error shape.
    """
    loaded = _load_like_the_api(ReviewActionSchema(), data)
    bad = {
        i: ["Only http:// and https:// links may be evidence."]
        for i, url in enumerate(loaded["evidence"])
        if http_url(url) is None
    }
    if bad:
        raise ValidationError("invalid request: evidence", errors={"evidence": bad})
    return loaded


def _flash_not_recorded(exc: WorkbenchError) -> None:
    message = f"Not recorded: {exc.message}"
    if isinstance(exc, ValidationError) and exc.errors:
        details = "; ".join(f"{field}: {_describe(problem)}" for field, problem in sorted(exc.errors.items()))
        # The flash travels in the session cookie: keep it well under a cookie's 4 KB.
        message += f" ({details if len(details) <= 300 else details[:299] + '…'})"
    flash(message)


def _describe(problem: Any) -> str:
    if isinstance(problem, dict):
        return "; ".join(f"#{key}: {_describe(value)}" for key, value in problem.items())
    if isinstance(problem, list | tuple):
        return " ".join(_describe(p) for p in problem)
    return str(problem)


@bp.post("/claims/<int:claim_id>/decide")
@login_required("reviewer")
def claim_decide(claim_id: int):
    """Apply a reviewer action from the claim page; a stale page is told what changed."""
    from workbench.labelstudio.rework import request_rework

    try:
        data = load_review_action(_form_data())
        verdict = decide(claim_id, g.user, data, send_back_hook=lambda claim: request_rework(claim=claim))
        db.session.commit()
        flash(f"Recorded: {verdict.decision} (verdict version {verdict.version}).")
    except WorkbenchError as exc:
        db.session.rollback()
        _flash_not_recorded(exc)
        # The page as it is now, with what the reviewer typed still in the form they used.
        return claim_page(claim_id, typed=dict(request.form), status=exc.status)
    return redirect(url_for("web.claim_page", claim_id=claim_id))


@bp.get("/audit")
@login_required("admin")
def audit_page():
    """Walk the audit chain and show whether it is intact, with the newest events."""
    from workbench.models import AuditEvent

    report = audit.verify()
    recent = list(db.session.scalars(sa.select(AuditEvent).order_by(AuditEvent.seq.desc()).limit(50)))
    return render_template("audit.html", report=report, recent=recent)
