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
# A web address: a URL with a scheme, or a domain name ("www.standfor.co.nz",
# "bbc.co.uk/news"): lower-case top-level domain of two or more letters, so
# "U.S.", "e.g." and "Ph.D." are not addresses.
_TLD = r"(?:com|org|net|gov|edu|int|mil|info|biz|io|app|news|online|[a-z]{2})"
_ADDRESS = (
    r"(?:https?://\S*[^\s.!?,;:)\]\"\u201d\u2019]"
    rf"|\b(?:www\.)?[A-Za-z0-9][A-Za-z0-9-]*(?:\.[A-Za-z0-9-]+)*\.{_TLD}\b"
    r"(?:/\S*[^\s.!?,;:)\]\"\u201d\u2019])?/?)"
)
_ADDRESS_RX = re.compile(_ADDRESS)
# A sentence may open with a quote or a bracket before its capital.
_NEXT = r"(?P<start>[\"\u201c\u2018(]?[A-Z0-9])"
# A photo credit: "Photo: …", "Image: …", "Photograph by …", "(AP Photo/…)".
_CREDIT_WORD = r"(?:Image|Photo|Picture|Photograph|Credit|Illustration)s?"
_CREDIT = re.compile(
    rf"^(?:{_CREDIT_WORD}\s*:|{_CREDIT_WORD}\s+(?:by|courtesy)\b"
    rf"|\((?:[A-Z][\w.&-]*\s+){{0,3}}{_CREDIT_WORD}\s*[/:])"
)
_INLINE_CREDIT = re.compile(rf"\((?:[A-Z][\w.&-]*\s+){{0,3}}{_CREDIT_WORD}\s*[/:][^()\n]{{0,100}}\)")
# Boundaries syntok misses, each a start offset we force:
# - a photo credit glued to its caption ("… in Washington D.C. Image: US Navy.");
# - a bracketed elision before a capital ("… from 1980 to 2012 [...] However, …");
# - a full stop after a closing quote that follows an ellipsis ("… for truth ...". As of");
# - a full stop after a web address ("… on www.standfor.co.nz. Donations …");
# - a closing quote typed as an opening one ("… decision.“ However, …").
_FORCED_STARTS = (
    re.compile(r"(?<=\S)\s+(?P<start>(?:Image|Photo|Picture|Photograph|Credit)s?:\s)"),
    re.compile(r"\[(?:\.\.\.|\u2026)\]\s+(?P<start>[\"\u201c]?[A-Z])"),
    re.compile(r"[\"\u201d\u2019]\.\s+(?P<start>[\"\u201c]?[A-Z])"),
    re.compile(rf"[.!?\u2026]\u201c\s+{_NEXT}"),
)
_ADDRESS_END = re.compile(rf"{_ADDRESS}[.!?][\"\u201d\u2019)]?\s+{_NEXT}")
# Cheap test first: most paragraphs hold no web address at all.
_MAYBE_ADDRESS = re.compile(r"\w\.[a-z]{2}|://")
# An opening quote glued to the end of a sentence and followed by a space
# closes it: syntok must not start the next sentence at that quote.
_MISTYPED_CLOSE = re.compile(r"(?<=[.!?\u2026])\u201c(?=\s)")
# A line that is a label, not a sentence: a section or category ("POLITICS",
# "World News"): at most four words, each capitalised, no digits, no
# sentence punctuation.
_LABEL_LINE = re.compile(
    r"^(?:[A-Z][\w'\u2019&-]*|&|and|of|the|\|)(?:[ \t]+(?:[A-Z][\w'\u2019&-]*|&|and|of|the|\|)){0,3}$"
)
_LINE = re.compile(r"[^\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028]+")
_SENTENCE_END = re.compile(r"[.!?\u2026][\"\u201d\u2019)\]]*$")

SENTENCE = "sentence"
CAPTION = "caption"  # the text of a photo caption that does not end as a sentence
CREDIT = "credit"  # a photo credit line: "Photo: …", "(AP Photo/…)"
LABEL = "label"  # a category or section line: "POLITICS", "World News"
NOT_SENTENCES = (CAPTION, CREDIT, LABEL)

_tokenizer = Tokenizer()


class Span(NamedTuple):
    """A sentence: text[start:end], inside paragraph number paragraph_index."""

    start: int
    end: int
    paragraph_index: int
    # SENTENCE, or what the piece is instead (CAPTION, CREDIT, LABEL): not a claim.
    kind: str = SENTENCE


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
    """Return the sentence starts syntok misses (captions, elisions, quote ends, lines)."""
    starts = {m.start("start") for rx in _FORCED_STARTS for m in rx.finditer(paragraph)}
    if _MAYBE_ADDRESS.search(paragraph):
        starts.update(m.start("start") for m in _ADDRESS_END.finditer(paragraph))
    for m in _INLINE_CREDIT.finditer(paragraph):
        starts.add(m.start())
        after = m.end() + len(paragraph[m.end() :]) - len(paragraph[m.end() :].lstrip())
        if after < len(paragraph) and not paragraph[after].islower():
            starts.add(after)
    lines = [(m.start(), m.end()) for m in _LINE.finditer(paragraph) if m.group().strip()]
    previous_ends = True
    for start, end in lines:
        line = paragraph[start:end].strip()
        start += len(paragraph[start:end]) - len(paragraph[start:end].lstrip())
        # A credit line, or a label line standing where a sentence could start,
        # is a piece of its own: it starts at its line and ends at the line break.
        if _CREDIT.match(line) or (previous_ends and _is_label(line)):
            starts.add(start)
            starts.add(end)
        elif _CREDIT.match(_next_line(paragraph, lines, end)):
            # The caption above a credit ends at its line, full stop or not.
            starts.add(end)
        previous_ends = bool(_SENTENCE_END.search(line)) or _is_label(line) or bool(_CREDIT.match(line))
    return starts


def _next_line(paragraph: str, lines: list[tuple[int, int]], end: int) -> str:
    following = [paragraph[a:b].strip() for a, b in lines if a >= end]
    return following[0] if following else ""


def _is_label(line: str) -> bool:
    """Say whether a line is a category or section label: short, capitalised, no sentence."""
    return bool(_LABEL_LINE.match(line)) and any(c.isalpha() for c in line)


def _blocked_starts(paragraph: str) -> set[int]:
    """Return offsets where a sentence cannot start: inside a web address, at a mistyped closing quote."""
    blocked = {m.start() for m in _MISTYPED_CLOSE.finditer(paragraph)}
    if _MAYBE_ADDRESS.search(paragraph):
        for m in _ADDRESS_RX.finditer(paragraph):
            blocked.update(range(m.start() + 1, m.end()))
    return blocked


def piece_kind(piece: str) -> str:
    """Return what a piece is on its own: CREDIT, LABEL or SENTENCE (captions need their neighbour)."""
    if _CREDIT.match(piece) or _INLINE_CREDIT.fullmatch(piece):
        return CREDIT
    if "\n" not in piece and _is_label(piece):
        return LABEL
    return SENTENCE


def sentence_pieces(paragraph: str) -> list[tuple[int, int]]:
    """Split one paragraph into sentences, then repair syntok's false splits."""
    forced = forced_starts(paragraph)
    blocked = _blocked_starts(paragraph) - forced
    raw = [s for s in raw_sentence_starts(paragraph) if s not in blocked]
    pieces = _cut(paragraph, [*raw, *forced])
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
            kind = piece_kind(text[p_start + start : p_start + end])
            if kind == CREDIT and spans and spans[-1].kind == SENTENCE:
                # The text just above a photo credit is its caption when it does
                # not end as a sentence does ("Protesters outside parliament").
                before = spans[-1]
                if not _SENTENCE_END.search(text[before.start : before.end]):
                    spans[-1] = before._replace(kind=CAPTION)
            spans.append(Span(p_start + start, p_start + end, index, kind))
    return spans
