"""Webhook latency: how fast the receiver answers Label Studio (which waits 1 s, then gives up).

Usage: python bench/webhook.py [--deliveries 300] [--database-url URL]

Serves the workbench over real HTTP (werkzeug, threaded) on a fresh database, links claims to
fake task ids, then POSTs ANNOTATION_CREATED / ANNOTATION_UPDATED deliveries shaped like Label
Studio 1.23's (a third of them repeats, which must change nothing) and, side by side, GET /health
on the same server as the baseline. Prints median and p95 of both and their ratio; the last line
is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
SECRET = "bench-secret"


def p95(values: list[float]) -> float:
    return sorted(values)[max(0, int(round(0.95 * len(values))) - 1)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--deliveries", type=int, default=300)
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()

    from flask_migrate import upgrade
    from werkzeug.serving import make_server

    from tests.factories import annotation_payload, link_claim, make_article
    from workbench import create_app
    from workbench.labelstudio.service import WEBHOOK_HEADER

    db_url = args.database_url or f"sqlite:///{tempfile.mkdtemp(prefix='wb-hook-')}/bench.db"
    # Placed in the request, as this benchmark measures the whole store-and-place path per delivery
    # (bench/webhook_intake.py measures the intake that answers before placing).
    app = create_app(
        {"SQLALCHEMY_DATABASE_URI": db_url, "WEBHOOK_SECRET": SECRET, "WEBHOOK_PLACING": "inline"}
    )
    with app.app_context():
        upgrade()
        claims = []
        for i in range(20):
            article = make_article(
                f"Article {i}. The port handled {i} million containers in 2030, "
                f"up 12 percent. Officials said exports rose 4 percent.\n"
            )
            claims += list(article.claims)
        for n, claim in enumerate(claims):
            link_claim(claim, task_id=10_000 + n)
        targets = [(10_000 + n, claim.uuid) for n, claim in enumerate(claims)]

    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_port}"
    hook, health = [], []
    statuses: dict[str, int] = {}
    with requests.Session() as http:
        body = None
        for i in range(args.deliveries):
            # Every third delivery repeats the previous one exactly (Label Studio may deliver twice).
            if i % 3 != 2 or body is None:
                task_id, _ = targets[i % len(targets)]
                body = annotation_payload(
                    50_000 + i % len(targets),
                    task_id,
                    user_id=3,
                    verdict=["True", "False", "Half true"][i % 3],
                    action="ANNOTATION_CREATED" if i < len(targets) else "ANNOTATION_UPDATED",
                    rationale=f"delivery {i}",
                )
            started = time.perf_counter()
            r = http.post(f"{base}/api/v1/hooks/label-studio", json=body, headers={WEBHOOK_HEADER: SECRET})
            hook.append(time.perf_counter() - started)
            outcome = r.json().get("status", str(r.status_code))
            statuses[outcome] = statuses.get(outcome, 0) + 1
            started = time.perf_counter()
            http.get(f"{base}/health")
            health.append(time.perf_counter() - started)
    server.shutdown()
    unexpected = {k: v for k, v in statuses.items() if k not in ("processed", "duplicate")}
    if unexpected:
        sys.exit(f"unexpected webhook outcomes {unexpected}: the figures would be meaningless")

    hm, hp, bm, bp = (
        statistics.median(hook) * 1000,
        p95(hook) * 1000,
        statistics.median(health) * 1000,
        p95(health) * 1000,
    )
    print(f"{'':<26}{'median ms':>10}{'p95 ms':>10}")
    print(f"{'webhook delivery':<26}{hm:>10.1f}{hp:>10.1f}")
    print(f"{'GET /health (baseline)':<26}{bm:>10.1f}{bp:>10.1f}")
    print(
        f"ratio webhook / baseline (median): {hm / bm:.1f}; Label Studio's timeout: 1000 ms; "
        f"deliveries by outcome: {statuses}; database: {db_url.split(':')[0]}"
    )
    print(
        json.dumps(
            {
                "deliveries": args.deliveries,
                "webhook_median_ms": round(hm, 2),
                "webhook_p95_ms": round(hp, 2),
                "health_median_ms": round(bm, 2),
                "health_p95_ms": round(bp, 2),
                "ratio_median": round(hm / bm, 2),
                "outcomes": statuses,
            }
        )
    )


if __name__ == "__main__":
    main()
