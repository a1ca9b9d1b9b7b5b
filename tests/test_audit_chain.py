"""The audit chain: intact after real work, and any direct SQL edit is detected."""

from __future__ import annotations

import sqlalchemy as sa

from tests.factories import make_article
from workbench import audit
from workbench.db import db
from workbench.models import AuditEvent


def test_chain_of_real_work_verifies(client, admin):
    make_article()
    report = audit.verify()
    assert report.ok and report.checked > 3
    body = client.get("/api/v1/audit/verify", headers=admin.headers).json
    assert body["ok"] is True and body["checked"] == report.checked


def test_an_sql_update_is_detected_and_named(client, admin, runner):
    make_article()
    db.session.execute(sa.text("UPDATE audit_events SET actor = 'mallory' WHERE seq = 3"))
    db.session.commit()
    report = audit.verify()
    assert not report.ok and report.first_broken_seq == 3 and "altered" in report.reason
    response = client.get("/api/v1/audit/verify", headers=admin.headers)
    assert response.status_code == 409 and response.json["first_broken_seq"] == 3
    result = runner.invoke(args=["audit", "verify"])
    assert result.exit_code == 1 and "event 3" in result.output


def test_an_sql_delete_is_detected(client):
    make_article()
    db.session.execute(sa.text("DELETE FROM audit_events WHERE seq = 2"))
    db.session.commit()
    report = audit.verify()
    assert not report.ok and report.first_broken_seq == 2 and "missing" in report.reason


def test_a_payload_edit_is_detected(client):
    make_article()
    event = db.session.get(AuditEvent, 1)
    event.payload = {**event.payload, "claims": 0}
    db.session.commit()
    assert audit.verify().first_broken_seq == 1


def test_reviewers_cannot_verify_the_chain(client, reviewer):
    assert client.get("/api/v1/audit/verify", headers=reviewer.headers).status_code == 403


def test_deleting_the_newest_events_is_detected(client):
    make_article()
    last = db.session.scalar(sa.select(sa.func.max(AuditEvent.seq)))
    db.session.execute(sa.text(f"DELETE FROM audit_events WHERE seq >= {last - 1}"))
    db.session.commit()
    report = audit.verify()
    assert not report.ok and report.first_broken_seq == last - 1 and "deleted" in report.reason


def test_concurrent_writers_never_fork_the_chain(app):
    """Threads append at once; every append either lands on the head or fails cleanly."""
    import threading

    from sqlalchemy.exc import IntegrityError, OperationalError

    writers, per_writer = 6, 15
    barrier = threading.Barrier(writers)
    landed: list[int] = []
    refused: list[str] = []

    def write(n: int) -> None:
        with app.app_context():
            barrier.wait()
            for i in range(per_writer):
                try:
                    audit.append(f"writer-{n}", "test.concurrent", "test", f"{n}-{i}", {"i": i})
                    db.session.commit()
                    landed.append(n)
                except (IntegrityError, OperationalError) as exc:  # SQLite may refuse a racing writer
                    db.session.rollback()
                    refused.append(type(exc).__name__)
            db.session.remove()

    threads = [threading.Thread(target=write, args=(n,)) for n in range(writers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    report = audit.verify()
    assert report.ok, report.reason
    assert report.checked == len(landed) and landed, "at least some writers must land"
    if db.engine.dialect.name == "postgresql":
        # The advisory lock queues writers: nobody is refused.
        assert refused == [] and len(landed) == writers * per_writer
    prevs = db.session.scalars(sa.select(AuditEvent.prev_hash)).all()
    assert len(prevs) == len(set(prevs)), "two events share a predecessor: the chain forked"


def test_a_tail_deletion_stays_visible_after_the_next_append(client):
    make_article()
    last = db.session.scalar(sa.select(sa.func.max(AuditEvent.seq)))
    db.session.execute(sa.text(f"DELETE FROM audit_events WHERE seq >= {last - 1}"))
    db.session.commit()
    audit.append("someone", "test.after", "test", 1, {})
    db.session.commit()
    report = audit.verify()
    assert not report.ok and report.first_broken_seq == last - 1 and "missing" in report.reason
