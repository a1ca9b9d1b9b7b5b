"""Push: queued claims into Label Studio as tasks, in batches, never one twice."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, cast

import httpx
import sqlalchemy as sa
from flask import current_app

from workbench import audit, locks
from workbench.audit.rows import attest_ids
from workbench.db import db, release_for_network
from workbench.errors import LabelStudioError
from workbench.labelstudio.bootstrap import label_config, own_client, project_id
from workbench.labelstudio.client import LabelStudioClient
from workbench.labelstudio.tasks import task_for
from workbench.models import Article, Claim, ClaimStatus, LabelStudioLink
from workbench.models.base import utcnow

PUSHABLE = (ClaimStatus.QUEUED,)


@dataclass
class PushResult:
    pushed: int = 0
    reconciled: int = 0
    batches: int = 0
    remaining: int = 0
    project_id: int | None = None
    task_ids: list[int] = field(default_factory=list)


@dataclass(frozen=True)
class _Pending:
    """What recording a push needs of a claim, captured before the commit expires it."""

    id: int
    uuid: str
    version: int


def _record_links(
    pairs: list[tuple[_Pending, int]], pid: int, config_hash: str, actor: str, *, reconciled: bool
) -> None:
    """Link claims to their tasks, move them to in_annotation and audit it, in bulk statements."""
    if not pairs:
        return
    now = utcnow()
    db.session.execute(
        sa.insert(LabelStudioLink),
        [
            {
                "claim_id": c.id,
                "project_id": pid,
                "task_id": t,
                "label_config_sha256": config_hash,
                "pushed_at": now,
            }
            for c, t in pairs
        ],
    )
    # Guarded and relative: a claim that changed while Label Studio imported (a reviewer's
    # decision, say) keeps its state; the version moves on from whatever it is now. Only the
    # rows this UPDATE changed (and so locked) are attested by the events below.
    claims = cast(sa.Table, Claim.__table__)
    moved = set(
        db.session.scalars(
            claims.update()
            .where(claims.c.id.in_([c.id for c, _ in pairs]), claims.c.status == ClaimStatus.QUEUED)
            .values(status=ClaimStatus.IN_ANNOTATION, version=claims.c.version + 1, updated_at=now)
            .returning(claims.c.id)
        )
    )
    rows = attest_ids("claim", moved)
    audit.append_many(
        {
            "actor": actor,
            "action": "claim.pushed",
            "subject_type": "claim",
            "subject_id": c.id,
            "payload": {
                "uuid": c.uuid,
                "project_id": pid,
                "task_id": t,
                "label_config_sha256": config_hash,
                "reconciled": reconciled,
                "rows": {f"claim:{c.id}": rows[f"claim:{c.id}"]} if c.id in moved else {},
            },
        }
        for c, t in pairs
    )


def _reconcile_attempted(
    client: LabelStudioClient, pid: int, actor: str, config_hash: str, listing: dict[str, int] | None = None
) -> int:
    """Link claims whose earlier push may have reached Label Studio before we could record it.

    ``listing`` (claim uuid -> task id, read by the caller) is used when it names every such
    claim's task; otherwise the project's tasks are listed here.
    """
    pending = {
        c.uuid: _Pending(c.id, c.uuid, c.version)
        for c in db.session.scalars(
            sa.select(Claim)
            .where(Claim.status.in_(PUSHABLE), Claim.push_attempted_at.is_not(None))
            .where(~sa.exists().where(LabelStudioLink.claim_id == Claim.id))
        )
    }
    if not pending:
        return 0
    release_for_network()
    if listing is None or not pending.keys() <= listing.keys():
        listing = {}
        for task in client.iter_tasks(pid):
            uuid = (task.get("data") or {}).get("claim_uuid")
            if isinstance(uuid, str):
                listing.setdefault(uuid, int(task["id"]))
    found = [(c, listing[uuid]) for uuid, c in pending.items() if uuid in listing]
    _record_links(found, pid, config_hash, actor, reconciled=True)
    db.session.commit()
    return len(found)


def settle_seconds(timeout: float) -> float:
    """How long a push whose import timed out waits for Label Studio to finish that import."""
    return min(300.0, max(10.0, 4 * timeout))


def _link_late_import(
    client: LabelStudioClient, pid: int, pending: list[_Pending], config_hash: str, actor: str
) -> int:
    """After an import call timed out: watch the project until every task of the batch is there,
    or ``settle_seconds`` passed; link what came (as reconciled) and return how many.

    Label Studio goes on importing a batch after the caller gave up on its answer. Without this
    wait, a push right after a timed-out one would not find those tasks yet and import them a
    second time. What lands later still is found by the next push's reconcile by uuid.
    """
    release_for_network()
    by_uuid = {p.uuid: p for p in pending}
    deadline = time.monotonic() + settle_seconds(client.timeout)
    found: dict[str, int] = {}
    # Its own client, with time enough to list while Label Studio is busy.
    with LabelStudioClient(client.base_url, client.api_key, timeout=max(client.timeout, 30.0)) as watcher:
        while True:
            try:
                listing = watcher.task_ids_by_field(pid, "claim_uuid")
                found = {u: listing[u] for u in by_uuid if u in listing}
            except LabelStudioError:
                pass  # busy or gone: look again until the deadline
            if len(found) == len(by_uuid) or time.monotonic() >= deadline:
                break
            time.sleep(1.0)
    if found:
        _record_links([(by_uuid[u], t) for u, t in found.items()], pid, config_hash, actor, reconciled=True)
        db.session.commit()
    return len(found)


@dataclass
class _Batch:
    pending: list[_Pending]
    tasks: list[dict[str, Any]]


def _next_batch(after_id: int, size: int, *, attempted_only: bool = False) -> _Batch | None:
    """Select the next queued claims after ``after_id``, build their tasks and mark them attempted."""
    claims = list(
        db.session.scalars(
            sa.select(Claim)
            .where(Claim.status.in_(PUSHABLE), Claim.id > after_id)
            .where(~sa.exists().where(LabelStudioLink.claim_id == Claim.id))
            .where(Claim.push_attempted_at.is_not(None) if attempted_only else sa.true())
            .order_by(Claim.id)
            .limit(size)
        )
    )
    if not claims:
        release_for_network()
        return None
    articles = {
        a.id: a
        for a in db.session.scalars(sa.select(Article).where(Article.id.in_({c.article_id for c in claims})))
    }
    from workbench.ingest.matching import earlier_verdicts

    earlier = earlier_verdicts([c.id for c in claims])
    batch = _Batch(
        [_Pending(c.id, c.uuid, c.version) for c in claims],
        [task_for(c, articles[c.article_id], earlier.get(c.id)) for c in claims],
    )
    db.session.execute(
        sa.update(Claim).where(Claim.id.in_([p.id for p in batch.pending])).values(push_attempted_at=utcnow())
    )
    db.session.commit()
    return batch


PUSH_LOCK = "labelstudio.push"


@own_client
def push(
    client: LabelStudioClient,
    *,
    actor: str = "cli",
    batch_size: int | None = None,
    limit: int | None = None,
    job_id: str | None = None,
) -> PushResult:
    """Push queued claims, one push at a time: a second one at once gets Conflict (409)."""
    # The lock first: a second run at once is told so at once, whatever Label Studio's load (a
    # lookup that waited behind the first run's imports let a late second run start after the
    # first ended); a Label Studio that cannot be used is then said before anything is written.
    with locks.held(PUSH_LOCK, actor, job_id=job_id) as token:
        release_for_network()
        pid = project_id(client)
        return _push(client, pid, actor=actor, batch_size=batch_size, limit=limit, lock=token)


def _push(
    client: LabelStudioClient,
    pid: int,
    *,
    actor: str,
    batch_size: int | None = None,
    limit: int | None = None,
    attempted_only: bool = False,
    lock: str | None = None,
    listing: dict[str, int] | None = None,
) -> PushResult:
    """Import queued claims in batches and record their task ids; never push a claim twice.

    Each batch is marked as attempted (committed) before the import call, so a
    crash between Label Studio's answer and our commit is repaired by linking
    the tasks found in Label Studio instead of importing them again. While
    Label Studio imports one batch, the next is prepared: the database work
    hides behind the network wait.
    """
    batch_size = batch_size or current_app.config["PUSH_BATCH_SIZE"]
    _, config_hash = label_config()
    result = PushResult(project_id=pid)
    result.reconciled = _reconcile_attempted(client, pid, actor, config_hash, listing)

    def budget() -> int:
        return batch_size if limit is None else min(batch_size, limit - result.pushed - in_flight)

    in_flight = 0
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="ls-import") as pool:
        batch = _next_batch(0, budget(), attempted_only=attempted_only) if budget() > 0 else None
        while batch is not None:
            future = pool.submit(client.import_tasks, pid, batch.tasks)
            in_flight = len(batch.pending)
            try:
                upcoming = (
                    _next_batch(batch.pending[-1].id, budget(), attempted_only=attempted_only)
                    if budget() > 0
                    else None
                )
            finally:
                try:
                    task_ids = future.result()
                except LabelStudioError as exc:
                    if isinstance(exc.__cause__, httpx.TimeoutException):
                        # Label Studio may still be importing the batch: wait for it here, under
                        # the push lock, so that no push right after this one imports it again.
                        _link_late_import(client, pid, batch.pending, config_hash, actor)
                    raise
            in_flight = 0
            if len(task_ids) != len(batch.pending):
                raise LabelStudioError(
                    f"Label Studio created {len(task_ids)} tasks for {len(batch.pending)} claims"
                )
            _record_links(
                list(zip(batch.pending, task_ids, strict=True)), pid, config_hash, actor, reconciled=False
            )
            locks.renew(PUSH_LOCK, lock)
            db.session.commit()
            result.pushed += len(batch.pending)
            result.batches += 1
            result.task_ids.extend(task_ids)
            batch = upcoming
    result.remaining = count_pushable()
    return result


def count_pushable() -> int:
    """Count the claims waiting to be pushed."""
    return (
        db.session.scalar(
            sa.select(sa.func.count())
            .select_from(Claim)
            .where(Claim.status.in_(PUSHABLE))
            .where(~sa.exists().where(LabelStudioLink.claim_id == Claim.id))
        )
        or 0
    )
