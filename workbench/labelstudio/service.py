"""Bootstrap, push and sync: the workbench's side of the Label Studio loop."""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import sqlalchemy as sa
from flask import current_app

from workbench import audit, locks
from workbench.audit.rows import attest, attest_ids
from workbench.db import begin_write, db, lock_rows, release_for_network
from workbench.errors import LabelStudioError, WorkbenchError
from workbench.labelstudio.annotations import (
    MalformedAnnotation,
    find_claim,
    store_annotation,
)
from workbench.labelstudio.client import LabelStudioClient, client_from_config
from workbench.labelstudio.people import cache_users, map_user, mark_unlisted
from workbench.models import (
    Annotation,
    Article,
    Claim,
    ClaimStatus,
    LabelStudioLink,
    User,
)
from workbench.models.base import utcnow
from workbench.paragraphs import paragraph_context

R = TypeVar("R")

WEBHOOK_HEADER = "X-Workbench-Webhook-Secret"
WEBHOOK_ACTIONS = ["ANNOTATION_CREATED", "ANNOTATION_UPDATED", "ANNOTATIONS_DELETED"]
PUSHABLE = (ClaimStatus.QUEUED,)


def label_config_path() -> Path:
    """Return the labelling interface file (``label_config.xml``, shipped inside the package)."""
    from workbench.resources import resource_path

    configured = current_app.config.get("LABEL_CONFIG_PATH")
    if configured:
        return Path(configured)
    return resource_path("label_config.xml")


def label_config() -> tuple[str, str]:
    """Return the labelling config and its sha256."""
    text = label_config_path().read_text(encoding="utf-8")
    return text, hashlib.sha256(text.encode("utf-8")).hexdigest()


def webhook_url() -> str:
    return current_app.config["PUBLIC_URL"] + "/api/v1/hooks/label-studio"


def get_client() -> LabelStudioClient:
    """Build the client from the app's configuration (may raise LabelStudioUnavailable)."""
    return client_from_config(current_app.config)


def own_client(func: Callable[..., R]) -> Callable[..., R]:
    """Give ``func`` a client built from the configuration when it got none, and close it after."""

    @functools.wraps(func)
    def wrapper(client: LabelStudioClient | None = None, **kwargs: Any) -> R:
        if client is not None:
            return func(client, **kwargs)
        with get_client() as built:
            return func(built, **kwargs)

    return wrapper


@dataclass
class BootstrapResult:
    project_id: int
    project_created: bool
    webhook_id: int | None
    webhook_created: bool
    label_config_sha256: str


@own_client
def bootstrap(client: LabelStudioClient, *, actor: str = "cli") -> BootstrapResult:
    """Create or update the project and its webhook; running it twice creates nothing new."""
    config_text, config_hash = label_config()
    cfg = current_app.config
    before = client.find_project(cfg["LABEL_STUDIO_PROJECT_TITLE"])
    project, created = client.ensure_project(
        cfg["LABEL_STUDIO_PROJECT_TITLE"],
        config_text,
        maximum_annotations=cfg["ANNOTATION_OVERLAP"],
        description="Claims from the fact-check workbench. Do not edit task data.",
    )
    secret = cfg.get("WEBHOOK_SECRET")
    webhook_id, webhook_created = None, False
    if secret:
        hook, what = client.ensure_webhook(
            int(project["id"]), webhook_url(), {WEBHOOK_HEADER: secret}, WEBHOOK_ACTIONS
        )
        webhook_id, webhook_created = hook.get("id"), what == "created"
    result = BootstrapResult(int(project["id"]), created, webhook_id, webhook_created, config_hash)
    refresh_users(client, actor=actor)
    db.session.commit()
    # Label Studio stores the config stripped of surrounding whitespace.
    config_changed = before is not None and (before.get("label_config") or "").strip() != config_text.strip()
    overlap_changed = before is not None and before.get("maximum_annotations") != cfg["ANNOTATION_OVERLAP"]
    if created or webhook_created or config_changed or overlap_changed:
        audit.append(
            actor,
            "labelstudio.bootstrapped",
            "project",
            result.project_id,
            {
                "project_created": created,
                "webhook_created": webhook_created,
                "label_config_changed": config_changed,
                "maximum_annotations": cfg["ANNOTATION_OVERLAP"],
                "maximum_annotations_changed": overlap_changed,
                "webhook_url": webhook_url() if secret else None,
                "label_config_sha256": config_hash,
            },
        )
        db.session.commit()
    return result


def project_id(client: LabelStudioClient) -> int:
    """Find the configured project; tell the operator to bootstrap when it is missing."""
    title = current_app.config["LABEL_STUDIO_PROJECT_TITLE"]
    project = client.find_project(title)
    if project is None:
        raise WorkbenchError(
            f"Label Studio project {title!r} does not exist: run 'workbench labelstudio bootstrap' first",
            status=409,
        )
    return int(project["id"])


REWRITE_HINT = (
    "This claim leans on a pronoun or “this”: the sentence below names what it refers to. "
    "Please write a standalone version in the rewrite box."
)
# Never empty: Label Studio gives an empty Text a blank line of its own.
NO_REWRITE = "Rewrite: not needed, as far as the machine can tell (the claim reads on its own)."


def _bullets(lines: list[str] | None, empty: str) -> str:
    """Return lines as a bulleted list, one per line (Label Studio's Text keeps line breaks)."""
    return "\n".join(f"• {line}" for line in lines) if lines else empty


def task_for(claim: Claim, article: Article, earlier: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """Build the Label Studio task for a claim: its data, with the machine's score as a hint.

    No prediction is sent: a prediction's result pre-fills the controls an annotator answers, so
    one who submitted without touching "check-worthy" would be recorded as agreeing with the
    machine. The score and its reasons are shown as text, labelled as the machine's.
    """
    from workbench.ingest.matching import earlier_verdict_label

    # The last paragraph keeps the article's final line break: no blank line under it.
    paragraph = paragraph_context(article.text, claim.start, claim.end).strip()
    resolving = claim.resolving_context if claim.needs_rewrite else ""
    speaker = claim.speaker or "the reporter (not attributed to anyone)"
    return {
        "data": {
            "claim_uuid": claim.uuid,
            "claim_id": claim.id,
            "text": claim.text,
            "context": paragraph,
            "needs_rewrite": claim.needs_rewrite,
            "rewrite_label": (
                f"⚠ Rewrite needed. {REWRITE_HINT}\n{resolving}".strip()
                if claim.needs_rewrite
                else NO_REWRITE
            ),
            "earlier_verdict_label": earlier_verdict_label(earlier or []),
            "earlier_verdicts": earlier or [],
            "speaker": claim.speaker or "",
            "speaker_label": claim.speaker or "(the reporter)",
            # One string per row, label and value together, so they share a baseline.
            "speaker_line": f"Speaker: {speaker}" + (" (direct quote)" if claim.is_quote else ""),
            "is_quote": claim.is_quote,
            "claim_type": claim.claim_type,
            "claim_type_label": claim.claim_type.replace("_", " "),
            "claim_type_line": f"Type (the machine's guess): {claim.claim_type.replace('_', ' ')}",
            "article_title": article.title or "(untitled article)",
            "article_url": article.url or "",
            "source_label": f"Source: {article.url}" if article.url else "Source: no URL given",
            "article_uuid": article.uuid,
            "checkworthiness": round(claim.checkworthiness, 4),
            "score_label": (
                f"Check-worthiness score: {claim.checkworthiness:.2f} "
                "(0 = not worth checking, 1 = worth checking)"
            ),
            "reasons_label": _bullets(
                list(claim.reasons or []), "• nothing a fact-checker would recognise was found"
            ),
            "reasons": list(claim.reasons or []),
        },
    }


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
    claims = Claim.__table__
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


def _reconcile_attempted(client: LabelStudioClient, pid: int, actor: str, config_hash: str) -> int:
    """Link claims whose earlier push may have reached Label Studio before we could record it."""
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
    found = [
        (pending[uuid], int(task["id"]))
        for task in client.iter_tasks(pid)
        if (uuid := (task.get("data") or {}).get("claim_uuid")) in pending
    ]
    _record_links(found, pid, config_hash, actor, reconciled=True)
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
SYNC_LOCK = "labelstudio.sync"


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
    release_for_network()
    pid = project_id(client)  # a Label Studio that cannot be used is said before anything else
    with locks.held(PUSH_LOCK, actor, job_id=job_id) as token:
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
    result.reconciled = _reconcile_attempted(client, pid, actor, config_hash)

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
                task_ids = future.result()
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
    release_for_network()
    pid = project_id(client)  # a Label Studio that cannot be used is said before anything else
    with locks.held(SYNC_LOCK, actor, job_id=job_id) as token:
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
    listed = {u.get("id") for u in people if isinstance(u, dict)}
    for task in client.iter_tasks(pid):
        result.tasks_seen += 1
        annotations = task.get("annotations")
        if annotations is None:
            annotations = client.list_annotations(int(task["id"]))
        if not annotations:
            continue
        begin_write()
        claim = find_claim(_task_id(task), task.get("data"), pid)
        for annotation in annotations:
            result.annotations_seen += 1
            if claim is None:
                result.unplaced += 1
                continue
            if isinstance(annotation, dict) and annotation.get("task") is None:
                annotation = {**annotation, "task": task.get("id")}
            try:
                # A savepoint: whatever goes wrong with one annotation takes back only its own writes.
                with db.session.begin_nested():
                    stored = store_annotation(
                        claim, annotation, source="sync", project_id=pid, overlap=overlap, email_lookup=emails
                    )
            except Exception as exc:  # one annotation must not stop the reconcile of the others
                result.malformed += 1
                reason = exc if isinstance(exc, MalformedAnnotation) else f"{type(exc).__name__}: {exc}"
                result.skipped.append(
                    f"task {task.get('id')!r}, annotation {_ann_id(annotation)!r}: {reason}"
                )
                continue
            if stored is not None:
                result.repaired += 1
        locks.renew(SYNC_LOCK, lock)
        # Commit task by task: webhooks (answered within Label Studio's 1 s) must not wait
        # behind a long sync's open transaction.
        db.session.commit()
    # Authors the list above lacks (whether webhooks or this run stored their work) are unknown
    # to Label Studio: the one-user lookup sees the same organization as the list.
    begin_write()
    mark_unlisted(listed, actor=actor)
    db.session.commit()
    # Stuck pushes first: a claim linked now has its state derived in the same run.
    result.repushed = _repush_attempted(client, pid, actor=actor)
    result.states_repaired = reconcile_states(overlap, actor=actor)
    result.webhook_recreated = _ensure_webhook(client, pid, actor=actor)
    begin_write()
    if result.total_repaired or result.unplaced or result.malformed:
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
            },
        )
    db.session.commit()
    return result


def _task_id(task: dict[str, Any]) -> int | None:
    value = task.get("id")
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _ann_id(annotation: Any) -> Any:
    return annotation.get("id") if isinstance(annotation, dict) else None


def reconcile_states(overlap: int, *, actor: str = "sync", chunk: int = 1000) -> int:
    """Derive every claim's counts, agreement and status again from its stored rows; return how
    many were wrong.

    Reads in chunks without locks to find the claims whose stored state differs, then repairs
    each in its own transaction with the claim row locked (deriving again under the lock, so a
    delivery that arrived meanwhile is counted).
    """
    from workbench.review.state import find_drift, refresh_state

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
    for claim_id in drifted:
        begin_write()
        lock_rows(Claim, [claim_id])
        claim = db.session.get(Claim, claim_id)
        changes = refresh_state(claim, overlap, bump=False)
        if changes:
            repaired += 1
            audit.append(
                actor,
                "claim.reconciled",
                "claim",
                claim.id,
                {"changes": changes, "claim_version": claim.version, "rows": attest(claim)},
            )
            db.session.commit()
        else:
            db.session.rollback()
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


def _repush_attempted(client: LabelStudioClient, pid: int, *, actor: str) -> int:
    """Link or push again the claims whose push was attempted but never recorded."""
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
            result = _push(client, pid, actor=actor, attempted_only=True, lock=token)
    except WorkbenchError as exc:
        if exc.status != 409:
            raise
        return 0  # a push is running: it takes them
    return result.reconciled + result.pushed


def refresh_users(
    client: LabelStudioClient, *, actor: str = "sync", users: list[dict] | None = None
) -> dict[int, str]:
    """Cache Label Studio's users (one call, unless ``users`` were fetched already), map workbench
    users to them by email, and audit each change; return their emails by id. The caller commits."""
    return cache_users(client.list_users() if users is None else users, actor=actor)


# The users page maps a workbench user to a Label Studio member by hand, with the same event.
_map_user = map_user


def resolve_user(user: User, client: LabelStudioClient | None = None, *, actor: str = "cli") -> int | None:
    """Find the workbench user's Label Studio id by email and cache it (None: no such user there)."""
    if client is None:
        with get_client() as own:
            return resolve_user(user, own, actor=actor)
    found = client.find_user_by_email(user.email)
    _map_user(user, int(found["id"]) if found else None, actor=actor)
    return user.label_studio_user_id


@own_client
def request_rework(client: LabelStudioClient, *, claim: Claim) -> None:
    """Ask Label Studio to serve the claim's task to annotators again (one more annotation).

    Non-destructive: earlier annotations stay in Label Studio and in the workbench.
    May raise LabelStudioUnavailable or LabelStudioError; the caller then stores nothing.
    """
    if claim.link is None:
        raise WorkbenchError(
            f"claim {claim.id} was never pushed to Label Studio: nothing to send back", status=409
        )
    task_id = claim.link.task_id
    release_for_network()  # nothing is written yet; hold no lock while Label Studio answers
    task = client.get_task(task_id)
    # Label Studio then serves the task to annotators who have not annotated it yet; the
    # earlier annotators can still open it and revise theirs (docs/label-studio-notes.md).
    client.reopen_task(task_id, overlap=int(task.get("total_annotations") or 0) + 1)
