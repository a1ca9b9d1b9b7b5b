"""review queue, agreement and publish lock

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25 02:26:55.945855

"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "audit_head",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_head")),
    )
    # Existing chains get their head recorded from their newest event.
    op.execute(
        "INSERT INTO audit_head (id, seq, hash) "
        "SELECT 1, seq, hash FROM audit_events ORDER BY seq DESC LIMIT 1"
    )
    with op.batch_alter_table("claims", schema=None) as batch_op:
        batch_op.add_column(sa.Column("annotator_count", sa.Integer(), nullable=False, server_default="0"))
        batch_op.add_column(sa.Column("agreement", sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column("agreement_rank", sa.Integer(), nullable=False, server_default="3"))
        batch_op.add_column(sa.Column("published_at", sa.DateTime(timezone=True), nullable=True))
    # Claims annotated before this migration keep their place: count their annotators now
    # (agreement kinds are recomputed as annotations arrive; until then they rank last).
    op.execute(
        "UPDATE claims SET annotator_count = (SELECT count(DISTINCT a.annotator_ls_id) FROM annotations a "
        "WHERE a.claim_id = claims.id AND a.was_cancelled = false)"
    )
    op.create_index(
        "ix_claims_review_queue",
        "claims",
        ["agreement_rank", sa.text("checkworthiness DESC"), "created_at", "id"],
        postgresql_where=sa.text("status IN ('annotated', 'in_review')"),
        sqlite_where=sa.text("status IN ('annotated', 'in_review')"),
        postgresql_include=["annotator_count", "article_id"],
    )
    with op.batch_alter_table("annotations", schema=None) as batch_op:
        batch_op.add_column(sa.Column("updated_by_ls_id", sa.Integer(), nullable=True))
    # Annotation lookups by annotator, for the queue's annotator filter and per-annotator agreement.
    op.create_index("ix_annotations_verdict_claim", "annotations", ["verdict", "claim_id"])
    op.create_index("ix_annotations_annotator_claim", "annotations", ["annotator_ls_id", "claim_id"])


def downgrade():
    op.drop_index("ix_annotations_annotator_claim", table_name="annotations")
    op.drop_index("ix_annotations_verdict_claim", table_name="annotations")
    with op.batch_alter_table("annotations", schema=None) as batch_op:
        batch_op.drop_column("updated_by_ls_id")
    op.drop_index("ix_claims_review_queue", table_name="claims")
    with op.batch_alter_table("claims", schema=None) as batch_op:
        batch_op.drop_column("published_at")
        batch_op.drop_column("agreement_rank")
        batch_op.drop_column("agreement")
        batch_op.drop_column("annotator_count")
    op.drop_table("audit_head")
