"""Split an article into paragraphs and sentence spans with exact offsets.

Sentence boundaries come from syntok (a maintained rule-based segmenter that
also splits inside multi-sentence quotes, which pysbd and sentencex do not);
see docs/segmentation.md for the measurements behind that choice. We run it
paragraph by paragraph so a sentence can never cross a blank line, and we
only use the offset of each sentence's first token, so spans are always
slices of the original text whatever syntok does to token values (it
rewrites "n't" to "not", for instance).
"""

from __future__ import annotations

import re
from importlib.metadata import version as _version
from typing import NamedTuple

from syntok import segmenter as _syntok_segmenter
from syntok.tokenizer import Tokenizer

SEGMENTER_NAME = "syntok"
SEGMENTER_VERSION = _version("syntok")

# Line breaks as str.splitlines() knows them; a blank line (only horizontal
# whitespace between two breaks) separates paragraphs.
_BREAK = r"(?:\r\n|[\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029])"
_HSPACE = r"[^\S\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029]"
_PARAGRAPH_SEP = re.compile(rf"{_BREAK}(?:{_HSPACE}*{_BREAK})+|\u2029")

# A raw sentence ending like this did not really end: syntok sometimes
# breaks after a semicolon or a colon (e.g. before a digit).
_OPEN_END = re.compile(r"[;:,\u2013\u2014-]\s*$")
_LOWER_START = re.compile(r"^\W*[a-z]")
# The source line after a pull quote ("…a long game." - Matthew Ingram, or
# "…of Scientology." Anonymous blogger, "Anon declares war") belongs to it.
_CREDIT_TAIL = re.compile(r"^[-\u2013\u2014]\s*[A-Z][^.!?]{0,60}$")
_QUOTE_END = re.compile(r"[.!?\u2026][\"\u201d\u2019]$")
_UNFINISHED = re.compile(r"[^.!?\u2026\s\"\u201d\u2019)\]][\"\u201d\u2019)\]]*$")
# Boundaries syntok misses, each a start offset we force:
# - a photo credit glued to its caption ("… in Washington D.C. Image: US Navy.");
# - a bracketed elision before a capital ("… from 1980 to 2012 [...] However, …");
# - a full stop after a closing quote that follows an ellipsis ("… for truth ...". As of").
_FORCED_STARTS = (
    re.compile(r"(?<=\S)\s+(?P<start>(?:Image|Photo|Picture|Photograph|Credit)s?:\s)"),
    re.compile(r"\[(?:\.\.\.|\u2026)\]\s+(?P<start>[\"\u201c]?[A-Z])"),
    re.compile(r"[\"\u201d\u2019]\.\s+(?P<start>[\"\u201c]?[A-Z])"),
)

_tokenizer = Tokenizer()


class Span(NamedTuple):
    """A sentence: text[start:end], inside paragraph number paragraph_index."""

    start: int
    end: int
    paragraph_index: int


def paragraphs(text: str) -> list[tuple[int, int]]:
    """Return (start, end) of each non-blank paragraph, whitespace trimmed."""
    out: list[tuple[int, int]] = []
    pos = 0
    for match in _PARAGRAPH_SEP.finditer(text):
        _append_trimmed(text, pos, match.start(), out)
        pos = match.end()
    _append_trimmed(text, pos, len(text), out)
    return out


def _append_trimmed(text: str, start: int, end: int, out: list[tuple[int, int]]) -> None:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    if start < end:
        out.append((start, end))


def raw_sentence_starts(paragraph: str) -> list[int]:
    """Return the offset of each sentence syntok finds in one paragraph."""
    starts = []
    for sentence in _syntok_segmenter.split(_tokenizer.tokenize(paragraph)):
        if sentence:
            starts.append(sentence[0].offset)
    return starts


def _cut(paragraph: str, starts: list[int]) -> list[tuple[int, int]]:
    """Turn sentence start offsets into trimmed (start, end) pieces."""
    cuts = sorted({s for s in starts if 0 < s < len(paragraph)})
    bounds = [0, *cuts, len(paragraph)]
    pieces: list[tuple[int, int]] = []
    for a, b in zip(bounds, bounds[1:], strict=False):
        _append_trimmed(paragraph, a, b, pieces)
    return pieces


def forced_starts(paragraph: str) -> set[int]:
    """Return the sentence starts syntok misses (captions, elisions, quote ends)."""
    return {m.start("start") for rx in _FORCED_STARTS for m in rx.finditer(paragraph)}


def sentence_pieces(paragraph: str) -> list[tuple[int, int]]:
    """Split one paragraph into sentences, then repair syntok's false splits."""
    forced = forced_starts(paragraph)
    pieces = _cut(paragraph, [*raw_sentence_starts(paragraph), *forced])
    merged: list[tuple[int, int]] = []
    for i, (start, end) in enumerate(pieces):
        if merged and start not in forced:
            prev_start, prev_end = merged[-1]
            piece = paragraph[start:end]
            last = i == len(pieces) - 1
            # A piece after an open ending, starting in lower case or crediting
            # a quote continues the previous sentence (abbreviation, list,
            # "1–0; Belgium …", "… a long game." - Matthew Ingram).
            if (
                _OPEN_END.search(paragraph[prev_start:prev_end])
                or _LOWER_START.match(piece)
                or _CREDIT_TAIL.match(piece)
                or (last and _QUOTE_END.search(paragraph[prev_start:prev_end]) and _UNFINISHED.search(piece))
            ):
                merged[-1] = (prev_start, end)
                continue
        merged.append((start, end))
    return merged


def segment(text: str) -> list[Span]:
    """Return the sentence spans of text, paragraph by paragraph."""
    spans: list[Span] = []
    for index, (p_start, p_end) in enumerate(paragraphs(text)):
        for start, end in sentence_pieces(text[p_start:p_end]):
            spans.append(Span(p_start + start, p_start + end, index))
    return spans
