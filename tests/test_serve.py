"""Running as a service: ``workbench serve`` is gunicorn, the probes answer in one shape, and each
request is logged once, with its id."""

from __future__ import annotations

import json
import logging
import os
import re
import time
from pathlib import Path

import pytest
import requests

from tests.conftest import LS_KEY, LS_URL, base_config
from tests.served import workbench_serve
from workbench import __version__, create_app
from workbench.logging_setup import TEXT_FORMAT, JsonFormatter, RequestIdFilter

NOBODY = "127.0.0.1:9"  # the discard port: nothing listens there
GENERATED_ID = re.compile(r"[0-9a-f]{32}")


@pytest.fixture
def make_app(database_url, tmp_path, monkeypatch):
    """Build an app on the test settings with some changed; dispose of its engines afterwards."""
    monkeypatch.setenv("WORKBENCH_INSTANCE_PATH", str(tmp_path / "instance"))
    built = []

    def make(**changes):
        app = create_app({**base_config(database_url, tmp_path), **changes})
        built.append(app)
        return app

    yield make
    from workbench.db import db

    for app in built:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


def redis_answers() -> bool:
    from redis import Redis

    try:
        client = Redis.from_url("redis://127.0.0.1:6379/0", socket_connect_timeout=1, socket_timeout=1)
        try:
            return bool(client.ping())
        finally:
            client.close()
    except Exception:  # noqa: BLE001 - no Redis: the test leaves it out
        return False


def assert_probe_shape(body: dict, status: int) -> None:
    assert set(body) == {"status", "version", "checks"}
    assert body["version"] == __version__
    assert body["status"] == ("ok" if status == 200 else "unavailable")
    for check in body["checks"].values():
        assert set(check) <= {"ok", "ms", "message"} and isinstance(check["ms"], int)
        assert check["ok"] is ("message" not in check)
    assert (status == 200) is all(c["ok"] for c in body["checks"].values())


# ------------------------------------------------------------------ /health


def test_health_says_the_process_is_up_without_asking_the_database(make_app):
    app = make_app(SQLALCHEMY_DATABASE_URI=f"postgresql://postgres@{NOBODY}/nowhere")
    response = app.test_client().get("/health")
    assert response.status_code == 200
    assert response.json == {"status": "ok", "version": __version__, "checks": {}}
    assert response.headers["Cache-Control"] == "no-store"


# ------------------------------------------------------------------ /ready


def test_ready_is_ok_when_the_database_migrations_redis_and_label_studio_answer(make_app, ls_client):
    changes = {"LABEL_STUDIO_URL": LS_URL, "LABEL_STUDIO_API_KEY": LS_KEY}
    if redis_answers():
        changes["REDIS_URL"] = "redis://127.0.0.1:6379/0"
    response = make_app(**changes).test_client().get("/ready")
    assert response.status_code == 200, response.json
    assert_probe_shape(response.json, 200)
    expected = {"database", "migrations", "label_studio"} | ({"redis"} if "REDIS_URL" in changes else set())
    assert set(response.json["checks"]) == expected


def test_ready_is_unavailable_when_the_database_is_unreachable_and_says_so_in_a_few_words(make_app, caplog):
    app = make_app(SQLALCHEMY_DATABASE_URI=f"postgresql://postgres:s3cret@{NOBODY}/nowhere")
    with caplog.at_level(logging.WARNING, logger="workbench.health"):
        response = app.test_client().get("/ready")
    assert response.status_code == 503
    assert_probe_shape(response.json, 503)
    checks = response.json["checks"]
    assert checks["database"]["message"] == "database unreachable"
    assert checks["migrations"]["message"] == "not checked: no database"
    text = response.get_data(as_text=True)
    for leak in ("psycopg", "refused", "127.0.0.1", "s3cret", "Traceback", "OperationalError"):
        assert leak not in text
    # The detail is for the operator, in the log.
    assert any("database failed" in r.getMessage() and "127.0.0.1" in r.getMessage() for r in caplog.records)


def test_ready_is_unavailable_when_label_studio_is_down(make_app):
    response = make_app(LABEL_STUDIO_URL=f"http://{NOBODY}").test_client().get("/ready")
    assert response.status_code == 503
    assert_probe_shape(response.json, 503)
    checks = response.json["checks"]
    assert checks["database"]["ok"] and checks["migrations"]["ok"]
    assert checks["label_studio"] == {
        "ok": False,
        "ms": checks["label_studio"]["ms"],
        "message": "Label Studio unreachable, or it refuses the API key",
    }
    assert "redis" not in checks  # not configured, not asked
    assert "HTTPConnection" not in response.get_data(as_text=True)


def test_ready_says_when_label_studio_has_no_api_key(make_app):
    response = make_app(LABEL_STUDIO_API_KEY=None).test_client().get("/ready")
    assert response.status_code == 503
    assert response.json["checks"]["label_studio"]["message"] == "Label Studio API key not configured"


def test_ready_is_unavailable_when_redis_is_configured_and_down(make_app):
    response = make_app(REDIS_URL=f"redis://{NOBODY}/0").test_client().get("/ready")
    assert response.status_code == 503
    assert response.json["checks"]["redis"]["message"] == "Redis unreachable"


def test_ready_is_unavailable_until_the_schema_is_at_the_newest_migration(make_app, tmp_path):
    empty = make_app(SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path / 'empty.db'}")
    checks = empty.test_client().get("/ready").json["checks"]
    assert checks["database"]["ok"]
    assert checks["migrations"] == {
        "ok": False,
        "ms": checks["migrations"]["ms"],
        "message": "database not migrated: run 'workbench db upgrade'",
    }


# ------------------------------------------------------------------ request ids and request logs


def test_every_answer_carries_a_request_id_kept_when_sane(client, admin):
    sane = client.get("/health", headers={"X-Request-ID": "lb-7f3a.19:2"})
    assert sane.headers["X-Request-ID"] == "lb-7f3a.19:2"
    for insane in ("has space", "x" * 129, "<script>", "ün"):
        assert GENERATED_ID.fullmatch(
            client.get("/health", headers={"X-Request-ID": insane}).headers["X-Request-ID"]
        )
    answers = [
        client.get("/health"),
        client.get("/no-such-page"),
        client.get("/api/v1/articles"),
        client.get("/api/v1/articles", headers=admin.headers),
    ]
    ids = [r.headers["X-Request-ID"] for r in answers]
    assert all(GENERATED_ID.fullmatch(i) for i in ids) and len(set(ids)) == len(ids)


def test_each_request_is_logged_once_with_its_id_method_path_status_and_duration(client, caplog):
    with caplog.at_level(logging.INFO, logger="workbench.request"):
        client.get("/health", headers={"X-Request-ID": "one-line-please"}, buffered=True)
        client.post("/api/v1/articles", json={}, buffered=True)
    lines = [r for r in caplog.records if r.name == "workbench.request"]
    assert len(lines) == 2
    entry = json.loads(JsonFormatter().format(lines[0]))
    assert entry["request_id"] == "one-line-please"
    assert (entry["method"], entry["path"], entry["status"]) == ("GET", "/health", 200)
    assert isinstance(entry["duration_ms"], float) and entry["level"] == "INFO"
    assert entry["message"] == f"GET /health 200 {entry['duration_ms']:.1f} ms"
    second = json.loads(JsonFormatter().format(lines[1]))
    assert (second["method"], second["path"], second["status"]) == ("POST", "/api/v1/articles", 401)
    assert GENERATED_ID.fullmatch(second["request_id"])


def test_the_text_format_puts_the_request_id_on_each_line(client, caplog):
    with caplog.at_level(logging.INFO, logger="workbench.request"):
        client.get("/health", headers={"X-Request-ID": "text-42"}, buffered=True)
    (record,) = [r for r in caplog.records if r.name == "workbench.request"]
    RequestIdFilter().filter(record)
    line = logging.Formatter(TEXT_FORMAT).format(record)
    assert re.fullmatch(r"\S+ \S+ INFO workbench\.request \[text-42\] GET /health 200 \d+\.\d ms", line)


def test_a_one_time_link_in_the_path_never_reaches_the_log(client, caplog):
    with caplog.at_level(logging.INFO, logger="workbench.request"):
        client.get("/set-password/TOPSECRET-link-token", buffered=True)
    (record,) = [r for r in caplog.records if r.name == "workbench.request"]
    assert record.path == "/set-password/[redacted]"
    assert "TOPSECRET" not in JsonFormatter().format(record)


# ------------------------------------------------------------------ workbench serve


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry.name))
    return found


def _served_master(url: str) -> int:
    """Return the pid of the ``workbench serve`` this test process started for ``url``."""
    port = url.rsplit(":", 1)[1]
    for pid in _children(os.getpid()):
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        if b"serve" in cmdline and port.encode() in cmdline:
            return pid
    raise AssertionError(f"no workbench serve child on port {port}")


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="counts worker processes through /proc")
def test_workbench_serve_is_gunicorn_with_the_workers_and_threads_asked_for_logging_json(
    database_url, tmp_path
):
    instance = tmp_path / "served"
    instance.mkdir()
    env = {"WORKBENCH_WORKERS": "3", "WORKBENCH_THREADS": "2", "WORKBENCH_LOG_FORMAT": "json"}
    with workbench_serve(database_url, instance, **env) as url:
        answer = requests.get(f"{url}/health", headers={"X-Request-ID": "served-req-1"}, timeout=10)
        assert answer.headers["Server"] == "gunicorn"
        assert answer.headers["X-Request-ID"] == "served-req-1"
        ready = requests.get(f"{url}/ready", timeout=10)
        assert ready.status_code == 503 and ready.json()["checks"]["database"]["ok"]  # no Label Studio
        master = _served_master(url)
        deadline = time.monotonic() + 30
        while len(_children(master)) != 3 and time.monotonic() < deadline:
            time.sleep(0.2)
        assert len(_children(master)) == 3
        log = instance / "serve.log"
        deadline = time.monotonic() + 10
        while "served-req-1" not in log.read_text() and time.monotonic() < deadline:
            time.sleep(0.1)
        entries = [json.loads(line) for line in log.read_text().splitlines() if line.strip()]
    (line,) = [e for e in entries if e.get("request_id") == "served-req-1"]
    assert line["logger"] == "workbench.request"
    assert (line["method"], line["path"], line["status"]) == ("GET", "/health", 200)
    assert any(e["message"].endswith(": 3 worker(s) x 2 thread(s)") for e in entries)
    assert sum(1 for e in entries if e["logger"] == "workbench.request" and e["path"] == "/ready") == 1


def test_serve_takes_workers_and_threads_from_its_options_then_the_environment(app, monkeypatch):
    import workbench.server

    calls = []
    monkeypatch.setattr(workbench.server, "serve", lambda *args: calls.append(args))
    runner = app.test_cli_runner()
    assert runner.invoke(args=["serve"]).exit_code == 0
    assert runner.invoke(args=["serve", "--port", "8123", "--workers", "4", "--threads", "3"]).exit_code == 0
    env = {"WORKBENCH_WORKERS": "5", "WORKBENCH_THREADS": "6"}
    assert runner.invoke(args=["serve"], env=env).exit_code == 0
    assert runner.invoke(args=["serve", "--workers", "1"], env=env).exit_code == 0
    assert calls == [
        ("127.0.0.1", 5000, 2, 8),
        ("127.0.0.1", 8123, 4, 3),
        ("127.0.0.1", 5000, 5, 6),
        ("127.0.0.1", 5000, 1, 6),
    ]
    refused = runner.invoke(args=["serve"], env={"WORKBENCH_WORKERS": "many"})
    assert refused.exit_code == 2 and "WORKBENCH_WORKERS" in refused.output
    assert runner.invoke(args=["serve", "--threads", "0"]).exit_code == 2
    assert len(calls) == 4
