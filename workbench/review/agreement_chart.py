"""Agreement over time, week by week, and its chart as SVG made on the server (no script)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta

import sqlalchemy as sa
from markupsafe import Markup, escape

from workbench.db import db
from workbench.models import Annotation
from workbench.models.base import as_utc
from workbench.review.agreement import Vote, alpha, classify, current_votes


@dataclass(frozen=True)
class Week:
    start: date
    claims: int
    unanimous_share: float
    alpha_nominal: float | None


def weekly(article_id: int | None = None) -> list[Week]:
    """For each week, the claims whose second (or later) vote arrived in it: how many, the share
    that were unanimous, and Krippendorff's alpha (nominal) over their votes."""
    from workbench.models import Claim

    stmt = sa.select(Annotation)
    if article_id is not None:
        stmt = stmt.join(Claim, Claim.id == Annotation.claim_id).where(Claim.article_id == article_id)
    by_claim: dict[int, list[Annotation]] = defaultdict(list)
    for a in db.session.scalars(stmt.execution_options(yield_per=5000)):
        by_claim[a.claim_id].append(a)
    weeks: dict[date, list[list[Vote]]] = defaultdict(list)
    for claim_id, rows in by_claim.items():
        current = current_votes(rows)
        votes = [Vote(claim_id, who, a.verdict) for who, a in current.items() if a.verdict]
        if len(votes) < 2:
            continue
        reached = max(as_utc(a.received_at) for a in current.values()).date()  # type: ignore[union-attr]
        weeks[reached - timedelta(days=reached.weekday())].append(votes)
    out = []
    for start in sorted(weeks):
        claims = weeks[start]
        unanimous = sum(classify([v.verdict for v in votes])[0] == "unanimous" for votes in claims)
        out.append(
            Week(
                start,
                len(claims),
                unanimous / len(claims),
                alpha([v for vs in claims for v in vs], "nominal"),
            )
        )
    return out


def svg(weeks: list[Week], *, width: int = 640, height: int = 220) -> Markup:
    """A line of the unanimous share (0–100 %) per week, with alpha as dots; text for readers."""
    if not weeks:
        return Markup('<p class="muted">No claim has two votes yet.</p>')
    left, right, top, bottom = 44, 12, 12, 36
    plot_w, plot_h = width - left - right, height - top - bottom
    step = plot_w / max(len(weeks) - 1, 1)

    def x(i: int) -> float:
        return left + (i * step if len(weeks) > 1 else plot_w / 2)

    def y(share: float) -> float:
        return top + plot_h * (1 - max(0.0, min(1.0, share)))

    line = " ".join(f"{x(i):.1f},{y(w.unanimous_share):.1f}" for i, w in enumerate(weeks))
    parts = [
        f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" '
        'aria-labelledby="chart-title chart-desc" xmlns="http://www.w3.org/2000/svg">',
        '<title id="chart-title">Agreement week by week</title>',
        f'<desc id="chart-desc">Share of claims with unanimous votes per week, and Krippendorff\'s alpha '
        f"(nominal), over {len(weeks)} weeks.</desc>",
    ]
    for tick in (0, 0.5, 1):
        parts.append(
            f'<line x1="{left}" x2="{width - right}" y1="{y(tick):.1f}" y2="{y(tick):.1f}" stroke="#ddd"/>'
            f'<text x="{left - 6}" y="{y(tick) + 4:.1f}" text-anchor="end" font-size="11">'
            f"{int(tick * 100)}%</text>"
        )
    parts.append(f'<polyline points="{line}" fill="none" stroke="#1f5fa8" stroke-width="2"/>')
    for i, w in enumerate(weeks):
        label = escape(f"week of {w.start.isoformat()}: {w.claims} claims, {w.unanimous_share:.0%} unanimous")
        parts.append(
            f'<circle cx="{x(i):.1f}" cy="{y(w.unanimous_share):.1f}" r="3.5" fill="#1f5fa8">'
            f"<title>{label}</title></circle>"
        )
        if w.alpha_nominal is not None:
            parts.append(
                f'<rect x="{x(i) - 3:.1f}" y="{y(w.alpha_nominal) - 3:.1f}" width="6" height="6" '
                'fill="#a15c00">'
                f"<title>{escape(f'alpha {w.alpha_nominal:.2f}')}</title></rect>"
            )
        if len(weeks) <= 12 or i % max(len(weeks) // 8, 1) == 0:
            parts.append(
                f'<text x="{x(i):.1f}" y="{height - 14}" text-anchor="middle" font-size="11">'
                f"{w.start.strftime('%d %b')}</text>"
            )
    parts.append("</svg>")
    return Markup("".join(parts))
