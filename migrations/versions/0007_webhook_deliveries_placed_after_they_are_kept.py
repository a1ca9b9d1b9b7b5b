"""webhook deliveries placed after they are kept: placed_at, spool_key

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-26 10:00:00

"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("webhook_events", schema=None) as batch_op:
        batch_op.add_column(sa.Column("placed_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("spool_key", sa.String(length=64), nullable=True))
        batch_op.create_unique_constraint(batch_op.f("uq_webhook_events_spool_key"), ["spool_key"])
    # Every delivery kept before this revision was placed in the request that kept it.
    op.execute(
        "UPDATE webhook_events SET placed_at = received_at WHERE placed_at IS NULL AND status <> 'received'"
    )


def downgrade():
    with op.batch_alter_table("webhook_events", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_webhook_events_spool_key"), type_="unique")
        batch_op.drop_column("spool_key")
        batch_op.drop_column("placed_at")
