"""Claim types on Full Fact's typology: each type with and without its feature, the mapping
of the old types, and the data migration that maps stored claims (with audit events)."""

from __future__ import annotations

import pytest

from workbench.extraction import extract_claims
from workbench.extraction.checkworthiness import LEGACY_CLAIM_TYPES, score
from workbench.extraction.claim_types import (
    CLAIM_TYPES,
    LABELS,
    NEW_TO_OLD,
    OLD_TO_NEW,
    classify,
    label,
)

# Every sentence is written here; (with the feature, without it).
PAIRS = {
    "personal_experience": [
        ("I grew up in a town where the mill had closed.", "The town's mill closed in 1998."),
        ("When I was a nurse, we never had enough beds.", "Nurses say hospitals never have enough beds."),
    ],
    "quantity": [
        ("Unemployment fell to 4.1 percent in March.", "Unemployment was discussed in March."),
        ("More than 2,000 people attended the rally.", "People attended the rally in the square."),
        ("Exports are higher than imports this year.", "Exports were discussed with the importers."),
    ],
    "correlation_causation": [
        ("The flooding was caused by the blocked drains.", "The flooding reached the blocked drains."),
        ("Smoking can lead to lung disease.", "Smoking was banned in pubs."),
        ("The report has prompted calls for a new inquiry.", "The report has been read by the inquiry."),
    ],
    "laws_rules": [
        ("Applicants must be resident in the county.", "Applicants were resident in the county."),
        ("Drivers are required to carry a licence.", "Drivers carried a licence."),
    ],
    "prediction": [
        ("The council will close the library next year.", "The council closed the library last year."),
        ("The final is scheduled to take place in Lisbon.", "The final took place in Lisbon."),
    ],
    "other": [
        ("The minister visited the flooded villages on Tuesday.", "Visit the flooded villages on Tuesday."),
    ],
}


@pytest.mark.parametrize(
    ("claim_type", "with_feature", "without"),
    [(t, w, wo) for t, pairs in PAIRS.items() for w, wo in pairs],
)
def test_each_type_with_and_without_its_feature(claim_type, with_feature, without):
    assert classify(with_feature) == claim_type
    assert classify(without) != claim_type


@pytest.mark.parametrize(
    "sentence",
    [
        "Will the council close the library?",
        "Thank you all for coming tonight.",
        "Avoid the main road during the festival.",
        "We should do more for our children.",
        "Regional news and weather",
        "Monday, March 5, 2029",
    ],
)
def test_not_a_claim(sentence):
    assert classify(sentence) == "not_a_claim"


def test_non_sentences_from_the_segmenter_are_not_claims():
    for kind in ("caption", "credit", "label"):
        assert classify("Unemployment fell to 4.1 percent in March.", kind=kind) == "not_a_claim"
    assert score("Unemployment fell to 4.1 percent.", kind="credit").claim_type == "not_a_claim"


def test_precedence_prediction_before_cause_before_quantity():
    assert classify("Unemployment will fall 5 percent because of the tax cut.") == "prediction"
    assert classify("Unemployment fell 5 percent because of the tax cut.") == "correlation_causation"


def test_numbers_that_time_an_event_are_not_quantities():
    assert classify("Six minutes later, the striker scored again.") == "other"
    assert classify("The talks ended 1 – 1 after extra time.") != "quantity"


def test_every_old_type_maps_to_a_new_one_and_back():
    assert set(OLD_TO_NEW) == set(LEGACY_CLAIM_TYPES)
    assert set(OLD_TO_NEW.values()) <= set(CLAIM_TYPES)
    assert set(NEW_TO_OLD) == set(CLAIM_TYPES)
    assert set(NEW_TO_OLD.values()) <= set(LEGACY_CLAIM_TYPES)
    assert OLD_TO_NEW["statistic"] == OLD_TO_NEW["comparison"] == "quantity"
    assert OLD_TO_NEW["opinion"] == "not_a_claim"
    # Types that exist in both sets survive a round trip.
    for old in ("prediction", "other", "statistic", "opinion"):
        assert NEW_TO_OLD[OLD_TO_NEW[old]] == old


def test_labels_are_the_published_names():
    assert set(LABELS) == set(CLAIM_TYPES)
    assert label("correlation_causation") == "correlation or causation"
    assert label("statistic") == "quantity in the past or present"  # an old stored type reads as its new one
    assert label("something_else") == "something else"


def test_extracted_claims_carry_new_types():
    claims = extract_claims("Unemployment fell to 4.1 percent in March, the statistics office said.")
    assert [c.claim_type for c in claims] == ["quantity"]
    header = extract_claims(" date 2030-01-01 A B By\n\nThe mayor resigned.", include_all=True)
    assert header[0].claim_type == "not_a_claim"


def test_migration_maps_stored_types_and_keeps_the_audit_chain_clean(app):
    import sqlalchemy as sa
    from flask_migrate import downgrade, upgrade

    from tests.factories import make_article
    from workbench.audit.chain import verify
    from workbench.db import db
    from workbench.models import Claim

    with app.app_context():
        article = make_article(
            "Unemployment fell to 4.1 percent in March, the office said.\n\n"
            "The council will close the library next year."
        )
        before = dict(
            db.session.execute(
                sa.select(Claim.id, Claim.claim_type).where(Claim.article_id == article.id)
            ).all()
        )
        assert set(before.values()) == {"quantity", "prediction"}
        assert verify().ok
        db.session.remove()
        try:
            downgrade(revision="0009")
            db.session.remove()
            down = dict(db.session.execute(sa.select(Claim.id, Claim.claim_type)).all())
            assert {down[i] for i in before} == {"statistic", "prediction"}
            report = verify()
            assert report.ok, report.reason
            events = db.session.execute(
                sa.text("SELECT count(*) FROM audit_events WHERE action = 'claim.type_mapped'")
            ).scalar()
            assert events == 1  # only the claim whose type moved
            db.session.remove()
        finally:
            upgrade()
        db.session.remove()
        after = dict(db.session.execute(sa.select(Claim.id, Claim.claim_type)).all())
        assert {after[i] for i in before} == {"quantity", "prediction"}
        assert verify().ok
