"""the review queue read from an index

The queue's partial index (0002) holds its order and its claims. On PostgreSQL it now also
carries ``status`` so the status filter's count is an index-only scan as well (before, a
``status=annotated`` count read the whole table). On SQLite it is made again as declared: the
batch migrations since 0002 copied the claims table and lost ``checkworthiness DESC`` (the copy
was ascending, so every page sorted the "right part" of its order in a temporary B-tree); SQLite
has no INCLUDE.

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-26 00:00:00

"""

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

QUEUE_ORDER = ["agreement_rank", sa.text("checkworthiness DESC"), "created_at", "id"]
QUEUE_CLAIMS = "status IN ('annotated', 'in_review')"


def _queue_index(include: list[str]) -> None:
    op.drop_index("ix_claims_review_queue", table_name="claims")
    op.create_index(
        "ix_claims_review_queue",
        "claims",
        QUEUE_ORDER,
        postgresql_where=sa.text(QUEUE_CLAIMS),
        sqlite_where=sa.text(QUEUE_CLAIMS),
        postgresql_include=include,
    )


def upgrade():
    _queue_index(["annotator_count", "article_id", "status"])


def downgrade():
    # As 0002 made it (SQLite keeps the DESC: a downgrade need not bring the lost order back).
    _queue_index(["annotator_count", "article_id"])
