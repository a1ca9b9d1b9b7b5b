"""Score how worth fact-checking a sentence is, with reasons and a claim type.

Transparent rules, not a model: each signal adds or subtracts a weight and
names itself in the reasons, so an annotator can see why a sentence was
pushed. Checkable content (numbers, dates, named entities, comparisons,
changes, events) raises the score; opinions, wishes, questions, greetings,
hedges and first-person promises lower it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .claim_types import CLAIM_TYPES as CLAIM_TYPES  # re-exported: the types a claim may have
from .claim_types import classify

# The types these rules gave before Full Fact's typology (rules-1.x); kept to
# measure against (bench/claim_types.py) and mapped by claim_types.OLD_TO_NEW.
LEGACY_CLAIM_TYPES = ("statistic", "comparison", "event", "quote", "prediction", "opinion", "other")
_BASE = 0.2

_NUMBER_WORDS = """one two three four five six seven eight nine ten eleven twelve twenty thirty
forty fifty hundred hundreds thousand thousands million millions billion billions trillion
dozen dozens half third quarter lakh crore second fourth fifth sixth seventh eighth ninth tenth"""


def _rx(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern, re.I)


def _words(words: str, *, stem: bool = False) -> re.Pattern[str]:
    """Match any of the space-separated words ("_" stands for a space)."""
    alternatives = "|".join(w.replace("_", " ") for w in words.split())
    return _rx(rf"\b(?:{alternatives})" + (r"\w*" if stem else r"\b"))


@dataclass(frozen=True)
class Rule:
    name: str  # feature name used for the claim type
    pattern: re.Pattern[str]
    weight: float
    reason: str  # "{0}" is replaced by the matched words


_MONEY = (
    r"[$€£¥₹]\s?\d|\b\d[\d,.]*\s?(?:dollars|euros|pounds|rupees|yen|crore|lakh)\b"
    r"|\b(?:usd|eur|inr|rs\.?)\s?\d"
)
_DATE = (
    r"\b(?:1[89]|20)\d{2}\b|\b(?:january|february|march|april|june|july|august|september"
    r"|october|november|december|monday|tuesday|wednesday|thursday|friday|saturday|sunday"
    r"|yesterday|last (?:year|month|week))\b"
)
# Digits inside names such as "G20" are not quantities: hence the lookbehind.
_NUMBER = rf"(?<!\w)\d|\b(?:{'|'.join(_NUMBER_WORDS.split())})\b"

# Order matters only for the order of reasons shown to the annotator.
RULES: tuple[Rule, ...] = (
    Rule("percent", _rx(r"\d\s?%|\bper\s?cent\b|\bpercentage\b"), 0.2, "contains a percentage"),
    Rule("money", _rx(_MONEY), 0.2, "mentions an amount of money"),
    Rule("number", _rx(_NUMBER), 0.25, "contains a number"),
    Rule("date", _rx(_DATE), 0.1, "mentions a date"),
    Rule(
        "statword",
        _words(
            "rate rates average median survey poll study data statistics census majority minority "
            "record gdp inflation unemployment turnover budget deficit revenue population "
            "per_capita times_as"
        ),
        0.15,
        "statistics word '{0}'",
    ),
    Rule(
        "comparison",
        _words(
            "more less fewer higher lower greater smaller larger bigger better worse faster slower "
            "cheaper largest biggest highest lowest smallest best worst most least fastest only "
            "first than compared record"
        ),
        0.15,
        "comparison '{0}'",
    ),
    Rule(
        "change",
        _words(
            "increas decreas grow grew rose rise rising fell fall declin drop doubl tripl halv "
            "surg plung jump soar cut reduc expand shrank shrink",
            stem=True,
        ),
        0.15,
        "change verb '{0}'",
    ),
    Rule(
        "event",
        _words(
            "signed met meets announced arrested killed died won lost launched held awarded "
            "visited elected appointed resigned approved banned passed attacked invaded agreed "
            "extended "
            "released published founded opened closed denied ruled sentenced charged"
        ),
        0.1,
        "event verb '{0}'",
    ),
    Rule(
        "opinion",
        _rx(
            r"\b(?:i|we) (?:think|believe|feel|hope|guess|suppose)\b|\bin my (?:opinion|view)\b"
            r"|\b(?:should|ought to|must|hopeful|wonderful|terrible|great|beautiful|amazing|glad"
            r"|happy|proud|sad)\b"
        ),
        -0.3,
        "opinion marker '{0}'",
    ),
    Rule(
        "wish",
        _words("wish wishes hope hoping looking_forward will_be_glad would_love would_like"),
        -0.3,
        "wish '{0}'",
    ),
    Rule(
        "greeting",
        _words(
            "thank_you thanks congratulations congratulate welcome good_morning good_evening "
            "good_afternoon happy_new_year happy_birthday happy_holidays greetings"
        ),
        -0.5,
        "greeting '{0}'",
    ),
    Rule(
        "hedge",
        _words(
            "may might could perhaps possibly probably likely reportedly allegedly apparently "
            "seem seems appear appears"
        ),
        -0.15,
        "hedge '{0}'",
    ),
    Rule(
        "future1p",
        _rx(r"\b(?:i|we)(?:'ll|’ll| will| shall| are going to| am going to| plan to| intend to)\b"),
        -0.2,
        "first-person future '{0}'",
    ),
    Rule(
        "future",
        _words("will won't going_to expected_to plan_to plans_to forecast predict predicts projected"),
        0.0,
        "future '{0}'",
    ),
)
_CAPITALISED = re.compile(r"(?<=[\w,;:)”\"’]\s)[A-Z][\w’'\-]+|\b[A-Z]{2,}\b")
_FUNCTION_CAPS = {"I", "I'm", "I’m", "I've", "I’ve", "I'll", "I’ll", "I'd", "I’d"}


@dataclass(frozen=True)
class Score:
    checkworthiness: float
    claim_type: str
    reasons: tuple[str, ...]


def entities(sentence: str) -> list[str]:
    """Return capitalised words not at the sentence start: a cheap NER."""
    return [w for w in _CAPITALISED.findall(sentence) if w not in _FUNCTION_CAPS]


def _found(sentence: str) -> dict[str, str]:
    found: dict[str, str] = {}
    for rule in RULES:
        m = rule.pattern.search(sentence)
        if m:
            found[rule.name] = m.group(0)
    return found


def score(
    sentence: str, *, is_quote: bool = False, speaker: str | None = None, kind: str = "sentence"
) -> Score:
    """Return the check-worthiness of one sentence, in [0, 1], with reasons and its claim type.

    The type is Full Fact's (claim_types.classify); kind is the segmenter's
    (a caption, credit or label line is not a claim).
    """
    found = _found(sentence)
    # A money amount or percentage is also a number: do not count it twice.
    if "number" in found and ("money" in found or "percent" in found):
        del found["number"]
    total, reasons = _BASE, []
    for rule in RULES:
        if rule.name in found and rule.weight:
            total += rule.weight
            reasons.append(rule.reason.format(found[rule.name]))
    found_entities = list(dict.fromkeys(entities(sentence)))
    if len(found_entities) == 1:
        total += 0.15
        reasons.append(f"names an entity '{found_entities[0]}'")
    elif found_entities:
        total += 0.25
        reasons.append(f"names entities '{found_entities[0]}', '{found_entities[1]}'")
    if speaker:
        # Statements by named people are what fact-checkers are asked about.
        total += 0.1
        reasons.append(f"attributed to {speaker}")
    if sentence.rstrip(" \"”’')").endswith("?"):
        total -= 0.4
        reasons.append("is a question")
        found["question"] = "?"
    if len(sentence.split()) < 5:
        total -= 0.2
        reasons.append("very short")
    value = round(min(1.0, max(0.0, total)), 3)
    return Score(value, classify(sentence, kind=kind), tuple(reasons))


def legacy_claim_type(sentence: str, *, is_quote: bool = False) -> str:
    """Return the type the rules-1.x set gave (statistic, comparison, …): the baseline of the benchmark."""
    found = _found(sentence)
    if sentence.rstrip(" \"”’')").endswith("?"):
        found["question"] = "?"
    return _legacy_type(found, is_quote)


def _legacy_type(found: dict[str, str], is_quote: bool) -> str:
    """Pick the most specific old type the features support."""
    if "question" in found or "greeting" in found:
        return "other"
    numeric = found.keys() & {"number", "percent", "money"}
    if numeric and found.keys() & {"percent", "money", "statword", "change", "comparison"}:
        return "statistic"
    if "comparison" in found and found["comparison"].lower() not in {"only", "first", "most"}:
        return "comparison"
    if found.keys() & {"future1p", "future"}:
        return "prediction"
    if found.keys() & {"opinion", "wish"}:
        return "opinion"
    if "event" in found or ("date" in found and numeric):
        return "event"
    if is_quote:
        return "quote"
    if numeric:
        return "statistic"
    return "other"
