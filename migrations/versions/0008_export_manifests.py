"""export manifests: every export's format, filters, count, sha256, audit head, who and when

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-25 23:00:00

"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "export_manifests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("uuid", sa.String(length=36), nullable=False),
        sa.Column("format", sa.String(length=20), nullable=False),
        sa.Column("filters", sa.JSON(), nullable=False),
        sa.Column("records", sa.Integer(), nullable=True),
        sa.Column("records_expected", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=True),
        sa.Column("bytes", sa.BigInteger(), nullable=True),
        sa.Column("audit_head_seq", sa.Integer(), nullable=False),
        sa.Column("audit_head_hash", sa.String(length=64), nullable=False),
        sa.Column("actor", sa.String(length=320), nullable=False),
        sa.Column("via", sa.String(length=20), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("claim_ranges", sa.JSON(), nullable=True),
        sa.Column("file_name", sa.String(length=200), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_export_manifests")),
        sa.UniqueConstraint("uuid", name=op.f("uq_export_manifests_uuid")),
    )
    with op.batch_alter_table("export_manifests", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_export_manifests_sha256"), ["sha256"], unique=False)


def downgrade():
    with op.batch_alter_table("export_manifests", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_export_manifests_sha256"))
    op.drop_table("export_manifests")
