"""Rewrite flags, resolving context and model reasons on extracted claims."""

from __future__ import annotations

from workbench.extraction import extract_claims
from workbench.extraction.context import needs_rewrite


def test_pronoun_and_demonstrative_leads_need_a_rewrite():
    assert needs_rewrite("He added that exports doubled.")
    assert needs_rewrite("This was the highest rise since 2001.")
    assert needs_rewrite("But they never paid the 4 million.")
    assert not needs_rewrite("It is important to note that prices rose.")
    assert not needs_rewrite("This year exports doubled.")
    assert not needs_rewrite("The minister resigned on Monday.")


def test_claim_carries_the_context_that_resolves_it():
    text = (
        "Finance Minister Ola Berg presented the budget on Monday. The deficit is 3 percent.\n\n"
        "It is the lowest since 2001. She said growth would reach 2 percent."
    )
    claims = extract_claims(text)
    lowest = next(c for c in claims if c.text.startswith("It is the lowest"))
    assert lowest.needs_rewrite
    assert lowest.resolving_context == "The deficit is 3 percent."
    she = next(c for c in claims if c.text.startswith("She said"))
    assert she.needs_rewrite and "Ola Berg" in she.resolving_context
    assert she.speaker == "Ola Berg"
    first = claims[0]
    assert not first.needs_rewrite and first.resolving_context == ""
    assert first.to_dict()["needs_rewrite"] is False


def test_reasons_are_in_words_with_their_contributions():
    claims = extract_claims("Exports fell 12 percent in March, the statistics office said.")
    assert claims[0].checkworthy
    reasons = claims[0].reasons
    assert [r.split(" (")[0] for r in reasons] == ["states a number or quantity", "reports a past event"]
    assert all(r.endswith(")") and " (+" in r for r in reasons)


def test_titles_and_descriptors_resolve_to_the_named_person_across_paragraphs():
    text = (
        "External Affairs Minister Dr S Jaishankar met his counterpart in Moscow on Monday.\n\n"
        "“Trade reached 65 billion dollars this year,” the minister said.\n\n"
        "“We expect more,” he added."
    )
    claims = extract_claims(text)
    assert [c.speaker for c in claims] == [None, "Jaishankar", "Jaishankar"]
    assert claims[2].is_quote
