"""Articles: ingest and read."""

from __future__ import annotations

import sqlalchemy as sa
from flask import current_app, g
from flask.views import MethodView

from workbench.api import bp
from workbench.api.common import int_arg, json_body
from workbench.auth import require_role
from workbench.db import db
from workbench.errors import NotFound
from workbench.ingest import ingest_raw
from workbench.models import Article, Claim
from workbench.schemas import (
    ArticleDetailSchema,
    ArticleSchema,
    BlindArticleDetailSchema,
    BlindClaimSchema,
    ClaimSchema,
    sees_blind,
)

# Built once: constructing a marshmallow schema costs more than dumping a page with it.
# Annotators get the blind shapes (no other annotator's vote, count or agreement).
_ARTICLE_DETAIL = {True: BlindArticleDetailSchema(), False: ArticleDetailSchema()}
_CLAIMS = {True: BlindClaimSchema(many=True), False: ClaimSchema(many=True)}


class ArticlesAPI(MethodView):
    @require_role("annotator", "reviewer")
    def get(self):
        """List articles, newest first."""
        limit = int_arg("limit", 50, minimum=1, maximum=500)
        offset = int_arg("offset", 0)
        total = db.session.scalar(sa.select(sa.func.count()).select_from(Article))
        rows = db.session.scalars(sa.select(Article).order_by(Article.id.desc()).limit(limit).offset(offset))
        return {
            "items": ArticleSchema(many=True).dump(rows),
            "total": total,
            "limit": limit,
            "offset": offset,
        }

    @require_role("admin")
    def post(self):
        """Ingest an article: 201 with its claims, or 200 with the article already stored."""
        data = json_body()
        article, created = ingest_raw(
            data, current_app.config, actor=g.user.email, user_id=g.user.id, via="api", raw_input=data
        )
        db.session.commit()
        return _ARTICLE_DETAIL[sees_blind(g.user.role)].dump(article), 201 if created else 200


bp.add_url_rule("/articles", view_func=ArticlesAPI.as_view("articles"))


def _article(article_id: int) -> Article:
    article = db.session.get(Article, article_id)
    if article is None:
        raise NotFound(f"no article with id {article_id}")
    return article


@bp.get("/articles/<int:article_id>")
@require_role("annotator", "reviewer")
def article_detail(article_id: int):
    """Return an article with its text and claims."""
    return _ARTICLE_DETAIL[sees_blind(g.user.role)].dump(_article(article_id))


@bp.get("/articles/<int:article_id>/claims")
@require_role("annotator", "reviewer")
def article_claims(article_id: int):
    """Return an article's claims in reading order."""
    _article(article_id)
    rows = db.session.scalars(sa.select(Claim).where(Claim.article_id == article_id).order_by(Claim.ordinal))
    return {"items": _CLAIMS[sees_blind(g.user.role)].dump(rows)}
