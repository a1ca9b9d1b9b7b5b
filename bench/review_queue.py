"""Review-queue latency at scale, and the time to verify a long audit chain (PostgreSQL).

Usage:
    python bench/review_queue.py [--database-url URL] [--claims 100000] [--annotations-per-claim 3]
                                 [--requests 200] [--audit-events 1000000]

Builds a fresh schema in the given PostgreSQL database (default: the local `test` database; it
is wiped), seeds claims and annotations with bulk inserts, serves the workbench over real HTTP
(werkzeug, threaded) and times GET /api/v1/review/queue (default order, deep pages and each
filter) against GET /health on the same server as the baseline. Then it appends
``--audit-events`` events to the chain and times `workbench audit verify`'s walk. Prints a table
and, last, one JSON object. Targets: queue p95 < 100 ms; 1,000,000 events verified in < 30 s.
Requests over ``--stall-factor`` x their kind's median are listed with their start time (UTC), to
line up with the PostgreSQL log (checkpoints, slow statements) and the server's request log.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import threading
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

RATINGS = ["True", "Mostly true", "Half true", "Mostly false", "False", "Misleading", "Unverifiable"]


def p95(values: list[float]) -> float:
    return sorted(values)[max(0, int(round(0.95 * len(values))) - 1)]


def seed(n_claims: int, per_claim: int, rng: random.Random) -> None:
    import sqlalchemy as sa

    from workbench.db import db
    from workbench.models import Annotation, Article, Claim
    from workbench.models.base import utcnow
    from workbench.review.agreement import RANK, classify

    per_article = 100
    now = utcnow()
    articles = [
        {
            "id": i + 1,
            "uuid": f"00000000-0000-0000-0000-{i + 1:012d}",
            "title": f"Article {i}",
            "text": "x",
            "text_sha256": f"{i + 1:064d}",
            "raw_input": {},
            "extractor_version": "bench",
            "language": "en",
            "ingested_via": "bench",
            "created_at": now,
        }
        for i in range(n_claims // per_article)
    ]
    db.session.execute(sa.insert(Article), articles)
    claims, annotations = [], []
    annotation_id = 0
    for c in range(n_claims):
        verdicts = [rng.choice(RATINGS[:5]) if rng.random() < 0.5 else "False" for _ in range(per_claim)]
        kind, _ = classify(verdicts)
        status = "annotated" if rng.random() < 0.8 else rng.choice(["verified", "in_annotation", "rejected"])
        claims.append(
            {
                "id": c + 1,
                "uuid": f"{c + 1:08d}-0000-4000-8000-000000000000",
                "article_id": c // per_article + 1,
                "ordinal": c % per_article,
                "text": f"Claim {c}.",
                "start": 0,
                "end": 1,
                "paragraph_index": 0,
                "is_quote": False,
                "checkworthiness": round(rng.random(), 4),
                "checkworthy": True,
                "claim_type": "statistic",
                "reasons": [],
                "context_before": "",
                "status": status,
                "extractor_version": "bench",
                "version": 1 + per_claim,
                "annotator_count": per_claim,
                "agreement": kind,
                "agreement_rank": RANK[kind],
                "created_at": now,
                "updated_at": now,
            }
        )
        for k, verdict in enumerate(verdicts):
            annotation_id += 1
            annotations.append(
                {
                    "id": annotation_id,
                    "claim_id": c + 1,
                    "ls_annotation_id": annotation_id,
                    "ls_task_id": c + 1,
                    "ls_project_id": 1,
                    "version": 1,
                    "annotator_ls_id": 100 + (c + k) % 40,
                    "result": [],
                    "verdict": verdict,
                    "evidence_urls": [],
                    "was_cancelled": False,
                    "source": "webhook",
                    "payload_sha256": f"{annotation_id:064d}",
                    "received_at": now,
                }
            )
    for i in range(0, len(claims), 10000):
        db.session.execute(sa.insert(Claim), claims[i : i + 10000])
    for i in range(0, len(annotations), 20000):
        db.session.execute(sa.insert(Annotation), annotations[i : i + 20000])
    if db.session.get_bind().dialect.name == "postgresql":
        # Explicit ids leave the sequences behind: the next ingest (on the stack) must not collide.
        for table in ("articles", "claims", "annotations"):
            db.session.execute(
                sa.text(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))"
                )
            )
    db.session.commit()
    # Steady state: autovacuum would have run; index-only scans need the visibility map.
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(sa.text("VACUUM ANALYZE"))


# When each timed request started (wall clock), by path: to line pauses up with the server's logs.
STARTED_AT: dict[str, list[float]] = {}


def time_requests(base: str, headers: dict, paths: list[str], rounds: int) -> dict[str, list[float]]:
    """Time each path ``rounds`` times, each followed by GET /health (the same server's floor)."""
    out: dict[str, list[float]] = {p: [] for p in paths}
    out["/health"] = []
    STARTED_AT.clear()
    with requests.Session() as http:
        for _ in range(rounds):
            for path in paths:
                STARTED_AT.setdefault(path, []).append(time.time())
                started = time.perf_counter()
                r = http.get(base + path, headers=headers)
                out[path].append(time.perf_counter() - started)
                assert r.status_code == 200, (path, r.status_code, r.text[:200])
                STARTED_AT.setdefault("/health", []).append(time.time())
                started = time.perf_counter()
                http.get(base + "/health")
                out["/health"].append(time.perf_counter() - started)
    return out


def _clock(at: float) -> str:
    return time.strftime("%H:%M:%S", time.gmtime(at)) + f".{int(at % 1 * 1000):03d}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default="postgresql://postgres@127.0.0.1:5432/test")
    parser.add_argument("--claims", type=int, default=100_000)
    parser.add_argument("--annotations-per-claim", type=int, default=3)
    parser.add_argument("--requests", type=int, default=200, help="requests per kind of queue page")
    parser.add_argument("--audit-events", type=int, default=1_000_000)
    parser.add_argument(
        "--target",
        default=None,
        help="time this running server instead (the stack's nginx, e.g. http://127.0.0.1:5080); "
        "--database-url is then its database: seeded when it holds no claims, never wiped",
    )
    parser.add_argument(
        "--stall-factor",
        type=float,
        default=3.0,
        help="list the requests this many times slower than their median",
    )
    args = parser.parse_args()

    import sqlalchemy as sa
    from flask_migrate import upgrade
    from werkzeug.serving import make_server

    from workbench import audit, create_app
    from workbench.auth import create_user
    from workbench.config import normalise_database_url
    from workbench.db import db

    if not args.target:
        engine = sa.create_engine(normalise_database_url(args.database_url))
        with engine.begin() as conn:
            conn.execute(sa.text("DROP SCHEMA public CASCADE"))
            conn.execute(sa.text("CREATE SCHEMA public"))
        engine.dispose()
    app = create_app({"SQLALCHEMY_DATABASE_URI": args.database_url, "ANNOTATION_OVERLAP": 2})
    rng = random.Random(7)
    with app.app_context():
        from workbench.models import Claim

        if not args.target:
            upgrade()
        present = db.session.scalar(sa.select(sa.func.count()).select_from(Claim))
        if present == 0:
            started = time.perf_counter()
            seed(args.claims, args.annotations_per_claim, rng)
            seed_s = time.perf_counter() - started
            print(
                f"seeded {args.claims} claims and {args.claims * args.annotations_per_claim} annotations "
                f"in {seed_s:.1f} s",
                flush=True,
            )
        elif present != args.claims:
            raise SystemExit(f"the target's database holds {present} claims, not {args.claims}")
        _, token = create_user(f"bench-{time.time_ns()}@example.org", "reviewer")
        db.session.commit()

    server = None
    if args.target:
        base = args.target.rstrip("/")
    else:
        server = make_server("127.0.0.1", 0, app, threaded=True)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        base = f"http://127.0.0.1:{server.server_port}"
    q = "/api/v1/review/queue"
    kinds = {
        "first page": q,
        "page 20 (offset 1000)": q + "?offset=1000",
        "rating filter": q + "?rating=Half%20true",
        "annotator filter": q + "?annotator=117",
        "article filter": q + "?article_id=500",
        "status filter": q + "?status=annotated&limit=100",
    }
    headers = {"Authorization": f"Bearer {token}"}
    time_requests(base, headers, list(kinds.values()), 3)  # warm-up
    timings = time_requests(base, headers, list(kinds.values()), args.requests)
    if server is not None:
        server.shutdown()
    # Pauses: requests far slower than the median of their own kind (when, and how slow).
    # (When they started, UTC: compare with the PostgreSQL log's checkpoints and slow statements.)
    slow = sorted(
        (STARTED_AT[p][i], t * 1000, p)
        for p, values in timings.items()
        for i, t in enumerate(values)
        if t > args.stall_factor * statistics.median(values)
    )
    print(
        f"\n{len(slow)} requests over {args.stall_factor:g} x their kind's median"
        + (": " + "; ".join(f"{_clock(at)} UTC {p} {ms:.0f} ms" for at, ms, p in slow[:30]) if slow else "")
    )

    all_queue = [t for k, p in kinds.items() for t in timings[p]]
    rows = [(k, timings[p]) for k, p in kinds.items()] + [
        ("all queue requests", all_queue),
        ("GET /health (baseline)", timings["/health"]),
    ]
    print(f"\n{'GET /api/v1/review/queue':<28}{'median ms':>10}{'p95 ms':>10}")
    for name, values in rows:
        print(f"{name:<28}{statistics.median(values) * 1000:>10.1f}{p95(values) * 1000:>10.1f}")
    ratio = statistics.median(all_queue) / statistics.median(timings["/health"])
    print(f"ratio queue / health (median): {ratio:.1f}; target p95 < 100 ms")

    verify_s = None
    if args.audit_events:
        with app.app_context():
            started = time.perf_counter()
            remaining = args.audit_events - audit.verify().checked
            while remaining > 0:
                n = min(20000, remaining)
                audit.append_many(
                    {
                        "actor": "bench",
                        "action": "bench.event",
                        "subject_type": "claim",
                        "subject_id": i % args.claims,
                        "payload": {"i": i, "rating": RATINGS[i % 7]},
                    }
                    for i in range(n)
                )
                db.session.commit()
                remaining -= n
            append_s = time.perf_counter() - started
            db.session.remove()
            started = time.perf_counter()
            report = audit.verify()
            verify_s = time.perf_counter() - started
            assert report.ok, report.reason
            print(
                f"\naudit chain: appended to {report.checked} events in {append_s:.1f} s; "
                f"verified {report.checked} events in {verify_s:.1f} s "
                f"({report.checked / verify_s:,.0f} events/s; target < 30 s for 1,000,000)"
            )

    print(
        json.dumps(
            {
                "claims": args.claims,
                "annotations": args.claims * args.annotations_per_claim,
                "queue_median_ms": round(statistics.median(all_queue) * 1000, 2),
                "queue_p95_ms": round(p95(all_queue) * 1000, 2),
                "health_median_ms": round(statistics.median(timings["/health"]) * 1000, 2),
                "per_kind": {
                    k: {
                        "median_ms": round(statistics.median(timings[p]) * 1000, 2),
                        "p95_ms": round(p95(timings[p]) * 1000, 2),
                    }
                    for k, p in kinds.items()
                },
                "audit_events": args.audit_events,
                "audit_verify_s": round(verify_s, 2) if verify_s else None,
            }
        )
    )


if __name__ == "__main__":
    main()
