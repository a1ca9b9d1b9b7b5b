"""Blind overlap: an annotator sees no other annotator's vote, count or agreement anywhere.

Every API GET route is discovered from the URL map and called with an annotator's token; each
one the annotator may open is walked whole. A reviewer's answers to the same calls must still
show what the annotator's hide, so these tests fail if the hiding stops telling the two apart.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from flask import url_for

from tests.factories import annotation_payload, link_claim, make_article, make_user
from tests.test_webhook import post
from workbench.db import db
from workbench.models import Annotation, Claim, ClaimMatch

# Keys that tell of other annotators' work or of its review; none may reach an annotator.
HIDDEN = {
    "annotator_count",
    "agreement",
    "agreement_rank",
    "agreement_detail",
    "version",
    "status",
    "verdicts",
    "earlier_verdicts",
}
# The reviewer's shape carries all of these (agreement_rank is internal: nobody gets it).
SHOWN_TO_REVIEWERS = HIDDEN - {"agreement_rank"}
# The routes an annotator must at least reach, so that discovery cannot silently find none.
EXPECTED_ANNOTATOR_ROUTES = {
    "/api/v1/articles",
    "/api/v1/articles/<int:article_id>",
    "/api/v1/articles/<int:article_id>/claims",
    "/api/v1/claims/<int:claim_id>",
}

ME, OTHER = 770061, 770062  # Label Studio user ids, chosen not to collide with anything else
MY_ANNOTATIONS = (880101, 880103)
OTHER_ANNOTATIONS = (880102, 880104)
MY_RATIONALE = "Mine-7f3a: the ministry's table says so."
OTHER_RATIONALE = "Theirs-9c2e: the census says otherwise."


@pytest.fixture
def world(app, client):
    """Two check-worthy claims, each annotated by two annotators:

    - ``split``: I say True, the other says False (agreement split, status annotated);
    - ``decided``: both say False, and a reviewer accepted the other's annotation (verified);
      ``split`` is matched to it, so reviewers see an earlier verdict there.
    """
    article = make_article()
    split, decided = [c for c in article.claims if c.checkworthy][:2]
    link_claim(split, task_id=8801)
    link_claim(decided, task_id=8802)
    deliveries = [
        (MY_ANNOTATIONS[0], 8801, ME, "True", MY_RATIONALE),
        (OTHER_ANNOTATIONS[0], 8801, OTHER, "False", OTHER_RATIONALE),
        (MY_ANNOTATIONS[1], 8802, ME, "False", MY_RATIONALE),
        (OTHER_ANNOTATIONS[1], 8802, OTHER, "False", OTHER_RATIONALE),
    ]
    for ls_id, task, user, verdict, rationale in deliveries:
        payload = annotation_payload(ls_id, task, user_id=user, verdict=verdict, rationale=rationale)
        assert post(client, payload).status_code == 200
    reviewer = make_user("reviewer")
    db.session.expire_all()
    decided = db.session.get(Claim, decided.id)
    theirs = next(a for a in decided.annotations if a.annotator_ls_id == OTHER)
    response = client.post(
        f"/api/v1/claims/{decided.id}/review",
        headers=reviewer.headers,
        json={"action": "accept", "annotation_id": theirs.id, "claim_version": decided.version},
    )
    assert response.status_code == 201, response.json
    db.session.add(
        ClaimMatch(claim_id=split.id, matched_claim_id=decided.id, score=0.97, threshold=0.8, method="test")
    )
    annotator = make_user("annotator")
    annotator.user.label_studio_user_id = ME
    db.session.commit()
    split = db.session.get(Claim, split.id)
    assert (split.agreement, split.annotator_count, split.status) == ("split", 2, "annotated")
    others = db.session.scalars(db.select(Annotation).where(Annotation.annotator_ls_id == OTHER)).all()
    mine = db.session.scalars(db.select(Annotation).where(Annotation.annotator_ls_id == ME)).all()
    return {
        "article": article.id,
        "claims": [split.id, decided.id],
        "annotator": annotator,
        "reviewer": reviewer,
        "other_ids": {a.id for a in others},
        "my_ids": {a.id for a in mine},
    }


def urls(app, world) -> list[tuple[str, str]]:
    """(rule, url) for every API GET route, once per claim for the claim routes."""
    values: dict[str, list[Any]] = {
        "article_id": [world["article"]],
        "claim_id": world["claims"],
        "user_id": [world["annotator"].user.id],
        "job_id": ["some-job"],
        "export_id": ["no-such-export"],
        "endpoint_id": [1],
        "delivery_id": [1],
    }
    found = []
    with app.test_request_context():
        for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
            if not rule.rule.startswith("/api/") or "GET" not in rule.methods:
                continue
            if rule.rule.startswith("/api/v1/docs") or rule.rule == "/api/v1/openapi.json":
                continue  # what describes the API: public, the same for everyone, no data in it
            unknown = set(rule.arguments) - set(values)
            assert not unknown, f"teach test_blindness a value for {sorted(unknown)} in {rule.rule}"
            combos: list[dict[str, Any]] = [{}]
            for name in sorted(rule.arguments):
                combos = [{**c, name: v} for c in combos for v in values[name]]
            found += [(rule.rule, url_for(rule.endpoint, **args)) for args in combos]
    return found


def walk(node: Any, path: str = "$") -> Iterator[tuple[str, Any, Any]]:
    """Yield (path, key, value) for every key of every object in a JSON document."""
    if isinstance(node, dict):
        for key, value in node.items():
            yield path, key, value
            yield from walk(value, f"{path}.{key}")
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from walk(value, f"{path}[{i}]")


def annotator_answers(app, client, world) -> dict[str, Any]:
    """Call every API GET route as the annotator; return the JSON of those they may open."""
    answers, reached = {}, set()
    for rule, url in urls(app, world):
        response = client.get(url, headers=world["annotator"].headers)
        if response.status_code == 403:
            continue
        assert response.status_code == 200, f"{url}: {response.status_code} {response.data[:200]!r}"
        assert response.is_json, f"{url} answers an annotator with {response.mimetype}: check it by hand"
        answers[url] = response.get_json()
        reached.add(rule)
    assert EXPECTED_ANNOTATOR_ROUTES <= reached, sorted(EXPECTED_ANNOTATOR_ROUTES - reached)
    return answers


def test_an_annotator_sees_no_other_annotators_work_anywhere(app, client, world):
    answers = annotator_answers(app, client, world)
    for url, body in answers.items():
        text = json.dumps(body)
        for secret in (OTHER_RATIONALE, str(OTHER), *map(str, OTHER_ANNOTATIONS)):
            assert secret not in text, f"{url} leaks {secret!r}"
        for path, key, value in walk(body):
            assert key not in HIDDEN, f"{url} shows {path}.{key}"
            if key in ("annotation_id", "annotation_ids"):
                found = set(value) if isinstance(value, list) else {value}
                assert not found & world["other_ids"], f"{url} names another's annotation at {path}"
            if key == "annotations":
                assert {a["id"] for a in value} <= world["my_ids"], f"{url} shows another's annotation"
                for annotation in value:
                    assert annotation["annotator_ls_id"] == ME
                    assert annotation["ls_annotation_id"] in MY_ANNOTATIONS
                    assert annotation["rationale"] == MY_RATIONALE


def test_an_annotator_still_sees_their_own_annotations(client, world):
    for claim_id, verdict in zip(world["claims"], ("True", "False"), strict=True):
        body = client.get(f"/api/v1/claims/{claim_id}", headers=world["annotator"].headers).json
        assert [(a["ls_annotation_id"], a["verdict"]) for a in body["annotations"]] == [
            (MY_ANNOTATIONS[world["claims"].index(claim_id)], verdict)
        ]
        assert body["text"] and body["article"]["id"] == world["article"]


def test_an_annotator_without_a_label_studio_id_sees_no_annotations(client, world):
    stranger = make_user("annotator")
    for claim_id in world["claims"]:
        body = client.get(f"/api/v1/claims/{claim_id}", headers=stranger.headers).json
        assert body["annotations"] == []
        assert not HIDDEN & set(body)


def test_a_reviewer_still_sees_everything(app, client, world):
    """The same calls as a reviewer show what the annotator's hide (so the test above can fail)."""
    answers = annotator_answers(app, client, world)
    keys, texts = set(), []
    for url in answers:
        response = client.get(url, headers=world["reviewer"].headers)
        assert response.status_code == 200, url
        keys |= {key for _, key, _ in walk(response.get_json())}
        texts.append(json.dumps(response.get_json()))
    assert SHOWN_TO_REVIEWERS <= keys, sorted(SHOWN_TO_REVIEWERS - keys)
    everything = "\n".join(texts)
    for secret in (OTHER_RATIONALE, str(OTHER), *map(str, OTHER_ANNOTATIONS)):
        assert secret in everything
    split = client.get(f"/api/v1/claims/{world['claims'][0]}", headers=world["reviewer"].headers).json
    assert (split["agreement"], split["annotator_count"], split["status"]) == ("split", 2, "annotated")
    assert split["earlier_verdicts"][0]["verdict"]["rating"] == "False"
    decided = client.get(f"/api/v1/claims/{world['claims'][1]}", headers=world["reviewer"].headers).json
    assert len(decided["verdicts"]) == 1 and len(decided["annotations"]) == 2
