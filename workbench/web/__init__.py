"""Server-rendered pages: a dashboard and articles with their claims highlighted."""

from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, abort, current_app, render_template
from markupsafe import Markup, escape

from workbench.db import db
from workbench.models import Article, AuditEvent, Claim

bp = Blueprint("web", __name__)


@bp.get("/")
def dashboard():
    """Show counts by claim status and the latest articles."""
    by_status = dict(
        db.session.execute(sa.select(Claim.status, sa.func.count()).group_by(Claim.status)).all()
    )
    articles = db.session.scalars(sa.select(Article).order_by(Article.id.desc()).limit(20))
    events = db.session.scalar(sa.select(sa.func.count()).select_from(AuditEvent))
    return render_template(
        "dashboard.html",
        by_status=by_status,
        articles=list(articles),
        events=events,
        ls_url=current_app.config["LABEL_STUDIO_URL"],
    )


def highlighted(article: Article) -> Markup:
    """Render the article text with each claim wrapped in a span coloured by status."""
    parts, cursor = [], 0
    for claim in sorted(article.claims, key=lambda c: c.start):
        parts.append(escape(article.text[cursor : claim.start]))
        parts.append(
            Markup('<span class="claim {}" title="{} · score {:.2f}{}">{}</span>').format(
                claim.status,
                claim.status,
                claim.checkworthiness,
                f" · {claim.speaker}" if claim.speaker else "",
                article.text[claim.start : claim.end],
            )
        )
        cursor = claim.end
    parts.append(escape(article.text[cursor:]))
    return Markup("").join(parts)


@bp.get("/articles/<int:article_id>")
def article_page(article_id: int):
    """Show one article with its claims highlighted by status and score."""
    article = db.session.get(Article, article_id)
    if article is None:
        abort(404, description=f"no article with id {article_id}")
    return render_template("article.html", article=article, body=highlighted(article))
