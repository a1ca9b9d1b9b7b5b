"""Reconcile benchmark: every webhook dropped, then one sync repairs them all, and a second repairs 0.

Usage (Label Studio running; `eval "$(scripts/label-studio env)"` sets its URL and token):
    python bench/reconcile.py [--claims 5000] [--per-claim 2] [--database-url URL]

It seeds N queued claims (one article; extraction is not what is measured) and imports them into
a fresh Label Studio project, each task with ``per-claim`` annotations by two Label Studio users,
as if the push's answers and every webhook had been lost (the project's webhook points at a
closed port). Then it times ``workbench labelstudio sync`` twice: the first links every claim by
its uuid, stores every annotation and derives every claim's state again; the second must repair
nothing. It prints
the figures and, as its last line, one JSON object. The project is deleted at the end.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import os
import pstats
import secrets
import statistics
import sys
import tempfile
import time
from pathlib import Path

import requests
import sqlalchemy as sa

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.push import seed_claims  # noqa: E402

VERDICTS = ["True", "Mostly true", "Half true", "Mostly false", "False"]


def result(verdict: str, n: int) -> list[dict]:
    return [
        {
            "from_name": "checkworthy",
            "to_name": "claim",
            "type": "choices",
            "value": {"choices": ["Check-worthy"]},
        },
        {"from_name": "verdict", "to_name": "claim", "type": "choices", "value": {"choices": [verdict]}},
        {
            "from_name": "rationale",
            "to_name": "claim",
            "type": "textarea",
            "value": {"text": [f"Checked {n}."]},
        },
        {"from_name": "confidence", "to_name": "claim", "type": "rating", "value": {"rating": 1 + n % 5}},
    ]


def compare_reads(client, project: int, repeats: int) -> dict:
    """Time reading every task with its annotations through the export and through the paged
    list, alternating, on the same project; return medians and the ratio (list / export)."""
    times: dict[str, list[float]] = {"export": [], "listing": []}
    counts: dict[str, int] = {}
    for _ in range(repeats):
        for way, read in (("export", client.export_tasks), ("listing", client.iter_tasks)):
            started = time.perf_counter()
            counts[way] = sum(len(t.get("annotations") or []) for t in read(project))
            times[way].append(time.perf_counter() - started)
    assert counts["export"] == counts["listing"], counts
    export_s, listing_s = statistics.median(times["export"]), statistics.median(times["listing"])
    print(
        f"reading {counts['export']} annotations, median of {repeats}: export {export_s:.2f} s, "
        f"paged list {listing_s:.2f} s (x{listing_s / export_s:.2f})",
        flush=True,
    )
    return {
        "read_export_median_s": round(export_s, 2),
        "read_listing_median_s": round(listing_s, 2),
        "read_listing_over_export": round(listing_s / export_s, 2),
        "read_export_s": [round(t, 2) for t in times["export"]],
        "read_listing_s": [round(t, 2) for t in times["listing"]],
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--claims", type=int, default=5000)
    parser.add_argument("--per-claim", type=int, default=2)
    parser.add_argument("--database-url", default=None, help="default: a fresh SQLite file")
    parser.add_argument("--profile", action="store_true", help="print where each sync spends its time")
    parser.add_argument("--keep-project", action="store_true", help="leave the Label Studio project")
    parser.add_argument(
        "--read-repeats",
        type=int,
        default=3,
        help="after the syncs, read the project this many times each way (export, paged list), "
        "alternating, and print the medians and their ratio (0: skip)",
    )
    args = parser.parse_args()

    ls_url = os.environ.get("WORKBENCH_LABEL_STUDIO_URL")
    ls_key = os.environ.get("WORKBENCH_LABEL_STUDIO_API_KEY")
    if not (ls_url and ls_key):
        print('error: no Label Studio: eval "$(scripts/label-studio env)" first', file=sys.stderr)
        return 2
    work = Path(tempfile.mkdtemp(prefix="wb-bench-reconcile-"))
    database_url = args.database_url or f"sqlite:///{work / 'bench.db'}"
    os.environ["WORKBENCH_INSTANCE_PATH"] = str(work)

    from flask_migrate import upgrade

    from tests.ls_client_helpers import LabelStudioTestClient
    from workbench import create_app
    from workbench.db import db, mark_writer
    from workbench.labelstudio import service
    from workbench.models import Annotation, Claim
    from workbench.models.base import utcnow

    app = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": database_url,
            "LABEL_STUDIO_URL": ls_url,
            "LABEL_STUDIO_API_KEY": ls_key,
            "LABEL_STUDIO_PROJECT_TITLE": f"wb-bench-reconcile-{secrets.token_hex(4)}",
            "WEBHOOK_SECRET": "bench",
            "PUBLIC_URL": "http://127.0.0.1:9",  # nothing listens: every webhook is lost
            "ANNOTATION_OVERLAP": args.per_claim,
            "SECRET_KEY": "bench",
        }
    )
    client = LabelStudioTestClient(ls_url, ls_key, timeout=120)
    figures: dict = {"claims": args.claims, "annotations": args.claims * args.per_claim}
    with app.app_context():
        mark_writer()
        if database_url.startswith("postgresql"):
            # Whatever any migration made (tables the models do not name included) goes.
            db.session.execute(db.text("DROP SCHEMA public CASCADE"))
            db.session.execute(db.text("CREATE SCHEMA public"))
            db.session.commit()
        upgrade()
        seed_claims(args.claims)
        db.session.commit()
        # The seeding writes its rows directly: attest them once (as `workbench audit baseline`
        # does), so that the chain checked at the end speaks for every row the syncs wrote.
        from workbench.audit.rows import attest_unattested

        attest_unattested("bench:seed")
        db.session.commit()
        boot = service.bootstrap(client, actor="bench")
        project = boot.project_id
        session = requests.Session()
        session.headers["Authorization"] = f"Token {ls_key}"
        try:
            # Two annotators of Label Studio's own.
            people = []
            for name in ("ana", "ben"):
                email = f"bench-{name}-{secrets.token_hex(4)}@example.org"
                created = session.post(
                    f"{ls_url}/api/users/",
                    json={"email": email, "username": email, "first_name": name},
                    timeout=60,
                )
                created.raise_for_status()
                people.append(created.json()["id"])
            # The claims go to Label Studio with their annotations, as tasks imported in batches: the
            # push's answers and every webhook are lost. Sync must link each claim by its uuid and
            # store every annotation.
            claims = list(db.session.scalars(sa.select(Claim).order_by(Claim.id)))
            started = time.perf_counter()
            for first in range(0, len(claims), 1000):
                batch = []
                for claim in claims[first : first + 1000]:
                    task = service.task_for(claim, claim.article)
                    task["annotations"] = [
                        {
                            "result": result(VERDICTS[(claim.id + k) % 5], k),
                            "completed_by": people[k % len(people)],
                            "lead_time": 10.0 + k,
                        }
                        for k in range(args.per_claim)
                    ]
                    batch.append(task)
                client.import_tasks(project, batch)
            db.session.execute(sa.update(Claim).values(push_attempted_at=utcnow()))
            db.session.commit()
            figures["import_s"] = round(time.perf_counter() - started, 1)
            assert db.session.scalar(db.select(db.func.count()).select_from(Annotation)) == 0
            db.session.commit()
            # `workbench labelstudio sync` starts with an empty session: the seeding's thousands
            # of claims must not stay in this one (every commit would expire them all again).
            del claims
            db.session.expunge_all()

            for run in ("first", "second"):
                profile = cProfile.Profile() if args.profile else None
                started = time.perf_counter()
                if profile:
                    profile.enable()
                synced = service.sync(client, actor="bench")
                elapsed = time.perf_counter() - started
                if profile:
                    profile.disable()
                    pstats.Stats(profile).sort_stats("cumulative").print_stats(35)
                figures[f"{run}_sync_s"] = round(elapsed, 2)
                figures[f"{run}_sync_repaired"] = synced.repaired
                figures[f"{run}_sync_states_repaired"] = getattr(synced, "states_repaired", None)
                print(f"{run} sync: {elapsed:.2f} s, repaired {synced.repaired} versions", flush=True)
            if args.read_repeats and hasattr(client, "export_tasks"):
                figures.update(compare_reads(client, project, args.read_repeats))
            stored = db.session.scalar(db.select(db.func.count()).select_from(Annotation))
            in_review = db.session.scalar(
                db.select(db.func.count()).select_from(Claim).where(Claim.status != "in_annotation")
            )
            from workbench import audit

            chain = audit.verify()
            figures["audit_chain_ok"] = chain.ok
            figures["audit_events"] = chain.checked
            if not chain.ok:
                figures["audit_broken"] = f"event {chain.first_broken_seq}: {chain.reason}"
            figures["stored_annotations"] = stored
            figures["claims_out_of_annotation"] = in_review
            figures["annotations_per_s_first_sync"] = round(stored / figures["first_sync_s"], 1)
        finally:
            if args.keep_project:
                print(f"kept Label Studio project {project}", flush=True)
            else:
                client.delete_project(project)
            client.close()
    database = "PostgreSQL" if database_url.startswith("postgresql") else "SQLite"
    print(
        f"{database}: {figures['annotations']} annotations on {figures['claims']} claims, all webhooks lost; "
        f"first sync {figures['first_sync_s']} s (repaired {figures['first_sync_repaired']}), "
        f"second sync {figures['second_sync_s']} s (repaired {figures['second_sync_repaired']})"
    )
    figures["database"] = database
    print(json.dumps(figures))
    ok = figures["first_sync_repaired"] == figures["annotations"] == figures["stored_annotations"]
    ok = ok and figures["audit_chain_ok"]
    return 0 if ok and figures["second_sync_repaired"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
