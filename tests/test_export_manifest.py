"""Every export proves itself: a manifest recorded and returned, and `workbench export verify`."""

from __future__ import annotations

import hashlib
import json

import pytest
import sqlalchemy as sa

from tests.factories import make_user
from tests.test_review_export import annotated, verify  # noqa: F401 - fixture
from workbench import audit, signals
from workbench.db import db
from workbench.models import AuditEvent, Claim, ExportManifest

URL = "/api/v1/exports/verified-claims"


def streamed(client, user, query: str = "format=jsonl"):
    response = client.get(f"{URL}?{query}", headers=user.headers)
    assert response.status_code == 200, response.get_data(as_text=True)
    return response, response.get_data()


def test_a_streamed_export_names_its_manifest_which_holds_the_hash_of_its_bytes(
    client,
    reviewer,
    annotated,  # noqa: F811
):
    verify(client, reviewer, annotated)
    received = []

    def receiver(sender, **kwargs):
        received.append((sender, kwargs))

    signals.export_finished.connect(receiver)
    try:
        response, body = streamed(client, reviewer, "format=jsonl&rating=Mostly+false")
    finally:
        signals.export_finished.disconnect(receiver)
    export_id = response.headers["X-Export-Id"]
    assert response.headers["Link"].startswith(f"<http://127.0.0.1:5000/api/v1/exports/{export_id}/manifest>")
    manifest = client.get(f"/api/v1/exports/{export_id}/manifest", headers=reviewer.headers).json
    assert manifest["finished"] is True
    assert manifest["sha256"] == hashlib.sha256(body).hexdigest() and manifest["bytes"] == len(body)
    assert (manifest["format"], manifest["records"]) == ("jsonl", 1)
    assert manifest["filters"] == {"rating": "Mostly false"}
    assert manifest["actor"] == reviewer.user.email and manifest["via"] == "api"
    assert manifest["created_at"].endswith("Z") and manifest["finished_at"].endswith("Z")
    # The head named is the chain's at the start: the hash each record carries, and a real event.
    record = json.loads(body)
    head = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.hash == manifest["audit_head_hash"]))
    assert record["audit_hash"] == manifest["audit_head_hash"] == response.headers["X-Audit-Hash"]
    assert head.seq == manifest["audit_head_seq"] and head.action == "export.created"
    # Sealed in the chain and sent to subscribers (the outbound events) with who did it.
    sealed = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "export.finished"))
    assert sealed.subject_id == export_id and sealed.payload["sha256"] == manifest["sha256"]
    assert len(received) == 1 and received[0][0]["sha256"] == manifest["sha256"]
    assert received[0][1] == {"actor": reviewer.user.email}
    assert audit.verify().ok
    listed = client.get("/api/v1/exports", headers=reviewer.headers).json
    assert listed["total"] == 1 and listed["items"][0]["id"] == export_id


def test_an_export_the_reader_stopped_is_recorded_but_never_sealed(
    client,
    reviewer,
    annotated,  # noqa: F811
):
    verify(client, reviewer, annotated)
    response = client.get(f"{URL}?format=json", headers=reviewer.headers)
    export_id = response.headers["X-Export-Id"]
    response.close()
    manifest = client.get(f"/api/v1/exports/{export_id}/manifest", headers=reviewer.headers).json
    assert manifest["finished"] is False and manifest["sha256"] is None and manifest["records_expected"] == 1
    assert db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "export.finished")) is None
    assert client.get("/api/v1/exports/nope/manifest", headers=reviewer.headers).status_code == 404


def test_filters_by_reviewer_and_published_or_not(client, reviewer, annotated):  # noqa: F811
    verify(client, reviewer, annotated)
    other = make_user("reviewer")

    def count(query: str) -> int:
        return len(streamed(client, reviewer, "format=jsonl&" + query)[1].splitlines())

    assert count(f"reviewer={reviewer.user.email}") == 1
    assert count(f"reviewer={reviewer.user.email.upper()}") == 1
    assert count(f"reviewer={other.user.email}") == 0
    assert count("published=false") == 1 and count("published=true") == 0
    db.session.execute(sa.update(Claim).where(Claim.id == annotated.id).values(published_at=sa.func.now()))
    db.session.commit()
    assert count("published=false") == 0 and count("published=true") == 1 and count("") == 1
    assert (
        count(f"article_id={annotated.article_id}") == 1
        and count(f"article_id={annotated.article_id + 1}") == 0
    )


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("format=xml", "format"),
        ("rating=Maybe", "rating"),
        ("since=last-week", "since"),
        ("since=2031-05-02&until=2031-05-01", "until"),
        ("reviewer=not-an-email", "reviewer"),
        ("published=perhaps", "published"),
        ("article_id=0", "article_id"),
    ],
)
def test_a_bad_filter_is_refused_naming_it_and_records_nothing(client, reviewer, query, field):
    response = client.get(f"{URL}?{query}", headers=reviewer.headers)
    assert response.status_code == 422 and field in response.json["errors"], response.json
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ExportManifest)) == 0


def cli_export(runner, tmp_path, *args: str):
    out = tmp_path / "claims.jsonl"
    result = runner.invoke(args=["export", "--format", "jsonl", "--output", str(out), *args])
    assert result.exit_code == 0, result.output
    return out, json.loads((tmp_path / "claims.jsonl.manifest.json").read_text())


def test_the_cli_writes_the_manifest_beside_the_file_and_verify_accepts_it(
    runner,
    client,
    reviewer,
    annotated,  # noqa: F811
    tmp_path,
):
    verify(client, reviewer, annotated)
    out, manifest = cli_export(runner, tmp_path)
    assert manifest["sha256"] == hashlib.sha256(out.read_bytes()).hexdigest() and manifest["via"] == "cli"
    assert db.session.scalar(sa.select(ExportManifest.sha256)) == manifest["sha256"]
    by_manifest = runner.invoke(
        args=["export", "verify", str(out), "--manifest", str(out) + ".manifest.json"]
    )
    assert by_manifest.exit_code == 0, by_manifest.output
    assert "unchanged" in by_manifest.output and "the audit chain verifies" in by_manifest.output
    by_lookup = runner.invoke(args=["export", "verify", str(out)])  # found by the file's sha256
    assert (
        by_lookup.exit_code == 0 and f"manifest found by sha256: export {manifest['id']}" in by_lookup.output
    )


def test_verify_names_what_differs(runner, client, reviewer, annotated, tmp_path):  # noqa: F811
    verify(client, reviewer, annotated)
    out, manifest = cli_export(runner, tmp_path)
    manifest_path = str(out) + ".manifest.json"
    original = out.read_bytes()

    # A record dropped from the file: its hash, size and count differ.
    out.write_bytes(b"")
    result = runner.invoke(args=["export", "verify", str(out), "--manifest", manifest_path])
    assert result.exit_code == 1
    assert (
        "differs: file: sha256 is" in result.output
        and "holds 0 records, the manifest says 1" in result.output
    )
    # Without a manifest, an unknown file is named as such.
    result = runner.invoke(args=["export", "verify", str(out)])
    assert result.exit_code == 1 and "no export with sha256" in result.output

    # The stored manifest edited in SQL: it no longer matches the chain's export.finished event.
    out.write_bytes(original)
    db.session.execute(sa.update(ExportManifest).values(records=7))
    db.session.commit()
    result = runner.invoke(args=["export", "verify", str(out), "--manifest", manifest_path])
    assert result.exit_code == 1 and "recorded manifest: records is 7, the manifest says 1" in result.output
    db.session.execute(sa.update(ExportManifest).values(records=1))
    db.session.commit()

    # A manifest naming an audit head that the chain never had.
    forged = dict(manifest, audit_head_hash="f" * 64)
    (tmp_path / "forged.json").write_text(json.dumps(forged))
    result = runner.invoke(args=["export", "verify", str(out), "--manifest", str(tmp_path / "forged.json")])
    assert result.exit_code == 1 and f"audit head {'f' * 64} is not in the audit chain" in result.output

    # A broken chain is named too.
    db.session.execute(sa.update(AuditEvent).where(AuditEvent.seq == 1).values(actor="mallory"))
    db.session.commit()
    result = runner.invoke(args=["export", "verify", str(out), "--manifest", manifest_path, "--json"])
    report = json.loads(result.output)
    assert result.exit_code == 1 and not report["ok"]
    assert any(p.startswith("the audit chain is broken at event 1") for p in report["problems"])


def test_verify_refuses_a_file_that_is_not_a_manifest(runner, tmp_path):
    (tmp_path / "x.jsonl").write_text("")
    (tmp_path / "m.json").write_text("[1, 2]")
    result = runner.invoke(
        args=["export", "verify", str(tmp_path / "x.jsonl"), "--manifest", str(tmp_path / "m.json")]
    )
    assert result.exit_code != 0 and "not an export manifest" in result.output


def test_the_claims_history_shows_each_export_that_carried_it(
    client,
    reviewer,
    annotated,  # noqa: F811
):
    verify(client, reviewer, annotated)
    carried, _ = streamed(client, reviewer, "format=jsonl")
    skipped, _ = streamed(client, reviewer, "format=jsonl&rating=True")  # carries no claim
    events = client.get(f"/api/v1/claims/{annotated.id}/history", headers=reviewer.headers).json["events"]
    exports = [e for e in events if e["action"] == "export.finished"]
    assert [e["payload"]["id"] for e in exports] == [carried.headers["X-Export-Id"]]
    assert skipped.headers["X-Export-Id"] != carried.headers["X-Export-Id"]
    seqs = [e["seq"] for e in events]
    assert seqs == sorted(seqs) and exports[0]["seq"] == max(seqs), "the export came last"
