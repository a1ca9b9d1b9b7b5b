"""Push benchmark: the workbench's push vs. raw SDK imports of the same tasks, side by side.

Usage (Label Studio running; scripts/bench-push.sh starts one and sets the env):
    python bench/push.py [--claims 5000] [--batch-size 1000] [--rounds 3] [--database-url URL]

Each round pushes N queued claims with ``workbench.labelstudio.service.push`` into a fresh
project, and imports the very same task payloads with one raw ``label_studio_sdk`` call per
batch into another fresh project; the order alternates between rounds because the machine is
shared and noisy. It prints medians and the ratio workbench / raw (target ≤ 1.3), and as its
last line one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def seed_claims(n: int) -> None:
    """Insert one article and ``n`` queued claims directly (extraction is not what we measure)."""
    from workbench.db import db
    from workbench.models import Article, Claim

    sentence = "The port handled {i} containers in {y}, up {p} percent on the year before."
    parts, spans = [], []
    cursor = 0
    for i in range(n):
        s = sentence.format(i=1000 + i, y=2000 + i % 30, p=i % 17)
        spans.append((cursor, cursor + len(s), s))
        # Paragraphs of five sentences, like news prose.
        sep = "\n\n" if i % 5 == 4 else " "
        parts.append(s + sep)
        cursor += len(s) + len(sep)
    text = "".join(parts)
    article = Article(
        title="Benchmark article",
        url="https://example.org/bench",
        text=text,
        text_sha256=secrets.token_hex(32),
        raw_input={},
        extractor_version="bench",
    )
    db.session.add(article)
    db.session.flush()
    db.session.bulk_insert_mappings(
        Claim,
        [
            {
                "uuid": f"{secrets.token_hex(16)}",
                "article_id": article.id,
                "ordinal": i,
                "text": s,
                "start": a,
                "end": b,
                "checkworthiness": 0.8,
                "checkworthy": True,
                "claim_type": "statistic",
                "reasons": ["contains a number"],
                "status": "queued",
                "extractor_version": "bench",
            }
            for i, (a, b, s) in enumerate(spans)
        ],
    )
    db.session.commit()


def reset_claims() -> None:
    """Forget every push so the next round starts from the same queued claims."""
    import sqlalchemy as sa

    from workbench.db import db
    from workbench.models import Claim, LabelStudioLink

    db.session.execute(sa.delete(LabelStudioLink))
    db.session.execute(sa.update(Claim).values(status="queued", push_attempted_at=None, version=1))
    db.session.commit()


def time_workbench(app, client, batch_size: int) -> tuple[float, int]:
    from workbench.labelstudio import service

    app.config["LABEL_STUDIO_PROJECT_TITLE"] = f"bench-wb-{secrets.token_hex(4)}"
    service.bootstrap(client)
    started = time.perf_counter()
    result = service.push(client, batch_size=batch_size, actor="bench")
    elapsed = time.perf_counter() - started
    return elapsed, result.pushed


def time_raw(app, client, batch_size: int) -> tuple[float, int]:
    """Import the same payloads with one raw SDK call per batch (no database work at all)."""
    import sqlalchemy as sa

    from workbench.db import db
    from workbench.labelstudio.service import label_config, task_for
    from workbench.models import Claim

    claims = list(db.session.scalars(sa.select(Claim).order_by(Claim.id)))
    tasks = [task_for(c, c.article) for c in claims]
    project, _ = client.ensure_project(f"bench-raw-{secrets.token_hex(4)}", label_config()[0])
    pid = int(project["id"])
    sdk = client._sdk  # the same SDK object and HTTP pool the workbench uses
    started = time.perf_counter()
    created = 0
    for i in range(0, len(tasks), batch_size):
        response = sdk.projects.import_tasks(pid, request=tasks[i : i + batch_size], return_task_ids=True)
        created += len(response.task_ids or [])
    elapsed = time.perf_counter() - started
    return elapsed, created


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--claims", type=int, default=5000)
    parser.add_argument("--batch-size", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--database-url", default=None, help="default: a fresh SQLite file")
    args = parser.parse_args()

    from flask_migrate import upgrade

    from tests.ls_client_helpers import LabelStudioTestClient
    from workbench import create_app

    url = os.environ.get("WORKBENCH_LABEL_STUDIO_URL")
    key = os.environ.get("WORKBENCH_LABEL_STUDIO_API_KEY")
    if not (url and key):
        sys.exit(
            "set WORKBENCH_LABEL_STUDIO_URL and WORKBENCH_LABEL_STUDIO_API_KEY "
            '(eval "$(scripts/label-studio env)")'
        )
    tmp = tempfile.mkdtemp(prefix="wb-bench-")
    db_url = args.database_url or f"sqlite:///{tmp}/bench.db"
    app = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": db_url,
            "LABEL_STUDIO_URL": url,
            "LABEL_STUDIO_API_KEY": key,
            "WEBHOOK_SECRET": None,
        }
    )
    wb_times, raw_times, projects = [], [], []
    with app.app_context(), LabelStudioTestClient(url, key, timeout=300) as client:
        upgrade()
        seed_claims(args.claims)
        for r in range(args.rounds):
            order = ["workbench", "raw"] if r % 2 == 0 else ["raw", "workbench"]
            for which in order:
                if which == "workbench":
                    reset_claims()
                    elapsed, n = time_workbench(app, client, args.batch_size)
                    wb_times.append(elapsed)
                else:
                    elapsed, n = time_raw(app, client, args.batch_size)
                    raw_times.append(elapsed)
                assert n == args.claims, f"{which} pushed {n} of {args.claims}"
                print(
                    f"round {r + 1}: {which:<9} {n} tasks in {elapsed:6.2f} s ({n / elapsed:7.0f} tasks/s)",
                    flush=True,
                )
        for project in client._sdk.projects.list(page_size=1000):
            if project.title and project.title.startswith(("bench-wb-", "bench-raw-")):
                projects.append(project.id)
        for pid in projects:
            client.delete_project(int(pid))

    wb, raw = statistics.median(wb_times), statistics.median(raw_times)
    print()
    print(f"{'':<22}{'median s':>10}{'tasks/s':>10}")
    print(f"{'workbench push':<22}{wb:>10.2f}{args.claims / wb:>10.0f}")
    print(f"{'raw SDK import':<22}{raw:>10.2f}{args.claims / raw:>10.0f}")
    print(f"ratio workbench / raw: {wb / raw:.2f} (target ≤ 1.3); database: {db_url.split(':')[0]}")
    print(
        json.dumps(
            {
                "claims": args.claims,
                "batch_size": args.batch_size,
                "rounds": args.rounds,
                "workbench_median_s": round(wb, 3),
                "raw_median_s": round(raw, 3),
                "ratio": round(wb / raw, 3),
                "workbench_runs_s": [round(t, 3) for t in wb_times],
                "raw_runs_s": [round(t, 3) for t in raw_times],
            }
        )
    )


if __name__ == "__main__":
    main()
