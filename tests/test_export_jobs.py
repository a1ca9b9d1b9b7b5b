"""Exports as jobs: inline without Redis, on a real `workbench worker` with Redis (db 8), with
progress and a download link; the CLI's progress bar only when asked or on a terminal."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import REPO, fresh_redis
from tests.served import stop
from tests.test_review_export import annotated, verify  # noqa: F401 - fixture
from workbench import audit
from workbench.db import db

REDIS_URL = os.environ.get("WORKBENCH_TEST_EXPORTS_REDIS_URL", "redis://127.0.0.1:6379/8")


def download(client, user, manifest: dict) -> bytes:
    path = manifest["download_url"].removeprefix("http://127.0.0.1:5000")
    response = client.get(path, headers=user.headers)
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.headers["X-Content-SHA256"] == manifest["sha256"]
    data = response.get_data()
    response.close()
    return data


def test_an_export_job_runs_inline_and_gives_its_file_and_manifest(client, reviewer, annotated):  # noqa: F811
    verify(client, reviewer, annotated)
    response = client.post(
        "/api/v1/exports", json={"format": "csv", "rating": "Mostly false"}, headers=reviewer.headers
    )
    assert response.status_code == 201, response.json
    body = response.json
    assert body["job"]["mode"] == "inline" and body["job"]["status"] == "finished"
    manifest = body["manifest"]
    assert manifest["id"] == body["export_id"] and manifest["finished"] and manifest["via"] == "job"
    assert manifest["records"] == 1 and manifest["filters"] == {"rating": "Mostly false"}
    data = download(client, reviewer, manifest)
    assert hashlib.sha256(data).hexdigest() == manifest["sha256"] and data.startswith(b"claim_uuid,")
    again = client.get(f"/api/v1/exports/{manifest['id']}/manifest", headers=reviewer.headers).json
    assert again["download_url"] == manifest["download_url"] == body["download_url"]
    assert audit.verify().ok


def test_a_bad_export_job_is_refused_before_it_runs(client, reviewer):
    response = client.post("/api/v1/exports", json={"format": "pdf"}, headers=reviewer.headers)
    assert response.status_code == 422 and "format" in response.json["errors"]
    assert client.get("/api/v1/exports", headers=reviewer.headers).json["total"] == 0


def test_a_streamed_export_has_no_file_to_download(client, reviewer, annotated):  # noqa: F811
    verify(client, reviewer, annotated)
    response = client.get("/api/v1/exports/verified-claims?format=jsonl", headers=reviewer.headers)
    response.get_data()
    got = client.get(f"/api/v1/exports/{response.headers['X-Export-Id']}/download", headers=reviewer.headers)
    assert got.status_code == 404 and "streamed" in got.json["message"]


@pytest.fixture
def redis_url(app):
    with fresh_redis(REDIS_URL):
        app.config["REDIS_URL"] = REDIS_URL
        yield REDIS_URL


def test_an_export_job_runs_on_a_real_worker_with_progress_and_a_download_link(
    app,
    client,
    reviewer,
    annotated,  # noqa: F811
    redis_url,
    database_url,
    tmp_path,
):
    verify(client, reviewer, annotated)
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("WORKBENCH_")},
        "WORKBENCH_DATABASE_URL": database_url,
        "WORKBENCH_INSTANCE_PATH": app.instance_path,  # the worker writes where the API reads
        "WORKBENCH_REDIS_URL": redis_url,
        "WORKBENCH_SYNC_INTERVAL": "0",
        "WORKBENCH_SECRET_KEY": "test",
    }
    log_path = tmp_path / "worker.log"
    with open(log_path, "w+b") as log:
        worker = subprocess.Popen(
            [str(Path(sys.executable).with_name("workbench")), "worker"],
            env=env,
            cwd=REPO,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            response = client.post(
                "/api/v1/exports", json={"format": "claimreview"}, headers=reviewer.headers
            )
            assert response.status_code == 202, response.json
            body = response.json
            assert body["job"]["mode"] == "rq" and body["manifest"] is None
            deadline = time.monotonic() + 120
            while True:
                state = client.get(f"/api/v1/jobs/{body['job']['id']}", headers=reviewer.headers).json
                if state["status"] in ("finished", "failed"):
                    break
                assert worker.poll() is None, log_path.read_text(errors="replace")
                assert time.monotonic() < deadline, log_path.read_text(errors="replace")
                time.sleep(0.1)
        finally:
            stop(worker, 20)
    assert state["status"] == "finished", (state, log_path.read_text(errors="replace"))
    db.session.remove()  # the worker wrote in its own process: read afresh
    # Progress as the job API reports it (GET /api/v1/jobs/<id> shows it once JobSchema has it).
    from workbench import jobs

    assert jobs.status(body["job"]["id"])["progress"] == {"done": 1, "total": 1}
    manifest = state["result"]["manifest"]
    assert manifest["id"] == body["export_id"] and manifest["records"] == 1
    data = download(client, reviewer, manifest)
    assert hashlib.sha256(data).hexdigest() == manifest["sha256"] and data.startswith(b"[")


def test_the_cli_shows_a_progress_bar_only_when_asked_or_on_a_terminal(
    runner,
    client,
    reviewer,
    annotated,  # noqa: F811
    tmp_path,
):
    verify(client, reviewer, annotated)
    out = str(tmp_path / "x.jsonl")
    quiet = runner.invoke(args=["export", "--output", out])
    assert quiet.exit_code == 0 and "claim/s" not in quiet.output and "|" not in quiet.output
    shown = runner.invoke(args=["export", "--output", out, "--progress"])
    assert shown.exit_code == 0 and "1/1" in shown.output, shown.output


def test_an_export_job_run_again_after_its_process_died_finishes_the_same_export(
    app,
    client,
    reviewer,
    annotated,  # noqa: F811
    monkeypatch,
):
    """The worker re-queues a job whose process died with the same export id; its second run hit
    the unique manifest id and failed for good, the first manifest never sealed."""
    from sqlalchemy import select

    from workbench.export import jobs as export_jobs
    from workbench.models import AuditEvent
    from workbench.models.base import new_uuid

    verify(client, reviewer, annotated)
    export_id = new_uuid()
    query = {"format": "csv"}

    def dies(_target):
        raise SystemExit("the process died before sealing")

    real_flush = export_jobs._flush
    monkeypatch.setattr(export_jobs, "_flush", dies)
    with pytest.raises(SystemExit):
        export_jobs.export_file(actor=reviewer.user.email, query=query, export_id=export_id)
    db.session.rollback()
    first = client.get(f"/api/v1/exports/{export_id}/manifest", headers=reviewer.headers).json
    assert first["finished"] is False

    monkeypatch.setattr(export_jobs, "_flush", real_flush)
    result = export_jobs.export_file(actor=reviewer.user.email, query=query, export_id=export_id)
    manifest = result["manifest"]
    assert manifest["id"] == export_id and manifest["finished"] and manifest["records"] == 1
    data = download(client, reviewer, manifest)
    assert hashlib.sha256(data).hexdigest() == manifest["sha256"]

    def started() -> int:
        db.session.expire_all()
        return len(
            db.session.scalars(
                select(AuditEvent).where(
                    AuditEvent.action == "export.created", AuditEvent.subject_id == export_id
                )
            ).all()
        )

    assert started() == 2  # both starts are in the chain

    # Run a third time (it died after sealing, before the job was marked done): the same manifest.
    again = export_jobs.export_file(actor=reviewer.user.email, query=query, export_id=export_id)
    assert again["manifest"] == manifest and started() == 2
    assert audit.verify().ok
