"""annotation versions by Label Studio's time, delivery digests, job locks

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25 18:00:00

"""

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def _key(value):
    """Label Studio's updated_at in the fixed UTC form the workbench sorts on (see annotations.py)."""
    if not value:
        return ""
    try:
        stamp = datetime.fromisoformat(value.strip())
    except ValueError:
        return ""
    if stamp.tzinfo is None:
        stamp = stamp.replace(tzinfo=UTC)
    return stamp.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def upgrade():
    with op.batch_alter_table("annotations", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("ls_updated_key", sa.String(length=32), nullable=False, server_default="")
        )
    conn = op.get_bind()
    rows = conn.execute(sa.text("SELECT id, ls_updated_at FROM annotations")).all()
    for row_id, updated in rows:
        conn.execute(
            sa.text("UPDATE annotations SET ls_updated_key = :k WHERE id = :i"),
            {"k": _key(updated), "i": row_id},
        )
    with op.batch_alter_table("annotations", schema=None) as batch_op:
        batch_op.drop_constraint("uq_annotations_ls_id_hash", type_="unique")
        batch_op.create_unique_constraint(
            "uq_annotations_version", ["ls_annotation_id", "payload_sha256", "ls_updated_key"]
        )
    with op.batch_alter_table("webhook_events", schema=None) as batch_op:
        batch_op.add_column(sa.Column("body_length", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("body_sha256", sa.String(length=64), nullable=True))
        batch_op.add_column(
            sa.Column("body_stored_as", sa.String(length=20), nullable=False, server_default="as_sent")
        )
    op.create_table(
        "job_locks",
        sa.Column("name", sa.String(length=60), nullable=False),
        sa.Column("holder", sa.String(length=320), nullable=False),
        sa.Column("job_id", sa.String(length=64), nullable=True),
        sa.Column("acquired_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_job_locks")),
    )


def downgrade():
    op.drop_table("job_locks")
    with op.batch_alter_table("webhook_events", schema=None) as batch_op:
        batch_op.drop_column("body_stored_as")
        batch_op.drop_column("body_sha256")
        batch_op.drop_column("body_length")
    with op.batch_alter_table("annotations", schema=None) as batch_op:
        batch_op.drop_constraint("uq_annotations_version", type_="unique")
        batch_op.create_unique_constraint("uq_annotations_ls_id_hash", ["ls_annotation_id", "payload_sha256"])
        batch_op.drop_column("ls_updated_key")
