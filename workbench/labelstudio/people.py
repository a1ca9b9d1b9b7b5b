"""Who is behind an id: Label Studio users cached as their work arrives, and named on the pages.

Webhooks carry only the annotator's Label Studio id. Sync caches Label Studio's whole user
list; an id the cache does not hold when an annotation arrives is looked up on its own
(:func:`resolve`), after the annotation is stored: a Label Studio that does not answer leaves
the id unresolved until a later delivery or sync, and never costs an annotation. An id Label
Studio itself does not know is recorded as such (one ``labelstudio.user_unknown`` event), so
the pages can tell "not asked yet" from "nobody there".
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.exc import IntegrityError

from workbench import audit
from workbench.audit.rows import attest
from workbench.db import begin_write, db, lock_rows, release_for_network
from workbench.errors import LabelStudioError, LabelStudioUnavailable
from workbench.labelstudio.annotations import plausible_email
from workbench.models import Annotation, AuditEvent, LabelStudioUser, User
from workbench.models.base import utcnow
from workbench.validation import MAX_INT, sanitize

UNKNOWN_ACTION = "labelstudio.user_unknown"
#: Seconds one lookup may take: Label Studio waits about 1 s for the webhook's answer.
LOOKUP_TIMEOUT = 2.0


def _fields(user: Any) -> tuple[int, dict[str, str]] | None:
    """Read a Label Studio user's id and the fields cached of it; None when either is unusable."""
    if not isinstance(user, dict):
        return None
    email = plausible_email(user.get("email"))
    uid = user.get("id")
    if email is None or not isinstance(uid, int) or isinstance(uid, bool) or not 0 < uid <= MAX_INT:
        return None
    return uid, {
        "email": email,
        "first_name": sanitize(str(user.get("first_name") or ""))[:200],
        "last_name": sanitize(str(user.get("last_name") or ""))[:200],
    }


def _same(row: LabelStudioUser, names: dict[str, str]) -> bool:
    return all(getattr(row, k) == v for k, v in names.items())


def _cache(uid: int, names: dict[str, str], *, actor: str) -> None:
    """Cache one Label Studio user, with one audit event when its row is new or changed.

    Two deliveries caching the same id at once: the second finds the first's row (the insert is
    a savepoint) and compares under the row's lock, so one change makes one event.
    """
    row = db.session.get(LabelStudioUser, uid)
    if row is not None and _same(row, names):
        return
    created = False
    if row is None:
        try:
            with db.session.begin_nested():
                row = LabelStudioUser(id=uid, **names)
                db.session.add(row)
            created = True
        except IntegrityError:
            pass
    if not created:
        lock_rows(LabelStudioUser, [uid])
        row = db.session.get(LabelStudioUser, uid)
        assert row is not None  # cached rows are never deleted
        if _same(row, names):
            return
        for k, v in names.items():
            setattr(row, k, v)
        row.fetched_at = utcnow()
    audit.append(actor, "labelstudio.user_cached", "label_studio_user", uid, {**names, "rows": attest(row)})


def cache_users(users: Iterable[Any], *, actor: str) -> dict[int, str]:
    """Cache Label Studio users (skipping any without a usable id or email), map workbench users
    to them by email, and audit each change; return their emails by id. The caller commits."""
    emails: dict[int, str] = {}
    for user in users:
        fields = _fields(user)
        if fields is None:
            continue
        uid, names = fields
        _cache(uid, names, actor=actor)
        emails[uid] = names["email"]
    # Label Studio users are workbench users with the same email.
    by_email = {e: i for i, e in emails.items()}
    for person in db.session.scalars(sa.select(User).where(User.email.in_(list(by_email))).order_by(User.id)):
        map_user(person, by_email[person.email], actor=actor)
    db.session.flush()
    return emails


def map_user(user: User, ls_id: int | None, *, actor: str) -> None:
    """Record the workbench user's Label Studio id, with its audit event, when it changed."""
    if user.label_studio_user_id == ls_id:
        return
    # A change: locked and read again on PostgreSQL, so a sync and a webhook mapping at once
    # record one change, with the id it replaced; the audit chain first, as every user change
    # takes it (auth._lock_for_change), so the two orders never cross. (On SQLite the caller's
    # writer transaction excludes the other writer already.)
    if db.session.get_bind().dialect.name == "postgresql":
        audit.hold()
        lock_rows(User, [user.id])
    if user.label_studio_user_id == ls_id:
        return
    before, user.label_studio_user_id = user.label_studio_user_id, ls_id
    audit.append(
        actor,
        "user.label_studio_mapped",
        "user",
        user.id,
        {"email": user.email, "label_studio_user_id": ls_id, "before": before, "rows": attest(user)},
    )


def _cached(ids: list[int]) -> set[int]:
    """The ids among ``ids`` the cache holds."""
    return set(db.session.scalars(sa.select(LabelStudioUser.id).where(LabelStudioUser.id.in_(ids))))


def _marked_unknown(ids: Iterable[int]) -> set[int]:
    """The ids among ``ids`` already recorded as unknown to Label Studio."""
    names = [str(i) for i in ids]
    if not names:
        return set()
    return {
        int(s)
        for s in db.session.scalars(
            sa.select(AuditEvent.subject_id).where(
                AuditEvent.action == UNKNOWN_ACTION,
                AuditEvent.subject_type == "label_studio_user",
                AuditEvent.subject_id.in_(names),
            )
        )
    }


def mark_unknown(ids: Iterable[int], *, actor: str, reason: str) -> list[int]:
    """Record, once per id, that Label Studio does not know these user ids; return those recorded
    now. Ids the cache holds are left alone (Label Studio knew them once). The caller commits."""
    wanted = sorted(set(ids))
    if not wanted:
        return []
    audit.hold()  # looked for after the chain is held: two resolvers at once record an id once
    known = _marked_unknown(wanted) | _cached(wanted)
    new = [i for i in wanted if i not in known]
    audit.append_many(
        {
            "actor": actor,
            "action": UNKNOWN_ACTION,
            "subject_type": "label_studio_user",
            "subject_id": i,
            "payload": {"label_studio_user_id": i, "reason": reason},
        }
        for i in new
    )
    return new


def unresolved_ids() -> set[int]:
    """Label Studio ids that stored annotations name (as author or editor) and the cache lacks."""
    found: set[int] = set()
    for column in (Annotation.annotator_ls_id, Annotation.updated_by_ls_id):
        found.update(
            db.session.scalars(
                sa.select(column)
                .distinct()
                .where(column.is_not(None), ~sa.exists().where(LabelStudioUser.id == column))
            )
        )
    return found


def mark_unlisted(listed: set[int], *, actor: str) -> list[int]:
    """After reading Label Studio's whole user list: the ids annotations name that are not on it
    are unknown to Label Studio (the list and the one-user lookup see the same organization).
    The caller commits."""
    return mark_unknown(unresolved_ids() - listed, actor=actor, reason="not in Label Studio's user list")


def resolve(ids: Iterable[int | None], *, actor: str) -> dict[int, str]:
    """Look up the Label Studio ids the cache lacks, one call each, and cache what is found;
    return ``{id: outcome}`` ("cached", "unknown" or why it stays unresolved).

    Best-effort, for after an annotation was stored (call it with nothing pending: it ends the
    open transaction): it holds no lock while Label Studio answers, asks once with a short
    timeout, stops at the first sign that Label Studio is down, and never raises (a failure
    leaves the ids unresolved, for a later delivery or sync).
    """
    from workbench.labelstudio.client import client_from_config

    outcome: dict[int, str] = {}
    wanted = sorted({i for i in ids if i is not None})
    try:
        if not wanted:
            return outcome
        release_for_network()
        cached = _cached(wanted)
        db.session.commit()
        missing = [i for i in wanted if i not in cached]
        if not missing:
            return outcome
        config = current_app.config
        timeout = min(float(config.get("LABEL_STUDIO_TIMEOUT") or LOOKUP_TIMEOUT), LOOKUP_TIMEOUT)
        try:
            client = client_from_config({**config, "LABEL_STUDIO_TIMEOUT": timeout})
        except LabelStudioUnavailable as exc:  # no API key configured: nobody to ask
            return {i: f"unresolved: {exc}" for i in missing}
        found: list[dict] = []
        unknown: list[int] = []
        with client:
            for uid in missing:
                try:
                    found.append(client.get_user(uid, retry=False))
                    outcome[uid] = "cached"
                except LabelStudioUnavailable as exc:
                    outcome.update({i: f"unresolved: {exc}" for i in missing if i not in outcome})
                    break
                except LabelStudioError as exc:
                    if (exc.errors or {}).get("status_code") == 404:
                        unknown.append(uid)
                        outcome[uid] = "unknown"
                    else:
                        outcome[uid] = f"unresolved: {exc}"
        if not found and not unknown:
            return outcome
        begin_write()
        cache_users(found, actor=actor)
        mark_unknown(unknown, actor=actor, reason="Label Studio answered 404 for this user id")
        db.session.commit()
    except Exception as exc:  # noqa: BLE001 - the annotation is stored; naming its author can wait
        db.session.rollback()
        current_app.logger.warning("could not resolve Label Studio users %s: %r", wanted, exc)
        outcome.update({i: f"unresolved: {type(exc).__name__}" for i in wanted})
    return outcome


# ---------------------------------------------------------------------- naming people on pages


@dataclass(frozen=True)
class Person:
    """How a page names someone: ``label`` always, and a ``note`` saying what is (not) known."""

    label: str
    note: str | None = None

    def __str__(self) -> str:
        return f"{self.label} ({self.note})" if self.note else self.label


ANOTHER_ANNOTATOR = Person("another annotator")
NO_WORKBENCH_ACCOUNT = "Label Studio only, no workbench account"
UNKNOWN_TO_LABEL_STUDIO = "unknown to Label Studio"
NOT_RESOLVED = "unresolved: Label Studio has not said who this is yet"
#: Actors that are the workbench's own processes, not people.
SYSTEM_ACTORS = {"label-studio": "Label Studio"}


def _label(name: str, email: str | None) -> str:
    if name and email:
        return f"{name} · {email}"
    return name or email or "Label Studio user (no name or e-mail)"


class Directory:
    """Names people for one page: two queries the first time someone is named, then none
    (an id Label Studio has not resolved costs one more, once).

    ``blind``: an annotator is viewing (blind overlap), whose own Label Studio id is
    ``own_ls_id``: every other annotator is then "another annotator".
    """

    def __init__(self, *, blind: bool = False, own_ls_id: int | None = None):
        self._blind = blind
        self._own_ls_id = own_ls_id
        self._loaded = False
        self._unknown: set[int] | None = None

    def _load(self) -> None:
        if self._loaded:
            return
        ls = LabelStudioUser
        ls_rows = db.session.execute(sa.select(ls.id, ls.email, ls.first_name, ls.last_name)).all()
        self._ls = {r.id: r for r in ls_rows}
        users = db.session.execute(sa.select(User.id, User.email, User.name, User.label_studio_user_id)).all()
        self._users = {u.id: u for u in users}
        self._by_email = {u.email: u for u in users}
        self._by_ls = {u.label_studio_user_id: u for u in users if u.label_studio_user_id is not None}
        self._loaded = True

    def _is_unknown(self, ls_id: int) -> bool:
        if self._unknown is None:
            self._unknown = {
                int(s)
                for s in db.session.scalars(
                    sa.select(AuditEvent.subject_id)
                    .distinct()
                    .where(AuditEvent.action == UNKNOWN_ACTION)
                    .where(AuditEvent.subject_type == "label_studio_user")
                )
            }
        return ls_id in self._unknown

    def annotator(self, ls_id: int | None, email: str | None = None) -> Person:
        """Name a Label Studio user by id (``email``: what the annotation itself carried, if any)."""
        if ls_id is None and not email:
            return Person("Label Studio (no user named)")
        if self._blind and ls_id != self._own_ls_id:
            return ANOTHER_ANNOTATOR
        self._load()
        cached = self._ls.get(ls_id) if ls_id is not None else None
        if cached is not None or email:
            address = cached.email if cached is not None else email
            account = self._by_ls.get(ls_id) or self._by_email.get(address)
            ls_name = " ".join(p for p in (cached.first_name, cached.last_name) if p) if cached else ""
            if account is not None:
                return Person(_label(account.name or ls_name, account.email))
            return Person(_label(ls_name, address), NO_WORKBENCH_ACCOUNT)
        assert ls_id is not None  # no id and no e-mail returned above; an e-mail alone, in the branch above
        account = self._by_ls.get(ls_id)
        if account is not None:  # mapped to a workbench user, not cached yet
            return Person(_label(account.name, account.email))
        if self._is_unknown(ls_id):
            return Person(f"Label Studio user {ls_id}", UNKNOWN_TO_LABEL_STUDIO)
        return Person(f"Label Studio user {ls_id}", NOT_RESOLVED)

    def user(self, user_id: int | None) -> Person:
        """Name a workbench user by id."""
        self._load()
        account = self._users.get(user_id)
        if account is None:
            return Person("—" if user_id is None else f"workbench user {user_id}", None)
        return Person(_label(account.name, account.email))

    def actor(self, actor: str | None) -> Person:
        """Name an audit event's actor: a user's email, ``label-studio:<id>``, or a process."""
        if not actor:
            return Person("—")
        if actor.startswith("label-studio:") and actor[13:].isascii() and actor[13:].isdigit():
            return self.annotator(int(actor[13:]))
        if actor in SYSTEM_ACTORS:
            return Person(SYSTEM_ACTORS[actor])
        if "@" in actor:
            self._load()
            account = self._by_email.get(actor.lower())
            if account is not None:
                return Person(_label(account.name, account.email))
        return Person(actor)

    def name(self, value: Any) -> Person:
        """Name whatever a template holds: an annotation (its author), a user, an LS id, an actor."""
        if value is None:
            return Person("—")
        if isinstance(value, Annotation):
            return self.annotator(value.annotator_ls_id, value.annotator_email)
        if isinstance(value, User):
            return self.user(value.id)
        if isinstance(value, LabelStudioUser):
            return self.annotator(value.id)
        if isinstance(value, int) and not isinstance(value, bool):
            return self.annotator(value)
        return self.actor(str(value))
