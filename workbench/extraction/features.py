"""Turn a sentence into the sparse features the check-worthiness model reads.

Three blocks, each computed here in plain Python so that training and
inference share one definition and the shipped model needs no scikit-learn:

- ``w``: lower-cased word unigrams and bigrams, digits folded to ``0``;
- ``c``: character 2- to 5-grams inside each word padded with spaces
  (scikit-learn's ``char_wb``), digits folded, so "1,300" and "2,450" look
  alike and unseen names still share spelling with seen ones;
- ``r``: the transparent rule flags of `checkworthiness.RULES` plus sentence
  shape (question, very short, first person, named entities).

Every word and character feature remembers the word it came from, so a
score's reasons can name words rather than opaque n-grams.
"""

from __future__ import annotations

import re
from collections import Counter

from .checkworthiness import RULES, entities

_TOKEN = re.compile(r"[^\W_]+(?:['’][^\W_]+)*|[%$€£₹]")
_DIGIT = re.compile(r"\d")
CHAR_NGRAMS = (2, 5)
_FIRST_PERSON = re.compile(r"\b(?:i|i'm|i’m|i've|i’ve|me|my|we|our|us)\b", re.I)
_QUESTION = re.compile(r"\?[\s\"”’')]*$")


def tokens(text: str) -> list[str]:
    """Return the normalised word tokens of text (lower case, digits as 0)."""
    return [_DIGIT.sub("0", t.lower()) for t in _TOKEN.findall(text)]


def surface_forms(text: str) -> dict[str, str]:
    """Map each normalised token to its first spelling in text ("00" -> "95")."""
    out: dict[str, str] = {}
    for raw in _TOKEN.findall(text):
        out.setdefault(_DIGIT.sub("0", raw.lower()), raw)
    return out


def word_features(toks: list[str]) -> Counter[str]:
    """Return counts of word unigrams and bigrams."""
    grams: Counter[str] = Counter(toks)
    grams.update(f"{a} {b}" for a, b in zip(toks, toks[1:], strict=False))
    return grams


def char_grams(token: str) -> list[str]:
    """Return the character n-grams of one token padded with spaces."""
    padded = f" {token} "
    low, high = CHAR_NGRAMS
    out: list[str] = []
    for n in range(low, high + 1):
        if n > len(padded):
            break
        out.extend(padded[i : i + n] for i in range(len(padded) - n + 1))
    return out


def char_features(toks: list[str]) -> Counter[str]:
    """Return counts of the character n-grams of every token."""
    grams: Counter[str] = Counter()
    for t in toks:
        grams.update(char_grams(t))
    return grams


def rule_features(text: str) -> dict[str, float]:
    """Return the rule flags that fire on text (value 1.0 each)."""
    flags = {f"rule:{rule.name}": 1.0 for rule in RULES if rule.pattern.search(text)}
    found = entities(text)
    if found:
        flags["rule:entity"] = 1.0
    if len(set(found)) > 1:
        flags["rule:entities"] = 1.0
    if _QUESTION.search(text):
        flags["rule:question"] = 1.0
    if len(text.split()) < 5:
        flags["rule:short"] = 1.0
    if _FIRST_PERSON.search(text):
        flags["rule:first_person"] = 1.0
    return flags


def analyse(text: str) -> tuple[list[str], Counter[str], Counter[str], dict[str, float]]:
    """Return (tokens, word grams, char grams, rule flags) of one sentence."""
    toks = tokens(text)
    return toks, word_features(toks), char_features(toks), rule_features(text)
