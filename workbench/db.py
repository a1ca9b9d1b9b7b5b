"""The SQLAlchemy handle, with naming conventions so Alembic can name every constraint.

On SQLite the workbench runs its own transactions (``BEGIN`` or ``BEGIN IMMEDIATE``) instead of
pysqlite's: pysqlite issues no ``BEGIN`` before a ``SAVEPOINT``, so a savepoint's ``RELEASE``
committed the row at once and an outer rollback could not take it back (SQLAlchemy's notes on
"Serializable isolation / Savepoints / Transactional DDL" for pysqlite).
"""

from __future__ import annotations

import contextvars
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, cast

import sqlalchemy as sa
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import DeclarativeBase, Session

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)


db = SQLAlchemy(model_class=Base)

# The models' base class. Flask-SQLAlchemy builds ``db.Model`` at run time, which a type checker
# cannot follow; to it, the base is the declarative Base that ``db.Model`` extends.
if TYPE_CHECKING:
    Model = Base
else:
    Model = db.Model


def changed_rows(statement: sa.Executable) -> int:
    """Run an UPDATE, DELETE or INSERT in the session; return how many rows it changed.

    (SQLAlchemy types ``Session.execute`` as returning a Result; for these statements it is a
    CursorResult, which has ``rowcount``.)
    """
    result = cast("sa.CursorResult[Any]", db.session.execute(statement))
    return result.rowcount


# Set while a writer runs (a POST, a CLI command, a job): its SQLite transactions take the write
# lock when they begin, so what they read cannot change before they write (no lost updates).
_writer: contextvars.ContextVar[bool] = contextvars.ContextVar("workbench_writer", default=False)


def _is_sqlite(dbapi_connection) -> bool:
    return type(dbapi_connection).__module__.startswith("sqlite3")


def install_sqlite_transactions() -> None:
    """Turn on foreign keys, WAL, a busy timeout and real transactions for every SQLite connection."""

    @event.listens_for(Engine, "connect")
    def _on_connect(dbapi_connection, _record):
        if _is_sqlite(dbapi_connection):
            # Autocommit at the driver; _on_begin below emits BEGIN, so SAVEPOINTs nest properly.
            dbapi_connection.isolation_level = None
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA busy_timeout=10000")
            # Readers never block the writer and the writer never blocks readers.
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.close()

    @event.listens_for(Engine, "begin")
    def _on_begin(conn: Connection):
        if conn.dialect.name == "sqlite":
            conn.exec_driver_sql("BEGIN IMMEDIATE" if _writer.get() else "BEGIN")


install_sqlite_transactions()


def is_sqlite() -> bool:
    return db.session.get_bind().dialect.name == "sqlite"


def mark_writer() -> contextvars.Token:
    """Make this context's next SQLite transactions writers (see ``_writer``); return the reset token."""
    return _writer.set(True)


def mark_reader() -> contextvars.Token:
    """Make this context's next SQLite transactions readers (plain ``BEGIN``) until reset."""
    return _writer.set(False)


def unmark_writer(token: contextvars.Token) -> None:
    _writer.reset(token)


@contextmanager
def writer() -> Iterator[None]:
    """Run the block as a writer (its SQLite transactions begin IMMEDIATE)."""
    token = mark_writer()
    try:
        yield
    finally:
        unmark_writer(token)


def begin_write(session: Session | None = None) -> None:
    """Make sure the session's transaction may write without losing a race.

    On SQLite the transaction must hold the write lock before its first read: a read-only
    transaction still open (the token lookup, say) is ended and a writer one begun. On
    PostgreSQL nothing is needed here; rows are locked where they are read (``lock_claim``).
    """
    session = session or db.session()
    if session.get_bind().dialect.name != "sqlite" or session.info.get("writer"):
        return
    if session.in_transaction():
        if session.new or session.dirty or session.deleted:
            raise RuntimeError("begin_write() called with unflushed changes in the session")
        session.commit()
    with writer():
        session.connection()
    session.info["writer"] = True


@event.listens_for(Session, "after_begin")
def _note_writer(session: Session, transaction, connection: Connection) -> None:
    # Savepoints begin too; only the outermost transaction says whether it holds the write lock.
    if connection.dialect.name == "sqlite" and transaction.parent is None:
        session.info["writer"] = _writer.get()


@event.listens_for(Session, "after_transaction_end")
def _forget_writer(session: Session, transaction) -> None:
    if transaction.parent is None:
        session.info.pop("writer", None)


def release_for_network(session: Session | None = None) -> None:
    """End the session's transaction (nothing may be pending) before waiting on another server.

    A writer's transaction holds SQLite's one write lock, and a row lock on PostgreSQL: held
    across a call to Label Studio, it would keep webhooks waiting for as long as that call.
    """
    session = session or db.session()
    if not session.in_transaction():
        return
    if session.new or session.dirty or session.deleted:
        raise RuntimeError("release_for_network() called with unflushed changes in the session")
    session.commit()


def lock_rows(model, ids: list[int]) -> None:
    """Lock rows for the rest of the transaction and refresh them (PostgreSQL ``FOR UPDATE``).

    On SQLite the writer transaction (``begin_write``) already excludes every other writer.
    """
    if not ids:
        return
    if db.session.get_bind().dialect.name == "sqlite":
        begin_write()
        return
    db.session.execute(
        sa.select(model)
        .where(model.id.in_(ids))
        .order_by(model.id)
        # FOR NO KEY UPDATE: rows that only reference these (a claim match, an annotation)
        # can still be inserted meanwhile, so ingest and the webhook never deadlock.
        .with_for_update(key_share=True)
        .execution_options(populate_existing=True)
    ).all()
