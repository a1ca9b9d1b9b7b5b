"""Exports carry every annotator's own rationale, confidence and evidence, as typed."""

from __future__ import annotations

import csv
import io
import json

from tests.factories import annotation_payload, link_claim, make_article, verdict_result
from workbench.db import db
from workbench.labelstudio.annotations import store_annotation
from workbench.review import decide


def test_plain_text_evidence_and_each_rationale_reach_every_export(client, reviewer):
    article = make_article()
    claim = next(c for c in article.claims if c.checkworthy)
    link_claim(claim, task_id=501)
    words = {
        1: ("Ministry press release, 3 Jan", "The release gives 4.3 percent."),
        2: ("See https://stats.example.org/t1 and the March bulletin", "Table 1 disagrees."),
    }
    for user, (evidence, rationale) in words.items():
        payload = annotation_payload(user, 501, user_id=user)["annotation"]
        payload["result"] = verdict_result("False", rationale, evidence, 2 + user)
        store_annotation(claim, payload, source="webhook", project_id=1, overlap=2)
    db.session.commit()
    decide(
        claim.id,
        reviewer.user,
        {"action": "override", "rating": "False", "rationale": "Both agree.", "claim_version": claim.version},
    )
    db.session.commit()

    url = "/api/v1/exports/verified-claims?format="
    record = json.loads(client.get(url + "jsonl", headers=reviewer.headers).get_data(as_text=True))
    by_user = {a["annotator_ls_id"]: a for a in record["annotations"]}
    assert (
        by_user[1]["evidence_text"] == "Ministry press release, 3 Jan" and by_user[1]["evidence_urls"] == []
    )
    assert by_user[2]["evidence_urls"] == ["https://stats.example.org/t1"]
    assert "March bulletin" in by_user[2]["evidence_text"]
    assert (by_user[1]["rationale"], by_user[1]["confidence"]) == ("The release gives 4.3 percent.", 3)
    row = next(
        csv.DictReader(io.StringIO(client.get(url + "csv", headers=reviewer.headers).get_data(as_text=True)))
    )
    assert "The release gives 4.3 percent." in row["annotator_rationales"]
    assert "Table 1 disagrees." in row["annotator_rationales"]
    assert "Ministry press release, 3 Jan" in row["annotator_evidence"]
