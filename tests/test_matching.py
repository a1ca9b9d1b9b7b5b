"""Claim matching: paraphrases link, different numbers, negations and names do not."""

from __future__ import annotations

from workbench.extraction.matching import find_matches, normalise, numbers, similarity

KNOWN = [
    ("a", "Unemployment rose to 5 percent in 2020, the statistics office said."),
    ("b", "Lukaku won the Man of the Match award."),
    ("c", "The council voted 7-2 to close the Kalvik mine."),
    ("d", "Imports of steel fell by a third last year."),
]


def keys(matches):
    return [k for k, _ in matches]


def test_normalise_number_formats_and_quotes():
    assert normalise("Prices rose 5% to $1,300 in the U.S.") == "prices rose 5 percent to $1300 in the us"
    assert normalise("5 per cent") == normalise("5 percent") == normalise("five percent")
    assert numbers(normalise("2.5 million people")) == frozenset({2_500_000.0})


def test_paraphrases_match_their_claim():
    new = [
        "The statistics office said unemployment increased to 5% in 2020.",
        "In 2020 unemployment rose to 5 per cent, according to the statistics office.",
        "The Kalvik mine will close after the council voted 7-2.",
    ]
    found = find_matches(new, KNOWN)
    assert [keys(m)[:1] for m in found] == [["a"], ["a"], ["c"]]
    assert all(0.5 <= m[0][1] <= 1.0 for m in found)


def test_changed_numbers_negations_and_names_do_not_match():
    new = [
        "Unemployment rose to 4.1 percent in 2020, the statistics office said.",
        "Unemployment did not rise to 5 percent in 2020, the statistics office said.",
        "Harry Kane won the Man of the Match award.",
        "The council voted 6-3 to close the Kalvik mine.",
    ]
    assert find_matches(new, KNOWN) == [[], [], [], []]


def test_threshold_is_configurable_and_results_are_sorted():
    new = ["Unemployment rose in 2020."]
    assert find_matches(new, KNOWN, threshold=0.99) == [[]]
    loose = find_matches(["Steel imports fell by a third last year, while unemployment rose."], KNOWN, 0.1)[0]
    assert keys(loose)[0] == "d"
    assert [s for _, s in loose] == sorted((s for _, s in loose), reverse=True)


def test_similarity_and_empty_inputs():
    assert similarity("Exports doubled in 2021.", "In 2021 exports doubled.") > 0.9
    assert similarity("", "anything") == 0.0
    # A vetoed pair (different numbers, or a negation on one side only) is 0, not an error.
    assert similarity("Exports doubled in 2021.", "Exports doubled in 2022.") == 0.0
    assert similarity("Exports doubled.", "Exports have not doubled.") == 0.0
    assert find_matches([], KNOWN) == []
    assert find_matches(["Exports doubled."], []) == [[]]


def test_many_known_claims_stay_fast():
    import time

    known = [
        (i, f"Claim number {i} says exports of item {i} rose by {i} percent in region {i % 50}.")
        for i in range(3000)
    ]
    t0 = time.perf_counter()
    found = find_matches(
        ["Exports of item 1234 increased by 1234% in region 34, claim number 1234 says."], known
    )
    assert keys(found[0]) == [1234]
    assert time.perf_counter() - t0 < 10
