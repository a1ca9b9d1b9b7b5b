"""Reconcile's drift check on one chunk of claims: annotations read as whole ORM rows against the
columns a state is derived from (``workbench.review.state.DERIVE_COLUMNS``), side by side.

Usage:
    .venv/bin/python bench/drift_check.py --database-url postgresql+psycopg://postgres@127.0.0.1:5432/wb_stack
        [--chunk 1000] [--rounds 4]

Reads (never writes) a workbench database that holds annotated claims, e.g. the scale-out stack's
after ``bench/review_queue.py`` and ``bench/webhook_intake.py`` ran on it. Takes the newest
``--chunk`` annotated claims (the intake benchmark's, with many versions each) and times
``find_drift`` on them both ways in alternating order; prints the medians and their ratio.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--chunk", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=4)
    args = parser.parse_args()

    import sqlalchemy as sa

    import workbench.review.state as state
    from workbench import create_app
    from workbench.db import db
    from workbench.models import Annotation, Claim

    app = create_app({"SQLALCHEMY_DATABASE_URI": args.database_url})
    with app.app_context():
        ids = list(
            db.session.scalars(
                sa.select(Claim.id)
                .where(sa.exists().where(Annotation.claim_id == Claim.id))
                .order_by(Claim.id.desc())
                .limit(args.chunk)
            )
        )
        versions = db.session.scalar(
            sa.select(sa.func.count()).select_from(Annotation).where(Annotation.claim_id.in_(ids))
        )
        real = state._inputs_many
        times: dict[str, list[float]] = {"whole rows": [], "columns": []}
        found: dict[str, list[int]] = {}
        for n in range(args.rounds):
            order = [("whole rows", False), ("columns", True)]
            for name, columns in order if n % 2 == 0 else reversed(order):
                state._inputs_many = lambda claim_ids, columns_only=False, c=columns: real(
                    claim_ids, columns_only=c
                )
                started = time.perf_counter()
                found[name] = state.find_drift(ids, 2)
                times[name].append(time.perf_counter() - started)
                db.session.commit()
                db.session.expunge_all()
        state._inputs_many = real
    assert found["whole rows"] == found["columns"], "the two ways found different drift"
    rows, columns = (statistics.median(times[k]) for k in ("whole rows", "columns"))
    drifted = len(found["columns"])
    print(f"{len(ids)} claims, {versions} annotation versions, {drifted} drifted; median of {args.rounds}:")
    print(f"  whole ORM rows  {rows:7.2f} s")
    print(f"  columns only    {columns:7.2f} s   ({rows / columns:.1f}x)")


if __name__ == "__main__":
    main()
