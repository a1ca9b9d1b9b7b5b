"""The webhook receiver's rules: keep every delivery at once, place it after.

Label Studio waits about 1 s for an answer and never sends a delivery again, so the request does
the least that keeps the delivery safe (:func:`receive`): the body as sent (escaped when it cannot
be stored as sent, with the original's length and sha256) in one short INSERT that takes no claim
lock, then the answer. When even that insert cannot be made in time (SQLite's one write lock held
by a long transaction, a database that does not answer), the body is kept on disk instead
(``webhook_spool``) and moved into the table later. Placing a delivery (storing the annotation
version it carries, recording a deletion) comes after, in a transaction of its own: in the request
(``inline``), on a thread of the web process or an RQ worker (``webhook_placer``); sync and the
worker's schedule place whatever still waits (:func:`place_pending`). Versions are ordered by
Label Studio's ``updated_at``, never by arrival, so the order deliveries are placed in is free.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import math
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from workbench import audit
from workbench.db import begin_write, changed_rows, db, writer
from workbench.errors import Unauthorized
from workbench.labelstudio import webhook_spool
from workbench.labelstudio.annotations import (
    MalformedAnnotation,
    Prepared,
    annotator_id,
    editor_id,
    find_claim,
    prepare_annotation,
    store_versions_rows,
)
from workbench.labelstudio.people import resolve
from workbench.models import Claim, LabelStudioUser, WebhookEvent
from workbench.models.base import utcnow
from workbench.validation import MAX_INT, loads_strict, sanitize, storable_body

ANNOTATION_ACTIONS = {"ANNOTATION_CREATED", "ANNOTATION_UPDATED"}
DELETED = "ANNOTATIONS_DELETED"
_ACTION_MAX = 100

#: Kept, waiting to be placed. ``placing`` is set by the placer inside its own transaction, so it
#: is seen committed only when written so by hand or by a placer of another design: such a row
#: is placed again like a received one (placing twice stores one version).
PENDING = ("received", "placing")
#: Seconds the request waits for the database to take the delivery before keeping it on disk:
#: on SQLite the wait is for the one write lock, which a placer holds while it places (a file on
#: disk is as safe, and faster than waiting); on PostgreSQL the insert waits on nobody.
INTAKE_WAIT = {"sqlite": 0.02, "postgresql": 0.5}
#: The same when the request places the delivery too (as long as SQLite's own busy timeout).
INLINE_WAIT = 10.0
#: Deliveries one placing transaction takes at most, and the seconds after which it takes no more.
BATCH = 50
BATCH_SECONDS = 0.02
#: Seconds before an author Label Studio did not name is asked about again by this process.
ASK_AGAIN_AFTER = 60.0


def check_secret(configured: str | None, presented: str | None) -> None:
    """Compare the presented secret with the configured one in constant time, or raise 401."""
    if not configured:
        raise Unauthorized("webhooks are refused until WORKBENCH_WEBHOOK_SECRET is set")
    if presented is None or not hmac.compare_digest(configured.encode(), presented.encode()):
        raise Unauthorized("missing or wrong webhook secret header")


def placing_mode(config: Mapping[str, Any]) -> str:
    """Say where deliveries are placed: the configured mode, else background (inline under TESTING)."""
    return config.get("WEBHOOK_PLACING") or ("inline" if config.get("TESTING") else "background")


# --------------------------------------------------------------------------------- what came in


def _read(text: str, stored_as: str) -> tuple[dict | None, str | None, str, str | None]:
    """Read a delivery without the database: ``(payload, action, status, detail)``.

    ``status`` is ``received`` for what is to be placed, or already final: ``malformed`` (not
    JSON, not an object with an action, an annotation action without an annotation object) or
    ``unknown_action``.
    """
    if stored_as != "as_sent":
        return None, None, "malformed", "body is not UTF-8 JSON without NUL bytes"
    try:
        payload = loads_strict(text)
    except json.JSONDecodeError as exc:
        return None, None, "malformed", f"body is not JSON: {exc.msg} at position {exc.pos}"
    except ValueError as exc:
        return None, None, "malformed", f"body is not JSON: {exc}"
    except RecursionError:
        return None, None, "malformed", "body is not usable JSON: nested too deeply"
    if not isinstance(payload, dict) or not isinstance(payload.get("action"), str):
        return None, None, "malformed", "body is not an object with an 'action' string"
    action = payload["action"]
    if action == DELETED:
        return payload, action, "received", None
    if action not in ANNOTATION_ACTIONS:
        return payload, action, "unknown_action", "no handler for this action"
    if not isinstance(payload.get("annotation"), dict):
        return payload, action, "malformed", "no 'annotation' object"
    return payload, action, "received", None


def _joined(*notes: str | None) -> str | None:
    return "; ".join(n for n in notes if n) or None


class _Delivery:
    """One delivery as received, and the row it is kept as."""

    def __init__(self, body: bytes, received_at: datetime | None = None, spool_key: str | None = None):
        self.text, self.stored_as = storable_body(body)
        self.length = len(body)
        self.sha256 = hashlib.sha256(body).hexdigest()
        self.received_at = received_at or utcnow()
        self.spool_key = spool_key
        _, action, self.status, detail = _read(self.text, self.stored_as)
        notes = [detail]
        if action is not None:
            action = sanitize(action)
            if len(action) > _ACTION_MAX:
                notes.append(f"its action, {len(action)} characters long, is kept cut to {_ACTION_MAX}")
                action = action[:_ACTION_MAX]
        if self.stored_as != "as_sent":
            notes.append(f"the body is kept {self.stored_as} (sha256 and length are of the body as sent)")
        self.action = action
        self.detail = _joined(*notes)

    def row(self) -> dict[str, Any]:
        return {
            "received_at": self.received_at,
            "action": self.action,
            "body": self.text,
            "body_length": self.length,
            "body_sha256": self.sha256,
            "body_stored_as": self.stored_as,
            "status": self.status,
            "detail": self.detail,
            # What is final when it arrives is placed when it arrives.
            "placed_at": None if self.status == "received" else self.received_at,
            "spool_key": self.spool_key,
        }


@dataclass
class Receipt:
    """What the request answers: the kept delivery and, when placed inline, its outcome."""

    event_id: int | None
    status: str
    detail: str | None
    spooled: bool = False

    @property
    def http_status(self) -> int:
        return {"received": 202, "malformed": 400}.get(self.status, 200)


@contextlib.contextmanager
def _bounded(wait: float) -> Iterator[sa.Connection]:
    """A short transaction of its own, on a connection of its own, that never waits long.

    On SQLite it does not wait for the write lock at all (the caller tries again, see
    :func:`keep`); on PostgreSQL every statement is bounded to ``wait`` seconds.
    """
    with db.engine.connect() as conn:
        if conn.dialect.name == "sqlite":
            raw = conn.connection.driver_connection
            assert raw is not None
            before = raw.execute("PRAGMA busy_timeout").fetchone()[0]
            raw.execute("PRAGMA busy_timeout=0")
            try:
                with conn.begin():
                    yield conn
            finally:
                raw.execute(f"PRAGMA busy_timeout={int(before)}")
        else:
            ms = max(1, int(wait * 1000))
            with conn.begin():
                conn.exec_driver_sql(f"SET LOCAL statement_timeout = {ms}; SET LOCAL lock_timeout = {ms}")
                yield conn


@contextlib.contextmanager
def _intake_connection(wait: float, left: float) -> Iterator[sa.Connection]:
    """On PostgreSQL, a connection whose every statement commits itself and is bounded to ``wait``
    seconds: keeping a delivery is one round trip (the INSERT), not five (BEGIN, the two
    timeouts, the INSERT, COMMIT), so the web process and the server spend their time answering
    Label Studio. On SQLite, :func:`_bounded`'s transaction for the ``left`` seconds of the wait
    (the caller tries again while the write lock is busy)."""
    if db.engine.dialect.name != "postgresql":
        with _bounded(left) as conn:
            yield conn
        return
    with intake_engine(current_app._get_current_object(), wait).connect() as conn:  # type: ignore[attr-defined]
        yield conn


def intake_engine(app: Any, wait: float) -> sa.Engine:
    """This process's pool of intake connections for ``app`` (timeouts ``wait``), made on first use.

    A pool of its own, beside the app's: its connections carry the statement and lock timeouts
    as connection options and commit each statement, which no other work of the app should
    inherit. Made again in a forked process (a connection is never shared across a fork)."""
    import os

    key = ("webhook_intake_engine", os.getpid(), wait)
    engine = app.extensions.get(key)
    if engine is None:
        ms = max(1, int(wait * 1000))
        engine = sa.create_engine(
            db.engine.url,
            # No ping before each delivery (a round trip of its own): a connection the server
            # dropped (it restarted) fails the INSERT, that delivery is kept on disk and answered
            # all the same, and SQLAlchemy throws the whole pool's connections away at once.
            pool_pre_ping=False,
            isolation_level="AUTOCOMMIT",
            connect_args={"options": f"-c statement_timeout={ms} -c lock_timeout={ms}"},
        )
        engine = app.extensions.setdefault(key, engine)
    return engine


def dispose_intake_engines(app: Any) -> None:
    """Close the intake pools ``app`` holds (tests; a server process just exits)."""
    for key in [k for k in app.extensions if isinstance(k, tuple) and k[0] == "webhook_intake_engine"]:
        app.extensions.pop(key).dispose()


def _sqlite_busy(exc: Exception) -> bool:
    message = str(getattr(exc, "orig", exc))
    return "database is locked" in message or "database is busy" in message


def receive(body: bytes) -> Receipt:
    """Keep a delivery, then have it placed where ``WEBHOOK_PLACING`` says; say what was kept.

    ``inline``: placed in this request, and the receipt says how (a fault of ours while placing
    is raised, with the delivery kept as ``failed``). ``background`` and ``queue``: handed to
    the process's placer thread or to an RQ worker, and answered ``received`` at once.
    """
    mode = placing_mode(current_app.config)
    # Placing inline waits for the database anyway: keeping the delivery may wait as long.
    receipt = keep(body, wait=INLINE_WAIT if mode == "inline" else None)
    session = db.session()
    if session.in_transaction() and not (session.new or session.dirty or session.deleted):
        # A snapshot the caller's session held open (SQLite) would not show the kept row.
        session.commit()
    if receipt.status != "received":
        return receipt
    if mode == "inline":
        if receipt.event_id is None:
            return receipt  # kept on disk while the database is busy: the next placer moves it
        outcome = place_one(receipt.event_id)
        if outcome is None:
            return receipt
        if outcome.error is not None:
            raise outcome.error
        return Receipt(receipt.event_id, outcome.status, outcome.detail)
    from workbench.labelstudio import webhook_placer

    webhook_placer.hand_over(current_app._get_current_object(), receipt.event_id, mode)  # type: ignore[attr-defined]
    return receipt


def keep(body: bytes, *, wait: float | None = None) -> Receipt:
    """Keep a delivery, whatever it carries, and say what was kept; place nothing.

    One INSERT in a transaction of its own, waiting at most ``wait`` seconds for the database
    (default ``INTAKE_WAIT``); past that, or when the database fails, the body is kept on disk
    and moved into the table by the next placer. Not JSON, not an object with an action, or an
    annotation action without an annotation: kept as ``malformed``. An action with no handler:
    ``unknown_action``.
    """
    delivery = _Delivery(body)
    if wait is None:
        wait = INTAKE_WAIT.get(db.engine.dialect.name, 0.5)
    deadline = time.monotonic() + wait
    pause = 0.001
    while True:
        try:
            with writer(), _intake_connection(wait, max(0.001, deadline - time.monotonic())) as conn:
                inserted = conn.execute(sa.insert(WebhookEvent).values(**delivery.row()))
                key = inserted.inserted_primary_key
                assert key is not None  # an INSERT of one row has its key
                event_id = key[0]
            break
        except (sa.exc.OperationalError, sa.exc.InterfaceError, sa.exc.TimeoutError) as exc:
            # SQLite's own wait sleeps up to 100 ms between tries, so a placer writing back to
            # back would keep the lock from a waiting request: the request asks every few ms.
            if _sqlite_busy(exc) and time.monotonic() + pause < deadline:
                time.sleep(pause)
                pause = min(pause * 2, 0.004)
                continue
            key = webhook_spool.write(webhook_spool.directory(current_app), body, delivery.received_at)
            current_app.logger.warning(
                "webhook delivery kept on disk as %s: the database did not take it (%s)",
                key,
                type(exc).__name__,
            )
            return Receipt(
                None,
                delivery.status,
                _joined(
                    delivery.detail,
                    f"kept on disk: the database did not take it within {wait:g} s; "
                    "it is stored and placed when the database answers",
                ),
                spooled=True,
            )
    return Receipt(event_id, delivery.status, delivery.detail)


def keep_oversized(length: int | None, limit: int | None) -> Receipt:
    """Record a delivery too large to read (over WORKBENCH_MAX_CONTENT_LENGTH): its size and
    when it came, not its body, as ``malformed``. Label Studio does not send it again, so the
    row is what tells an operator that a sync must recover what it carried. One INSERT on the
    intake connection, as :func:`keep`; a database that does not take it in time is logged and
    the delivery still answered."""
    if length is not None and not 0 <= length <= MAX_INT:
        length = None  # a Content-Length no column holds
    size = f"{length} bytes" if length is not None else "a body of unknown length"
    detail = (
        f"the delivery ({size}) is larger than the limit of {limit} bytes "
        "(WORKBENCH_MAX_CONTENT_LENGTH): its body was not kept; `workbench labelstudio sync` "
        "recovers the annotations it carried"
    )
    now = utcnow()
    row = {
        "received_at": now,
        "action": None,
        "body": "",
        "body_length": length,
        "body_sha256": None,
        "body_stored_as": "not_kept",
        "status": "malformed",
        "detail": detail,
        "placed_at": now,
        "spool_key": None,
    }
    wait = INTAKE_WAIT.get(db.engine.dialect.name, 0.5)
    try:
        with writer(), _intake_connection(wait, wait) as conn:
            key = conn.execute(sa.insert(WebhookEvent).values(**row)).inserted_primary_key
    except (sa.exc.DBAPIError, sa.exc.TimeoutError) as exc:
        current_app.logger.error(
            "a webhook delivery over the size limit (%s) was not recorded: %s", size, type(exc).__name__
        )
        return Receipt(None, "malformed", f"{detail}; the database did not take its record in time")
    assert key is not None  # an INSERT of one row has its key
    return Receipt(key[0], "malformed", detail)


def import_spool(batch: int = 200) -> int:
    """Move deliveries kept on disk into the table, a batch per transaction, each once whoever
    else moves it at the same time (its ``spool_key`` is unique); return how many this call
    moved. Commits; a file is removed only once its row is committed."""
    folder = webhook_spool.directory(current_app)
    moved = 0
    while paths := webhook_spool.pending(folder)[:batch]:
        rows, taken = [], []
        for path in paths:
            found = webhook_spool.read(path)
            if found is not None:
                key, received_at, body = found
                rows.append(_Delivery(body, received_at=received_at, spool_key=key).row())
                taken.append(path)
        if rows:
            begin_write()
            dialect = db.session.get_bind().dialect.name
            insert = (sqlite_insert if dialect == "sqlite" else postgresql_insert)(WebhookEvent)
            inserted_rows = changed_rows(
                insert.values(rows).on_conflict_do_nothing(index_elements=["spool_key"])
            )
            db.session.commit()
            moved += max(inserted_rows, 0)
        for path in paths:
            webhook_spool.remove(path)
    return moved


# ------------------------------------------------------------------------------------- placing


@dataclass
class Outcome:
    """What placing one delivery came to; ``error`` is what stopped it, if anything did."""

    event_id: int
    status: str
    detail: str | None
    annotation_id: int | None = None
    error: BaseException | None = None


@dataclass
class _Version:
    """An annotation version a claimed delivery carries, to be stored with the batch's others."""

    event: WebhookEvent
    claim: Claim
    prepared: Prepared
    project_id: int | None


def _place(event: WebhookEvent, overlap: int) -> _Version | None:
    """Read a claimed delivery in the caller's transaction: settle it here when it stores no
    annotation (deleted, unplaced, malformed; None), else return the version it carries, which
    the batch stores with the others in one go (see :func:`_store`)."""
    payload, action, status, detail = _read(event.body, event.body_stored_as)
    if status != "received" or payload is None:
        event.status, event.detail = status, _joined(detail, event.detail)
        return None
    if action == DELETED:
        listed = payload.get("annotations")
        ids = [
            a.get("id")
            for a in (listed if isinstance(listed, list) else [])
            if isinstance(a, dict) and isinstance(a.get("id"), int) and not isinstance(a.get("id"), bool)
        ]
        if not ids:
            event.status = "malformed"
            event.detail = _joined(
                "an ANNOTATIONS_DELETED delivery must list the deleted annotations with their "
                f"integer ids in 'annotations' (got {str(listed)[:80]})",
                event.detail,
            )
            return None
        event.status = "recorded"
        event.detail = _joined(
            f"Label Studio deleted annotations {ids}; the workbench keeps every stored version", event.detail
        )
        audit.append(
            "label-studio",
            "annotation.deleted_in_label_studio",
            "webhook",
            event.id,
            {"ls_annotation_ids": ids},
        )
        return None

    annotation = payload["annotation"]
    task: dict[str, Any] = payload["task"] if isinstance(payload.get("task"), dict) else {}
    task_id = _id(task.get("id")) or _id(annotation.get("task"))
    project: dict[str, Any] = payload["project"] if isinstance(payload.get("project"), dict) else {}
    project_id = _id(project.get("id")) or _id(task.get("project")) or _id(annotation.get("project"))
    data = task.get("data") if isinstance(task.get("data"), dict) else None
    claim = find_claim(task_id, data, project_id)
    if claim is None:
        event.status = "unplaced"
        named = (
            task_id
            if task_id is not None
            else f"(no integer id: {task.get('id', annotation.get('task'))!r:.40})"
        )
        event.detail = _joined(f"no claim is linked to Label Studio task {named}", event.detail)
        return None
    if annotation.get("task") is None:
        annotation = {**annotation, "task": task_id}
    try:
        prepared = prepare_annotation(annotation)
    except MalformedAnnotation as exc:
        event.status = "malformed"
        event.detail = _joined(f"annotation {annotation.get('id')!r}: {exc}", event.detail)
        return None
    return _Version(event, claim, prepared, project_id)


def _store_rows(versions: list[_Version], overlap: int) -> list[int | None]:
    """Store ``versions`` (one bulk store per project named); return each one's new row id, or
    None for a version stored already."""
    out: list[int | None] = [None] * len(versions)
    for project_id in dict.fromkeys(v.project_id for v in versions):
        positions = [n for n, v in enumerate(versions) if v.project_id == project_id]
        rows = store_versions_rows(
            [(versions[n].claim, versions[n].prepared) for n in positions],
            source="webhook",
            project_id=project_id,
            overlap=overlap,
        )
        for n, row in zip(positions, rows, strict=True):
            out[n] = row
    return out


def _store(versions: list[_Version], overlap: int) -> list[int | None | Exception]:
    """Store the batch's versions in one go (locks, insert, claim states, audit events: a few
    statements for the batch instead of a dozen per delivery), in a savepoint; when that fails,
    again one delivery at a time, each in its own savepoint, so that the one that fails takes
    back only its own writes and names itself. A failure of the database itself is raised."""
    if not versions:
        return []
    try:
        with db.session.begin_nested():
            return list(_store_rows(versions, overlap))
    except Exception as exc:
        if _database_failed(exc):
            raise
        if len(versions) == 1:
            return [exc]
    results: list[int | None | Exception] = []
    for v in versions:
        v.claim = db.session.get(Claim, v.claim.id)  # type: ignore[assignment]
        try:
            with db.session.begin_nested():
                results.append(_store_rows([v], overlap)[0])
        except Exception as exc:
            if _database_failed(exc):
                raise
            results.append(exc)
    return results


def _place_batch(
    *where: sa.ColumnElement[bool], limit: int = BATCH, budget: float = BATCH_SECONDS
) -> list[Outcome]:
    """Claim pending deliveries matching ``where``, oldest first, and place them in one
    transaction (one commit for several: the commit is most of what placing costs): each is read
    in a savepoint of its own, then the annotation versions they carry are stored together (see
    :func:`_store`); stop taking more after ``budget`` seconds, so that no claim lock, nor
    SQLite's write lock, is held for long. Return what came of each; [] when none was left.

    Two placers never place one delivery twice: on PostgreSQL the rows are taken ``FOR UPDATE
    SKIP LOCKED`` (rows another placer holds are skipped, not waited for); on SQLite the
    placer's transaction holds the one write lock; the conditional UPDATE to ``placing`` is the
    claim either way. A placer that dies before it commits leaves its deliveries as they were.
    """
    overlap = current_app.config["ANNOTATION_OVERLAP"]
    pending = sa.select(WebhookEvent.id).where(WebhookEvent.status.in_(PENDING), *where)
    if db.session.scalar(pending.limit(1)) is None:
        # Look before taking SQLite's write lock: an idle round must not take it from anyone.
        db.session.rollback()
        return []
    begin_write()
    ids = db.session.scalars(
        sa.select(WebhookEvent.id)
        .where(WebhookEvent.status.in_(PENDING), *where)
        .order_by(WebhookEvent.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    ).all()
    outcomes: list[Outcome] = []
    versions: list[_Version] = []
    started = time.monotonic()

    def not_yet(exc: BaseException, event_ids: list[int]) -> list[Outcome]:
        db.session.rollback()
        return [Outcome(i, "received", f"not placed yet: {type(exc).__name__}", error=exc) for i in event_ids]

    for event_id in ids:
        if (outcomes or versions) and time.monotonic() - started > budget:
            break  # the rest stay received (and their row locks go with the commit)
        claimed = changed_rows(
            sa.update(WebhookEvent)
            .where(WebhookEvent.id == event_id, WebhookEvent.status.in_(PENDING))
            .values(status="placing")
            .execution_options(synchronize_session=False)
        )
        if claimed != 1:
            continue
        event = db.session.get(WebhookEvent, event_id, populate_existing=True)
        assert event is not None
        try:
            with db.session.begin_nested():
                version = _place(event, overlap)
                if version is None:
                    event.placed_at = utcnow()
                db.session.flush()
        except Exception as exc:
            if _database_failed(exc):
                return not_yet(exc, [event_id])
            outcomes.append(_failed(event_id, exc))
            continue
        if version is None:
            outcomes.append(Outcome(event_id, event.status, event.detail, event.annotation_id))
        else:
            versions.append(version)
    named: set[int] = set()
    try:
        stored = _store(versions, overlap)
        for v, row in zip(versions, stored, strict=True):
            event = v.event
            if isinstance(row, Exception):
                outcomes.append(_failed(event.id, row))
                continue
            event.status = "processed" if row else "duplicate"
            event.detail = _joined(
                None if row else "this annotation version was already stored", event.detail
            )
            event.annotation_id = row
            event.placed_at = utcnow()
            outcomes.append(Outcome(event.id, event.status, event.detail, row))
            named.update(i for i in (annotator_id(v.prepared.payload), editor_id(v.prepared.payload)) if i)
        db.session.flush()
    except Exception as exc:
        if not _database_failed(exc):
            raise
        return not_yet(exc, [o.event_id for o in outcomes] + [v.event.id for v in versions])
    outcomes.sort(key=lambda o: o.event_id)
    # Authors and editors the user cache lacks, to be asked about once this is committed.
    unnamed = (
        sorted(
            named
            - set(db.session.scalars(sa.select(LabelStudioUser.id).where(LabelStudioUser.id.in_(named))))
        )
        if named
        else []
    )
    try:
        db.session.commit()
    except Exception as exc:
        if not _database_failed(exc):
            db.session.rollback()
            raise
        return not_yet(exc, [o.event_id for o in outcomes])
    # Only now, with the annotations committed, ask Label Studio who they are: a Label Studio
    # that does not answer costs nothing but a name.
    _name_people(unnamed)
    return outcomes


def _failed(event_id: int, exc: Exception) -> Outcome:
    """Keep a delivery whose placing hit a fault of ours (not of the delivery) as failed; sync
    stores its annotation later."""
    detail = f"could not be stored: {type(exc).__name__}"
    db.session.execute(
        sa.update(WebhookEvent)
        .where(WebhookEvent.id == event_id)
        .values(status="failed", detail=detail, placed_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    return Outcome(event_id, "failed", detail, error=exc)


def _database_failed(exc: BaseException) -> bool:
    """Whether placing failed because the database did (the delivery waits for the next try)."""
    return isinstance(exc, sa.exc.OperationalError | sa.exc.InterfaceError | sa.exc.TimeoutError) or bool(
        getattr(exc, "connection_invalidated", False)
    )


def _name_people(ids: list[int]) -> None:
    """Look up the authors the cache lacks, each at most once a minute per process: a Label
    Studio that hangs must not cost the placer two seconds per delivery."""
    asked: dict[int, float] = current_app.extensions.setdefault("webhook_people_asked", {})
    now = time.monotonic()
    wanted = [i for i in ids if now - asked.get(i, -math.inf) > ASK_AGAIN_AFTER]
    if not wanted:
        return
    for uid, outcome in resolve(wanted, actor="webhook").items():
        if outcome != "cached":
            asked[uid] = now


def place_one(event_id: int) -> Outcome | None:
    """Place one kept delivery, unless another placer has (or is placing it now): then None."""
    outcomes = _place_batch(WebhookEvent.id == event_id, limit=1)
    return outcomes[0] if outcomes else None


def place_pending(limit: int | None = None, *, older_than: float | None = None) -> int:
    """Place deliveries still waiting, oldest first (those kept on disk are moved in first);
    return how many were placed. Commits every few deliveries.

    ``older_than``: only deliveries kept at least that many seconds ago. Stops at the first
    failure of the database (the rest wait for the next call).
    """
    placed = 0
    import_spool()
    while limit is None or placed < limit:
        where = []
        if older_than is not None:
            where.append(WebhookEvent.received_at < utcnow() - timedelta(seconds=older_than))
        outcomes = _place_batch(*where, limit=BATCH if limit is None else min(BATCH, limit - placed))
        if not outcomes:
            break
        for outcome in outcomes:
            if outcome.error is not None:
                current_app.logger.error(
                    "webhook delivery %s not placed (%s)",
                    outcome.event_id,
                    outcome.status,
                    exc_info=outcome.error,
                )
        if any(o.status == "received" for o in outcomes):
            break  # the database failed: trying the same rows again at once would spin
        placed += len(outcomes)
    return placed


def pending_count() -> int:
    """How many kept deliveries wait to be placed (those on disk not counted)."""
    return (
        db.session.scalar(
            sa.select(sa.func.count()).select_from(WebhookEvent).where(WebhookEvent.status.in_(PENDING))
        )
        or 0
    )


def _id(value) -> int | None:
    """A Label Studio id from a payload, or None when it is absent or cannot be one."""
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value <= MAX_INT:
        return None
    return value
