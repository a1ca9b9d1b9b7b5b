"""Articles: ingest and read.

The pattern every resource module follows: a module-level ``blp`` (found and registered under
/api/v1 by ``workbench.api.init_app``), a ``MethodView`` per resource, ``@require_role``
outermost, ``@blp.arguments`` for every query and body, ``@blp.response`` with a schema for
every body, ``@blp.alt_response`` for the other answers a caller can get (401 and 403 come
with ``require_role``; 422 with ``@blp.arguments``).
"""

from __future__ import annotations

import sqlalchemy as sa
from flask import current_app, g
from flask.views import MethodView

from workbench.api.common import by_role
from workbench.api.framework import Blueprint, documents
from workbench.auth import require_role
from workbench.db import db
from workbench.errors import NotFound
from workbench.ingest import ingest_raw
from workbench.models import Article, Claim
from workbench.schemas import (
    ArticleDetailSchema,
    ArticleInputSchema,
    ArticlePageSchema,
    BlindArticleDetailSchema,
    BlindClaimSchema,
    ClaimSchema,
    PageArgs,
    page_of,
)

blp = Blueprint("articles", __name__, description="Articles: ingest a text, read it with its claims.")

ArticleDetail = by_role(ArticleDetailSchema, BlindArticleDetailSchema, "ArticleDetailByRole")
ArticleClaims = page_of(by_role(ClaimSchema, BlindClaimSchema, "ClaimByRole"), "ArticleClaims")


@blp.route("/articles")
class Articles(MethodView):
    @require_role("annotator", "reviewer")
    @blp.arguments(PageArgs, location="query")
    @blp.response(200, ArticlePageSchema)
    def get(self, page: dict):
        """List articles, newest first."""
        total = db.session.scalar(sa.select(sa.func.count()).select_from(Article))
        rows = db.session.scalars(
            sa.select(Article).order_by(Article.id.desc()).limit(page["limit"]).offset(page["offset"])
        )
        return {"items": rows, "total": total, **page}

    @require_role("admin")
    @blp.arguments(ArticleInputSchema)
    @blp.response(201, ArticleDetail, description="Ingested: the article with its claims")
    @blp.alt_response(200, schema=ArticleDetail, description="The same text was already stored")
    def post(self, body: dict):
        """Ingest an article: 201 with its claims, or 200 with the article already stored."""
        article, created = ingest_raw(
            body, current_app.config, actor=g.user.email, user_id=g.user.id, via="api", raw_input=body
        )
        db.session.commit()
        return article, 201 if created else 200


def _article(article_id: int) -> Article:
    article = db.session.get(Article, article_id)
    if article is None:
        raise NotFound(f"no article with id {article_id}")
    return article


@blp.route("/articles/<int:article_id>")
class ArticleDetailView(MethodView):
    @require_role("annotator", "reviewer")
    @blp.response(200, ArticleDetail)
    @documents(404)
    def get(self, article_id: int):
        """Return an article with its text and claims."""
        return _article(article_id)


@blp.route("/articles/<int:article_id>/claims")
class ArticleClaimsView(MethodView):
    @require_role("annotator", "reviewer")
    @blp.arguments(PageArgs, location="query")
    @blp.response(200, ArticleClaims)
    @documents(404)
    def get(self, page: dict, article_id: int):
        """Return an article's claims in reading order, a page at a time."""
        _article(article_id)
        where = Claim.article_id == article_id
        total = db.session.scalar(sa.select(sa.func.count()).select_from(Claim).where(where))
        rows = db.session.scalars(
            sa.select(Claim).where(where).order_by(Claim.ordinal).limit(page["limit"]).offset(page["offset"])
        )
        return {"items": rows, "total": total, **page}
