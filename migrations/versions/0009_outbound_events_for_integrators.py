"""outbound events for integrators: endpoints, events and delivery attempts

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-25 23:00:00

"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def _when(name, nullable=True):
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade():
    op.create_table(
        "outbound_endpoints",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("url", sa.String(length=2000), nullable=False),
        sa.Column("description", sa.String(length=500), nullable=False),
        sa.Column("event_types", sa.JSON(), nullable=False),
        sa.Column("secret", sa.String(length=100), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        _when("paused_at"),
        sa.Column("paused_reason", sa.Text(), nullable=True),
        sa.Column("consecutive_failures", sa.Integer(), nullable=False),
        _when("failing_since"),
        sa.Column("created_by", sa.String(length=320), nullable=False),
        _when("created_at", nullable=False),
        _when("secret_rotated_at"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbound_endpoints")),
    )
    op.create_index(op.f("ix_outbound_endpoints_status"), "outbound_endpoints", ["status"])
    op.create_table(
        "outbound_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("message_id", sa.String(length=64), nullable=False),
        sa.Column("type", sa.String(length=60), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        _when("created_at", nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbound_events")),
        sa.UniqueConstraint("message_id", name=op.f("uq_outbound_events_message_id")),
    )
    op.create_index(op.f("ix_outbound_events_type"), "outbound_events", ["type"])
    op.create_table(
        "outbound_deliveries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=False),
        sa.Column("endpoint_id", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=12), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("retries", sa.Integer(), nullable=False),
        _when("next_attempt_at", nullable=False),
        sa.Column("claim_token", sa.String(length=32), nullable=True),
        _when("claimed_until"),
        _when("delivered_at"),
        _when("created_at", nullable=False),
        sa.ForeignKeyConstraint(
            ["endpoint_id"],
            ["outbound_endpoints.id"],
            name=op.f("fk_outbound_deliveries_endpoint_id_outbound_endpoints"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["event_id"],
            ["outbound_events.id"],
            name=op.f("fk_outbound_deliveries_event_id_outbound_events"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbound_deliveries")),
        sa.UniqueConstraint("event_id", "endpoint_id", name="uq_outbound_deliveries_event_endpoint"),
    )
    op.create_index("ix_outbound_deliveries_due", "outbound_deliveries", ["state", "next_attempt_at"])
    op.create_index(op.f("ix_outbound_deliveries_endpoint_id"), "outbound_deliveries", ["endpoint_id"])
    op.create_table(
        "outbound_attempts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("delivery_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        _when("started_at", nullable=False),
        sa.Column("duration_ms", sa.Integer(), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=True),
        sa.Column("ok", sa.Boolean(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("response_excerpt", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["delivery_id"],
            ["outbound_deliveries.id"],
            name=op.f("fk_outbound_attempts_delivery_id_outbound_deliveries"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbound_attempts")),
    )
    op.create_index(op.f("ix_outbound_attempts_delivery_id"), "outbound_attempts", ["delivery_id"])


def downgrade():
    op.drop_index(op.f("ix_outbound_attempts_delivery_id"), table_name="outbound_attempts")
    op.drop_table("outbound_attempts")
    op.drop_index(op.f("ix_outbound_deliveries_endpoint_id"), table_name="outbound_deliveries")
    op.drop_index("ix_outbound_deliveries_due", table_name="outbound_deliveries")
    op.drop_table("outbound_deliveries")
    op.drop_index(op.f("ix_outbound_events_type"), table_name="outbound_events")
    op.drop_table("outbound_events")
    op.drop_index(op.f("ix_outbound_endpoints_status"), table_name="outbound_endpoints")
    op.drop_table("outbound_endpoints")
