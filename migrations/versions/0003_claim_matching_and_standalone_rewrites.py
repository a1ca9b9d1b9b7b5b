"""claim matching and standalone rewrites

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25 03:00:00

"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("claims", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("needs_rewrite", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch_op.add_column(sa.Column("resolving_context", sa.Text(), nullable=False, server_default=""))
    op.create_table(
        "claim_matches",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("claim_id", sa.Integer(), nullable=False),
        sa.Column("matched_claim_id", sa.Integer(), nullable=False),
        sa.Column("score", sa.Double(), nullable=False),
        sa.Column("threshold", sa.Double(), nullable=False),
        sa.Column("method", sa.String(length=100), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["claim_id"], ["claims.id"], name=op.f("fk_claim_matches_claim_id_claims")),
        sa.ForeignKeyConstraint(
            ["matched_claim_id"], ["claims.id"], name=op.f("fk_claim_matches_matched_claim_id_claims")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_claim_matches")),
        sa.UniqueConstraint("claim_id", "matched_claim_id", name="uq_claim_matches_pair"),
    )
    op.create_index(op.f("ix_claim_matches_claim_id"), "claim_matches", ["claim_id"])
    op.create_index(op.f("ix_claim_matches_matched_claim_id"), "claim_matches", ["matched_claim_id"])


def downgrade():
    op.drop_index(op.f("ix_claim_matches_matched_claim_id"), table_name="claim_matches")
    op.drop_index(op.f("ix_claim_matches_claim_id"), table_name="claim_matches")
    op.drop_table("claim_matches")
    with op.batch_alter_table("claims", schema=None) as batch_op:
        batch_op.drop_column("resolving_context")
        batch_op.drop_column("needs_rewrite")
