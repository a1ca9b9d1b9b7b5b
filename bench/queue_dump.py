"""The review queue's page, dumped by workbench.fastdump against marshmallow's own dump, side by side.

Usage:
    .venv/bin/python bench/queue_dump.py --database-url postgresql+psycopg://postgres@127.0.0.1:5432/wb_dump
        [--claims 5000] [--limit 100] [--rounds 7] [--repeats 30]

Seeds the database with bench/review_queue.py's seed (wiped first; PostgreSQL), reads one queue
page of ``--limit`` claims with their annotations as the API does, then times, in alternating
rounds, ``QueuePageSchema().dump`` of that page with the fast path and with marshmallow's
``Schema._serialize`` put back; each round is the mean of ``--repeats`` dumps. Also times the
rest of the request's work on the same page (the queue's two statements, earlier verdicts and
agreement, and the JSON encoding) so the dump's share is seen. Prints medians and the ratio,
then one JSON object. The two outputs are compared once and must be identical.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", required=True, help="a PostgreSQL database (wiped)")
    parser.add_argument("--claims", type=int, default=5000)
    parser.add_argument("--limit", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--repeats", type=int, default=30)
    args = parser.parse_args()

    import marshmallow
    import sqlalchemy as sa
    from flask_migrate import upgrade
    from review_queue import seed

    import workbench.fastdump as fastdump
    from workbench import create_app
    from workbench.api.common import With
    from workbench.config import normalise_database_url
    from workbench.db import db
    from workbench.ingest.matching import earlier_verdicts
    from workbench.review import QueueFilters, queue
    from workbench.review.agreement import claim_agreement
    from workbench.schemas import QueuePageSchema

    engine = sa.create_engine(normalise_database_url(args.database_url))
    with engine.begin() as conn:
        conn.execute(sa.text("DROP SCHEMA public CASCADE"))
        conn.execute(sa.text("CREATE SCHEMA public"))
    engine.dispose()
    app = create_app({"SQLALCHEMY_DATABASE_URI": args.database_url, "ANNOTATION_OVERLAP": 2})
    with app.app_context():
        upgrade()
        seed(args.claims, 3, random.Random(7))

        def page() -> tuple[dict, dict[str, float]]:
            times = {}
            started = time.perf_counter()
            claims, total = queue(overlap=2, filters=QueueFilters(), limit=args.limit, offset=0)
            times["query"] = time.perf_counter() - started
            started = time.perf_counter()
            earlier = earlier_verdicts([c.id for c in claims])
            items = [
                With(
                    c, agreement_detail=claim_agreement(c.annotations), earlier_verdicts=earlier.get(c.id, [])
                )
                for c in claims
            ]
            times["earlier verdicts + agreement"] = time.perf_counter() - started
            return {"items": items, "total": total, "limit": args.limit, "offset": 0, "overlap": 2}, times

        data, _ = page()
        assert len(data["items"]) == args.limit, (
            f"the queue holds {len(data['items'])} claims, not {args.limit}"
        )
        schema = QueuePageSchema()
        fast = fastdump.Schema._serialize

        def dump_ms(serialise) -> float:
            fastdump.Schema._serialize = serialise
            try:
                started = time.perf_counter()
                for _ in range(args.repeats):
                    schema.dump(data)
                return (time.perf_counter() - started) / args.repeats * 1000
            finally:
                fastdump.Schema._serialize = fast

        fastdump.Schema._serialize = marshmallow.Schema._serialize
        reference = schema.dump(data)
        fastdump.Schema._serialize = fast
        assert fastdump.identical(schema.dump(data), reference), "the fast dump differs from marshmallow's"

        rounds: dict[str, list[float]] = {"fastdump": [], "marshmallow": []}
        other: dict[str, list[float]] = {}
        for n in range(args.rounds):
            order = [("fastdump", fast), ("marshmallow", marshmallow.Schema._serialize)]
            for name, serialise in order if n % 2 == 0 else reversed(order):
                rounds[name].append(dump_ms(serialise))
            db.session.rollback()
            _, times = page()
            for name, seconds in times.items():
                other.setdefault(name, []).append(seconds * 1000)
            started = time.perf_counter()
            encoded = json.dumps(reference)
            other.setdefault("JSON encoding", []).append((time.perf_counter() - started) * 1000)

    medians = {name: statistics.median(values) for name, values in rounds.items()}
    ratio = medians["marshmallow"] / medians["fastdump"]
    size = f"{len(encoded):,} bytes of JSON"
    print(f"QueuePageSchema dump of {args.limit} claims ({size}), median of {args.rounds} rounds:")
    for name, value in medians.items():
        print(f"  {name:<32} {value:7.2f} ms")
    print(f"  marshmallow / fastdump          {ratio:7.2f}x")
    print("the rest of the request's work on the same page, median:")
    for name, values in other.items():
        print(f"  {name:<32} {statistics.median(values):7.2f} ms")
    print(
        json.dumps(
            {
                "claims": args.claims,
                "limit": args.limit,
                "dump_ms": medians,
                "ratio": round(ratio, 2),
                "other_ms": {k: round(statistics.median(v), 2) for k, v in other.items()},
            }
        )
    )


if __name__ == "__main__":
    main()
