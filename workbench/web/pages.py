"""Sign-in, the dashboard and the article view."""

from __future__ import annotations

import sqlalchemy as sa
from flask import (
    abort,
    current_app,
    flash,
    g,
    make_response,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from markupsafe import Markup, escape

from workbench import audit, passwords
from workbench.auth import user_for_token
from workbench.db import db
from workbench.errors import TooManyRequests, Unauthorized, WorkbenchError
from workbench.models import Article, AuditEvent, Claim
from workbench.schemas import sees_blind
from workbench.web import bp, forget_signed_in_user, login_required, security


@bp.route("/login", methods=["GET", "POST"])
def login():
    """Sign in with e-mail and password (or, for scripts' owners, an API token)."""
    if request.method == "POST":
        try:
            if "token" in request.form:
                user = _token_sign_in(request.form.get("token", "").strip())
            else:
                user = passwords.sign_in(
                    request.form.get("email", ""), request.form.get("password", ""), request.remote_addr
                )
        except WorkbenchError as exc:
            db.session.rollback()
            response = make_response(
                render_template("login.html", error=exc.message, email=request.form.get("email", "")),
                exc.status,
            )
            if isinstance(exc, TooManyRequests):
                response.headers["Retry-After"] = str(exc.retry_after)
            return response
        security.start_session(session, user)
        forget_signed_in_user()
        # Only a path on this site may follow sign-in (no open redirect); anything else: dashboard.
        return redirect(security.same_site_path(request.args.get("next")) or url_for("web.dashboard"))
    return render_template("login.html", email="")


def _token_sign_in(token: str):
    """Sign in with an API token: the same per-address limit on failures as passwords."""
    attempt_id = passwords.begin_attempt("", request.remote_addr)
    user = user_for_token(token) if token else None
    passwords.finish_attempt(attempt_id, "failed" if user is None else "ok")
    if user is None:
        raise Unauthorized("that token is unknown or its user is disabled")
    return user


def _set_password_page(**context):
    return render_template("set_password.html", min_length=passwords.PASSWORD_MIN, **context)


@bp.route("/set-password/<token>", methods=["GET", "POST"])
def set_password(token: str):
    """Choose a password through a one-time link an admin gave; then signed in."""
    try:
        link, user = passwords.open_link(token)
    except WorkbenchError as exc:
        return _set_password_page(gone=exc.message, user=None), exc.status
    if request.method == "POST":
        try:
            form = request.form
            user = passwords.use_link(token, form.get("password", ""), form.get("confirm", ""))
            db.session.commit()
        except WorkbenchError as exc:
            db.session.rollback()
            if exc.status == 410:
                return _set_password_page(gone=exc.message, user=None), exc.status
            return _set_password_page(user=user, link=link, errors=exc.errors, error=exc.message), exc.status
        security.start_session(session, user)
        forget_signed_in_user()
        flash("Your password is set; you are signed in.")
        return redirect(url_for("web.dashboard"))
    return _set_password_page(user=user, link=link, errors={}, error=None)


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
