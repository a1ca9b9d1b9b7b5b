"""Backups that restore: ``pg_dump``/``pg_restore`` for PostgreSQL, SQLite's online backup API.

A backup is one file and a sidecar manifest ``FILE.json`` naming its size, sha256, database kind,
Alembic revision and the audit chain's head and event count, all as of the snapshot itself.
Restore checks the file against its manifest and the target before touching anything, replaces
the whole database (the chain included), records ``database.restored`` in the restored chain and
verifies it.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import sqlite3
import subprocess
import tempfile
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from workbench import __version__, audit
from workbench.audit.chain import Appended, VerifyReport, stamp
from workbench.db import begin_write, db
from workbench.errors import Conflict, ValidationError, WorkbenchError
from workbench.models.audit import GENESIS_HASH
from workbench.models.base import utcnow

MANIFEST_FORMAT = "workbench-backup/1"
KINDS = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}
_A_KIND = {"sqlite": "an SQLite", "postgresql": "a PostgreSQL"}
# The first bytes of each kind's file: an SQLite database, a pg_dump custom-format archive.
_MAGIC = {"sqlite": b"SQLite format 3\x00", "postgresql": b"PGDMP"}
# How long pg_dump and pg_restore wait for a table lock before giving up instead of hanging.
_LOCK_WAIT = "30s"


class BackupError(WorkbenchError):
    """A backup or restore tool failed, or is missing, or is too old for the server."""

    code = "backup_failed"


@dataclass(frozen=True)
class Snapshot:
    """What a database held at the moment it was copied: schema revision and chain head."""

    alembic_revision: str
    events: int
    head_seq: int
    head_hash: str

    def audit(self) -> dict[str, Any]:
        return {"events": self.events, "head_seq": self.head_seq, "head_hash": self.head_hash}


@dataclass(frozen=True)
class Manifest:
    """The sidecar ``FILE.json``: what the backup file is and what it holds."""

    database: str
    file: str
    bytes: int
    sha256: str
    alembic_revision: str
    audit: dict[str, Any]
    created_at: str
    source: str
    workbench_version: str = __version__
    tools: dict[str, str] = field(default_factory=dict)
    format: str = MANIFEST_FORMAT

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2, sort_keys=True) + "\n"

    @classmethod
    def read(cls, path: Path) -> Manifest:
        """Read and check a manifest file; raise ValidationError naming what is wrong."""
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise ValidationError(f"cannot read the backup manifest {path}: {exc}") from exc
        if not isinstance(data, dict) or data.get("format") != MANIFEST_FORMAT:
            raise ValidationError(f"{path} is not a workbench backup manifest (format {MANIFEST_FORMAT!r})")
        try:
            manifest = cls(**data)
        except TypeError as exc:
            raise ValidationError(f"the backup manifest {path} is malformed: {exc}") from exc
        sha = manifest.sha256
        if manifest.database not in KINDS or not isinstance(manifest.bytes, int):
            raise ValidationError(f"the backup manifest {path} is malformed: bad 'database' or 'bytes'")
        if not isinstance(manifest.audit, dict) or not isinstance(manifest.tools, dict):
            raise ValidationError(f"the backup manifest {path} is malformed: bad 'audit' or 'tools'")
        if not (isinstance(sha, str) and re.fullmatch(r"[0-9a-f]{64}", sha)):
            raise ValidationError(f"the backup manifest {path} is malformed: bad 'sha256'")
        return manifest


@dataclass(frozen=True)
class BackupResult:
    path: Path
    manifest_path: Path
    manifest: Manifest
    event: Appended


@dataclass(frozen=True)
class RestoreResult:
    manifest: Manifest
    restored: Snapshot
    #: Where the restored database differs from what the manifest says it holds (empty: nowhere).
    mismatches: list[str]
    #: The schema revision this workbench expects; the chain is verified only at that revision.
    expected_revision: str | None
    event: Appended | None = None
    report: VerifyReport | None = None


def manifest_path(path: Path) -> Path:
    """Return where the manifest of backup ``path`` lives: beside it, ``FILE.json``."""
    return path.with_name(path.name + ".json")


def database_kind(url: sa.engine.URL) -> str:
    """Return ``sqlite`` or ``postgresql`` for a SQLAlchemy URL, or refuse any other database."""
    kind = url.get_backend_name()
    if kind not in KINDS:
        raise ValidationError(f"backups support SQLite and PostgreSQL, not {kind}")
    return kind


def safe_url(url: sa.engine.URL) -> str:
    """Render a database URL without its password (and without the SQLAlchemy driver name)."""
    return url.set(drivername=url.get_backend_name()).render_as_string(hide_password=True)


def describe(url: sa.engine.URL) -> str:
    """Name a database for messages, without its password."""
    return f"{KINDS.get(url.get_backend_name(), url.get_backend_name())} at {safe_url(url)}"


# --- files -------------------------------------------------------------------------------------


def _fsync(path: Path, *, directory: bool = False) -> None:
    fd = os.open(path, os.O_RDONLY | (os.O_DIRECTORY if directory else 0))
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@contextmanager
def atomic_path(path: Path) -> Iterator[Path]:
    """Yield a fresh temporary file beside ``path``; rename it onto ``path`` only if the block succeeds.

    A reader of ``path`` sees the old file or the whole new one, never a partial one, and a
    failure leaves nothing behind. The file is readable by its owner only: backups hold e-mails
    and password hashes.
    """
    fd, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".partial")
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        _fsync(tmp)
        os.replace(tmp, path)
        _fsync(path.parent, directory=True)
    finally:
        tmp.unlink(missing_ok=True)


def file_digest(path: Path) -> tuple[int, str]:
    """Return the size and sha256 of a file, read in chunks."""
    digest, size = hashlib.sha256(), 0
    with open(path, "rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
            size += len(chunk)
    return size, digest.hexdigest()


def _kind_of_file(path: Path) -> str | None:
    with open(path, "rb") as handle:
        head = handle.read(16)
    return next((kind for kind, magic in _MAGIC.items() if head.startswith(magic)), None)


def _sqlite_path(url: sa.engine.URL) -> Path:
    if url.database in (None, "", ":memory:") or str(url.database).startswith("file:"):
        raise ValidationError(f"backups need an SQLite database file, not {url.database or 'memory'}")
    return Path(url.database).absolute()


def _open_sqlite(path: Path, mode: str) -> sqlite3.Connection:
    """Open an existing SQLite file (``ro`` or ``rw``): never create one by mistake."""
    return sqlite3.connect(f"{path.as_uri()}?mode={mode}", uri=True, timeout=30)


# --- what a database holds ---------------------------------------------------------------------


def _snapshot(query: Callable[[str], Sequence[Sequence[Any]]]) -> Snapshot:
    """Read the revision and chain head through ``query``, inside the snapshot being copied."""
    try:
        revisions = [row[0] for row in query("SELECT version_num FROM alembic_version")]
        events = int(query("SELECT count(*) FROM audit_events")[0][0])
        newest = query("SELECT seq, hash FROM audit_events ORDER BY seq DESC LIMIT 1")
    except (sa.exc.DBAPIError, sqlite3.Error) as exc:
        raise ValidationError(
            "the database holds no workbench schema (run 'workbench db upgrade' first): "
            f"{str(exc).strip().splitlines()[0]}"
        ) from exc
    if len(revisions) != 1:
        raise ValidationError(f"the database's alembic_version table holds {len(revisions)} revisions, not 1")
    head_seq, head_hash = (newest[0][0], newest[0][1]) if newest else (0, GENESIS_HASH)
    return Snapshot(revisions[0], events, int(head_seq), head_hash)


def _session_snapshot() -> Snapshot:
    return _snapshot(lambda sql: db.session.execute(sa.text(sql)).all())


def _tables_with_rows(tables: Sequence[str]) -> list[str]:
    """Return the tables (but ``alembic_version``) of the target that hold at least one row."""
    quote = db.engine.dialect.identifier_preparer.quote
    with db.engine.connect() as conn:
        return [
            name
            for name in sorted(tables)
            if name != "alembic_version"
            and conn.execute(sa.text(f"SELECT EXISTS (SELECT 1 FROM {quote(name)})")).scalar()
        ]


def _target_tables() -> list[str]:
    with db.engine.connect() as conn:
        return sa.inspect(conn).get_table_names()


def _expected_revision() -> str | None:
    """Return the newest migration this workbench ships (what ``workbench db upgrade`` reaches)."""
    from alembic.script import ScriptDirectory
    from flask import current_app

    migrate = current_app.extensions.get("migrate")
    return ScriptDirectory(migrate.directory).get_current_head() if migrate else None


# --- PostgreSQL --------------------------------------------------------------------------------


def libpq_connection(url: sa.engine.URL) -> tuple[str, dict[str, str]]:
    """Return libpq connection parameters for ``url`` without its password, and the environment.

    The password travels as ``PGPASSWORD`` so that it never appears on a command line, where
    any user of the machine could read it (``ps``). The parameters are a keyword/value string,
    quoted by psycopg, so any user or database name survives intact.
    """
    from psycopg.conninfo import make_conninfo

    env = dict(os.environ)
    if url.password is not None:
        env["PGPASSWORD"] = str(url.password)
    params: dict[str, Any] = {
        "host": url.host,
        "port": url.port,
        "dbname": url.database,
        "user": url.username,
    }
    # Query parameters are libpq's own (SQLAlchemy hands them to psycopg, and psycopg to libpq).
    for key, value in url.query.items():
        params[key] = ",".join(value) if isinstance(value, tuple) else value
    return make_conninfo(**{k: v for k, v in params.items() if v is not None}), env


def _tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise BackupError(
            f"{name} is not on PATH: install the PostgreSQL client tools (Debian: postgresql-client) "
            f"of the server's version or newer"
        )
    return found


def major_version(version: str) -> tuple[int, ...]:
    """Return a PostgreSQL major version: ``(15,)`` for 15.20, ``(9, 6)`` for 9.6.24."""
    numbers = [int(n) for n in re.findall(r"\d+", version)[:2]]
    return tuple(numbers[:2]) if numbers and numbers[0] < 10 else tuple(numbers[:1])


def _tool_version(path: str) -> str:
    """Return the version a PostgreSQL client tool reports (``pg_dump (PostgreSQL) 15.20 …``)."""
    out = subprocess.run([path, "--version"], capture_output=True, text=True, stdin=subprocess.DEVNULL)
    match = re.search(r"\)\s*(\d+(?:\.\d+)*)", out.stdout)
    if out.returncode != 0 or match is None:
        raise BackupError(f"{path} --version did not say its version: {(out.stdout + out.stderr).strip()}")
    return match.group(1)


def _server_version(conn: sa.Connection) -> str:
    number = int(conn.exec_driver_sql("SHOW server_version_num").scalar_one())
    if number >= 100000:  # 15.20 is 150020
        return f"{number // 10000}.{number % 10000}"
    return f"{number // 10000}.{number // 100 % 100}.{number % 100}"  # 9.6.24 is 90624


def check_pg_dump_version(pg_dump_version: str, server_version: str) -> None:
    """Refuse a pg_dump older than the server: it cannot dump a newer server's catalog."""
    if major_version(pg_dump_version) < major_version(server_version):
        wanted = ".".join(map(str, major_version(server_version)))
        raise BackupError(
            f"pg_dump {pg_dump_version} cannot dump this PostgreSQL {server_version} server: "
            f"pg_dump must be version {wanted} or newer. Install the PostgreSQL {wanted} client "
            f"tools (Debian: postgresql-client-{wanted}) and put them first on PATH"
        )


def _run(argv: list[str], env: dict[str, str], what: str, secret: str | None) -> None:
    done = subprocess.run(argv, env=env, capture_output=True, text=True, stdin=subprocess.DEVNULL)
    if done.returncode != 0:
        detail = " | ".join(line.strip() for line in done.stderr.strip().splitlines()[-4:]) or "no message"
        if secret:
            detail = detail.replace(secret, "***")
        hint = ""
        if "lock timeout" in detail:
            hint = " (a workbench process holds the tables: stop the web server and workers first)"
        raise BackupError(f"{what} failed (exit {done.returncode}): {detail}{hint}")


def _pg_dump(url: sa.engine.URL, into: Path) -> tuple[Snapshot, dict[str, str]]:
    """Dump the database into ``into`` (custom format), reading the snapshot facts in the same snapshot.

    pg_dump runs on a snapshot exported by our own REPEATABLE READ transaction, so the revision
    and chain head read here are exactly those of the dump, however busy the database is.
    """
    pg_dump = _tool("pg_dump")
    dump_version = _tool_version(pg_dump)
    conninfo, env = libpq_connection(url)
    with db.engine.connect() as conn:
        conn = conn.execution_options(isolation_level="REPEATABLE READ")
        with conn.begin():
            server_version = _server_version(conn)
            check_pg_dump_version(dump_version, server_version)
            snapshot_id = conn.exec_driver_sql("SELECT pg_export_snapshot()").scalar()
            facts = _snapshot(lambda sql: conn.exec_driver_sql(sql).all())
            argv = [
                pg_dump,
                "--format=custom",
                f"--file={into}",
                f"--snapshot={snapshot_id}",
                f"--lock-wait-timeout={_LOCK_WAIT}",
                "--no-password",
                f"--dbname={conninfo}",
            ]
            _run(argv, env, "pg_dump", url.password and str(url.password))
    return facts, {"pg_dump": dump_version, "server": server_version}


def _dump_tables(pg_restore: str, path: Path, env: dict[str, str]) -> set[str]:
    """List the tables of the default schema in a dump (``pg_restore --list``); refuse an unreadable one."""
    listing = subprocess.run(
        [pg_restore, "--list", str(path)], env=env, capture_output=True, text=True, stdin=subprocess.DEVNULL
    )
    if listing.returncode != 0:
        raise BackupError(f"pg_restore cannot read {path}: {listing.stderr.strip()}")
    schema = db.engine.dialect.default_schema_name or "public"
    return set(re.findall(rf"^\d+; \d+ \d+ TABLE {re.escape(schema)} (\S+) ", listing.stdout, re.MULTILINE))


def _pg_restore_argv(path: Path, manifest: Manifest, url: sa.engine.URL) -> tuple[list[str], dict[str, str]]:
    """Check that this pg_restore reads the dump and that the target can take it; return the call."""
    pg_restore = _tool("pg_restore")
    version = _tool_version(pg_restore)
    dumped_by = manifest.tools.get("pg_dump")
    if dumped_by and major_version(version) < major_version(dumped_by):
        raise BackupError(
            f"pg_restore {version} cannot be trusted with a dump written by pg_dump {dumped_by}: "
            "use the PostgreSQL client tools of that version or newer"
        )
    conninfo, env = libpq_connection(url)
    # Without this, a workbench process idle inside a transaction would make the restore wait forever.
    env["PGOPTIONS"] = f"{env.get('PGOPTIONS', '')} -c lock_timeout={_LOCK_WAIT}".strip()
    extra = sorted(set(_target_tables()) - _dump_tables(pg_restore, path, env))
    if extra:
        raise Conflict(
            f"the target database holds tables the backup does not ({', '.join(extra)}), which a "
            "restore would leave behind: restore into a new, empty database (createdb), "
            "or drop them first"
        )
    argv = [
        pg_restore,
        "--clean",
        "--if-exists",
        # Restored objects belong to whoever restores; roles and grants of the old server may not exist.
        "--no-owner",
        "--no-acl",
        "--no-comments",
        # All or nothing: a failure half-way leaves the target as it was.
        "--single-transaction",
        "--exit-on-error",
        "--no-password",
        f"--dbname={conninfo}",
        str(path),
    ]
    return argv, env


# --- SQLite ------------------------------------------------------------------------------------


def _sqlite_copy(url: sa.engine.URL, into: Path) -> Snapshot:
    """Copy the live SQLite database into ``into`` with the online backup API.

    The copy is one consistent snapshot even while the workbench writes (a single backup step
    under one read transaction); it is switched out of WAL so the one file holds everything.
    """
    source = _sqlite_path(url)
    if not source.is_file():
        raise ValidationError(f"there is no SQLite database at {source} to back up")
    src = _open_sqlite(source, "rw")
    try:
        dst = sqlite3.connect(into)
        try:
            src.backup(dst)
            dst.execute("PRAGMA journal_mode=DELETE")
            return _snapshot(lambda sql: dst.execute(sql).fetchall())
        finally:
            dst.close()
    finally:
        src.close()


def _check_sqlite_backup(path: Path) -> None:
    conn = _open_sqlite(path.absolute(), "ro")
    try:
        result = conn.execute("PRAGMA quick_check").fetchall()
    except sqlite3.Error as exc:
        raise ValidationError(f"{path} is not a readable SQLite database: {exc}") from exc
    finally:
        conn.close()
    if result != [("ok",)]:
        raise ValidationError(f"{path} is a damaged SQLite database: {result[0][0]}")


def _sqlite_restore(path: Path, target: Path) -> None:
    """Replace the target's pages with the backup's, in one write transaction (all or nothing)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    src = _open_sqlite(path.absolute(), "ro")
    try:
        dst = sqlite3.connect(target, timeout=30)
        try:
            src.backup(dst)
        finally:
            dst.close()
    finally:
        src.close()


# --- the two operations ------------------------------------------------------------------------


def create_backup(path: Path | str, *, actor: str) -> BackupResult:
    """Write a backup of the app's database to ``path`` and its manifest beside it.

    Both files are written atomically. Afterwards ``database.backed_up`` is appended to the
    chain (so the backup itself does not hold that event) and committed.
    """
    path = Path(path).absolute()
    url = db.engine.url
    kind = database_kind(url)
    if path.is_dir():
        raise ValidationError(f"{path} is a folder: name the backup file to write")
    if not path.parent.is_dir():
        raise ValidationError(f"the folder {path.parent} does not exist")
    if kind == "sqlite" and path == _sqlite_path(url):
        raise ValidationError(f"{path} is the database itself: write the backup somewhere else")
    # Nothing of ours may hold a transaction open while the snapshot is taken.
    db.session.commit()
    with atomic_path(path) as tmp:
        if kind == "postgresql":
            facts, tools = _pg_dump(url, tmp)
        else:
            facts, tools = _sqlite_copy(url, tmp), {"sqlite": sqlite3.sqlite_version}
        size, sha256 = file_digest(tmp)
    manifest = Manifest(
        database=kind,
        file=path.name,
        bytes=size,
        sha256=sha256,
        alembic_revision=facts.alembic_revision,
        audit=facts.audit(),
        created_at=stamp(utcnow()),
        source=safe_url(url),
        tools=tools,
    )
    beside = manifest_path(path)
    with atomic_path(beside) as tmp:
        tmp.write_text(manifest.to_json(), encoding="utf-8")
    begin_write()
    event = audit.append(
        actor,
        "database.backed_up",
        "database",
        kind,
        {
            "file": str(path),
            "bytes": size,
            "sha256": sha256,
            "alembic_revision": facts.alembic_revision,
            "audit": facts.audit(),
        },
    )
    db.session.commit()
    return BackupResult(path, beside, manifest, event)


def check_backup(path: Path | str, target_kind: str) -> Manifest:
    """Check a backup file against its manifest and the target's kind; return the manifest."""
    path = Path(path)
    if not path.is_file():
        raise ValidationError(f"there is no backup file at {path}")
    beside = manifest_path(path)
    if not beside.is_file():
        raise ValidationError(
            f"{path} has no manifest beside it ({beside.name}): without it the file cannot be "
            "checked, so it is not restored"
        )
    manifest = Manifest.read(beside)
    size, sha256 = file_digest(path)
    if (size, sha256) != (manifest.bytes, manifest.sha256):
        raise ValidationError(
            f"{path} does not match its manifest (damaged or truncated?): it is {size} bytes with "
            f"sha256 {sha256}, the manifest says {manifest.bytes} bytes with sha256 {manifest.sha256}"
        )
    found = _kind_of_file(path)
    if found != manifest.database:
        what = f"{_A_KIND[found]} backup" if found else "neither an SQLite database nor a pg_dump archive"
        raise ValidationError(f"{path} is {what}, but its manifest says {KINDS[manifest.database]}")
    if manifest.database != target_kind:
        raise ValidationError(
            f"{path} is {_A_KIND[manifest.database]} backup and the target database is "
            f"{KINDS[target_kind]}: a backup restores only into the same kind of database "
            f"(point WORKBENCH_DATABASE_URL at {_A_KIND[manifest.database]} database)"
        )
    return manifest


def restore_backup(path: Path | str, *, replace: bool, actor: str) -> RestoreResult:
    """Replace the app's database with the backup at ``path``, then record and verify.

    Every check (manifest, sha256, kind, tools, an occupied target without ``replace``) runs
    before the target is touched. Afterwards, when the restored schema is the one this
    workbench expects, ``database.restored`` is appended and committed and the chain verified.
    """
    path = Path(path)
    url = db.engine.url
    kind = database_kind(url)
    manifest = check_backup(path, kind)
    target = _sqlite_path(url) if kind == "sqlite" else None
    if target is None:
        argv, env = _pg_restore_argv(path, manifest, url)
    else:
        if target.exists() and target.samefile(path):
            raise ValidationError(f"{path} is the target database itself")
        _check_sqlite_backup(path)
    # An SQLite file that is not there yet is empty; connecting to look would create it.
    exists = target is None or (target.is_file() and target.stat().st_size > 0)
    occupied = _tables_with_rows(_target_tables()) if exists else []
    if occupied and not replace:
        raise Conflict(
            f"the target database ({describe(url)}) is not empty: it holds rows in "
            f"{', '.join(occupied)}. Restoring replaces all of it; pass --yes to go ahead "
            "(back it up first if it matters)"
        )
    # Our own connections must hold no lock, and none may outlive the old database.
    db.session.remove()
    db.engine.dispose()
    if target is None:
        _run(argv, env, "pg_restore", url.password and str(url.password))
    else:
        _sqlite_restore(path, target)
    db.engine.dispose()

    restored = _session_snapshot()
    expected = {
        "Alembic revision": (restored.alembic_revision, manifest.alembic_revision),
        "audit events": (restored.events, manifest.audit.get("events")),
        "audit head": (restored.head_hash, manifest.audit.get("head_hash")),
    }
    mismatches = [
        f"{name} is {got}, the manifest says {want}" for name, (got, want) in expected.items() if got != want
    ]
    result = RestoreResult(manifest, restored, mismatches, _expected_revision())
    if result.expected_revision is not None and restored.alembic_revision != result.expected_revision:
        db.session.commit()
        return result
    begin_write()
    event = audit.append(
        actor,
        "database.restored",
        "database",
        kind,
        {
            "file": str(path.absolute()),
            "bytes": manifest.bytes,
            "sha256": manifest.sha256,
            "backed_up_at": manifest.created_at,
            "source": manifest.source,
            "alembic_revision": manifest.alembic_revision,
            "audit": manifest.audit,
        },
    )
    db.session.commit()
    report = audit.verify()
    db.session.commit()
    return RestoreResult(manifest, restored, mismatches, result.expected_revision, event, report)
