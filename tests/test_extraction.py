"""Unit and property tests for workbench.extraction (no database, no Flask)."""

from __future__ import annotations

from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import workbench.extraction
from workbench.extraction import (
    CLAIM_TYPES,
    EXTRACTOR_VERSION,
    extract_claims,
    parse_header,
    score,
    segment,
)


def texts(claims):
    return [c.text for c in claims]


# --- segmentation -----------------------------------------------------------


def test_segment_respects_paragraphs_and_offsets():
    text = "First one. Second one\nstill second.\n\n  Third para here.  \r\n\r\nLast?"
    spans = segment(text)
    assert [text[s.start : s.end] for s in spans] == [
        "First one.",
        "Second one\nstill second.",
        "Third para here.",
        "Last?",
    ]
    assert [s.paragraph_index for s in spans] == [0, 0, 1, 2]


def test_segment_keeps_abbreviations_and_decimals():
    text = "Dr. Ama Quist paid U.S. $4.5 million on Jan. 3 for the site. It was cheap."
    assert [text[s.start : s.end] for s in segment(text)] == [
        "Dr. Ama Quist paid U.S. $4.5 million on Jan. 3 for the site.",
        "It was cheap.",
    ]


def test_segment_splits_inside_quotes():
    text = "“The bridge is closed. Traffic is diverted,” said Pell."
    assert len(segment(text)) == 2


def test_segment_empty_and_blank():
    assert segment("") == []
    assert segment(" \n\n\t \r\n ") == []


# --- header -----------------------------------------------------------------


def test_header_date_byline_agency_dateline():
    text = (
        " date 2030-02-01 Lena Moor By\n\nNorthern Press Agency\n\n"
        "KALVIK: The council voted 7-2 to close the mine. It will shut in May.\n"
    )
    header = parse_header(text)
    assert header.published == "2030-02-01"
    assert header.byline == "Lena Moor"
    assert header.agency == "Northern Press Agency"
    assert header.dateline == "KALVIK"
    assert text[header.body_start :].startswith("KALVIK:")
    claims = extract_claims(text)
    assert claims[0].text == "The council voted 7-2 to close the mine."
    assert claims[0].start == text.index("The council")


def test_header_headline_and_long_date():
    text = "Ferry service resumes after storm\n\nTuesday, March 4, 2031\n\nThe ferry sailed at 6 am."
    header = parse_header(text)
    assert header.title == "Ferry service resumes after storm"
    assert header.published == "2031-03-04"
    assert texts(extract_claims(text)) == ["The ferry sailed at 6 am."]


def test_text_without_header_is_all_body():
    text = "Prices rose 4 percent in May. Bakers blamed flour."
    assert parse_header(text).body_start == 0
    assert len(extract_claims(text)) == 2


def test_include_all_returns_header_lines_unscored():
    text = "Big headline here\n\nMonday, May 5, 2031\n\nA body sentence with 5 numbers."
    claims = extract_claims(text, include_all=True)
    assert texts(claims)[:2] == ["Big headline here", "Monday, May 5, 2031"]
    assert claims[0].checkworthiness == 0 and not claims[0].checkworthy


# --- attribution ------------------------------------------------------------


def test_quote_attribution_name_first_and_pronoun():
    text = (
        "Mayor Ines Kalu opened the bridge on Friday. “It cost less than planned. "
        "It opens at dawn,” Kalu said.\n\n"
        "She also praised the workers. “They never stopped,” she added."
    )
    claims = extract_claims(text)
    quoted = [c for c in claims if c.is_quote]
    assert [c.speaker for c in quoted] == ["Kalu"] * 3
    assert claims[0].speaker is None and not claims[0].is_quote


def test_quote_attribution_verb_first_with_title_and_apposition():
    text = (
        "“Exports doubled. Imports fell,” said Trade Minister Dr R Osei, who is in Lagos.\n\n"
        "'Straight quotes' aside, \"We met twice. We agreed on nothing,\" said Vann."
    )
    claims = extract_claims(text)
    assert [c.speaker for c in claims[:2]] == ["Osei", "Osei"]
    assert [c.speaker for c in claims[2:] if c.is_quote] == ["Vann", "Vann"]


def test_speaker_before_quote_and_reported_speech():
    text = (
        "Pilar Nunez told reporters: “The dam holds. Nobody is at risk.”\n\n"
        "Earlier, Nunez had said that the dam was 40 years old. The rain stopped."
    )
    claims = extract_claims(text)
    assert [(c.speaker, c.is_quote) for c in claims] == [
        ("Pilar Nunez", True),
        ("Pilar Nunez", True),
        ("Pilar Nunez", False),
        (None, False),
    ]


def test_quote_continued_over_paragraphs():
    text = (
        "“The harbour is silting up. Boats run aground every week.\n\n"
        "“We need dredgers now,” said Harbour Master Joss Pellam.\n\n"
        "Pellam retires in June."
    )
    claims = extract_claims(text)
    assert [c.speaker for c in claims if c.is_quote] == ["Joss Pellam"] * 3
    assert claims[-1].speaker is None


def test_extraction_imports_neither_flask_nor_a_database():
    package = Path(workbench.extraction.__file__).resolve().parent
    for source in package.glob("*.py"):
        code = source.read_text(encoding="utf-8")
        for banned in ("flask", "sqlalchemy", "psycopg"):
            assert f"import {banned}" not in code.lower(), source.name
            assert f"from {banned}" not in code.lower(), source.name


def test_scare_quotes_are_not_quotes():
    text = "The plan was called “bold” by critics. It failed."
    claims = extract_claims(text)
    assert not any(c.is_quote for c in claims)


# --- check-worthiness -------------------------------------------------------


def test_statistic_scores_high_with_reasons():
    s = score("Unemployment rose to 7.4 percent in 2029, the highest rate since 2001.")
    assert s.checkworthiness >= 0.5
    assert s.claim_type == "quantity"
    assert "contains a percentage" in s.reasons
    assert any(r.startswith("change verb") for r in s.reasons)


def test_opinion_greeting_question_score_low():
    assert score("I think this is a wonderful day for all of us.").claim_type == "not_a_claim"
    assert score("I think this is a wonderful day for all of us.").checkworthiness < 0.5
    assert score("Thank you all for coming tonight.").checkworthiness < 0.5
    question = score("Who will pay for the new stadium?")
    assert question.checkworthiness < 0.5 and "is a question" in question.reasons


def test_first_person_future_is_a_prediction():
    s = score("We will build 300 homes next year.")
    assert s.claim_type == "prediction"
    assert any(r.startswith("first-person future") for r in s.reasons)


def test_threshold_flags_but_keeps_low_scorers():
    text = "Thank you for reading. Exports fell 12 percent in March, data showed."
    # The encoder is all but sure of the statistic: a threshold of 1.0 flags nothing short of certainty.
    strict = extract_claims(text, threshold=1.0)
    loose = extract_claims(text, threshold=0.0)
    assert len(strict) == len(loose) == 2
    assert not any(c.checkworthy for c in strict)
    assert all(c.checkworthy for c in loose)


def test_claim_fields_and_context():
    text = "The mill closed in 2020. It had 300 workers.\n\nA new paragraph starts."
    claims = extract_claims(text)
    assert [c.ordinal for c in claims] == [0, 1, 2]
    assert claims[1].context_before == "The mill closed in 2020."
    assert claims[2].context_before == ""
    assert claims[1].paragraph == "The mill closed in 2020. It had 300 workers."
    d = claims[1].to_dict()
    assert d["reasons"] == list(claims[1].reasons) and d["start"] == claims[1].start
    assert EXTRACTOR_VERSION.startswith("rules-")


# --- the offsets invariant, on generated texts ------------------------------

_WORDS = st.sampled_from(
    [
        "the",
        "Minister",
        "said",
        "U.S.",
        "Dr.",
        "3.5%",
        "$4m",
        "e.g.",
        "Müller",
        "naïve",
        "日本",
        "😀",
        "don't",
        "it's",
        "Jan.",
        "No.",
        "St.",
        "vs.",
        "i.e.",
        "...",
        "—",
        "-",
        "“",
        "”",
        '"',
        "'",
        "‘",
        "’",
        "(",
        ")",
        "said Ola",
        "he added",
        "NEW DELHI:",
        "By",
    ]
)
_SPACES = st.sampled_from([" ", "  ", "\t", "\u00a0", "\u2009", " \n", "\r\n", "\u200b", " "])
_ENDS = st.sampled_from([".", "!", "?", ".”", ",” she said.", "", "…", ":"])


@st.composite
def _sentence(draw):
    words = draw(st.lists(st.one_of(_WORDS, st.text(min_size=1, max_size=8)), min_size=1, max_size=12))
    out = ""
    for w in words:
        out += w + draw(_SPACES)
    return out.strip() + draw(_ENDS)


@st.composite
def _article(draw):
    paras = draw(st.lists(st.lists(_sentence(), min_size=1, max_size=5), min_size=0, max_size=6))
    seps = st.sampled_from(["\n\n", "\r\n\r\n", "\n \n\n", "\n\t\n", "\u2029", "\n"])
    text = draw(st.sampled_from(["", " ", "\ufeff", " date 2030-01-01 A B By\n\n"]))
    for p in paras:
        text += " ".join(p) + draw(seps)
    return text


def _check_invariants(text: str, claims) -> None:
    previous_end = 0
    for i, c in enumerate(claims):
        assert text[c.start : c.end] == c.text
        assert c.text and c.text == c.text.strip()
        assert c.start >= previous_end
        previous_end = c.end
        assert c.ordinal == i
        assert 0.0 <= c.checkworthiness <= 1.0
        assert c.claim_type in CLAIM_TYPES
        assert c.text in c.paragraph


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_article())
def test_offsets_invariant_on_generated_articles(text):
    _check_invariants(text, extract_claims(text))
    _check_invariants(text, extract_claims(text, include_all=True))


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=300))
def test_offsets_invariant_on_arbitrary_text(text):
    _check_invariants(text, extract_claims(text))


# --- the demo article shipped with the package ------------------------------


def _demo() -> str:
    # Next to the package, not via importlib.resources: it shipped as package data.
    data = Path(workbench.extraction.__file__).resolve().parents[1] / "data"
    return (data / "demo-article.txt").read_text(encoding="utf-8")


def test_demo_article_header_is_not_a_claim():
    text = _demo()
    header = parse_header(text)
    assert header.published and header.byline and header.agency
    assert header.dateline == "PORT ELLIS"
    claims = extract_claims(text)
    assert claims[0].text.startswith("The fictional island")
    assert all(c.start >= header.body_start for c in claims)
    assert not any("Wire Service" in c.text or "By" == c.text[-2:] for c in claims)
    _check_invariants(text, claims)


def test_demo_article_speakers():
    claims = extract_claims(_demo())
    quoted = {c.speaker for c in claims if c.is_quote}
    assert quoted == {"Tamsin Brell", "Ondt", "Ilse Varnum"}
    added = next(c for c in claims if c.text.endswith("he added."))
    assert added.speaker == "Ondt"
    assert any(c.checkworthy and c.claim_type == "quantity" for c in claims)
    thanks = next(c for c in claims if c.text.startswith("Thank you"))
    assert not thanks.checkworthy
