"""claim embeddings: one stored sentence vector per claim and embedder

``claim_embeddings`` keeps each claim's vector (float16, unit length) by the embedder that made
it (``model``: its name and version), so that the matcher scores the candidates the search index
offers with stored vectors rather than embedding the archive at every ingest. Claims ingested
from now on get theirs at ingest; ``workbench matching embed`` fills in the claims made before.

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-26 09:00:00

"""

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "claim_embeddings",
        sa.Column("claim_id", sa.Integer(), sa.ForeignKey("claims.id"), nullable=False),
        sa.Column("model", sa.String(100), nullable=False),
        sa.Column("vector", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("claim_id", "model"),
    )


def downgrade():
    op.drop_table("claim_embeddings")
