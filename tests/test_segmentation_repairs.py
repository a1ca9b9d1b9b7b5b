"""Segmentation repairs: web addresses, mistyped closing quotes, captions, credits, labels.

Every example is written here (none is taken from the sample articles): each
repair is a general rule, tested with the feature and without it.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from workbench.extraction import extract_claims
from workbench.extraction.segment import CAPTION, CREDIT, LABEL, SENTENCE, segment


def _pieces(text: str) -> list[tuple[str, str]]:
    return [(text[s.start : s.end], s.kind) for s in segment(text)]


def _texts(text: str) -> list[str]:
    return [t for t, _ in _pieces(text)]


# --- a sentence ending in a web address ---------------------------------------


@pytest.mark.parametrize(
    "address",
    [
        "www.standfor.co.nz",
        "www.example.org",
        "Ticketek.co.nz",
        "bbc.co.uk/news",
        "example.com/news/2024/story",
        "https://example.org/a/b",
        "https://example.org/a/b/",
        "http://www.who.int",
        "twitter.com/someone",
    ],
)
def test_a_sentence_ending_in_a_web_address_ends_there(address):
    text = f"The full report is on {address}. Donations can be made online."
    assert _texts(text) == [f"The full report is on {address}.", "Donations can be made online."]


def test_a_web_address_inside_a_sentence_is_not_split():
    text = "Visit www.Example.com/Page.html for the figures. They were published on Monday."
    assert _texts(text) == [
        "Visit www.Example.com/Page.html for the figures.",
        "They were published on Monday.",
    ]


def test_abbreviations_are_not_web_addresses():
    # "U.S." and "e.g." have one-letter parts; a lower-case word follows "e.g.".
    assert _texts("He said the U.S. Army was ready. It was.") == [
        "He said the U.S. Army was ready.",
        "It was.",
    ]
    assert _texts("Some fruit, e.g. apples, were cheaper.") == ["Some fruit, e.g. apples, were cheaper."]


# --- a closing quote typed as an opening one -------------------------------------


def test_a_mistyped_closing_quote_closes_the_sentence():
    text = "He called it “a bad decision.“ However, the board did not reply."
    assert _texts(text) == ["He called it “a bad decision.“", "However, the board did not reply."]
    text = "“We will not accept this.“ The minister then left the room."
    assert _texts(text) == ["“We will not accept this.“", "The minister then left the room."]


def test_a_mistyped_closing_quote_keeps_its_attribution():
    text = "“We will not accept this decision.“ he said."
    assert _texts(text) == [text]


def test_a_real_opening_quote_after_a_sentence_is_unchanged():
    text = "The minister spoke. “We will appeal,” she said."
    assert _texts(text) == ["The minister spoke.", "“We will appeal,” she said."]


# --- captions, photo credits and labels are not sentences --------------------------


@pytest.mark.parametrize(
    "credit",
    ["Photo: Jane Doe/Reuters", "Image: City Council", "Photograph by Ann Lee", "Credit: Getty Images"],
)
@pytest.mark.parametrize("gap", ["\n", "\n\n"])
def test_a_line_above_a_photo_credit_is_a_caption(credit, gap):
    text = f"Protesters outside the parliament building{gap}{credit}{gap}The police arrested 40 people."
    assert _pieces(text) == [
        ("Protesters outside the parliament building", CAPTION),
        (credit, CREDIT),
        ("The police arrested 40 people.", SENTENCE),
    ]


def test_an_inline_agency_photo_credit_is_cut_out():
    text = "Smoke over the harbour (AP Photo/John Smith) Officials said 12 people died."
    assert _pieces(text) == [
        ("Smoke over the harbour", CAPTION),
        ("(AP Photo/John Smith)", CREDIT),
        ("Officials said 12 people died.", SENTENCE),
    ]


def test_a_caption_that_ends_as_a_sentence_stays_a_sentence():
    text = "The mayor opened the new bridge on Monday. Photo: City Council.\n\nTraffic was light."
    assert _pieces(text) == [
        ("The mayor opened the new bridge on Monday.", SENTENCE),
        ("Photo: City Council.", CREDIT),
        ("Traffic was light.", SENTENCE),
    ]


def test_photo_as_a_word_is_not_a_credit():
    text = "The photo showed a crowded beach. Photographers were kept away."
    assert _pieces(text) == [
        ("The photo showed a crowded beach.", SENTENCE),
        ("Photographers were kept away.", SENTENCE),
    ]


@pytest.mark.parametrize("label", ["POLITICS", "World News", "Business & Economy", "Sport"])
@pytest.mark.parametrize("gap", ["\n", "\n\n"])
def test_a_category_line_is_a_label(label, gap):
    text = f"{label}{gap}The minister resigned on Tuesday."
    assert _pieces(text) == [(label, LABEL), ("The minister resigned on Tuesday.", SENTENCE)]


def test_short_lines_that_are_not_labels():
    # Lower-case words, a digit or sentence punctuation: not a label line.
    assert _pieces("Prices rose\nThe end.") == [("Prices rose\nThe end.", SENTENCE)]
    assert _pieces("Stop!") == [("Stop!", SENTENCE)]
    assert _pieces("Brexit In 2019") == [("Brexit In 2019", SENTENCE)]
    # A capitalised line in the middle of a wrapped sentence is not a label.
    text = "The talks were led by\nVladimir Putin\nand lasted two hours."
    assert _pieces(text) == [(text, SENTENCE)]


def test_non_sentences_are_typed_not_a_claim():
    text = (
        "The minister spoke on Monday.\n\nPOLITICS\n\n"
        "Protesters outside the parliament building\nPhoto: Jane Doe/Reuters\n\n"
        "The police arrested 40 people on Tuesday."
    )
    types = [(c.text, c.claim_type) for c in extract_claims(text)]
    types = types[1:]
    assert types[:3] == [
        ("POLITICS", "not_a_claim"),
        ("Protesters outside the parliament building", "not_a_claim"),
        ("Photo: Jane Doe/Reuters", "not_a_claim"),
    ]
    assert types[3][1] != "not_a_claim"


# --- offsets stay slices of the article --------------------------------------------

_PARTS = st.sampled_from(
    [
        "The report is on www.example.co.nz.",
        "See https://example.org/x/y/.",
        "He called it “bad.“",
        "However, it passed.",
        "Photo: Jane Doe/Reuters",
        "(AP Photo/Ann Lee)",
        "WORLD NEWS",
        "Image:",
        "“",
        "www.",
        ".com.",
        "a.b. C",
        "Protesters gather",
    ]
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(_PARTS, st.sampled_from([" ", "\n", "\n\n", "", "\r\n"])), max_size=12))
def test_offsets_invariant_with_repairs(parts):
    text = "".join(p + sep for p, sep in parts)
    previous_end = 0
    for span in segment(text):
        piece = text[span.start : span.end]
        assert piece and piece == piece.strip()
        assert span.start >= previous_end
        previous_end = span.end
    for claim in extract_claims(text, include_all=True):
        assert text[claim.start : claim.end] == claim.text
