"""Overlap, blindness and re-annotation, checked against the real Label Studio 1.23.2 (community).

Three real annotators log in and act with their own tokens. See "Overlap, blindness and
re-annotation in 1.23.2 community" in docs/label-studio-notes.md for what these tests pin down.
"""

from __future__ import annotations

import json
import re
import secrets

import pytest
import requests

from tests.conftest import LS_KEY, LS_URL, REPO
from tests.labelstudio_helpers import annotate_as, new_annotator
from tests.ls_client_helpers import LabelStudioTestClient
from workbench.errors import LabelStudioError

pytestmark = pytest.mark.labelstudio


class Annotator:
    """A logged-in Label Studio user acting with their own token."""

    def __init__(self, user_id: int, email: str, token: str):
        self.id, self.email, self.token = user_id, email, token
        self.client = LabelStudioTestClient(LS_URL, token, timeout=60)


@pytest.fixture(scope="module")
def annotators(ls_client):
    """Three annotators (A, B, C), created once per module: each costs a reset_password run."""
    people = [Annotator(*new_annotator(ls_client, prefix=f"overlap-{n}")) for n in "abc"]
    yield people
    for person in people:
        person.client.close()


def _task(i: int) -> dict:
    """A task carrying every $variable label_config.xml reads (Label Studio refuses fewer)."""
    config = (REPO / "label_config.xml").read_text(encoding="utf-8")
    data = {name: "" for name in re.findall(r'value="\$(\w+)"', config)}
    data.update(
        {
            "claim_uuid": f"overlap-{secrets.token_hex(6)}",
            "text": f"Exports rose {i + 3}% in 2023.",
            "context": "Previous sentence.",
            "article_title": "Overlap test",
            "article_url": "https://example.org/overlap",
            "speaker_label": "reporter",
            "score_label": "0.8",
        }
    )
    return {"data": data}


@pytest.fixture
def project(ls_client):
    """A throwaway project whose two tasks need two annotations each; deleted afterwards."""
    config = (REPO / "label_config.xml").read_text(encoding="utf-8")
    created, _ = ls_client.ensure_project(f"wb-overlap-{secrets.token_hex(4)}", config)
    pid = int(created["id"])
    try:
        task_ids = ls_client.import_tasks(pid, [_task(0), _task(1)])
        # Set after the import, as the workbench would on an existing project: the tasks follow.
        updated = ls_client.set_maximum_annotations(pid, 2)
        assert updated["maximum_annotations"] == 2
        assert updated["sampling"] == "Sequential sampling"  # the default; Uniform randomises
        assert [ls_client.get_task(t)["overlap"] for t in task_ids] == [2, 2]
        yield pid, task_ids
    finally:
        ls_client.delete_project(pid)


def _next_id(person: Annotator, pid: int) -> int | None:
    task = person.client.next_task(pid)
    return None if task is None else int(task["id"])


def test_overlap_two_routes_both_annotators_to_the_same_task_then_moves_on(project, annotators, ls_client):
    pid, (t1, t2) = project
    a, b, c = annotators

    # Sequential sampling: both are served the first task (a task takes up to `overlap` locks).
    assert _next_id(a, pid) == t1
    assert _next_id(b, pid) == t1

    # A annotates T1: A moves on, B is still held on T1 by their lock.
    annotate_as(a.token, t1, "False", "A's reading")
    assert _next_id(a, pid) == t2
    assert _next_id(b, pid) == t1

    # B annotates T1: it is complete, and neither gets it again.
    annotate_as(b.token, t1, "True", "B's reading")
    done = ls_client.get_task(t1)
    assert (done["is_labeled"], done["total_annotations"], done["overlap"]) == (True, 2, 2)
    assert _next_id(a, pid) == t2
    assert _next_id(b, pid) == t2

    annotate_as(a.token, t2, "False", "A on T2")
    annotate_as(b.token, t2, "False", "B on T2")
    assert a.client.next_task(pid) is None
    assert b.client.next_task(pid) is None
    # A third annotator finds nothing either: every task has its two annotations.
    assert c.client.next_task(pid) is None


def test_locks_count_towards_overlap(project, annotators):
    pid, (t1, t2) = project
    a, b, c = annotators
    assert _next_id(a, pid) == t1
    assert _next_id(b, pid) == t1
    # T1 is taken by two locks (its overlap), so the third annotator is sent to T2.
    assert _next_id(c, pid) == t2


def test_the_stream_hides_other_annotations_but_the_api_does_not(project, annotators):
    pid, (t1, _t2) = project
    a, b, _c = annotators
    secret = f"A-only-{secrets.token_hex(6)}"
    assert _next_id(a, pid) == t1
    mine = annotate_as(a.token, t1, "Misleading", secret)

    # (a) The label stream: B gets T1 with no annotations at all, only the count.
    served = b.client.next_task(pid)
    assert served["id"] == t1
    assert served["annotations"] == []
    assert served["total_annotations"] == 1
    assert secret not in json.dumps(served)

    # (b) The task and annotation endpoints, with B's own token, show A's work in full.
    task = b.client.get_task(t1)
    assert [ann["completed_by"]["id"] for ann in task["annotations"]] == [a.id]
    assert secret in json.dumps(task["annotations"])
    assert [ann["completed_by"] for ann in b.client.list_annotations(t1)] == [a.id]
    assert secret in json.dumps(b.client.get_annotation(mine["id"]))

    # (c) The data manager's task list (what its table and quick view read) too.
    listed = {t["id"]: t for t in b.client.iter_tasks(pid)}
    assert secret in json.dumps(listed[t1]["annotations"])

    # No role separation: B can even rewrite A's annotation; only updated_by tells.
    changed = b.client.update_annotation(mine["id"], mine["result"][:1])
    assert changed["completed_by"] == a.id
    assert changed["updated_by"] == b.id


def test_reopen_task_brings_a_completed_task_back_to_new_annotators(project, annotators, ls_client):
    pid, (t1, t2) = project
    a, b, c = annotators
    assert _next_id(a, pid) == t1 and _next_id(b, pid) == t1
    annotate_as(a.token, t1, "False", "A")
    annotate_as(b.token, t1, "True", "B")
    assert ls_client.get_task(t1)["is_labeled"] is True

    # Raising overlap alone is not enough: is_labeled stays true and the stream skips the task.
    raw = requests.patch(
        f"{LS_URL}/api/tasks/{t1}/",
        json={"overlap": 3},
        headers={"Authorization": f"Token {LS_KEY}"},
        timeout=30,
    )
    assert raw.status_code == 200 and raw.json()["is_labeled"] is True
    assert _next_id(c, pid) == t2  # not T1; C now holds a lock on T2

    # reopen_task (overlap + is_labeled=false) puts it back, for annotators who have not done it.
    reopened = ls_client.reopen_task(t1, 3)
    assert (reopened["overlap"], reopened["is_labeled"], reopened["total_annotations"]) == (3, False, 2)
    assert _next_id(a, pid) != t1
    assert _next_id(b, pid) != t1
    # A task an annotator holds a lock on comes first: C finishes T2, then is served T1.
    assert _next_id(c, pid) == t2
    annotate_as(c.token, t2, "True", "C on T2")
    assert _next_id(c, pid) == t1
    annotate_as(c.token, t1, "Half true", "C after reopening")

    after = ls_client.get_task(t1)
    assert (after["is_labeled"], after["total_annotations"], after["overlap"]) == (True, 3, 3)
    assert sorted(ann["completed_by"] for ann in ls_client.list_annotations(t1)) == sorted([a.id, b.id, c.id])
    assert _next_id(c, pid) != t1

    with pytest.raises(ValueError):
        ls_client.reopen_task(t1, 3)

    # Changing the project's maximum_annotations resets every overlap>1 task, reopened ones too.
    ls_client.reopen_task(t1, 5)
    ls_client.set_maximum_annotations(pid, 4)
    assert ls_client.get_task(t1)["overlap"] == 4


def test_the_api_accepts_annotations_beyond_maximum(project, annotators, ls_client):
    pid, (t1, _t2) = project
    a, b, c = annotators
    annotate_as(a.token, t1, "False", "A")
    annotate_as(b.token, t1, "True", "B")
    assert c.client.next_task(pid)["id"] != t1
    # Posting straight to the task ignores overlap: a third annotation is created.
    annotate_as(c.token, t1, "Half true", "C, uninvited")
    # And the same annotator may add a second annotation to a task they already did.
    annotate_as(a.token, t1, "True", "A again")
    task = ls_client.get_task(t1)
    assert (task["total_annotations"], task["overlap"], task["is_labeled"]) == (4, 2, True)


def test_next_task_on_an_unknown_project_raises(ls_client):
    with pytest.raises(LabelStudioError) as caught:
        ls_client.next_task(987654321)
    assert caught.value.errors.get("status_code") == 404
