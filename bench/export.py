"""Export throughput and memory over the API, against a plain SELECT + json.dumps (PostgreSQL).

Usage:
    python bench/export.py [--database-url URL] [--claims 100000] [--annotations-per-claim 2]
                           [--rounds 3] [--formats jsonl,claimreview] [--reuse]

Builds a fresh schema in the given PostgreSQL database (it is wiped), seeds verified claims
(each with its annotations, a verdict resting on them, a Label Studio link) with bulk inserts,
starts a real ``workbench serve`` (one gunicorn worker) and streams
``GET /api/v1/exports/verified-claims`` in each format, reading every byte. Beside it, in the
same run, a separate process reads the same rows with one server-side-cursor ``SELECT`` and
``json.dumps`` of each row (the baseline). Peak RSS is the serving worker's ``VmHWM`` (reset
before each export by writing 5 to ``/proc/PID/clear_refs``) and the baseline process's
``VmHWM``; CPU seconds are the serving worker's and the baseline process's own (user + system;
the database server's are in neither), a figure a loaded machine disturbs less than the wall
clock. Prints medians and ratios, then one JSON object.
Targets: serving process peak RSS < 150 MB; export time / baseline time <= 2.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

RATINGS = ["True", "Mostly true", "Half true", "Mostly false", "False", "Misleading", "Unverifiable"]

BASELINE_SQL = """
SELECT c.id, c.uuid, c.text, c.start, c."end", c.speaker, c.is_quote, c.claim_type, c.checkworthiness,
       c.extractor_version, c.published_at, ar.uuid AS article_uuid, ar.url, ar.title, ar.publisher,
       ar.text_sha256, ar.published_at AS article_published_at, v.version, v.rating, v.decision,
       v.rationale, v.evidence, v.agreement, v.annotation_ids, v.created_at, u.email, u.name,
       l.project_id, l.task_id, l.label_config_sha256,
       an.ls_annotation_id, an.version AS annotation_version, an.annotator_ls_id, an.updated_by_ls_id,
       an.annotator_email, an.verdict, an.checkworthy, an.rationale AS annotation_rationale,
       an.confidence, an.evidence_text, an.evidence_urls, an.rewritten_claim, an.ls_created_at,
       an.ls_updated_at, an.received_at, an.source, an.payload_sha256
FROM verdicts v
JOIN claims c ON c.id = v.claim_id
JOIN articles ar ON ar.id = c.article_id
LEFT JOIN users u ON u.id = v.reviewer_id
LEFT JOIN label_studio_links l ON l.claim_id = c.id
JOIN annotations an ON an.claim_id = c.id
WHERE c.status = 'verified'
ORDER BY c.id, an.id
"""


def seed(n_claims: int, per_claim: int, reviewer_id: int, rng: random.Random) -> None:
    import sqlalchemy as sa

    from workbench.db import db
    from workbench.models import Annotation, Article, Claim, LabelStudioLink, Verdict
    from workbench.models.base import utcnow

    per_article = 100
    now = utcnow()
    articles = [
        {
            "id": i + 1,
            "uuid": f"00000000-0000-0000-0000-{i + 1:012d}",
            "title": f"Budget debate, part {i}",
            "url": f"https://news.example.org/articles/{i + 1}",
            "publisher": "Harbour Wire Service",
            "text": "x",
            "text_sha256": f"{i + 1:064x}",
            "raw_input": {},
            "extractor_version": "bench",
            "language": "en",
            "ingested_via": "bench",
            "published_at": now.date(),
            "created_at": now,
        }
        for i in range(max(1, n_claims // per_article))
    ]
    db.session.execute(sa.insert(Article), articles)
    claims, annotations, verdicts, links = [], [], [], []
    annotation_id = 0
    for c in range(n_claims):
        rating = rng.choice(RATINGS)
        ids = []
        for k in range(per_claim):
            annotation_id += 1
            ids.append(annotation_id)
            annotations.append(
                {
                    "id": annotation_id,
                    "claim_id": c + 1,
                    "ls_annotation_id": annotation_id,
                    "ls_task_id": c + 1,
                    "ls_project_id": 1,
                    "version": 1,
                    "annotator_ls_id": 100 + (c + k) % 40,
                    "annotator_email": f"annotator{(c + k) % 40}@example.org",
                    "result": [],
                    "verdict": rating,
                    "checkworthy": True,
                    "rationale": "The ministry's table for March gives a different figure.",
                    "confidence": 4,
                    "evidence_text": "https://stats.example.org/table-1",
                    "evidence_urls": ["https://stats.example.org/table-1"],
                    "rewritten_claim": f"Unemployment in Port Ellis fell to 4.{c % 10} percent in March."
                    if k == 0
                    else None,
                    "ls_created_at": "2031-04-02T10:00:00.000000Z",
                    "ls_updated_at": "2031-04-02T10:05:00.000000Z",
                    "was_cancelled": False,
                    "source": "webhook",
                    "payload_sha256": f"{annotation_id:064x}",
                    "received_at": now,
                }
            )
        claims.append(
            {
                "id": c + 1,
                "uuid": f"{c + 1:08d}-0000-4000-8000-000000000000",
                "article_id": c // per_article + 1,
                "ordinal": c % per_article,
                "text": f"Unemployment fell to 4.{c % 10} percent in March, the mayor said ({c}).",
                "start": 0,
                "end": 60,
                "paragraph_index": 0,
                "speaker": "Ilse Varga",
                "is_quote": True,
                "checkworthiness": round(rng.random(), 4),
                "checkworthy": True,
                "claim_type": "statistic",
                "reasons": [],
                "context_before": "",
                "status": "verified",
                "extractor_version": "bench",
                "version": 2 + per_claim,
                "annotator_count": per_claim,
                "published_at": now if c % 2 else None,
                "created_at": now,
                "updated_at": now,
            }
        )
        verdicts.append(
            {
                "id": c + 1,
                "claim_id": c + 1,
                "version": 1,
                "decision": "accept",
                "rating": rating,
                "rationale": "Ministry data show 3.9 percent.",
                "evidence": ["https://stats.example.org/table-1"],
                "annotation_ids": ids,
                "agreement": {"kind": "unanimous"},
                "reviewer_id": reviewer_id,
                "created_at": now,
            }
        )
        links.append(
            {
                "id": c + 1,
                "claim_id": c + 1,
                "project_id": 1,
                "task_id": c + 1,
                "label_config_sha256": "0" * 64,
                "pushed_at": now,
            }
        )
    for model, rows in (
        (Claim, claims),
        (Annotation, annotations),
        (Verdict, verdicts),
        (LabelStudioLink, links),
    ):
        for i in range(0, len(rows), 10000):
            db.session.execute(sa.insert(model), rows[i : i + 10000])
    db.session.commit()
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(sa.text("VACUUM ANALYZE"))


def baseline(url: str) -> None:
    """Run in a child process: one server-side-cursor SELECT, json.dumps of every row; print a result."""
    import psycopg
    from psycopg.rows import dict_row

    started = time.perf_counter()
    rows = 0
    with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://")) as conn:
        with conn.cursor(name="bench", row_factory=dict_row) as cur, open(os.devnull, "w") as out:
            cur.itersize = 2000
            cur.execute(BASELINE_SQL)
            for row in cur:
                out.write(json.dumps(row, default=str, ensure_ascii=False, separators=(",", ":")) + "\n")
                rows += 1
    seconds = time.perf_counter() - started
    peak_mb = _status(os.getpid(), "VmHWM")  # ru_maxrss would carry the parent's peak across exec
    print(json.dumps({"seconds": seconds, "rows": rows, "peak_mb": peak_mb, "cpu": time.process_time()}))


def _status(pid: int, field: str) -> float:
    """A /proc/PID/status memory field in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    raise KeyError(field)


def _cpu(pid: int) -> float:
    """A process's user + system CPU seconds so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _children(pid: int) -> list[int]:
    try:
        return [int(x) for x in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except FileNotFoundError:
        return []


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def serve(url: str, instance: str) -> tuple[subprocess.Popen, int, str]:
    """Start ``workbench serve`` with one worker; return the process, the worker's pid and the base URL."""
    import requests

    port = _free_port()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("WORKBENCH_")},
        "WORKBENCH_DATABASE_URL": url,
        "WORKBENCH_INSTANCE_PATH": instance,
        "WORKBENCH_SECRET_KEY": "bench",
    }
    command = [str(Path(sys.executable).parent / "workbench"), "serve", "--port", str(port), "--workers", "1"]
    server = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    base = f"http://127.0.0.1:{port}"
    for _ in range(600):
        try:
            if requests.get(base + "/health", timeout=1).status_code == 200:
                break
        except requests.RequestException:
            pass
        if server.poll() is not None:
            raise SystemExit(f"workbench serve exited: {server.stderr.read().decode()[-2000:]}")
        time.sleep(0.1)
    workers = _children(server.pid)
    if len(workers) != 1:
        raise SystemExit(f"expected one gunicorn worker, found {workers}")
    return server, workers[0], base


def export_once(base: str, token: str, fmt: str, worker: int) -> dict:
    import requests

    Path(f"/proc/{worker}/clear_refs").write_text("5")  # reset VmHWM to the current RSS
    cpu = _cpu(worker)
    started = time.perf_counter()
    size = 0
    with requests.get(
        f"{base}/api/v1/exports/verified-claims?format={fmt}",
        headers={"Authorization": f"Bearer {token}"},
        stream=True,
        timeout=600,
    ) as response:
        response.raise_for_status()
        export_id = response.headers["X-Export-Id"]
        for chunk in response.iter_content(1 << 20):
            size += len(chunk)
    seconds = time.perf_counter() - started
    cpu = _cpu(worker) - cpu
    manifest = requests.get(
        f"{base}/api/v1/exports/{export_id}/manifest",
        headers={"Authorization": f"Bearer {token}"},
        timeout=60,
    ).json()
    assert manifest["finished"] and manifest["bytes"] == size, manifest
    return {
        "seconds": seconds,
        "cpu": cpu,
        "bytes": size,
        "records": manifest["records"],
        "peak_mb": _status(worker, "VmHWM"),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default="postgresql://postgres@127.0.0.1:5432/wb_exports_bench")
    parser.add_argument("--claims", type=int, default=100_000)
    parser.add_argument("--annotations-per-claim", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--formats", default="jsonl,claimreview")
    parser.add_argument(
        "--reuse", action="store_true", help="keep the database an earlier run seeded (same --claims)"
    )
    parser.add_argument("--baseline-only", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()

    from workbench.config import normalise_database_url

    url = normalise_database_url(args.database_url)
    if args.baseline_only:
        baseline(url)
        return

    import sqlalchemy as sa
    from flask_migrate import upgrade

    from workbench import create_app
    from workbench.auth import create_user
    from workbench.db import db
    from workbench.models import Claim

    app = create_app({"SQLALCHEMY_DATABASE_URI": url})
    with app.app_context():
        seeded = False
        if args.reuse:
            try:
                upgrade()  # a database seeded by an older revision gets the newer tables
                seeded = db.session.scalar(sa.select(sa.func.count()).select_from(Claim)) == args.claims
            except (sa.exc.ProgrammingError, sa.exc.OperationalError):
                db.session.rollback()
        if not seeded:
            db.session.remove()
            db.engine.dispose()
            engine = sa.create_engine(url)
            with engine.begin() as conn:
                conn.execute(sa.text("DROP SCHEMA public CASCADE"))
                conn.execute(sa.text("CREATE SCHEMA public"))
            engine.dispose()
            upgrade()
            user, _ = create_user("bench@example.org", "reviewer")
            db.session.commit()
            started = time.perf_counter()
            seed(args.claims, args.annotations_per_claim, user.id, random.Random(7))
            print(
                f"seeded {args.claims} verified claims, {args.annotations_per_claim} annotations each, "
                f"in {time.perf_counter() - started:.1f} s",
                flush=True,
            )
        # A reader of its own for each run (a token is shown only when its user is made).
        _, token = create_user(f"bench-{os.getpid()}-{time.time_ns()}@example.org", "reviewer")
        db.session.commit()
        db.session.remove()
        db.engine.dispose()

    formats = args.formats.split(",")
    results: dict[str, list[dict]] = {fmt: [] for fmt in formats}
    results["baseline"] = []
    with tempfile.TemporaryDirectory() as instance:
        server, worker, base = serve(url, instance)
        idle_mb = _status(worker, "VmRSS")
        try:
            for _ in range(args.rounds):
                out = subprocess.run(
                    [sys.executable, __file__, "--database-url", url, "--baseline-only"],
                    capture_output=True,
                    text=True,
                    check=True,
                )
                results["baseline"].append(json.loads(out.stdout.strip().splitlines()[-1]))
                for fmt in formats:
                    results[fmt].append(export_once(base, token, fmt, worker))
        finally:
            server.send_signal(signal.SIGTERM)
            server.wait(timeout=30)

    base_s = statistics.median(r["seconds"] for r in results["baseline"])
    base_cpu = statistics.median(r["cpu"] for r in results["baseline"])
    base_mb = statistics.median(r["peak_mb"] for r in results["baseline"])
    print(
        f"\n{args.claims} verified claims x {args.annotations_per_claim} annotations, "
        f"{args.rounds} rounds (medians); load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs"
    )
    print(f"serving worker idle RSS after start: {idle_mb:.0f} MB")
    print(f"{'run':<32}{'seconds':>8}{'claims/s':>9}{'peak MB':>8}{'x base':>8}{'CPU s':>7}{'x base':>8}")
    summary = {"claims": args.claims, "annotations_per_claim": args.annotations_per_claim, "idle_mb": idle_mb}
    print(
        f"{'SELECT + json.dumps (baseline)':<32}{base_s:>8.2f}{args.claims / base_s:>9.0f}"
        f"{base_mb:>8.0f}{1:>8.2f}{base_cpu:>7.2f}{1:>8.2f}"
    )
    summary["baseline"] = {"seconds": base_s, "cpu": base_cpu, "peak_mb": base_mb}
    for fmt in formats:
        secs = statistics.median(r["seconds"] for r in results[fmt])
        cpu = statistics.median(r["cpu"] for r in results[fmt])
        peak = max(r["peak_mb"] for r in results[fmt])
        records = results[fmt][-1]["records"]
        print(
            f"{'API export ' + fmt:<32}{secs:>8.2f}{records / secs:>9.0f}{peak:>8.0f}"
            f"{secs / base_s:>8.2f}{cpu:>7.2f}{cpu / base_cpu:>8.2f}"
        )
        summary[fmt] = {
            "seconds": secs,
            "claims_per_s": records / secs,
            "peak_mb": peak,
            "ratio": secs / base_s,
            "cpu": cpu,
            "cpu_ratio": cpu / base_cpu,
        }
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
