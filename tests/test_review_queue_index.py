"""The review queue reads its partial index: the page is the index's first rows (no sort, no scan
of the table) and the count is index-only on PostgreSQL; every filter has an index to use.

The statements are the ones review.service.queue() really sends (caught on the engine), explained
with their parameters, so a later change to the query that loses the index fails here.
"""

from __future__ import annotations

import random

import pytest
import sqlalchemy as sa

from tests.factories import make_article
from workbench.db import db
from workbench.models import Annotation, Claim
from workbench.models.base import utcnow
from workbench.review import QueueFilters, queue

INDEX = "ix_claims_review_queue"
N = 2000
FILTERS = {
    "default": QueueFilters(),
    "status": QueueFilters(status="in_review"),
    "article": QueueFilters(article_id=None),  # set to the seeded article below
    "rating": QueueFilters(rating="Half true"),
    "annotator": QueueFilters(annotator="117"),
}


@pytest.fixture
def seeded(app):
    """N claims (most in the queue) and three annotations each, inserted in bulk, then analysed."""
    rng = random.Random(3)
    with app.app_context():
        article = make_article()
        now = utcnow()
        statuses = ["annotated"] * 6 + ["in_review", "verified", "in_annotation", "rejected"]
        claims = [
            {
                "uuid": f"{c:08d}-0000-4000-8000-{article.id:012d}",
                "article_id": article.id,
                "ordinal": 1000 + c,
                "text": f"Claim {c}.",
                "start": 0,
                "end": 1,
                "checkworthiness": rng.random(),
                "claim_type": "statistic",
                "status": rng.choice(statuses),
                "extractor_version": "test",
                "annotator_count": rng.choice([1, 2, 3]),
                "agreement_rank": rng.choice([0, 1, 2]),
                "created_at": now,
                "updated_at": now,
            }
            for c in range(N)
        ]
        db.session.execute(sa.insert(Claim), claims)
        ids = db.session.scalars(sa.select(Claim.id).where(Claim.ordinal >= 1000)).all()
        ratings = ["True", "False", "Half true", "Misleading"]
        db.session.execute(
            sa.insert(Annotation),
            [
                {
                    "claim_id": claim_id,
                    "ls_annotation_id": 10 * claim_id + k,
                    "ls_task_id": claim_id,
                    "ls_project_id": 1,
                    "version": 1,
                    "annotator_ls_id": 100 + (claim_id + k) % 40,
                    "result": [],
                    "verdict": rng.choice(ratings),
                    "evidence_urls": [],
                    "was_cancelled": False,
                    "source": "webhook",
                    "payload_sha256": f"{10 * claim_id + k:064d}",
                    "received_at": now,
                }
                for claim_id in ids
                for k in range(3)
            ],
        )
        db.session.commit()
        if db.engine.dialect.name == "postgresql":
            # Steady state, as autovacuum leaves it: statistics, and the visibility map that
            # index-only scans need (without it the planner costs a heap visit per entry).
            with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.execute(sa.text("VACUUM ANALYZE claims"))
                conn.execute(sa.text("VACUUM ANALYZE annotations"))
        else:
            db.session.execute(sa.text("ANALYZE"))
            db.session.commit()
        yield article.id


def _statements(filters: QueueFilters, limit: int = 50, offset: int = 0) -> tuple[list, int]:
    """Run queue() and return what it sent: [(sql, parameters)], and the total it returned."""
    sent: list = []

    def catch(conn, cursor, statement, parameters, context, executemany):
        if "FROM claims" in statement:
            sent.append((statement, parameters))

    sa.event.listen(db.engine, "before_cursor_execute", catch)
    try:
        _, total = queue(overlap=2, filters=filters, limit=limit, offset=offset)
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", catch)
    assert len(sent) == 2, [s for s, _ in sent]  # the count, then the page
    return sent, total


def _plan(statement: str, parameters, *, ordered: bool = False) -> str:
    if db.engine.dialect.name == "postgresql":
        # No plan may read a whole table when an index can answer (the test's table is small, so
        # without this the planner would rightly prefer a scan; production holds 100,000 claims).
        db.session.execute(sa.text("SET LOCAL enable_seqscan = off"))
        # ``ordered``: the index must give the queue's order itself, whatever another index's
        # selectivity: a sort, or a bitmap scan (which has no order), is what losing it looks like.
        enabled = "off" if ordered else "on"
        db.session.execute(sa.text(f"SET LOCAL enable_sort = {enabled}"))
        db.session.execute(sa.text(f"SET LOCAL enable_bitmapscan = {enabled}"))
        rows = db.session.connection().exec_driver_sql("EXPLAIN " + statement, parameters)
        return "\n".join(r[0] for r in rows)
    rows = db.session.connection().exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters)
    return "\n".join(r[-1] for r in rows)


def _filters(name: str, article_id: int) -> QueueFilters:
    return QueueFilters(article_id=article_id) if name == "article" else FILTERS[name]


@pytest.mark.parametrize("name", ["default", "status"])
def test_the_page_is_the_index_first_rows_and_the_count_reads_only_the_index(app, seeded, name):
    with app.app_context():
        (count_sql, count_params), (page_sql, page_params) = _statements(_filters(name, seeded), offset=50)[0]
        page = _plan(page_sql, page_params, ordered=True)
        count = _plan(count_sql, count_params, ordered=True)
        if db.engine.dialect.name == "postgresql":
            assert f"Index Scan using {INDEX} on claims" in page, page
            assert "Sort" not in page, page
            assert f"Index Only Scan using {INDEX} on claims" in count, count
            assert "Seq Scan" not in count, count
        else:
            assert f"USING INDEX {INDEX}" in page, page
            assert "TEMP B-TREE" not in page, page  # no sort: the index is the order
            # SQLite has no INCLUDE: its count reads an index (either) and then the rows.
            assert "USING INDEX" in count or "USING COVERING INDEX" in count, count


@pytest.mark.parametrize("name", ["article", "rating", "annotator"])
def test_every_filter_has_an_index(app, seeded, name):
    """The filters read claims through an index (the queue's, or article_id's) and annotations
    through (verdict, claim_id) or (annotator_ls_id, claim_id): never a scan of either table."""
    with app.app_context():
        for sql, params in _statements(_filters(name, seeded))[0]:
            plan = _plan(sql, params)
            if db.engine.dialect.name == "postgresql":
                assert "Seq Scan" not in plan, plan
            else:
                scans = [line for line in plan.splitlines() if line.startswith("SCAN")]
                assert all("INDEX" in line for line in scans), plan


def test_the_total_is_exact_on_every_page(app, seeded):
    """The index-only count agrees with counting the rows themselves, on any page and filter."""
    with app.app_context():
        for name in FILTERS:
            filters = _filters(name, seeded)
            everything, total = queue(overlap=2, filters=filters, limit=N, offset=0)
            assert total == len(everything) > 0, name
            _, deeper = queue(overlap=2, filters=filters, limit=10, offset=total // 2)
            assert deeper == total, name
