"""The CLI fails in one ``error:`` line, never a traceback: database down, Label Studio wrong, bugs."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import click
import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from tests.factories import DEMO_TEXT, make_user
from workbench import audit
from workbench.cli import error_lines, fails_cleanly
from workbench.db import db
from workbench.errors import ValidationError, WorkbenchError
from workbench.models import AuditEvent

WORKBENCH = Path(sys.executable).parent / "workbench"
PASSWORD = "s3cret-Pw"
DOWN_URL = f"postgresql://postgres:{PASSWORD}@127.0.0.1:1/x"  # nothing listens on port 1
PROJECT = "Fact-check workbench"


# ---------------------------------------------------------------- a fake Label Studio


class _FakeLabelStudio(BaseHTTPRequestHandler):
    """Answer with ``server.reply`` (status, content type, body) or, for ``None``, a sane Label Studio."""

    def _answer(self) -> None:
        reply = self.server.reply  # type: ignore[attr-defined]
        if reply is None:
            path, _, query = self.path.partition("?")
            path = path.rstrip("/")
            if path == "/api/projects":
                # One page of projects: the SDK's pager asks for pages until one comes back empty.
                found = [] if "page=2" in query else [{"id": 1, "title": PROJECT}]
                reply = (
                    200,
                    "application/json",
                    {"count": 1, "next": None, "previous": None, "results": found},
                )
            elif path == "/api/projects/1":
                reply = (200, "application/json", {"id": 1, "title": PROJECT, "maximum_annotations": 2})
            elif path == "/api/users":
                reply = (200, "application/json", [{"id": 1, "email": "annotator@example.org"}])
            else:
                reply = (404, "application/json", {"detail": "Not found."})
        status, content_type, body = reply
        data = (body if isinstance(body, str) else json.dumps(body)).encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = _answer

    def log_message(self, *_args) -> None:
        pass  # keep the test output quiet


@pytest.fixture(scope="module")
def ls_server() -> Iterator[ThreadingHTTPServer]:
    """A local HTTP server standing in for Label Studio, for the whole module."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _FakeLabelStudio)
    server.reply = None  # type: ignore[attr-defined]
    server.url = f"http://127.0.0.1:{server.server_address[1]}"  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()
    thread.join()


@pytest.fixture
def fake_ls(ls_server) -> Iterator[ThreadingHTTPServer]:
    """The fake Label Studio, sane again after the test; set ``.reply`` to make it misbehave."""
    yield ls_server
    ls_server.reply = None  # type: ignore[attr-defined]


# ---------------------------------------------------------------- the real console script


def run_workbench(args: list[str], env: dict[str, str], tmp_path: Path) -> subprocess.CompletedProcess:
    """Run the installed ``workbench`` script with a standard input that never ends.

    A command that read standard input would hang here (and time out) instead of passing.
    """
    if not WORKBENCH.exists():
        pytest.skip(f"no console script at {WORKBENCH} (pip install -e .)")
    full_env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("WORKBENCH_")},
        "WORKBENCH_INSTANCE_PATH": str(tmp_path / "instance"),
        "WORKBENCH_SECRET_KEY": "test",
        **env,
    }
    stdin_read, stdin_write = os.pipe()
    try:
        return subprocess.run(
            [str(WORKBENCH), *args],
            env=full_env,
            stdin=stdin_read,
            capture_output=True,
            text=True,
            timeout=120,
            cwd=tmp_path,
        )
    finally:
        os.close(stdin_read)
        os.close(stdin_write)


def assert_one_error_line(result, *, wants: str = "") -> str:
    """Check a non-zero exit with exactly one non-empty stderr line, an ``error:`` one."""
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert result.returncode != 0, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    assert wants in lines[0]
    assert PASSWORD not in result.stdout + result.stderr
    return lines[0]


DOWN_COMMANDS = [
    ["users", "list"],
    ["users", "create", "--email", "new@example.org", "--role", "reviewer"],
    ["users", "disable", "--email", "new@example.org"],
    ["audit", "verify"],
    ["db", "upgrade"],
    ["db", "current"],
    ["ingest", "article.txt"],
    ["export", "--format", "json"],
    ["labelstudio", "sync"],
    ["labelstudio", "push"],
    ["users", "link", "--email", "new@example.org"],
    ["users", "reset-password", "--email", "new@example.org"],
    ["backup", "--to", "backup.dump"],
]
MISSING_DIR_COMMANDS = [["users", "list"], ["db", "upgrade"], ["export", "--format", "json"]]


@pytest.fixture(scope="module")
def failed_runs(tmp_path_factory, ls_server) -> dict[tuple[str, ...], subprocess.CompletedProcess]:
    """Run every failing command at once: each pays the interpreter's start-up, so in parallel."""
    work = tmp_path_factory.mktemp("cli")
    (work / "article.txt").write_text(DEMO_TEXT, encoding="utf-8")
    down = {
        "WORKBENCH_DATABASE_URL": DOWN_URL,
        # A Label Studio that answers, so the Label Studio commands get as far as the database.
        "WORKBENCH_LABEL_STUDIO_URL": ls_server.url,
        "WORKBENCH_LABEL_STUDIO_API_KEY": "0" * 40,
    }
    missing = {"WORKBENCH_DATABASE_URL": f"sqlite:///{work / 'no-such-dir' / 'workbench.db'}"}
    jobs = {("down", *args): down for args in DOWN_COMMANDS}
    jobs |= {("missing", *args): missing for args in MISSING_DIR_COMMANDS}
    jobs[("unmigrated", "users", "list")] = {"WORKBENCH_DATABASE_URL": f"sqlite:///{work / 'empty.db'}"}
    jobs[("bad-setting", "users", "list")] = {"WORKBENCH_PUSH_BATCH_SIZE": "many"}
    with ThreadPoolExecutor(max_workers=8) as pool:
        futures = {key: pool.submit(run_workbench, list(key[1:]), env, work) for key, env in jobs.items()}
    return {key: future.result() for key, future in futures.items()}


@pytest.mark.parametrize("args", DOWN_COMMANDS, ids=" ".join)
def test_unreachable_database_fails_in_one_line(args, failed_runs):
    line = assert_one_error_line(
        failed_runs[("down", *args)], wants="cannot reach the database at postgresql+psycopg://postgres:***@"
    )
    assert "127.0.0.1:1/x" in line and "refused" in line.lower()


@pytest.mark.parametrize("args", MISSING_DIR_COMMANDS, ids=" ".join)
def test_sqlite_file_in_a_missing_directory_fails_in_one_line(args, failed_runs):
    line = assert_one_error_line(
        failed_runs[("missing", *args)], wants="cannot reach the database at sqlite:///"
    )
    assert line.endswith("/no-such-dir/workbench.db: unable to open database file")


def test_an_unmigrated_database_says_to_upgrade(failed_runs):
    result = failed_runs[("unmigrated", "users", "list")]
    assert_one_error_line(result, wants="no such table: users (run 'workbench db upgrade' first)")


def test_a_malformed_setting_fails_in_one_line(failed_runs):
    result = failed_runs[("bad-setting", "users", "list")]
    assert_one_error_line(result, wants="error: unexpected ValueError: invalid literal for int()")


def test_db_upgrade_migrates_a_fresh_sqlite(tmp_path):
    env = {"WORKBENCH_DATABASE_URL": f"sqlite:///{tmp_path / 'fresh.db'}"}
    upgraded = run_workbench(["db", "upgrade"], env, tmp_path)
    assert upgraded.returncode == 0, upgraded.stderr
    # Alembic prints to the process's own stdout (not the test runner's): ask the real script.
    with ThreadPoolExecutor(max_workers=3) as pool:
        listed, current, history = pool.map(
            lambda args: run_workbench(args, env, tmp_path),
            [["users", "list"], ["db", "current"], ["db", "history"]],
        )
    assert listed.returncode == 0 and listed.stderr == ""
    assert current.returncode == 0 and "(head)" in current.stdout
    # Flask-Migrate's other subcommands stay reachable through our group.
    assert history.returncode == 0 and "create the data model" in history.stdout


def test_db_is_our_group(runner):
    assert "Upgrade the schema to REVISION" in runner.invoke(args=["db", "--help"]).output


# ---------------------------------------------------------------- Label Studio that says no


@pytest.mark.parametrize("command", ["sync", "bootstrap"])
@pytest.mark.parametrize(
    ("reply", "wants"),
    [
        (
            (401, "application/json", {"status_code": 401, "detail": "Invalid token."}),
            "HTTP 401 Invalid token.",
        ),
        ((404, "text/html", "<!doctype html><h1>Not Found</h1>\n<p>nope</p>"), "HTTP 404 (HTML error page)"),
        (None, "is unreachable"),  # None: the discard port, where nothing listens
    ],
    ids=["wrong-token", "not-label-studio", "nothing-there"],
)
def test_label_studio_refusals_fail_in_one_clean_line(app, runner, fake_ls, command, reply, wants):
    fake_ls.reply = reply
    app.config["LABEL_STUDIO_URL"] = fake_ls.url if reply else "http://127.0.0.1:9"
    app.config["LABEL_STUDIO_API_KEY"] = "wrong-token"
    result = runner.invoke(args=["labelstudio", command])
    assert result.exit_code == 1
    assert result.exception is None or isinstance(result.exception, SystemExit)
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert lines[0].startswith("error: Label Studio") and wants in lines[0], result.stderr
    # Only the error's fields may follow, indented under it.
    assert all(line.startswith("  ") for line in lines[1:]), result.stderr
    assert "TypeError" not in result.output and "Traceback" not in result.output


def test_a_wrong_token_through_the_console_script(tmp_path, fake_ls):
    fake_ls.reply = (401, "application/json", {"status_code": 401, "detail": "Invalid token."})
    env = {
        "WORKBENCH_DATABASE_URL": f"sqlite:///{tmp_path / 'wb.db'}",
        "WORKBENCH_LABEL_STUDIO_URL": fake_ls.url,
        "WORKBENCH_LABEL_STUDIO_API_KEY": "wrong-token",
    }
    # A sync takes its lock (in the database) before it asks Label Studio anything.
    assert run_workbench(["db", "upgrade"], env, tmp_path).returncode == 0
    result = run_workbench(["labelstudio", "sync"], env, tmp_path)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert result.stderr.splitlines() == [
        f"error: Label Studio could not list projects titled {PROJECT!r}: HTTP 401 Invalid token.",
        "  status_code: 401",
    ]


# ---------------------------------------------------------------- the reporting itself


@pytest.mark.parametrize(
    ("errors", "lines"),
    [
        ({"status_code": 401}, ["  status_code: 401"]),
        (
            {"published_at": ["unparseable date", "in the future"]},
            ["  published_at: unparseable date, in the future"],
        ),
        ({"title": "too long"}, ["  title: too long"]),
        ({"claims": {"3": ["empty"], "4": "bad offsets"}}, ["  claims.3: empty", "  claims.4: bad offsets"]),
        ({"ids": (1, 2), "none": None, "empty": {}}, ["  ids: 1, 2", "  none: None", "  empty: {}"]),
        ({}, []),
    ],
)
def test_error_fields_of_any_shape_are_printed(errors, lines):
    assert error_lines(ValidationError("bad input", errors=errors)) == ["error: bad input", *lines]


def test_errors_that_are_not_a_dict_are_printed_too():
    exc = WorkbenchError("odd")
    exc.errors = ["first", 2]  # the constructor's type hint is not enforced anywhere
    assert error_lines(exc) == ["error: odd", "  first, 2"]


def test_an_unexpected_error_is_one_line_unless_debugging(monkeypatch):
    @click.command()
    @fails_cleanly
    def command() -> None:
        raise RuntimeError("boom\nsecond line")

    result = CliRunner().invoke(command)
    assert result.exit_code == 1
    assert result.stderr == "error: unexpected RuntimeError: boom (set WORKBENCH_DEBUG=1 for the traceback)\n"
    monkeypatch.setenv("WORKBENCH_DEBUG", "1")
    result = CliRunner().invoke(command)
    assert isinstance(result.exception, RuntimeError) and str(result.exception).startswith("boom")


def test_a_database_error_never_shows_the_password(tmp_path, monkeypatch):
    from workbench import create_app

    monkeypatch.setenv("WORKBENCH_INSTANCE_PATH", str(tmp_path))
    app = create_app({"SQLALCHEMY_DATABASE_URI": DOWN_URL, "TESTING": True, "SECRET_KEY": "test"})
    driver_error = Exception(f'password "{PASSWORD}" rejected\nDETAIL: more')
    exc = sa.exc.OperationalError("SELECT 1", {}, driver_error)
    with app.app_context():
        assert error_lines(exc) == [
            "error: cannot use the database at postgresql+psycopg://postgres:***@127.0.0.1:1/x: "
            'password "***" rejected'
        ]
        db.engine.dispose()


def test_click_usage_errors_are_left_to_click(runner):
    result = runner.invoke(args=["export", "--format", "xml"])
    assert result.exit_code == 2 and "Invalid value" in result.output


# ---------------------------------------------------------------- users disable


def test_disabling_twice_records_one_event(app, runner):
    with app.app_context():
        target = make_user("annotator", email="twice@example.org")
        first = runner.invoke(args=["users", "disable", "--email", "twice@example.org"])
        assert first.exit_code == 0 and "disabled twice@example.org" in first.output
        second = runner.invoke(args=["users", "disable", "--email", "twice@example.org"])
        assert second.exit_code == 0 and "already disabled" in second.output
        events = db.session.scalars(
            sa.select(AuditEvent).where(
                AuditEvent.action == "user.disabled", AuditEvent.subject_id == str(target.user.id)
            )
        ).all()
        assert len(events) == 1
        assert audit.verify().ok


@pytest.mark.parametrize("option", ["--manifest", "--output"])
def test_an_export_to_a_path_that_cannot_be_written_records_nothing(app, runner, tmp_path, option):
    """The export was recorded (manifest row, audit event), then the manifest write failed with
    'unexpected FileNotFoundError'. The paths are checked first now."""
    from workbench.models import ExportManifest

    def recorded() -> tuple[int, int]:
        db.session.expire_all()
        return (
            db.session.scalar(sa.select(sa.func.count()).select_from(ExportManifest)),
            db.session.scalar(sa.select(sa.func.count()).select_from(AuditEvent)),
        )

    before = recorded()
    missing = str(tmp_path / "missing" / "x.json")
    args = (
        ["export", "--output", missing]
        if option == "--output"
        else ["export", "--output", str(tmp_path / "o.json"), option, missing]
    )
    result = runner.invoke(args=args)
    assert result.exit_code == 2, result.output
    assert f"Invalid value for {option}" in result.output and "does not exist" in result.output
    assert "unexpected" not in result.output and recorded() == before


@pytest.mark.parametrize("command", ["pause", "resume", "delete", "rotate-secret"])
def test_an_endpoint_id_no_column_holds_is_a_usage_error(runner, command):
    result = runner.invoke(args=["outbound", command, "99999999999999999999"])
    assert result.exit_code == 2 and "is not in the range" in result.output, result.output
    assert "unexpected" not in result.output


def test_an_export_to_an_existing_writable_file_in_a_read_only_folder_is_written(
    app, runner, tmp_path, monkeypatch
):
    """Only a file to create needs its folder writable. (Tests run as root, for whom every folder
    is writable: the folder's refusal is what os.access says here.)"""
    folder = tmp_path / "ro"
    folder.mkdir()
    target, manifest = folder / "out.jsonl", folder / "out.manifest.json"
    target.write_bytes(b"old")
    manifest.write_bytes(b"")
    real_access = os.access
    monkeypatch.setattr(os, "access", lambda p, mode: False if Path(p) == folder else real_access(p, mode))
    result = runner.invoke(args=["export", "--output", str(target), "--manifest", str(manifest)])
    assert result.exit_code == 0, result.output
    assert target.read_bytes() == b"" and json.loads(manifest.read_text())["records"] == 0
    # A file that does not exist yet in that folder cannot be created: refused before anything runs.
    refused = runner.invoke(args=["export", "--output", str(folder / "new.jsonl")])
    assert refused.exit_code == 2 and "cannot be created" in refused.output, refused.output
