"""Reasons in words: features a fact-checker recognises, with contributions fitted on ClaimBuster."""

from __future__ import annotations

import json

import pytest

from tests.conftest import SHARED
from workbench.extraction import extract_claims
from workbench.extraction.reasons import (
    FEATURES,
    MAX_REASONS,
    WEIGHTS_FORMAT,
    WEIGHTS_PATH,
    detect,
    explain,
    fit,
    reasons_for,
    shipped_weights,
)

CROWDSOURCED = SHARED / "data" / "claimbuster" / "crowdsourced.csv"
LABELS = {f.name: f.label for f in FEATURES}

# For each feature: sentences that have it, and near misses that do not.
WITH = {
    "quantity": [
        "Exports fell 12 percent in March.",
        "The bridge cost $4.5 billion.",
        "Two thousand workers lost their jobs.",
        "One in five children lives in poverty.",
        "Inflation reached 7% this spring.",
    ],
    "comparison": [
        "Crime is lower than it was a decade ago.",
        "It is the largest budget in the state's history.",
        "Our schools are ranked among the worst in the region.",
        "We spend more money on defence than anyone.",
        "Wages grew faster in the north compared with the south.",
    ],
    "past_event": [
        "The senator voted against the bill.",
        "Police arrested the suspect on the border.",
        "The company has closed three factories.",
        "Rebels took the airport.",
        "The bridge collapsed ten years ago.",
    ],
    "prediction": [
        "Prices will rise again in the spring.",
        "The deficit is expected to reach a record.",
        "We're going to lose these jobs to other countries.",
        "The plant won't open before the summer.",
        "Growth should pick up next year, the bank forecasts.",
    ],
    "law": [
        "The Clean Air Act limits these emissions.",
        "The new law requires a licence for every boat.",
        "The Supreme Court struck it down as unconstitutional.",
        "The bill bans smoking in parks.",
        "Under the regulations, landlords must register.",
    ],
    "cause": [
        "Prices rose because of the drought.",
        "The closure led to hundreds of layoffs.",
        "Fares went up due to the fuel tax.",
        "As a result, the river flooded the town.",
        "The policy caused a shortage of nurses.",
    ],
    "opinion": [
        "I think this is a mistake.",
        "She believes the plan will fail.",
        "In my view, the reform goes too far.",
        "Many economists doubt the figures.",
        "I'm convinced the voters want change.",
    ],
    "personal": [
        "I grew up in a small mining town.",
        "My father worked in a steel mill.",
        "When I was a child, the river was clean.",
        "I've seen what drugs do to a family.",
        "I visited the camp last winter.",
    ],
    "hedge": [
        "The plant may close.",
        "Perhaps the figures are wrong.",
        "Some people say the tax is unfair.",
        "It could be a sort of compromise.",
        "About 40 families were affected, reportedly.",
    ],
}
WITHOUT = {
    "quantity": [
        "The G20 met in Delhi.",
        "The law was passed in 1990.",
        "The minister resigned.",
        "COVID-19 changed the way people work.",
    ],
    "comparison": [
        "The minister resigned.",
        "Other than that, nothing changed.",
        "The test results are in.",
        "He would rather wait.",
    ],
    "past_event": [
        "The minister is concerned.",
        "We need a new hospital.",
        "Taxes are too high.",
        "The so-called reform is a scandal.",
        "He said it is a good plan.",
    ],
    "prediction": [
        "The will of the people is clear.",
        "I am going to the station.",
        "The council approved the plan.",
        "He showed political will.",
    ],
    "law": [
        "Bill Clinton spoke in Ohio.",
        "The team won the match.",
        "Act now, the poster says.",
        "Prices went up.",
    ],
    "cause": [
        "The cause of peace is worth it.",
        "Prices went up.",
        "The minister visited the school.",
        "In order to win, they need votes.",
    ],
    "opinion": [
        "Public opinion polls show a close race.",
        "The minister visited the school.",
        "Prices went up in March.",
        "I know the answer.",
    ],
    "personal": [
        "We were at war.",
        "The minister grew up in Paris.",
        "Our family policy is working.",
        "In my state, taxes are low.",
    ],
    "hedge": [
        "The plant closed in May.",
        "What kind of country do we want?",
        "Unemployment fell to 4.1 percent.",
        "We talked about the budget.",
    ],
}


@pytest.mark.parametrize(
    ("feature", "sentence"), [(f, s) for f, sentences in WITH.items() for s in sentences]
)
def test_a_sentence_with_the_feature_gets_its_reason(feature, sentence):
    assert feature in detect(sentence)
    # Alone among the top three when fewer features fire, so the reason itself is shown.
    if len(detect(sentence)) <= MAX_REASONS:
        assert any(r.startswith(LABELS[feature] + " (") for r in explain(sentence))


@pytest.mark.parametrize(
    ("feature", "sentence"), [(f, s) for f, sentences in WITHOUT.items() for s in sentences]
)
def test_a_sentence_without_the_feature_does_not_get_its_reason(feature, sentence):
    assert feature not in detect(sentence)
    assert not any(r.startswith(LABELS[feature] + " (") for r in explain(sentence))


def test_every_feature_is_tested_both_ways():
    assert set(WITH) == set(WITHOUT) == {f.name for f in FEATURES}


def test_reasons_are_at_most_three_strongest_first_and_read_in_words():
    # Seven features at once.
    sentence = (
        "I think prices rose 5 percent last year because of the new law, and they will be higher still."
    )
    assert len(detect(sentence)) > MAX_REASONS
    reasons = reasons_for(sentence)
    assert len(reasons) == MAX_REASONS
    sizes = [abs(r.contribution) for r in reasons]
    assert sizes == sorted(sizes, reverse=True)
    # The three shown are the three strongest of all the features found.
    weights = shipped_weights()
    strongest = sorted((abs(weights[n]) for n in detect(sentence)), reverse=True)[:MAX_REASONS]
    assert sizes == strongest
    text = explain(sentence)
    assert text[0] == f"{reasons[0].label} ({reasons[0].contribution:+.2f})"
    assert all("'" not in r for r in text), "reasons are words, not token weights"


def test_a_sentence_with_no_feature_gets_no_reason():
    assert explain("Thank you.") == ()


def test_the_shipped_weights_are_fitted_data_with_their_credit():
    spec = json.loads(WEIGHTS_PATH.read_text(encoding="utf-8"))
    assert spec["format"] == WEIGHTS_FORMAT
    assert set(spec["weights"]) == {f.name for f in FEATURES}
    assert "CC BY 4.0" in spec["fit"]["data"] and "ClaimBuster" in spec["fit"]["data"]
    assert spec["fit"]["sentences"] > 20_000
    # What the data say: numbers and past events point to check-worthy, opinions away from it.
    w = spec["weights"]
    assert w["quantity"] > 0 and w["past_event"] > 0 and w["opinion"] < 0


def test_claims_carry_reasons_in_words_and_the_model_score():
    from workbench.extraction.pipeline import active_scorer

    sentence = "Exports fell 12 percent in March, the statistics office said."
    claim = extract_claims(sentence)[0]
    assert claim.reasons == explain(sentence)
    assert claim.reasons[0].startswith("states a number or quantity (+")
    assert claim.checkworthiness == round(active_scorer().scores([sentence])[0], 4)


@pytest.mark.shared
def test_the_shipped_weights_are_what_fitting_on_claimbuster_gives():
    if not CROWDSOURCED.exists():
        pytest.skip(f"../shared not present: {CROWDSOURCED}")
    pytest.importorskip("sklearn")
    shipped = json.loads(WEIGHTS_PATH.read_text(encoding="utf-8"))
    refitted = fit(CROWDSOURCED)
    assert refitted["fit"]["data_sha256"] == shipped["fit"]["data_sha256"]
    assert refitted == shipped
