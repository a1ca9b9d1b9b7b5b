"""Sign-in, the dashboard and the article view."""

from __future__ import annotations

import sqlalchemy as sa
from flask import abort, current_app, flash, g, redirect, render_template, request, session, url_for
from markupsafe import Markup, escape

from workbench import audit
from workbench.auth import user_for_token
from workbench.db import db
from workbench.models import Article, AuditEvent, Claim
from workbench.schemas import sees_blind
from workbench.web import bp, forget_signed_in_user, login_required, security


@bp.route("/login", methods=["GET", "POST"])
def login():
    """Sign in with an API token (shown once by `workbench users create`)."""
    if request.method == "POST":
        user = user_for_token(request.form.get("token", "").strip())
        if user is None:
            flash("That token is unknown or its user is disabled.")
            return render_template("login.html"), 401
        security.start_session(session, user)
        forget_signed_in_user()
        # Only a path on this site may follow sign-in (no open redirect); anything else: dashboard.
        return redirect(security.same_site_path(request.args.get("next")) or url_for("web.dashboard"))
    return render_template("login.html")


@bp.post("/logout")
@login_required()
def logout():
    """Sign out: the session ends on the server, for every copy of its cookie."""
    security.end_session(session, g.user)
    forget_signed_in_user()
    return redirect(url_for("web.login"))


@bp.get("/")
@login_required()
def dashboard():
    """Show counts by claim status, the latest articles and the audit chain's state."""
    # Status counts tell how far others' annotation got: annotators (blind overlap) see none.
    blind = sees_blind(g.user.role)
    by_status = (
        {}
        if blind
        else dict(db.session.execute(sa.select(Claim.status, sa.func.count()).group_by(Claim.status)).all())
    )
    articles = db.session.scalars(sa.select(Article).order_by(Article.id.desc()).limit(20))
    events = db.session.scalar(sa.select(sa.func.count()).select_from(AuditEvent))
    return render_template(
        "dashboard.html",
        by_status=by_status,
        blind=blind,
        articles=list(articles),
        events=events,
        ls_url=current_app.config["LABEL_STUDIO_URL"],
        head=audit.head_hash(),
    )


def highlighted(article: Article, *, blind: bool = False) -> Markup:
    """Render the article text with each claim wrapped in a span coloured by status.

    ``blind`` (annotators): no status, which would tell how far others' annotation got.
    """
    parts, cursor = [], 0
    for claim in sorted(article.claims, key=lambda c: c.start):
        parts.append(escape(article.text[cursor : claim.start]))
        status = "claim-blind" if blind else claim.status
        parts.append(
            Markup('<a class="claim {}" href="{}" title="{} · score {:.2f}{}">{}</a>').format(
                status,
                url_for("web.claim_page", claim_id=claim.id),
                "claim" if blind else claim.status,
                claim.checkworthiness,
                f" · {claim.speaker}" if claim.speaker else "",
                article.text[claim.start : claim.end],
            )
        )
        cursor = claim.end
    parts.append(escape(article.text[cursor:]))
    return Markup("").join(parts)


@bp.get("/articles/<int:article_id>")
@login_required()
def article_page(article_id: int):
    """Show one article with its claims highlighted by status and score."""
    article = db.session.get(Article, article_id)
    if article is None:
        abort(404, description=f"no article with id {article_id}")
    blind = sees_blind(g.user.role)
    # Filters narrow the list under the text; the text keeps every claim highlighted.
    status = "" if blind else (request.args.get("status") or "")
    speaker = request.args.get("speaker") or ""
    claims = [
        c
        for c in article.claims
        if (not status or c.status == status) and (not speaker or (c.speaker or "") == speaker)
    ]
    return render_template(
        "article.html",
        article=article,
        body=highlighted(article, blind=blind),
        claims=claims,
        blind=blind,
        statuses=sorted({c.status for c in article.claims}),
        speakers=sorted({c.speaker for c in article.claims if c.speaker}),
        status=status,
        speaker=speaker,
        ls_url=current_app.config["LABEL_STUDIO_URL"],
    )
