"""Flag claims that lean on an earlier sentence, and find that sentence.

"He added that exports doubled" or "This was the highest rise since 2001"
cannot be checked on its own: an annotator must rewrite it as a standalone
claim. We flag a sentence whose subject is a third-person pronoun or a bare
demonstrative, and offer as resolving context the nearest earlier sentence
(in this or an earlier paragraph) that names someone or something.
"""

from __future__ import annotations

import re

from .checkworthiness import entities

# The first words of the sentence, after quote marks and a linking word.
_LEAD = re.compile(
    r"^[\s\"“‘'(]*(?:(?:and|but|so|yet|however|also|meanwhile|still|then|now),?\s+)?"
    r"(?P<word>he|she|it|they|this|that|these|those|his|her|its|their|them|him|such)\b"
    r"(?P<next>\s+\w+)?",
    re.I,
)
# "It is important to …", "It was reported that …": the pronoun points at nothing.
_EXPLETIVE = re.compile(r"^\W*it\s+(?:is|was|has been|will be|seems|appears)\b[^.]*?\b(?:to|that)\b", re.I)
# "That is why", "this year", "these days": no referent needed.
_TIME_OR_IDIOM = re.compile(
    r"^\W*(?:this|that|these|those)\s+(?:year|month|week|day|days|morning|evening|time|summer|winter|"
    r"spring|autumn|season|weekend|afternoon|night)\b",
    re.I,
)
_MAX_BACK = 3
_PERSONAL = {"he", "she", "his", "her", "him"}


def needs_rewrite(sentence: str) -> bool:
    """Return True when sentence starts by pointing back at something earlier."""
    m = _LEAD.match(sentence)
    if m is None or _EXPLETIVE.match(sentence) or _TIME_OR_IDIOM.match(sentence):
        return False
    return True


def _names_something(sentence: str) -> bool:
    if entities(sentence):
        return True
    first = re.match(r"^[\W]*([A-Z][\w’'-]+)", sentence)
    return first is not None and _LEAD.match(sentence) is None and first.group(1) not in {"I", "We", "You"}


def resolving_context(sentence: str, previous: list[str], person: str | None = None) -> str:
    """Return the earlier sentences, nearest last, up to one that names the referent.

    For "he"/"she" and a known person (the last named speaker), reach back
    to the sentence naming that person; otherwise to the nearest sentence
    naming anything.
    """
    m = _LEAD.match(sentence)
    personal = m is not None and m.group("word").lower() in _PERSONAL
    if personal and person:
        surname = person.split()[-1]
        for back, earlier in enumerate(reversed(previous[-2 * _MAX_BACK :])):
            if surname in earlier:
                return " ".join(previous[len(previous) - back - 1 :])
    taken: list[str] = []
    for earlier in reversed(previous[-_MAX_BACK:]):
        taken.append(earlier)
        if _names_something(earlier):
            break
    return " ".join(reversed(taken))
