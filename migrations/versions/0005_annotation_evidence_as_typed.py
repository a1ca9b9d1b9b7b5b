"""annotation evidence as typed

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-25 19:00:00

"""

import json

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def _evidence(result_text):
    """The evidence text area's text, as the labelling interface stores it (see annotations.py)."""
    try:
        result = json.loads(result_text) if isinstance(result_text, str) else result_text
    except ValueError:
        return None
    texts = []
    for item in result if isinstance(result, list) else []:
        if (
            isinstance(item, dict)
            and item.get("from_name") == "evidence"
            and isinstance(item.get("value"), dict)
        ):
            text = item["value"].get("text") or []
            texts += [text] if isinstance(text, str) else [t for t in text if isinstance(t, str)]
    return "\n".join(texts) or None


def upgrade():
    with op.batch_alter_table("annotations", schema=None) as batch_op:
        batch_op.add_column(sa.Column("evidence_text", sa.Text(), nullable=True))
    conn = op.get_bind()
    rows = conn.execute(sa.text("SELECT id, CAST(result AS TEXT) FROM annotations")).all()
    for row_id, result in rows:
        text = _evidence(result)
        if text is not None:
            conn.execute(
                sa.text("UPDATE annotations SET evidence_text = :t WHERE id = :i"), {"t": text, "i": row_id}
            )


def downgrade():
    with op.batch_alter_table("annotations", schema=None) as batch_op:
        batch_op.drop_column("evidence_text")
