"""The articles list: search, progress through the loop per article, paging."""

from __future__ import annotations

from collections import defaultdict

import sqlalchemy as sa
from flask import g, render_template, request

from workbench.api.common import int_arg
from workbench.db import db
from workbench.models import Article, Claim, ClaimStatus, LabelStudioLink
from workbench.schemas import sees_blind
from workbench.web import bp, login_required

PAGE_SIZE = 25
#: The loop's stages as the list shows them, each with the statuses that have reached it.
STAGES = (
    ("extracted", ClaimStatus.ALL),
    ("queued", tuple(s for s in ClaimStatus.ALL if s != ClaimStatus.EXTRACTED)),
    ("in Label Studio", None),  # linked to a task
    ("annotated", (ClaimStatus.ANNOTATED, ClaimStatus.IN_REVIEW, ClaimStatus.VERIFIED, ClaimStatus.REJECTED)),
    ("in review", (ClaimStatus.ANNOTATED, ClaimStatus.IN_REVIEW)),
    ("verified", (ClaimStatus.VERIFIED,)),
    ("published", None),  # verified with a published verdict
)


def _like(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def progress(article_ids: list[int]) -> dict[int, dict[str, int]]:
    """Count each article's claims at every stage of the loop (three grouped queries)."""
    counts: dict[int, dict[str, int]] = defaultdict(lambda: {name: 0 for name, _ in STAGES})
    if not article_ids:
        return counts
    by_status = db.session.execute(
        sa.select(Claim.article_id, Claim.status, sa.func.count())
        .where(Claim.article_id.in_(article_ids))
        .group_by(Claim.article_id, Claim.status)
    ).all()
    for article_id, status, n in by_status:
        for name, statuses in STAGES:
            if statuses is not None and status in statuses:
                counts[article_id][name] += n
    linked = db.session.execute(
        sa.select(Claim.article_id, sa.func.count())
        .join(LabelStudioLink, LabelStudioLink.claim_id == Claim.id)
        .where(Claim.article_id.in_(article_ids))
        .group_by(Claim.article_id)
    ).all()
    for article_id, n in linked:
        counts[article_id]["in Label Studio"] = n
    published = db.session.execute(
        sa.select(Claim.article_id, sa.func.count())
        .where(Claim.article_id.in_(article_ids), Claim.published_at.is_not(None))
        .group_by(Claim.article_id)
    ).all()
    for article_id, n in published:
        counts[article_id]["published"] = n
    return counts


@bp.get("/articles")
@login_required()
def articles_page():
    """List articles, newest first; search title, text and URL; page through them."""
    q = (request.args.get("q") or "").strip()[:200]
    page = int_arg("page", 1, minimum=1, maximum=100_000)
    stmt = sa.select(Article)
    if q:
        pattern = _like(q)
        stmt = stmt.where(
            sa.or_(
                Article.title.ilike(pattern, escape="\\"),
                Article.text.ilike(pattern, escape="\\"),
                Article.url.ilike(pattern, escape="\\"),
            )
        )
    total = db.session.scalar(sa.select(sa.func.count()).select_from(stmt.subquery())) or 0
    articles = db.session.scalars(
        stmt.order_by(Article.id.desc()).limit(PAGE_SIZE).offset((page - 1) * PAGE_SIZE)
    ).all()
    claims = dict(
        db.session.execute(
            sa.select(Claim.article_id, sa.func.count())
            .where(Claim.article_id.in_([a.id for a in articles]))
            .group_by(Claim.article_id)
        ).all()
    )
    blind = sees_blind(g.user.role)
    return render_template(
        "articles.html",
        articles=articles,
        claims=claims,
        progress={} if blind else progress([a.id for a in articles]),
        stages=[name for name, _ in STAGES],
        blind=blind,
        q=q,
        page=page,
        pages=max(1, -(-total // PAGE_SIZE)),
        total=total,
    )
