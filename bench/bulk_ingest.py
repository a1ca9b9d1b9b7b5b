"""Bulk ingest throughput: articles per second inline, and on two RQ workers.

Usage: python bench/bulk_ingest.py [--articles 1000] [--runs 3] [--database-url URL]
                                   [--redis-url redis://127.0.0.1:6379/7]

Builds N distinct articles from ../shared/samples (the first paragraphs of each sample, a
varying lead sentence and edition line, so no two texts are equal), then ingests them as one
bulk job (workbench.jobs.enqueue_parts, as the API and CLI do) on an emptied database: inline
(WORKBENCH_REDIS_URL unset) and on two real ``workbench worker`` processes, from the enqueue
to the job's finished status. Each mode runs --runs times, alternating; prints the median
articles per second of each and their ratio (RQ over inline); the last line is one JSON object.
On SQLite the write lock serialises the stores; extraction (most of the work) runs outside it.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
SAMPLES = ROOT.parent / "shared" / "samples"


def articles(n: int) -> list[dict]:
    """N distinct articles (the API's fields) built from the shared samples."""
    texts = sorted(SAMPLES.glob("wikinews/*.txt")) + sorted(SAMPLES.glob("*.txt"))
    if not texts:
        sys.exit(f"no sample articles under {SAMPLES}")
    bodies = []
    for path in texts:
        paragraphs = [p for p in path.read_text(encoding="utf-8").split("\n\n") if p.strip()]
        bodies.append(paragraphs[:3])
    out = []
    for i in range(n):
        title, *rest = bodies[i % len(bodies)]
        lead = f"Officials said on day {i % 28 + 1} that {i * 7 % 900 + 100} people had been counted."
        text = "\n\n".join([title, lead, *rest, f"Edition {i}."]) + "\n"
        out.append({"text": text, "title": f"{title[:80]} ({i})", "url": f"https://news.example.org/{i}"})
    return out


def empty(app) -> None:
    from tests.conftest import clear_tables
    from workbench.db import db

    with app.app_context():
        clear_tables()
        db.session.remove()


def run_bulk(app, items: list[dict], *, wait) -> float:
    """Ingest the items as one bulk job; return the seconds from enqueue to the finished result."""
    from workbench import jobs
    from workbench.ingest import bulk

    with app.app_context():
        started = time.perf_counter()
        job = jobs.enqueue_parts(
            "ingest.bulk",
            [{"items": part} for part in bulk.parts_of(items)],
            gather="ingest.bulk.gather",
            total=len(items),
            actor="bench",
            user_id=None,
            via="bench",
        )
        if job["mode"] == "rq":
            job = wait(job["id"])
        seconds = time.perf_counter() - started
        result = job["result"]
        assert result and result["created"] == len(items) and not result["failed"], job
        return seconds


def wait_rq(job_id: str) -> dict:
    from workbench import jobs

    while True:
        state = jobs.status(job_id)
        if state["status"] in ("finished", "failed"):
            return state
        time.sleep(0.05)


def start_workers(db_url: str, redis_url: str, instance: Path, count: int) -> list[subprocess.Popen]:
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("WORKBENCH_")},
        "WORKBENCH_DATABASE_URL": db_url,
        "WORKBENCH_INSTANCE_PATH": str(instance),
        "WORKBENCH_REDIS_URL": redis_url,
        "WORKBENCH_SYNC_INTERVAL": "0",
        "WORKBENCH_SECRET_KEY": "bench",
    }
    exe = str(Path(sys.executable).with_name("workbench"))
    procs = [
        subprocess.Popen(
            [exe, "worker"],
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=open(instance / f"worker-{n}.log", "wb"),  # noqa: SIM115 - lives with the process
            stderr=subprocess.STDOUT,
        )
        for n in range(count)
    ]
    from redis import Redis
    from rq import Worker

    deadline = time.monotonic() + 60
    while len(Worker.all(connection=Redis.from_url(redis_url))) < count:
        if time.monotonic() > deadline or any(p.poll() is not None for p in procs):
            sys.exit(f"workers did not start; see {instance}/worker-*.log")
        time.sleep(0.1)
    return procs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/7")
    args = parser.parse_args()

    from flask_migrate import upgrade
    from redis import Redis

    from workbench import create_app
    from workbench.db import db

    tmp = Path(tempfile.mkdtemp(prefix="wb-bulk-"))
    db_url = args.database_url or f"sqlite:///{tmp}/bench.db"
    inline = create_app({"SQLALCHEMY_DATABASE_URI": db_url, "REDIS_URL": None, "TESTING": True})
    queued = create_app({"SQLALCHEMY_DATABASE_URI": db_url, "REDIS_URL": args.redis_url, "TESTING": True})
    with inline.app_context():
        upgrade()
        db.session.remove()
    Redis.from_url(args.redis_url).flushdb()
    items = [
        {"source": f"line {n + 1}", "fields": fields} for n, fields in enumerate(articles(args.articles))
    ]
    procs = start_workers(db_url, args.redis_url, tmp, args.workers)
    times: dict[str, list[float]] = {"inline": [], "rq": []}
    try:
        for run in range(args.runs):
            for mode, app in (("inline", inline), ("rq", queued)):
                empty(app)
                seconds = run_bulk(app, items, wait=wait_rq)
                times[mode].append(seconds)
                print(f"run {run + 1} {mode:6s} {seconds:7.1f} s  {args.articles / seconds:6.1f} articles/s")
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            proc.wait(timeout=30)
        Redis.from_url(args.redis_url).flushdb()
    rate = {mode: args.articles / statistics.median(values) for mode, values in times.items()}
    ratio = rate["rq"] / rate["inline"]
    dialect = db_url.split(":", 1)[0]
    print(
        f"{args.articles} articles on {dialect}: inline {rate['inline']:.1f}/s, "
        f"{args.workers} RQ workers {rate['rq']:.1f}/s (median of {args.runs}); ratio {ratio:.2f}x"
    )
    print(
        json.dumps(
            {
                "articles": args.articles,
                "runs": args.runs,
                "database": dialect,
                "workers": args.workers,
                "inline_per_s": round(rate["inline"], 2),
                "rq_per_s": round(rate["rq"], 2),
                "ratio": round(ratio, 3),
                "seconds": times,
            }
        )
    )


if __name__ == "__main__":
    main()
