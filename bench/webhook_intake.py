"""Webhook intake under load: does the receiver keep up with Label Studio, and lose nothing?

Usage: python bench/webhook_intake.py [--seconds 60] [--senders 8] [--database-url URL]
                                      [--workers W --threads T] [--placing background|queue|inline]
                                      [--url URL --secret S]

Starts ``workbench serve`` (gunicorn; ``--workers``/``--threads`` passed on) on a fresh database
(a SQLite file in a temporary folder, or ``--database-url``, which is wiped), or uses a server
already running at ``--url`` (its database given by ``--database-url``). Creates claims linked to
Label Studio task ids, with their annotators cached, then:

1. ``GET /health`` from ``--senders`` threads for ``--health-seconds``: the baseline;
2. webhook deliveries shaped like Label Studio 1.23's (task data, project, annotation; new
   annotations and updates of them with a later ``updated_at``, every one a distinct version)
   from the same number of threads for ``--seconds``, each sender posting as fast as answered.

Then it waits until every kept delivery is placed and counts. Prints deliveries/s, latency
p50/p95/p99/max, how many took over 1 s (Label Studio gives up then and never retries), lost
(answered 2xx but not kept), placed, the time placing took to catch up after the last answer, and
the ratios against /health. The last line is one JSON object.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
SECRET = "bench-intake-secret"
HOOK = "/api/v1/hooks/label-studio"
PROJECT = 1
FIRST_TASK = 20_000
ANNOTATORS = range(501, 521)
CONTEXT = (
    "The council of Port Ellis approved the harbour budget on Tuesday after a four-hour debate. "
    "Officials said the figures came from the port authority's annual report, published in March, "
    "and that the new clinics would open in the spring. The opposition disputed the numbers. "
)


def quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, int(round(q * len(ordered))) - 1))]


# ------------------------------------------------------------------------------------ the data


def prepare(database_url: str, claims: int, wipe: bool, run: int = 0) -> list[tuple[int, str, str]]:
    """Migrate the database, ingest articles, link ``claims`` claims to tasks, cache annotators."""
    import sqlalchemy as sa
    from flask_migrate import upgrade

    from tests.factories import link_claim, make_article
    from workbench import create_app
    from workbench.config import normalise_database_url
    from workbench.db import db
    from workbench.labelstudio.people import cache_users

    if wipe and database_url.startswith("postgres"):
        engine = sa.create_engine(normalise_database_url(database_url))
        with engine.begin() as conn:
            conn.execute(sa.text("DROP SCHEMA public CASCADE"))
            conn.execute(sa.text("CREATE SCHEMA public"))
        engine.dispose()
    app = create_app({"SQLALCHEMY_DATABASE_URI": database_url, "WEBHOOK_SECRET": SECRET})
    with app.app_context():
        upgrade()
        targets: list[tuple[int, str, str]] = []
        edition = 0
        while len(targets) < claims:
            edition += 1
            text = "\n\n".join(
                f"The council spent {n + 11} million dollars on harbour project {n + 1} in {2000 + n}, "
                f"up {n + 3} percent from the year before (edition {edition}, run {run})."
                for n in range(60)
            )
            for claim in make_article(text).claims:
                if len(targets) == claims:
                    break
                task_id = FIRST_TASK + run * 10_000 + len(targets)
                link_claim(claim, task_id=task_id, project_id=PROJECT)
                targets.append((task_id, claim.uuid, claim.text))
        # Known annotators, as after a sync: no delivery waits on a Label Studio user lookup.
        cache_users(
            [
                {"id": i, "email": f"annotator{i}@example.org", "first_name": "A", "last_name": str(i)}
                for i in ANNOTATORS
            ],
            actor="bench",
        )
        db.session.commit()
        db.session.remove()
        db.engine.dispose()
    return targets


def delivery(annotation_id: int, version: int, target: tuple[int, str, str], who: int) -> bytes:
    """One delivery as Label Studio 1.23 sends it (about 3 KB): version 0 created, later ones updated."""
    from tests.factories import verdict_result

    task_id, uuid, text = target
    verdict = ["True", "Mostly true", "Half true", "Mostly false", "False"][(annotation_id + version) % 5]
    stamp = f"2031-04-03T10:{version // 60:02d}:{version % 60:02d}.{annotation_id % 1_000_000:06d}Z"
    body = {
        "action": "ANNOTATION_CREATED" if version == 0 else "ANNOTATION_UPDATED",
        "annotation": {
            "id": annotation_id,
            "result": verdict_result(
                verdict, f"Checked the port's report, pass {version}.", "https://example.org/r", 3
            ),
            "created_username": f"annotator{who}@example.org, {who}",
            "created_ago": "0 minutes",
            "completed_by": who,
            "was_cancelled": False,
            "ground_truth": False,
            "created_at": "2031-04-03T10:00:00.000000Z",
            "updated_at": stamp,
            "draft_created_at": None,
            "lead_time": 41.2 + version,
            "import_id": None,
            "last_action": None,
            "bulk_created": False,
            "task": task_id,
            "project": PROJECT,
            "updated_by": who,
            "parent_prediction": None,
            "parent_annotation": None,
            "last_created_by": None,
        },
        "task": {
            "id": task_id,
            "data": {
                "claim_uuid": uuid,
                "text": text,
                "context": CONTEXT,
                "speaker": "Mayor Ilse Varga",
                "article_title": "Port Ellis approves the harbour budget",
                "article_url": "https://news.example.org/port-ellis",
                "source_label": "Source: https://news.example.org/port-ellis",
                "score_label": "Machine's check-worthiness: 0.81 (a hint, not an answer)",
                "reasons": "states a number or quantity (+1.96); compares with the past (+0.88)",
            },
            "meta": {},
            "created_at": "2031-04-02T09:00:00.000000Z",
            "updated_at": stamp,
            "is_labeled": False,
            "overlap": 2,
            "inner_id": task_id - FIRST_TASK + 1,  # distinct per run too
            "total_annotations": 1,
            "cancelled_annotations": 0,
            "total_predictions": 0,
            "project": PROJECT,
            "updated_by": who,
        },
        "project": {
            "id": PROJECT,
            "title": "Fact-check workbench",
            "description": "",
            "created_at": "2031-04-01T08:00:00.000000Z",
            "updated_at": "2031-04-01T08:00:00.000000Z",
            "maximum_annotations": 2,
            "is_published": True,
            "show_skip_button": True,
            "enable_empty_annotation": True,
            "sampling": "Sequential sampling",
        },
    }
    return json.dumps(body).encode()


# ------------------------------------------------------------------------------------ the load


class Sender(threading.Thread):
    """Sends one kind of request in a loop on one keep-alive connection until told to stop."""

    def __init__(self, base: str, make, stop: threading.Event):
        super().__init__(daemon=True)
        parts = urlsplit(base)
        self.host, self.port = parts.hostname, parts.port
        self.make = make  # () -> (method, path, body, headers), or None when out of work
        self.stop = stop
        self.latencies: list[float] = []
        self.codes: dict[int, int] = {}
        self.errors: list[str] = []
        self.event_ids: list[int | None] = []

    def run(self) -> None:
        conn = http.client.HTTPConnection(self.host, self.port, timeout=30)
        while not self.stop.is_set():
            request = self.make()
            method, path, body, headers = request
            started = time.perf_counter()
            try:
                conn.request(method, path, body=body, headers=headers)
                response = conn.getresponse()
                data = response.read()
            except (OSError, http.client.HTTPException) as exc:
                self.latencies.append(time.perf_counter() - started)
                self.errors.append(repr(exc))
                conn.close()
                conn = http.client.HTTPConnection(self.host, self.port, timeout=30)
                continue
            self.latencies.append(time.perf_counter() - started)
            self.codes[response.status] = self.codes.get(response.status, 0) + 1
            if method == "POST" and response.status < 300:
                self.event_ids.append(json.loads(data).get("event_id"))
        conn.close()


def load(base: str, senders: int, seconds: float, make_for) -> tuple[list[Sender], float]:
    stop = threading.Event()
    threads = [Sender(base, make_for(i), stop) for i in range(senders)]
    started = time.perf_counter()
    for t in threads:
        t.start()
    time.sleep(seconds)
    stop.set()
    for t in threads:
        t.join(60)
    return threads, time.perf_counter() - started


def summary(threads: list[Sender], elapsed: float) -> dict:
    latencies = [x for t in threads for x in t.latencies]
    codes: dict[int, int] = {}
    for t in threads:
        for code, n in t.codes.items():
            codes[code] = codes.get(code, 0) + n
    return {
        "requests": len(latencies),
        "per_second": round(len(latencies) / elapsed, 1),
        "p50_ms": round(statistics.median(latencies) * 1000, 2),
        "p95_ms": round(quantile(latencies, 0.95) * 1000, 2),
        "p99_ms": round(quantile(latencies, 0.99) * 1000, 2),
        "max_ms": round(max(latencies) * 1000, 2),
        "over_1s": sum(1 for x in latencies if x > 1.0),
        "codes": {str(k): v for k, v in sorted(codes.items())},
        "errors": sum(len(t.errors) for t in threads),
    }


# ------------------------------------------------------------------------------------- counting


def counts(database_url: str, spool: Path | None) -> dict[str, int]:
    import sqlalchemy as sa

    from workbench.config import normalise_database_url

    # The disk first: a delivery leaves it only once its row is committed, so it is counted.
    on_disk = len(list(spool.glob("*.body"))) if spool and spool.is_dir() else 0
    engine = sa.create_engine(normalise_database_url(database_url))
    with engine.connect() as conn:
        by_status = dict(
            conn.execute(sa.text("SELECT status, count(*) FROM webhook_events GROUP BY status")).all()
        )
        versions = conn.execute(sa.text("SELECT count(*) FROM annotations")).scalar()
    engine.dispose()
    return {**by_status, "annotation_versions": versions, "on_disk": on_disk}


def serve(args, database_url: str, instance: Path) -> tuple[subprocess.Popen, str]:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("WORKBENCH_")},
        "WORKBENCH_DATABASE_URL": database_url,
        "WORKBENCH_INSTANCE_PATH": str(instance),
        "WORKBENCH_WEBHOOK_SECRET": SECRET,
        "WORKBENCH_SECRET_KEY": "bench",
        "WORKBENCH_LABEL_STUDIO_URL": "http://127.0.0.1:9",
        "WORKBENCH_LABEL_STUDIO_API_KEY": "0" * 40,
        "WORKBENCH_WEBHOOK_PLACING": args.placing,
    }
    if args.redis_url:
        env["WORKBENCH_REDIS_URL"] = args.redis_url
    command = [
        str(Path(sys.executable).with_name("workbench")),
        "serve",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
    ]
    if args.workers:
        command += ["--workers", str(args.workers)]
    if args.threads:
        command += ["--threads", str(args.threads)]
    log = open(instance / "serve.log", "wb")  # noqa: SIM115 - the process holds it until the end
    process = subprocess.Popen(command, env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            sys.exit(f"workbench serve exited; see {instance / 'serve.log'}")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/health")
            if conn.getresponse().status == 200:
                return process, base
        except OSError:
            pass
        time.sleep(0.2)
    process.terminate()
    sys.exit("workbench serve did not answer /health within 60 s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0, help="how long the webhook load runs")
    parser.add_argument(
        "--health-seconds", type=float, default=None, help="baseline length (default: a third, 5-20 s)"
    )
    parser.add_argument("--senders", type=int, default=8, help="concurrent senders")
    parser.add_argument("--claims", type=int, default=300, help="linked claims the deliveries spread over")
    parser.add_argument(
        "--database-url", default=None, help="database to use (wiped); default a SQLite temp file"
    )
    parser.add_argument("--url", default=None, help="a running workbench (needs --database-url and --secret)")
    parser.add_argument("--secret", default=SECRET)
    parser.add_argument("--workers", type=int, default=None, help="workbench serve --workers")
    parser.add_argument("--threads", type=int, default=None, help="workbench serve --threads")
    parser.add_argument("--placing", default="background", choices=["background", "queue", "inline"])
    parser.add_argument("--redis-url", default=None, help="WORKBENCH_REDIS_URL for --placing queue")
    parser.add_argument("--drain-timeout", type=float, default=600.0)
    parser.add_argument(
        "--spool",
        type=Path,
        default=None,
        help="with --url: the server's webhook spool dir (<instance>/webhook-spool), counted as kept",
    )
    args = parser.parse_args()
    if args.url and not args.database_url:
        parser.error("--url needs --database-url (to create the claims and count what was kept)")

    tmp = Path(tempfile.mkdtemp(prefix="wb-intake-"))
    database_url = args.database_url or f"sqlite:///{tmp / 'bench.db'}"
    # A server's database (--url) may hold earlier runs: this run's texts, tasks and annotation ids
    # are its own.
    run = int(time.time()) % 1000 if args.url else 0
    targets = prepare(database_url, args.claims, wipe=args.url is None, run=run)
    process = None
    instance = tmp / "instance"
    instance.mkdir()
    if args.url:
        base, spool = args.url.rstrip("/"), args.spool
    else:
        process, base = serve(args, database_url, instance)
        spool = instance / "webhook-spool"
    try:
        health_seconds = args.health_seconds or min(20.0, max(5.0, args.seconds / 3))
        health_threads, health_elapsed = load(
            base, args.senders, health_seconds, lambda i: lambda: ("GET", "/health", None, {})
        )
        health = summary(health_threads, health_elapsed)

        headers = {"Content-Type": "application/json", "X-Workbench-Webhook-Secret": args.secret}
        made = [0]
        lock = threading.Lock()

        def make_for(sender: int):
            rng = random.Random(sender)
            open_annotations: list[tuple[int, int, tuple, int]] = []

            def make():
                # Two thirds new annotations, one third updates of an earlier one (a later version).
                with lock:
                    made[0] += 1
                    n = made[0]
                if open_annotations and rng.random() < 1 / 3:
                    i = rng.randrange(len(open_annotations))
                    annotation_id, version, target, who = open_annotations[i]
                    open_annotations[i] = (annotation_id, version + 1, target, who)
                    body = delivery(annotation_id, version + 1, target, who)
                else:
                    target = targets[n % len(targets)]
                    who = ANNOTATORS[n % len(ANNOTATORS)]
                    annotation_id = (1 + run) * 1_000_000 + n
                    open_annotations.append((annotation_id, 0, target, who))
                    body = delivery(annotation_id, 0, target, who)
                return "POST", HOOK, body, headers

            return make

        before = counts(database_url, spool)
        kept_before = sum(v for k, v in before.items() if k != "annotation_versions")
        hook_threads, hook_elapsed = load(base, args.senders, args.seconds, make_for)
        answered_at = time.monotonic()
        hooks = summary(hook_threads, hook_elapsed)
        acknowledged = sum(n for code, n in hooks["codes"].items() if code.startswith("2"))
        spooled = sum(1 for t in hook_threads for e in t.event_ids if e is None)

        # Wait until nothing waits: no received row, nothing on disk.
        while True:
            now = counts(database_url, spool)
            waiting = now.get("received", 0) + now.get("placing", 0) + now["on_disk"]
            if not waiting or time.monotonic() - answered_at > args.drain_timeout:
                break
            time.sleep(0.25)
        drain_s = time.monotonic() - answered_at
        final = counts(database_url, spool)
    finally:
        if process is not None:
            process.terminate()
            process.wait(30)
    stored = sum(v for k, v in final.items() if k != "annotation_versions") - kept_before
    placed = sum(final.get(k, 0) - before.get(k, 0) for k in ("processed", "duplicate"))
    result = {
        "database": database_url.split(":")[0],
        "server": "url"
        if args.url
        else f"workbench serve --workers {args.workers or 'default'} --threads {args.threads or 'default'}",
        "placing": args.placing,
        "senders": args.senders,
        "seconds": args.seconds,
        "health": health,
        "webhook": hooks,
        "acknowledged": acknowledged,
        "kept_on_disk_at_intake": spooled,
        "stored": stored,
        "lost": acknowledged - stored,
        "placed": placed,
        "annotation_versions": final["annotation_versions"],
        "outcomes": {k: v for k, v in final.items() if k not in ("annotation_versions", "on_disk")},
        "still_waiting": final.get("received", 0) + final.get("placing", 0) + final["on_disk"],
        "drain_s_after_last_answer": round(drain_s, 2),
        "placed_per_second": round(placed / (hook_elapsed + drain_s), 1),
        "ratio_p50_vs_health": round(hooks["p50_ms"] / health["p50_ms"], 2),
        "ratio_rate_vs_health": round(hooks["per_second"] / health["per_second"], 2),
    }
    print(
        f"server: {result['server']}, placing {args.placing}, "
        f"database {result['database']}, {args.senders} senders"
    )
    print(f"{'':<22}{'req/s':>9}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}{'max ms':>9}{'>1 s':>7}")
    for name, s in (("GET /health", health), ("webhook deliveries", hooks)):
        print(
            f"{name:<22}{s['per_second']:>9.1f}{s['p50_ms']:>9.1f}{s['p95_ms']:>9.1f}"
            f"{s['p99_ms']:>9.1f}{s['max_ms']:>9.1f}{s['over_1s']:>7}"
        )
    print(
        f"answered 2xx {acknowledged} (kept on disk first: {spooled}); stored {stored}; "
        f"lost {result['lost']}; placed {placed} ({final['annotation_versions']} annotation versions); "
        f"outcomes {result['outcomes']}; "
        f"placing caught up {drain_s:.1f} s after the last answer"
    )
    print(
        f"ratios vs /health: p50 {result['ratio_p50_vs_health']}, rate {result['ratio_rate_vs_health']}; "
        "Label Studio waits 1000 ms and never retries"
    )
    print(json.dumps(result))
    if not args.url:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
