"""Sync: reconcile with Label Studio (missed annotations, derived states, the webhook, stuck pushes)."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from itertools import islice
from typing import Any

import sqlalchemy as sa
from flask import current_app

from workbench import audit, locks
from workbench.audit.rows import attest_ids
from workbench.db import begin_write, db, lock_rows, release_for_network
from workbench.errors import LabelStudioError, WorkbenchError
from workbench.labelstudio.annotations import (
    MalformedAnnotation,
    Prepared,
    find_claim,
    known_versions,
    prepare_annotation,
    store_annotation,
    store_versions,
)
from workbench.labelstudio.bootstrap import (
    WEBHOOK_ACTIONS,
    WEBHOOK_HEADER,
    own_client,
    project_id,
    refresh_users,
    webhook_url,
)
from workbench.labelstudio.client import LabelStudioClient
from workbench.labelstudio.people import mark_unlisted
from workbench.labelstudio.push import PUSH_LOCK, PUSHABLE, _push
from workbench.models import Annotation, Claim, LabelStudioLink

SYNC_LOCK = "labelstudio.sync"

log = logging.getLogger(__name__)


@dataclass
class SyncResult:
    tasks_seen: int = 0
    annotations_seen: int = 0
    repaired: int = 0
    unplaced: int = 0
    malformed: int = 0
    states_repaired: int = 0
    repushed: int = 0
    webhook_recreated: bool = False
    skipped: list[str] = field(default_factory=list)
    # How the tasks were read: "export" (one export call) or "listing" (the paged task list,
    # when the export failed; ``export_error`` says why).
    read_via: str = "export"
    export_error: str | None = None

    @property
    def total_repaired(self) -> int:
        return self.repaired + self.states_repaired + self.repushed + int(self.webhook_recreated)


@own_client
def sync(client: LabelStudioClient, *, actor: str = "sync", job_id: str | None = None) -> SyncResult:
    """Reconcile with Label Studio, one sync at a time (a second one at once gets Conflict, 409).

    Pulls every annotation and stores the versions webhooks missed; derives every pushed
    claim's counts, agreement and status again from the stored rows; re-creates the webhook
    if Label Studio lost or disabled it; links or re-pushes claims stuck as attempted.
    Running it twice in a row, the second run repairs nothing.
    """
    # The lock first: a second run at once is told so at once, whatever Label Studio's load (a
    # lookup that waited behind the first run's imports let a late second run start after the
    # first ended); a Label Studio that cannot be used is then said before anything is written.
    with locks.held(SYNC_LOCK, actor, job_id=job_id) as token:
        release_for_network()
        pid = project_id(client)
        return _sync(client, pid, actor=actor, lock=token)


def _sync(client: LabelStudioClient, pid: int, *, actor: str, lock: str) -> SyncResult:
    overlap = current_app.config["ANNOTATION_OVERLAP"]
    result = SyncResult()
    from workbench.labelstudio.webhook import place_pending

    place_pending()  # deliveries kept and never placed (a placer died) first: they are no repair
    people = client.list_users()
    begin_write()
    emails = refresh_users(client, actor=actor, users=people)
    db.session.commit()  # the user cache; hold no lock while paging through Label Studio
    listed = {u["id"] for u in people if isinstance(u, dict) and isinstance(u.get("id"), int)}
    uuids: dict[str, int] = {}  # claim uuid -> task id, for the stuck pushes below
    tasks = _read_tasks(client, pid, result)
    while page := list(islice(tasks, PAGE)):
        _sync_page(page, pid, overlap, emails, uuids, result)
        begin_write()
        locks.renew(SYNC_LOCK, lock)
        db.session.commit()
    # Authors the list above lacks (whether webhooks or this run stored their work) are unknown
    # to Label Studio: the one-user lookup sees the same organization as the list.
    begin_write()
    mark_unlisted(listed, actor=actor)
    db.session.commit()
    # Stuck pushes first: a claim linked now has its state derived in the same run.
    result.repushed = _repush_attempted(client, pid, actor=actor, listing=uuids)
    result.states_repaired = reconcile_states(overlap, actor=actor)
    result.webhook_recreated = _ensure_webhook(client, pid, actor=actor)
    begin_write()
    if result.total_repaired or result.unplaced or result.malformed or result.export_error:
        audit.append(
            actor,
            "labelstudio.synced",
            "project",
            pid,
            {
                "repaired": result.repaired,
                "states_repaired": result.states_repaired,
                "repushed": result.repushed,
                "webhook_recreated": result.webhook_recreated,
                "unplaced": result.unplaced,
                "malformed": result.malformed,
                "skipped": result.skipped[:100],
                "annotations_seen": result.annotations_seen,
                "read_via": result.read_via,
                "export_error": result.export_error,
            },
        )
    db.session.commit()
    return result


def _read_tasks(client: LabelStudioClient, pid: int, result: SyncResult) -> Iterator[dict[str, Any]]:
    """Every task of the project with its annotations: from one export (about 3 times faster
    than the paged list), or from the paged list when the export fails (said in the log, the
    result and the sync's audit event). Both give the same annotation versions: an annotation's
    ``completed_by`` is an id in the export and may be an object in the list, and the stored
    version is named by the author's id (see annotations.content_hash).
    """
    try:
        return client.export_tasks(pid)
    except LabelStudioError as exc:
        result.read_via, result.export_error = "listing", str(exc)[:500]
        log.warning("sync: Label Studio's export failed (%s); reading the paged task list instead", exc)
        release_for_network()
        return client.iter_tasks(pid)


# Tasks read from Label Studio per round of checks, and claims written per transaction: a
# transaction holds SQLite's write lock (a claim's row lock on PostgreSQL) for a fraction of a
# second, so webhooks never wait long behind a sync.
PAGE = 500
CLAIMS_PER_TRANSACTION = 100


def _sync_page(
    page: list[dict[str, Any]],
    pid: int,
    overlap: int,
    emails: dict[int, str],
    uuids: dict[str, int],
    result: SyncResult,
) -> None:
    """Store the versions of one page of tasks that are not stored yet.

    One query finds which of the page's versions are stored already, so a sync after a sync
    writes nothing; the rest are stored claim by claim, many claims per transaction.
    """
    prepared: list[tuple[dict[str, Any], list[Prepared]]] = []
    for task in page:
        result.tasks_seen += 1
        uuid = (task.get("data") or {}).get("claim_uuid")
        if isinstance(uuid, str) and _task_id(task) is not None:
            uuids.setdefault(uuid, task["id"])
        items: list[Prepared] = []
        for annotation in task.get("annotations") or []:
            result.annotations_seen += 1
            if isinstance(annotation, dict) and annotation.get("task") is None:
                annotation = {**annotation, "task": task.get("id")}
            try:
                items.append(prepare_annotation(annotation, emails))
            except Exception as exc:  # one annotation must not stop the reconcile of the others
                result.malformed += 1
                reason = exc if isinstance(exc, MalformedAnnotation) else f"{type(exc).__name__}: {exc}"
                result.skipped.append(
                    f"task {task.get('id')!r}, annotation {_ann_id(annotation)!r}: {reason}"
                )
        if items:
            prepared.append((task, items))
    if not prepared:
        return
    known = known_versions([p for _, items in prepared for p in items])
    db.session.commit()  # a read: nothing held while the claims are looked up and written
    missing = [(task, new) for task, items in prepared if (new := [p for p in items if p.key not in known])]
    for start in range(0, len(missing), CLAIMS_PER_TRANSACTION):
        begin_write()
        batch: list[tuple[Claim, Prepared]] = []
        for task, items in missing[start : start + CLAIMS_PER_TRANSACTION]:
            claim = find_claim(_task_id(task), task.get("data"), pid)
            if claim is None:
                result.unplaced += len(items)
            else:
                batch += [(claim, p) for p in items]
        try:
            # A savepoint: a batch that fails takes back only its own writes, and is stored one
            # version at a time instead, so that one bad annotation names itself.
            with db.session.begin_nested():
                result.repaired += store_versions(batch, source="sync", project_id=pid, overlap=overlap)
        except Exception:  # noqa: BLE001 - retried one by one below, each error reported
            db.session.rollback()
            begin_write()
            for stale, p in batch:
                claim = db.session.get(Claim, stale.id)
                try:
                    if claim is None:
                        raise LookupError(f"claim {stale.id} was deleted during the sync")
                    with db.session.begin_nested():
                        stored = store_annotation(
                            claim,
                            p.payload,
                            source="sync",
                            project_id=pid,
                            overlap=overlap,
                            email_lookup=emails,
                        )
                except Exception as exc:  # one annotation must not stop the reconcile of the others
                    result.malformed += 1
                    result.skipped.append(
                        f"task {p.task_id!r}, annotation {p.ls_id!r}: {type(exc).__name__}: {exc}"
                    )
                    continue
                result.repaired += stored is not None
        # Committed batch by batch: webhooks (answered within Label Studio's 1 s) must not wait
        # behind a long sync's open transaction.
        db.session.commit()


def _task_id(task: dict[str, Any]) -> int | None:
    value = task.get("id")
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _ann_id(annotation: Any) -> Any:
    return annotation.get("id") if isinstance(annotation, dict) else None


def reconcile_states(overlap: int, *, actor: str = "sync", chunk: int = 1000) -> int:
    """Derive every claim's counts, agreement and status again from its stored rows; return how
    many were wrong.

    Reads in chunks without locks to find the claims whose stored state differs, then repairs
    them a hundred per transaction with their rows locked (deriving again under the lock, so a
    delivery that arrived meanwhile is counted).
    """
    from workbench.review.state import find_drift, refresh_many

    drifted: list[int] = []
    after = 0
    while True:
        ids = list(
            db.session.scalars(
                sa.select(Claim.id)
                .where(Claim.id > after)
                .where(
                    sa.or_(
                        sa.exists().where(LabelStudioLink.claim_id == Claim.id),
                        sa.exists().where(Annotation.claim_id == Claim.id),
                    )
                )
                .order_by(Claim.id)
                .limit(chunk)
            )
        )
        if not ids:
            break
        drifted += find_drift(ids, overlap)
        after = ids[-1]
        db.session.commit()
    repaired = 0
    for start in range(0, len(drifted), CLAIMS_PER_TRANSACTION):
        ids = drifted[start : start + CLAIMS_PER_TRANSACTION]
        begin_write()
        lock_rows(Claim, ids)
        claims = list(db.session.scalars(sa.select(Claim).where(Claim.id.in_(ids)).order_by(Claim.id)))
        changes = refresh_many(claims, overlap, bump=False)
        changed = [c for c in claims if changes[c.id]]
        rows = attest_ids("claim", [c.id for c in changed])
        audit.append_many(
            {
                "actor": actor,
                "action": "claim.reconciled",
                "subject_type": "claim",
                "subject_id": c.id,
                "payload": {
                    "changes": changes[c.id],
                    "claim_version": c.version,
                    "rows": {f"claim:{c.id}": rows[f"claim:{c.id}"]},
                },
            }
            for c in changed
        )
        repaired += len(changed)
        db.session.commit()
    return repaired


def _ensure_webhook(client: LabelStudioClient, pid: int, *, actor: str) -> bool:
    """Re-create the webhook when Label Studio lost or disabled it; say whether it had to."""
    secret = current_app.config.get("WEBHOOK_SECRET")
    if not secret:
        return False
    release_for_network()
    hook, what = client.ensure_webhook(pid, webhook_url(), {WEBHOOK_HEADER: secret}, WEBHOOK_ACTIONS)
    changed = what != "unchanged"
    if changed:
        begin_write()
        audit.append(
            actor,
            "labelstudio.webhook_recreated",
            "project",
            pid,
            {"webhook_id": hook.get("id"), "url": webhook_url(), "what": what},
        )
        db.session.commit()
    return changed


def _repush_attempted(
    client: LabelStudioClient, pid: int, *, actor: str, listing: dict[str, int] | None = None
) -> int:
    """Link or push again the claims whose push was attempted but never recorded.

    ``listing`` (claim uuid -> task id, as this sync read the project) spares listing the
    project again when it names every such claim's task.
    """
    stuck = db.session.scalar(
        sa.select(sa.func.count())
        .select_from(Claim)
        .where(Claim.status.in_(PUSHABLE), Claim.push_attempted_at.is_not(None))
        .where(~sa.exists().where(LabelStudioLink.claim_id == Claim.id))
    )
    db.session.commit()
    if not stuck:
        return 0
    try:
        with locks.held(PUSH_LOCK, actor) as token:
            result = _push(client, pid, actor=actor, attempted_only=True, lock=token, listing=listing)
    except WorkbenchError as exc:
        if exc.status != 409:
            raise
        return 0  # a push is running: it takes them
    return result.reconciled + result.pushed
