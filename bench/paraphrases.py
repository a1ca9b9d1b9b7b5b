"""Build paraphrase pairs from the sample articles, to measure claim matching.

Every pair is (new text, known sentence, should match). Known sentences are
the body claims of the sample articles (Wikinews and the Express sample).
For each sentence with at least eight words we generate, by fixed rules:

positives (should match the sentence they came from)
- number formatting: "5%" <-> "5 percent" <-> "5 per cent", "1,300" <-> "1300";
- synonyms from a small list (rose -> increased, about -> around, said -> stated …);
- reordering: a short leading phrase before a comma moved to the end
  ("On Friday, the council voted …" -> "The council voted … on Friday");
- reported <-> direct speech ("“X,” Kalu said." <-> "Kalu said that X.");

negatives (must not match the sentence they came from)
- near misses: one number changed (5 -> 6), or a negation added ("was" -> "was not");

and, as distractors, every other sentence of every article is a known claim,
so a rewrite that matches a different sentence counts as a false positive.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_SYNONYMS = [
    ("rose", "increased"), ("increased", "rose"), ("fell", "dropped"), ("about", "around"),
    ("said", "stated"), ("people", "persons"), ("government", "administration"), ("showed", "indicated"),
    ("more than", "over"), ("largest", "biggest"), ("children", "kids"), ("announced", "declared"),
]  # fmt: skip
_FUNCTION_WORDS = {
    "on",
    "in",
    "at",
    "after",
    "before",
    "during",
    "since",
    "for",
    "by",
    "with",
    "the",
    "a",
    "an",
}
_VERBS = r"said|added|told reporters|stated|explained|noted"


@dataclass(frozen=True)
class Pair:
    new: str
    known_index: int
    positive: bool
    rule: str


def _numbers_formatting(s: str) -> str | None:
    for pattern, repl in [
        (r"(\d)\s*%", r"\1 percent"),
        (r"(\d) per ?cent\b", r"\1%"),
        (r"(\d) percent\b", r"\1 per cent"),
        (r"(\d),(\d{3})\b", r"\1\2"),
        (r"\b(\d)(\d{3})\b(?![.,]\d)", r"\1,\2"),
    ]:
        out = re.sub(pattern, repl, s)
        if out != s:
            return out
    return None


def _synonym(s: str) -> str | None:
    for a, b in _SYNONYMS:
        out, n = re.subn(rf"\b{a}\b", b, s, count=1)
        if n:
            return out
    return None


def _reorder(s: str) -> str | None:
    m = re.match(r"^([A-Z][^,]{2,40}),\s+(.+?)([.!?])$", s)
    if not m or len(m.group(1).split()) > 6:
        return None
    lead, rest, end = m.groups()
    first, _, tail = lead.partition(" ")
    if first.lower() in _FUNCTION_WORDS:
        lead = f"{first.lower()} {tail}".strip()
    return f"{rest[0].upper()}{rest[1:]} {lead}{end}"


def _speech(s: str) -> str | None:
    m = re.match(rf"^[“\"](.+?)[,.]?[”\"],?\s+(?:({_VERBS})\s+)?([A-Z][\w. ]+?)(?:\s+({_VERBS}))?\.$", s)
    if m and (m.group(2) or m.group(4)):
        quote, speaker, verb = m.group(1), m.group(3), m.group(2) or m.group(4)
        return f"{speaker} {verb} that {quote[0].lower()}{quote[1:]}."
    m = re.match(rf"^([A-Z][\w. ]{{2,40}}?) ({_VERBS}) that (.+?)\.$", s)
    if m:
        return f"“{m.group(3)[0].upper()}{m.group(3)[1:]},” {m.group(1)} {m.group(2)}."
    return None


def _change_number(s: str) -> str | None:
    m = re.search(r"(?<![\w.])(\d+)(?![\w])", s)
    if not m:
        return None
    return s[: m.start()] + str(int(m.group(1)) + 1) + s[m.end() :]


def _negate(s: str) -> str | None:
    out, n = re.subn(r"\b(is|was|are|were|has|have|will|can)\b(?! not)", r"\1 not", s, count=1)
    return out if n else None


POSITIVE_RULES = {"numbers": _numbers_formatting, "synonym": _synonym, "reorder": _reorder, "speech": _speech}
NEGATIVE_RULES = {"number changed": _change_number, "negated": _negate}


def build_pairs(sentences: list[str]) -> list[Pair]:
    """Return the positive and near-miss pairs generated from sentences."""
    pairs = []
    for i, s in enumerate(sentences):
        if len(s.split()) < 8:
            continue
        for name, rule in POSITIVE_RULES.items():
            out = rule(s)
            if out and out != s:
                pairs.append(Pair(out, i, True, name))
        for name, rule in NEGATIVE_RULES.items():
            out = rule(s)
            if out and out != s:
                pairs.append(Pair(out, i, False, name))
    return pairs
