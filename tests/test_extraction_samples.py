"""Extraction on the real sample articles in ../shared (skipped when absent)."""

from __future__ import annotations

import csv
import re
from pathlib import Path

import pytest

from workbench.extraction import extract_claims, parse_header, segment

SHARED = Path(__file__).resolve().parents[2] / "shared"
SAMPLES = SHARED / "samples"
EXPRESS = SAMPLES / "express-putin-modi-2023-12-28.txt"
WIKINEWS = SAMPLES / "wikinews"

pytestmark = pytest.mark.shared


def _read(path: Path) -> str:
    if not path.exists():
        pytest.skip(f"../shared not present: {path}")
    return path.read_text(encoding="utf-8")


def _wikinews() -> list[Path]:
    if not WIKINEWS.is_dir():
        pytest.skip(f"../shared not present: {WIKINEWS}")
    return sorted(WIKINEWS.glob("*.txt"))


@pytest.fixture(scope="module")
def express():
    text = _read(EXPRESS)
    return text, extract_claims(text)


def _claim_with(claims, fragment: str):
    return next(c for c in claims if fragment in c.text)


def test_express_header_lines_are_not_claims(express):
    text, claims = express
    header = parse_header(text)
    assert header.published == "2023-12-28"
    assert header.agency == "Express News Service"
    assert header.dateline == "NEW DELHI"
    assert claims[0].text.startswith("Russian President")
    assert claims[0].start == text.index("Russian President")
    for c in claims:
        assert "Yeshi Seli" not in c.text
        assert "Express News Service" not in c.text
        assert not c.text.startswith("NEW DELHI")


def test_express_quotes_are_split_and_attributed(express):
    _, claims = express
    expected = {
        "We will be glad to see our friend": "Putin",
        "We will be able to discuss all current issues": "Putin",
        "We have so much work": "Putin",
        "I have repeatedly informed him": "Putin",
        "I know his desire to do everything": "Putin",
        "Our trade turnover is growing": "Putin",  # ends with "he added"
        "This year, the pace is even greater": "Putin",
        "We work in high tech areas": "Putin",
        "India-Russia relations reflect geopolitical": "Jaishankar",
        "We signed Protocol on Consultations": "Jaishankar",
        "I learned this is our seventh meeting": "Jaishankar",
        "And our leaders, Prime Minister Modi": "Jaishankar",
        "Russia supports Indian aspiration": "Lavrov",
        "Russia and India ties are based on mutual respect": "Lavrov",
        "What has clearly came out after out talks": "Jaishankar",
        "They are based on our strategic convergence": "Jaishankar",
        "We spent a lot of time discussing": "Jaishankar",
    }
    for fragment, speaker in expected.items():
        claim = _claim_with(claims, fragment)
        assert claim.is_quote, fragment
        assert claim.speaker and speaker in claim.speaker, (fragment, claim.speaker)
        # Each quoted sentence is its own claim.
        assert claim.text.count(". ") <= 1 or "," in claim.text


def test_express_reporter_sentences(express):
    _, claims = express
    own = _claim_with(claims, "He also spoke about the increasing trade turnover")
    assert own.speaker is None and not own.is_quote
    reported = _claim_with(claims, "Jaishankar had said that the India-Russia Annual Summit")
    assert "Jaishankar" in reported.speaker and not reported.is_quote
    assert reported.checkworthy


def test_express_offsets_and_context(express):
    text, claims = express
    for c in claims:
        assert text[c.start : c.end] == c.text
        assert c.text in c.paragraph
    third = _claim_with(claims, "We have so much work")
    assert "We will be able to discuss" in third.context_before


def test_wikinews_offsets_and_no_header_claims():
    for path in _wikinews():
        text = path.read_text(encoding="utf-8")
        header = parse_header(text)
        title = text.splitlines()[0].strip()
        assert header.title == title, path.name
        assert header.published, path.name
        claims = extract_claims(text)
        assert claims, path.name
        for c in claims:
            assert text[c.start : c.end] == c.text
            assert c.text != title and c.start >= header.body_start


def test_wikinews_segmentation_quality():
    """Boundary F1 against the GUM gold, in non-whitespace character offsets."""
    tp = fp = fn = 0
    for path in _wikinews():
        text = path.read_text(encoding="utf-8")
        gold_path = WIKINEWS / "sentences" / f"{path.stem}.sentences.tsv"
        with gold_path.open(encoding="utf-8", newline="") as fh:
            gold_sents = [row["text"] for row in csv.DictReader(fh, delimiter="\t")]
        gold = _bounds(gold_sents)
        pred = _bounds([text[s.start : s.end] for s in segment(text)])
        tp, fp, fn = tp + len(pred & gold), fp + len(pred - gold), fn + len(gold - pred)
    precision, recall = tp / (tp + fp), tp / (tp + fn)
    f1 = 2 * precision * recall / (precision + recall)
    assert f1 >= 0.95, (precision, recall, f1)


def _bounds(sentences: list[str]) -> set[int]:
    out, n = set(), 0
    for s in sentences:
        n += len(re.sub(r"\s+", "", s))
        out.add(n)
    return out
