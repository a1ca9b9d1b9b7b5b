"""Backups that restore: `workbench backup` and `workbench restore`, on SQLite and on PostgreSQL.

The restore target is a second SQLite file, or a second PostgreSQL database (the test database's
name + ``_restore``) that these tests create and drop.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import sqlite3
import stat
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.conftest import base_config
from tests.factories import annotation_payload, link_claim, make_article
from tests.test_webhook import post
from workbench.backup import Manifest, atomic_path, check_pg_dump_version, libpq_connection
from workbench.db import db
from workbench.models import Article, AuditEvent, Claim

# --- helpers -----------------------------------------------------------------------------------


def kind() -> str:
    return db.engine.url.get_backend_name()


def cli(app, *args: str):
    """Run a workbench command against ``app``'s database (its own app context)."""
    with app.app_context():
        return app.test_cli_runner().invoke(args=list(args))


def fingerprint() -> tuple:
    """What a database holds, enough to tell it changed: counts and the chain head."""
    db.session.remove()
    count = lambda model: db.session.scalar(sa.select(sa.func.count()).select_from(model))  # noqa: E731
    head = db.session.scalar(sa.select(AuditEvent.hash).order_by(AuditEvent.seq.desc()).limit(1))
    return count(Article), count(Claim), count(AuditEvent), head


def last_event() -> AuditEvent:
    db.session.remove()
    return db.session.scalar(sa.select(AuditEvent).order_by(AuditEvent.seq.desc()).limit(1))


def sha256_of(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def export(app, fmt: str, out: Path) -> tuple[bytes, str]:
    """Export through the CLI; return the bytes with the export's own audit hash masked, and that hash."""
    result = cli(app, "export", "--format", fmt, "--output", str(out))
    assert result.exit_code == 0, result.output
    audit_hash = re.search(r"audit head ([0-9a-f]{64})", result.output).group(1)
    data = out.read_bytes()
    assert data.count(audit_hash.encode()) == 1  # one record, stamped once
    return data.replace(audit_hash.encode(), b"<audit hash of this export>"), audit_hash


def write_backup(path: Path, content: bytes, database: str, **fields) -> Path:
    """Write a file and a manifest that matches it (a backup as far as the checks can tell)."""
    path.write_bytes(content)
    manifest = Manifest(
        database=database,
        file=path.name,
        bytes=len(content),
        sha256=hashlib.sha256(content).hexdigest(),
        alembic_revision="0006",
        audit={"events": 0, "head_seq": 0, "head_hash": "0" * 64},
        created_at="2031-04-02T00:00:00.000000+00:00",
        source="elsewhere",
        **fields,
    )
    path.with_name(path.name + ".json").write_text(manifest.to_json())
    return path


# --- fixtures ----------------------------------------------------------------------------------


@pytest.fixture
def filled(app, client, reviewer):
    """A real database: an article ingested, its claim labelled twice, a verdict recorded and published."""
    article = make_article(url="https://news.example.org/port-ellis", title="Port Ellis budget")
    claim = next(c for c in article.claims if c.checkworthy)
    link_claim(claim, task_id=777, project_id=3)
    for annotation_id, user_id in ((31, 9), (32, 10)):
        body = annotation_payload(annotation_id, 777, user_id=user_id, verdict="Mostly false", project_id=3)
        assert post(client, body).status_code == 200
    for body in ({"rating": "Mostly false", "rationale": "Ministry data show 3.9%."}, {"action": "publish"}):
        db.session.expire_all()
        version = db.session.get(Claim, claim.id).version
        path = "verdict" if "rating" in body else "review"
        response = client.post(
            f"/api/v1/claims/{claim.id}/{path}",
            headers=reviewer.headers,
            json={**body, "claim_version": version},
        )
        assert response.status_code == 201, response.json
    db.session.expire_all()
    assert db.session.get(Claim, claim.id).published_at is not None
    return claim.id


@pytest.fixture
def target(app, database_url, tmp_path):
    """A second, empty database of the suite's kind, and an app on it."""
    from workbench import create_app
    from workbench.config import normalise_database_url

    admin = None
    if database_url.startswith("sqlite"):
        url = f"sqlite:///{tmp_path / 'restored' / 'workbench.db'}"
    else:
        name = f"{sa.make_url(database_url).database}_restore"
        url = sa.make_url(database_url).set(database=name).render_as_string(hide_password=False)
        admin = sa.create_engine(normalise_database_url(database_url), isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    restored = create_app(base_config(url, tmp_path))
    yield restored
    with restored.app_context():
        db.session.remove()
        db.engine.dispose()
    if admin is not None:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


@pytest.fixture
def backup_file(app, runner, filled, tmp_path) -> Path:
    folder = tmp_path / "backups"
    folder.mkdir()
    path = folder / "workbench.backup"
    result = runner.invoke(args=["backup", "--to", str(path)])
    assert result.exit_code == 0, result.output
    return path


# --- backup and restore ------------------------------------------------------------------------


def test_backup_writes_the_file_and_a_manifest_and_prints_what_it_wrote(app, runner, filled, tmp_path):
    before = fingerprint()
    revision = db.session.scalar(sa.text("SELECT version_num FROM alembic_version"))
    folder = tmp_path / "backups"
    folder.mkdir()
    path = folder / "nightly.backup"
    result = runner.invoke(args=["backup", "--to", str(path)])
    assert result.exit_code == 0, result.output

    manifest = json.loads((folder / "nightly.backup.json").read_text())
    size, sha = path.stat().st_size, sha256_of(path)
    assert manifest["format"] == "workbench-backup/1" and manifest["file"] == "nightly.backup"
    assert (manifest["bytes"], manifest["sha256"]) == (size, sha)
    assert manifest["database"] == kind() and manifest["alembic_revision"] == revision
    assert manifest["audit"] == {"events": before[2], "head_seq": before[2], "head_hash": before[3]}
    assert "password" not in json.dumps(manifest).lower()
    for shown in (str(path), f"{size} bytes", sha, kind(), revision, f"{before[2]} events", before[3]):
        assert shown in result.output
    # Only the two files, both private to their owner: no partial file left behind.
    assert sorted(os.listdir(folder)) == ["nightly.backup", "nightly.backup.json"]
    assert not [n for n in os.listdir(tmp_path) if n.endswith(".partial")]
    assert stat.S_IMODE(path.stat().st_mode) == 0o600

    # The backup is a read: its event comes after the snapshot, so the backup does not hold it.
    event = last_event()
    assert event.seq == before[2] + 1 and event.action == "database.backed_up"
    assert event.payload["sha256"] == sha and event.payload["audit"]["head_hash"] == before[3]
    assert runner.invoke(args=["audit", "verify"]).exit_code == 0


def test_a_restored_database_verifies_its_chain_and_exports_the_same_bytes(
    app, runner, filled, backup_file, target, tmp_path
):
    manifest = json.loads(backup_file.with_name(backup_file.name + ".json").read_text())
    result = cli(target, "restore", "--from", str(backup_file))
    assert result.exit_code == 0, result.output
    assert f"sha256 {manifest['sha256']}" in result.output
    assert "audit chain intact" in result.output

    verified = cli(target, "audit", "verify")  # row digests included
    assert verified.exit_code == 0 and "audit chain intact" in verified.output
    with target.app_context():
        restored = fingerprint()
        event = last_event()
        assert restored[2] == manifest["audit"]["events"] + 1
        assert event.action == "database.restored" and event.payload["sha256"] == manifest["sha256"]
        assert event.payload["audit"] == manifest["audit"]
        assert not db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "database.backed_up"))
        assert db.session.get(Claim, filled).published_at is not None

    # The same records, byte for byte; only the hash of each export's own audit event differs,
    # as each export appends that event to its own database's chain.
    for fmt in ("json", "csv"):
        original, original_hash = export(app, fmt, tmp_path / f"original.{fmt}")
        copy, copy_hash = export(target, fmt, tmp_path / f"restored.{fmt}")
        assert copy == original
        assert copy_hash != original_hash
    assert b"Ministry data show 3.9%." in original


def test_restore_refuses_a_database_that_is_not_empty_unless_told_yes(app, runner, filled, backup_file):
    make_article()  # the database moved on since the backup
    moved_on = fingerprint()
    refused = runner.invoke(args=["restore", "--from", str(backup_file)])
    assert refused.exit_code == 1
    assert "is not empty" in refused.output and "--yes" in refused.output and "articles" in refused.output
    assert fingerprint() == moved_on

    replaced = runner.invoke(args=["restore", "--from", str(backup_file), "--yes"])
    assert replaced.exit_code == 0, replaced.output
    manifest = json.loads(backup_file.with_name(backup_file.name + ".json").read_text())
    articles, _, events, _ = fingerprint()
    assert articles == 1 and events == manifest["audit"]["events"] + 1
    assert last_event().action == "database.restored"
    assert runner.invoke(args=["audit", "verify"]).exit_code == 0


# --- refusals leave the target as it was --------------------------------------------------------


@pytest.mark.parametrize("damage", ["flipped byte", "truncated", "appended"])
def test_a_damaged_backup_is_refused_by_its_sha256(app, runner, backup_file, damage):
    data = bytearray(backup_file.read_bytes())
    if damage == "flipped byte":
        data[len(data) // 2] ^= 0x01
    elif damage == "truncated":
        del data[-100:]
    else:
        data += b"\0"
    backup_file.write_bytes(bytes(data))
    before = fingerprint()
    result = runner.invoke(args=["restore", "--from", str(backup_file), "--yes"])
    assert result.exit_code == 1
    assert "does not match its manifest" in result.output and "sha256" in result.output
    assert fingerprint() == before


def test_a_backup_without_its_manifest_or_with_a_broken_one_is_refused(app, runner, backup_file):
    before = fingerprint()
    manifest = backup_file.with_name(backup_file.name + ".json")
    text = manifest.read_text()
    manifest.write_text(text[: len(text) // 2])
    broken = runner.invoke(args=["restore", "--from", str(backup_file), "--yes"])
    assert broken.exit_code == 1 and "cannot read the backup manifest" in broken.output
    manifest.unlink()
    missing = runner.invoke(args=["restore", "--from", str(backup_file), "--yes"])
    assert missing.exit_code == 1 and "has no manifest" in missing.output
    nothing = runner.invoke(args=["restore", "--from", str(backup_file.with_name("nope")), "--yes"])
    assert nothing.exit_code == 1 and "there is no backup file" in nothing.output
    assert fingerprint() == before


def _other_kinds_backup(folder: Path) -> tuple[Path, str]:
    """A backup of the kind the suite's database is not, with a manifest that matches it."""
    if kind() == "sqlite":
        dump = write_backup(folder / "dump.pgdump", b"PGDMP\x01\x0e\x00" + b"\0" * 64, "postgresql")
        return dump, "is a PostgreSQL backup and the target database is SQLite"
    path = folder / "copy.sqlite"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE alembic_version (version_num TEXT)")
    conn.commit()
    conn.close()
    message = "is an SQLite backup and the target database is PostgreSQL"
    return write_backup(path, path.read_bytes(), "sqlite"), message


def test_a_backup_of_the_other_kind_of_database_is_refused(app, runner, filled, tmp_path):
    path, message = _other_kinds_backup(tmp_path)
    before = fingerprint()
    result = runner.invoke(args=["restore", "--from", str(path), "--yes"])
    assert result.exit_code == 1 and message in result.output
    assert fingerprint() == before


def test_a_file_that_is_not_what_its_manifest_says_is_refused(app, runner, filled, tmp_path):
    lying = write_backup(tmp_path / "lying", b"PGDMP" + b"\0" * 64, "sqlite")
    junk = write_backup(tmp_path / "junk", b"just some text", kind())
    before = fingerprint()
    result = runner.invoke(args=["restore", "--from", str(lying), "--yes"])
    assert result.exit_code == 1 and "is a PostgreSQL backup, but its manifest says SQLite" in result.output
    result = runner.invoke(args=["restore", "--from", str(junk), "--yes"])
    assert result.exit_code == 1 and "neither an SQLite database nor a pg_dump archive" in result.output
    assert fingerprint() == before


def test_backup_refuses_to_overwrite_the_sqlite_database_itself(app, runner):
    if kind() != "sqlite":
        pytest.skip("SQLite's database is a file")
    result = runner.invoke(args=["backup", "--to", db.engine.url.database])
    assert result.exit_code == 1 and "is the database itself" in result.output


def test_a_backup_of_an_older_schema_is_restored_and_the_upgrade_left_to_the_operator(
    app, backup_file, target, tmp_path
):
    """A backup from before an upgrade restores as it was; its chain is verified once upgraded."""
    assert cli(target, "restore", "--from", str(backup_file)).exit_code == 0
    with target.app_context():
        db.session.execute(sa.text("UPDATE alembic_version SET version_num = '0005'"))
        db.session.commit()
    older = tmp_path / "older.backup"
    assert cli(target, "backup", "--to", str(older)).exit_code == 0

    result = cli(target, "restore", "--from", str(older), "--yes")
    assert result.exit_code == 0, result.output
    assert "revision 0005" in result.output and "run 'workbench db upgrade'" in result.output
    assert "audit chain intact" not in result.output
    # Exactly the older backup's chain: nothing appended, as this schema is not the workbench's own.
    manifest = json.loads(older.with_name("older.backup.json").read_text())
    with target.app_context():
        assert fingerprint()[2:] == (manifest["audit"]["events"], manifest["audit"]["head_hash"])
        assert last_event().action == "database.restored"  # the first restore's, none from this one


def test_restore_refuses_a_postgresql_target_with_tables_the_backup_lacks(app, backup_file, target):
    if kind() != "postgresql":
        pytest.skip("an SQLite restore replaces the whole file")
    with target.app_context():
        db.session.execute(sa.text("CREATE TABLE added_by_a_later_migration (id integer)"))
        db.session.commit()
    result = cli(target, "restore", "--from", str(backup_file))
    assert result.exit_code == 1
    assert "holds tables the backup does not (added_by_a_later_migration)" in result.output
    with target.app_context():
        db.session.remove()
        assert sa.inspect(db.engine).get_table_names() == ["added_by_a_later_migration"]


# --- PostgreSQL: the tools ----------------------------------------------------------------------


def fake_pg_dump(folder: Path, version: str, body: str = "exit 0") -> None:
    """Put a pg_dump first on PATH that reports ``version`` and otherwise runs ``body``."""
    script = folder / "pg_dump"
    script.write_text(
        "#!/bin/sh\n"
        f'if [ "$1" = "--version" ]; then echo "pg_dump (PostgreSQL) {version}"; exit 0; fi\n'
        f"{body}\n"
    )
    script.chmod(0o755)


def test_pg_dump_older_than_the_server_is_refused_saying_which_versions(app, runner, tmp_path, monkeypatch):
    if kind() != "postgresql":
        pytest.skip("pg_dump is PostgreSQL's")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake_pg_dump(bin_dir, "9.6.24")
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    out = tmp_path / "out"
    out.mkdir()
    result = runner.invoke(args=["backup", "--to", str(out / "b")])
    assert result.exit_code == 1
    assert re.search(r"pg_dump 9\.6\.24 cannot dump this PostgreSQL \d+\.\d+ server", result.output)
    assert "or newer" in result.output and os.listdir(out) == []


def test_a_failed_pg_dump_leaves_no_file_and_no_event(app, runner, filled, tmp_path, monkeypatch):
    if kind() != "postgresql":
        pytest.skip("pg_dump is PostgreSQL's")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    body = (
        'for a in "$@"; do case "$a" in --file=*) printf "PGDMP half" > "${a#--file=}";; esac; done\n'
        'echo "pg_dump: error: connection to server lost" >&2; exit 1'
    )
    fake_pg_dump(bin_dir, "99.1", body)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    before = fingerprint()
    out = tmp_path / "out"
    out.mkdir()
    result = runner.invoke(args=["backup", "--to", str(out / "b")])
    assert result.exit_code == 1 and "connection to server lost" in result.output
    assert os.listdir(out) == [] and fingerprint() == before


def test_the_password_travels_in_the_environment_never_on_the_command_line():
    from psycopg.conninfo import conninfo_to_dict

    conninfo, env = libpq_connection(
        sa.make_url("postgresql+psycopg://wb:s3cr%40t%20pw@db.example.org:5433/work%20bench?sslmode=require")
    )
    assert "s3cr" not in conninfo and env["PGPASSWORD"] == "s3cr@t pw"
    assert conninfo_to_dict(conninfo) == {
        "host": "db.example.org",
        "port": "5433",
        "dbname": "work bench",
        "user": "wb",
        "sslmode": "require",
    }


@pytest.mark.parametrize(
    ("pg_dump", "server", "ok"),
    [("15.20", "15.2", True), ("16.1", "15.20", True), ("15.0", "9.6.24", True), ("14.9", "15.2", False)],
)
def test_pg_dump_must_be_at_least_the_servers_major_version(pg_dump, server, ok):
    from workbench.backup import BackupError

    if ok:
        check_pg_dump_version(pg_dump, server)
    else:
        with pytest.raises(BackupError, match=r"pg_dump 14\.9 cannot dump this PostgreSQL 15\.2 server"):
            check_pg_dump_version(pg_dump, server)


def test_a_write_that_fails_leaves_the_old_file_and_no_partial_one(tmp_path):
    path = tmp_path / "b"
    path.write_bytes(b"the previous backup")
    with pytest.raises(RuntimeError), atomic_path(path) as tmp:
        tmp.write_bytes(b"half a backup")
        raise RuntimeError("disk full")
    assert path.read_bytes() == b"the previous backup" and os.listdir(tmp_path) == ["b"]
    with atomic_path(path) as tmp:
        tmp.write_bytes(b"the new backup")
    assert path.read_bytes() == b"the new backup" and os.listdir(tmp_path) == ["b"]
