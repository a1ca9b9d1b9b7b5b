"""The audit chain speaks for the rows: a row changed behind the workbench's back shows."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from tests.factories import annotated_claim, annotation_payload, link_claim, make_article, make_user
from workbench import audit
from workbench.db import db
from workbench.labelstudio.annotations import store_annotation
from workbench.labelstudio.service import reconcile_states
from workbench.models import Article, AuditEvent, Claim, User
from workbench.review import decide


@pytest.fixture
def decided(app):
    """An article whose first check-worthy claim two annotators labelled and a reviewer accepted."""
    claim = annotated_claim()
    reviewer = make_user("reviewer")
    decide(
        claim.id,
        reviewer.user,
        {"action": "accept", "annotation_id": claim.annotations[0].id, "claim_version": claim.version},
    )
    db.session.commit()
    return claim


def verify():
    db.session.commit()
    return audit.verify()


def test_real_work_verifies(decided):
    report = verify()
    assert report.ok, report.reason


@pytest.mark.parametrize(
    ("statement", "row"),
    [
        ("UPDATE verdicts SET rating = 'True', rationale = 'tampered'", "verdict:"),
        ("UPDATE annotations SET verdict = 'True' WHERE ls_annotation_id = 50102", "annotation:"),
        ("UPDATE claims SET status = 'rejected' WHERE status = 'verified'", "claim:"),
        ("UPDATE articles SET title = 'Another title'", "article:"),
        ("UPDATE users SET role = 'admin' WHERE role = 'reviewer'", "user:"),
    ],
)
def test_a_row_changed_in_sql_is_named_by_verify(decided, statement, row):
    db.session.execute(sa.text(statement))
    report = verify()
    assert not report.ok
    assert row in report.reason and "does not match audit event" in report.reason


def test_a_row_inserted_in_sql_is_named_by_verify(decided):
    db.session.execute(
        sa.text(
            "INSERT INTO users (email, name, role, token_hash, active, created_at) "
            "VALUES ('ghost@example.org', '', 'admin', :h, true, CURRENT_TIMESTAMP)"
        ),
        {"h": "f" * 64},
    )
    report = verify()
    assert not report.ok and "has no audit event" in report.reason


def test_a_row_deleted_in_sql_is_named_by_verify(decided):
    db.session.execute(sa.text("DELETE FROM claim_matches"))
    db.session.execute(sa.text("DELETE FROM verdicts"))
    report = verify()
    assert not report.ok and "verdict:" in report.reason and "deleted" in report.reason


def test_a_rollback_takes_back_what_a_savepoint_added(app):
    """pysqlite released savepoints as commits; an outer rollback must undo the inner work."""
    make_article()
    db.session.commit()
    before = db.session.scalar(sa.select(sa.func.count()).select_from(Article))
    db.session.scalar(sa.select(Article.id).limit(1))  # the outer transaction is open
    with db.session.begin_nested():
        db.session.add(Article(text="x", text_sha256="e" * 64, raw_input={}, extractor_version="t"))
    db.session.rollback()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Article)) == before


def test_reconcile_repairs_counts_and_status_written_wrong_and_a_second_run_repairs_nothing(decided):
    other = next(c for c in decided.article.claims if c.checkworthy and c.id != decided.id)
    link_claim(other, task_id=502)
    store_annotation(
        other, annotation_payload(3, 502, user_id=1)["annotation"], source="webhook", project_id=1, overlap=2
    )
    store_annotation(
        other, annotation_payload(4, 502, user_id=2)["annotation"], source="webhook", project_id=1, overlap=2
    )
    db.session.commit()
    # What the lost-update race left behind: one annotator counted, never in the queue.
    db.session.execute(
        sa.update(Claim)
        .where(Claim.id == other.id)
        .values(annotator_count=1, status="in_annotation", agreement=None)
    )
    db.session.commit()
    assert reconcile_states(2) == 1
    db.session.expire_all()
    repaired = db.session.get(Claim, other.id)
    assert (repaired.annotator_count, repaired.status, repaired.agreement) == (2, "annotated", "unanimous")
    assert reconcile_states(2) == 0
    assert verify().ok
    event = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "claim.reconciled"))
    assert event.payload["changes"]["status"] == ["in_annotation", "annotated"]


def test_every_user_change_writes_exactly_one_event(client, admin):
    user = make_user("annotator")
    for _ in range(2):
        assert client.post(f"/api/v1/users/{user.user.id}/disable", headers=admin.headers).status_code == 200
    actions = db.session.scalars(
        sa.select(AuditEvent.action).where(
            AuditEvent.subject_type == "user", AuditEvent.subject_id == str(user.user.id)
        )
    ).all()
    assert actions == ["user.created", "user.disabled"]
    assert verify().ok
    db.session.execute(sa.update(User).where(User.id == user.user.id).values(active=True))
    assert "user:" in verify().reason


def test_baseline_attests_rows_from_before_attestation_once_and_never_hides_a_change(decided, runner):
    # A row from an older database: no event speaks for it.
    db.session.execute(
        sa.text(
            "INSERT INTO users (email, name, role, token_hash, active, created_at) "
            "VALUES ('old@example.org', '', 'reviewer', :h, true, CURRENT_TIMESTAMP)"
        ),
        {"h": "a" * 64},
    )
    db.session.execute(sa.text("UPDATE articles SET title = 'changed behind its back'"))
    db.session.commit()
    result = runner.invoke(args=["audit", "baseline"])
    assert result.exit_code == 0 and "attested 1 rows" in result.output
    report = verify()
    assert not report.ok and "article:" in report.reason  # the changed row is still named
    assert runner.invoke(args=["audit", "baseline"]).output.startswith("attested 0 rows")
