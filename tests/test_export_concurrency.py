"""Exports at the same time, over real HTTP (`workbench serve`, several workers and threads):
each gets its own manifest, sealed once with the sha256 of the bytes its reader got, and the
audit chain stays one unbroken line."""

from __future__ import annotations

import hashlib
from concurrent.futures import ThreadPoolExecutor

import requests
import sqlalchemy as sa

from tests.served import workbench_serve
from tests.test_review_export import annotated, verify  # noqa: F401 - fixture
from workbench import audit
from workbench.db import db
from workbench.models import AuditEvent, ExportManifest


def test_exports_at_once_each_get_their_own_sealed_manifest(
    client,
    reviewer,
    annotated,  # noqa: F811
    database_url,
    tmp_path,
):
    verify(client, reviewer, annotated)
    formats = ["json", "jsonl", "csv", "claimreview"] * 3
    with workbench_serve(database_url, tmp_path) as base:
        headers = {"Authorization": f"Bearer {reviewer.token}"}

        def export(fmt: str) -> tuple[str, str]:
            response = requests.get(
                f"{base}/api/v1/exports/verified-claims?format={fmt}", headers=headers, timeout=60
            )
            assert response.status_code == 200, response.text
            return response.headers["X-Export-Id"], hashlib.sha256(response.content).hexdigest()

        with ThreadPoolExecutor(max_workers=6) as pool:
            got = list(pool.map(export, formats))
        manifests = {
            export_id: requests.get(
                f"{base}/api/v1/exports/{export_id}/manifest", headers=headers, timeout=30
            ).json()
            for export_id, _ in got
        }
    assert len(manifests) == len(formats)
    for (export_id, digest), fmt in zip(got, formats, strict=True):
        assert manifests[export_id]["sha256"] == digest and manifests[export_id]["format"] == fmt
        assert manifests[export_id]["records"] == 1
    db.session.remove()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ExportManifest)) == len(formats)
    sealed = db.session.scalars(
        sa.select(AuditEvent.subject_id).where(AuditEvent.action == "export.finished")
    )
    assert sorted(sealed) == sorted(manifests)
    assert audit.verify().ok
