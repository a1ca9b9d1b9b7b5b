"""claim types on Full Fact's typology: old types mapped

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-25 23:10:00

The stored types move from the rules-1.x set (statistic, comparison, event,
quote, prediction, opinion, other) to Full Fact's seven categories
(workbench/extraction/claim_types.py, docs/claim-types.md). The mapping is
written out here, not imported, so this migration means the same thing
whatever the code says later. Downgrade maps back as well as the old set
allows: the three categories it has no name for become "other", and a
round trip cannot tell a statistic from a comparison or an event from a quote.

claim_type is one of the columns each claim's audit digest covers
(workbench/audit/rows.py), so every claim whose type moves gets an audit
event, "claim.type_mapped", attesting its new digest: `workbench audit
verify` stays clean and the chain says what changed and why.
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

UP = {
    "statistic": "quantity",
    "comparison": "quantity",
    "event": "other",
    "quote": "other",
    "prediction": "prediction",
    "opinion": "not_a_claim",
    "other": "other",
}
DOWN = {
    "personal_experience": "other",
    "quantity": "statistic",
    "correlation_causation": "other",
    "laws_rules": "other",
    "prediction": "prediction",
    "other": "other",
    "not_a_claim": "opinion",
}
_BATCH = 1000


def _remap(mapping, direction):
    from workbench.audit.chain import _digest, canonical_json
    from workbench.audit.rows import columns_of, digest_values
    from workbench.models.audit import GENESIS_HASH
    from workbench.models.base import utcnow

    conn = op.get_bind()
    claims = sa.table("claims", sa.column("id"), sa.column("claim_type"))
    moved: list[tuple[int, str, str]] = []
    for old, new in mapping.items():
        if old == new:
            continue
        ids = [r[0] for r in conn.execute(sa.select(claims.c.id).where(claims.c.claim_type == old))]
        for i in range(0, len(ids), _BATCH):
            chunk = ids[i : i + _BATCH]
            conn.execute(sa.update(claims).where(claims.c.id.in_(chunk)).values(claim_type=new))
            moved.extend((cid, old, new) for cid in chunk)
    if not moved:
        return
    # One audit event per moved claim, chained exactly as workbench.audit.chain appends them.
    from workbench.models import Claim

    # The model's typed columns, so booleans and timestamps come back as the digest expects.
    cols = columns_of("claim")
    events = sa.table(
        "audit_events",
        *(sa.column(c) for c in ("seq", "actor", "action", "subject_type", "subject_id")),
        sa.column("created_at", sa.DateTime(timezone=True)),
        sa.column("payload", sa.JSON()),
        sa.column("prev_hash"),
        sa.column("hash"),
    )
    head = sa.table("audit_head", sa.column("id"), sa.column("seq"), sa.column("hash"))
    row = conn.execute(sa.select(head.c.seq, head.c.hash).where(head.c.id == 1)).first()
    if row is None:
        row = conn.execute(
            sa.select(events.c.seq, events.c.hash).order_by(events.c.seq.desc()).limit(1)
        ).first()
    seq, prev = (0, GENESIS_HASH) if row is None else (row[0], row[1])
    now = utcnow()
    how = {cid: (old, new) for cid, old, new in moved}
    ids = sorted(how)
    for i in range(0, len(ids), _BATCH):
        chunk = ids[i : i + _BATCH]
        rows = []
        for values in conn.execute(
            sa.select(*(Claim.__table__.c[c] for c in cols)).where(Claim.__table__.c.id.in_(chunk))
        ).mappings():
            cid = values["id"]
            seq += 1
            payload = {
                "from": how[cid][0],
                "to": how[cid][1],
                "migration": f"0010 {direction}",
                "rows": {f"claim:{cid}": digest_values("claim", dict(values))},
            }
            event = {
                "seq": seq,
                "created_at": now,
                "actor": "migration",
                "action": "claim.type_mapped",
                "subject_type": "claim",
                "subject_id": str(cid),
                "payload_text": canonical_json(payload),
                "prev_hash": prev,
            }
            event["hash"] = prev = _digest(prev, event)
            del event["payload_text"]
            event["payload"] = payload
            rows.append(event)
        conn.execute(sa.insert(events), rows)
    updated = conn.execute(sa.update(head).where(head.c.id == 1).values(seq=seq, hash=prev))
    if updated.rowcount == 0:
        conn.execute(sa.insert(head).values(id=1, seq=seq, hash=prev))


def upgrade():
    _remap(UP, "upgrade")


def downgrade():
    _remap(DOWN, "downgrade")
