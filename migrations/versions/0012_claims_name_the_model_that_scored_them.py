"""claims name the model (and version) that scored them

``claims.scored_by`` names the check-worthiness model that gave the claim its score: "cw-2"
(the fine-tuned encoder, workbench/extraction/encoder.py) from now on, "cw-1" (the linear
model) for every claim scored before, which is what all existing rows get, or "cw-1
(fallback: ...)" when the encoder could not be loaded. The old model stays in the package, so
an article scored by cw-1 can be rescored by it.

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-25 23:20:00

"""

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("claims") as batch:
        batch.add_column(sa.Column("scored_by", sa.String(100), nullable=False, server_default="cw-1"))


def downgrade():
    with op.batch_alter_table("claims") as batch:
        batch.drop_column("scored_by")
