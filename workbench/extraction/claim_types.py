"""Claim types on Full Fact's typology, found by general rules.

The seven categories are those of Konstantinovskiy, Price, Babakar and
Zubiaga, "Toward Automated Factchecking: Developing an Annotation Schema and
Benchmark for Consistent Automated Claim Detection", Digital Threats:
Research and Practice 2(2), 2021. docs/claim-types.md has the definitions,
the boundary rules we label by and the measured accuracy
(bench/claim_types.py).

A sentence can show several features ("unemployment will fall 5% because of
the tax cut"); it gets the first type in this order, the one a fact-checker
would have to check first: not a claim (not a sentence, a question, an
instruction, a fragment), personal experience, prediction, correlation or
causation, current laws or rules, quantity, then other type of claim; an
opinion or a wish with none of those features is not a claim.

The feature detectors are shared with the reasons in words (reasons.py), so
"predicts" means the same thing in a reason and in a type.
"""

from __future__ import annotations

import re

from . import reasons

PERSONAL_EXPERIENCE = "personal_experience"
QUANTITY = "quantity"
CORRELATION_CAUSATION = "correlation_causation"
LAWS_RULES = "laws_rules"
PREDICTION = "prediction"
OTHER = "other"
NOT_A_CLAIM = "not_a_claim"

#: Machine names, in the order of the published typology.
CLAIM_TYPES = (
    PERSONAL_EXPERIENCE,
    QUANTITY,
    CORRELATION_CAUSATION,
    LAWS_RULES,
    PREDICTION,
    OTHER,
    NOT_A_CLAIM,
)
#: What annotators and readers see: the published category names.
LABELS = {
    PERSONAL_EXPERIENCE: "personal experience",
    QUANTITY: "quantity in the past or present",
    CORRELATION_CAUSATION: "correlation or causation",
    LAWS_RULES: "current laws or rules",
    PREDICTION: "prediction",
    OTHER: "other type of claim",
    NOT_A_CLAIM: "not a claim",
}
#: The types stored before (rules-1.x) and where each went (migration 0010).
#: A statistic and a comparison are quantities (Full Fact's "current value",
#: "changing quantity", "comparison", "ranking"); an event and a quote are
#: "other type of claim" (its "quote" and "trivia"); an opinion states
#: nothing checkable, so it is "not a claim".
OLD_TO_NEW = {
    "statistic": QUANTITY,
    "comparison": QUANTITY,
    "event": OTHER,
    "quote": OTHER,
    "prediction": PREDICTION,
    "opinion": NOT_A_CLAIM,
    "other": OTHER,
}
#: Back again, as well as the old set allows (migration 0010's downgrade).
NEW_TO_OLD = {
    PERSONAL_EXPERIENCE: "other",
    QUANTITY: "statistic",
    CORRELATION_CAUSATION: "other",
    LAWS_RULES: "other",
    PREDICTION: "prediction",
    OTHER: "other",
    NOT_A_CLAIM: "opinion",
}


def label(claim_type: str) -> str:
    """Return the human label of a type; an unknown (old) type reads as stored, underscores spaced."""
    return LABELS.get(claim_type) or LABELS.get(OLD_TO_NEW.get(claim_type, ""), claim_type.replace("_", " "))


def _rx(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern, re.I)


# ---------------------------------------------------------------- not a claim

_QUOTES = "\"'\u201c\u201d\u2018\u2019"
_QUESTION = re.compile(rf"\?[{_QUOTES})\s]*$")
# An instruction: the sentence opens with a verb in the imperative.
_IMPERATIVE = _rx(
    rf"^[{_QUOTES}(\s]*(?:please\s+)?(?:avoid|wait|let|look|see|visit|try|remember|don['\u2019]t|do\s+not|"
    r"make|stop|go|come|take|check|read|watch|imagine|consider|join|call|click|follow|vote|help|"
    r"tell|give|keep|find|ask|enjoy|note|want\s+to|if\s+you\s+(?:really\s+)?want)\b"
)
_GREETING = _rx(
    r"\b(?:thank\s+you|thanks|congratulations|welcome|good\s+(?:morning|evening|afternoon)|"
    r"happy\s+(?:new\s+year|birthday|holidays)|greetings)\b"
)
# A finite verb: an auxiliary or modal, a past tense in -ed, or a common
# irregular past tense. A short piece with none of them is a fragment
# (a heading, a caption, a dateline): it asserts nothing.
_FINITE = _rx(
    r"\b(?:is|are|was|were|be|been|has|have|had|do|does|did|will|would|can|could|may|might|must|"
    r"shall|should|[a-z]{2,}ed|[a-z]+n['\u2019]t|says|said|took|made|won|lost|went|came|gave|"
    r"began|became|met|held|ran|saw|got|rose|fell|grew)\b|['\u2019](?:s|re|ve|ll|d|m)\b"
)
_FRAGMENT_WORDS = 8
# An opinion, a wish or a value judgement: with nothing checkable beside it,
# not a claim.
_JUDGEMENT = _rx(
    r"\b(?:should|shouldn['\u2019]t|ought\s+to|need\s+to|needs\s+to|got\s+to|have\s+to\s+make|"
    r"is\s+(?:needed|crucial|essential|important|welcome|time\s+to)|are\s+welcome|"
    r"hope|hoping|hopefully|wish|i\s+think|i\s+believe|i\s+suspect|i\s+feel|we\s+face|"
    r"dangerous|clumsy|unthinking|excellent|wonderful|terrible|great|cool|emotional|"
    r"fair|unfair|reasonable|damning|hilarious|aspirations|shouldn['\u2019]t)\b"
)

# ---------------------------------------------------------------- personal experience

# The speaker's own experience or feelings: first person with a verb of
# experience or feeling, beyond what reasons.personal_experience knows.
_PERSONAL = _rx(
    r"\b(?:i|we)\s+(?:\w+ly\s+)?(?:was|were|am|are|felt|feel|visited|went|came|saw|tried|have\s+tried|"
    r"got)\b"
    r"|\b(?:i|we)['\u2019](?:ve|m|re)\s+(?:been|tried|seen|so|very|really)\b"
    r"|\b(?:alarms|alarmed|worries|worried|scares|surprised)\s+me\b|\b(?:told|emailed|called|asked|wrote\s+to)\s+me\b"
    r"|\b(?:he|she)\s+(?:is|was)\s+(?:alarmed|worried|shocked|delighted|saddened)\b"
    r"|\bit\s+felt\b"
)

# ---------------------------------------------------------------- prediction

_FUTURE = _rx(
    r"\b(?:scheduled|set|due|poised|planning|plans?|expects?|expected|hopes?)\s+to\s+[a-z]+"
    r"|\b(?:is|are)\s+to\s+(?:begin|start|be|travel|take|meet|open|close|replace|hold|end|launch)\b"
    r"|\bto\s+replace\b|\bby\s+(?:20[3-9]\d|21\d\d)\b|\bforthcoming\b"
    r"|\b(?:would|will)\s+(?:increase|decrease|rise|fall|grow|reach|exceed|double|halve)\b"
    r"|\b(?:runs|lasts|continues)\s+(?:through|until|till)\b|\bin\s+the\s+coming\b"
)

# ---------------------------------------------------------------- correlation or causation

_CAUSE = _rx(
    r"\b(?:prompted|prompting|inspired|inspires|affects?|affected|impacts?|impacted|drove|drives|"
    r"driven|fuell?ed|boosted|harmed|damaged|improved|yielding|contributory|contributing)\b"
    r"|\b(?:can|could|may|might|will|would)\s+(?:lead|contribute|help|harm|improve|damage|prevent|"
    r"reduce|increase|remedy|cause|affect)\b"
    r"|\bhelped\s+(?:make|improve|reduce|increase|cut|raise)\b"
    r"|\b(?:results?|resulted|resulting)\s+from\b|\bdepend(?:s|ent|ing)?\s+(?:on|upon)\b"
    r"|\b(?:increases?|decreases?|rises?|falls?|varies|vary)\s+with\b"
    r"|\b(?:effects?|impacts?|consequences?|causes?)\s+of\b|\bcause\s+of\b"
    r"|\b(?:at\s+risk|linked\s+to|associated\s+with|correlat\w+|a\s+factor|the\s+reasons?)\b"
    r"|\bpreventing\b|\bsensitive\s+to\b"
)
# A reason for a person's own action ("substituted due to injury", "went
# because he wanted to") explains a decision, it does not claim an effect in
# the world: a cause word right after a verb of doing or deciding does not count.
_MOTIVE = _rx(
    r"\b(?:substituted|replaced|taking|went|came|left|chose|decided|considered|excluded|refused|"
    r"refusals|booked)\b[^.;]{0,40}\b(?:because|due\s+to)\b"
)

# ---------------------------------------------------------------- laws and rules

# What a rule says now: a modal or verb of obligation or permission, or a
# law word with a present-tense verb. Past legal events (arrested, charged,
# sentenced, ruled) are reports of events, not rules.
_RULE = _rx(
    r"\bmust\s+(?:be|not|have|complete|return|pay)\b|\b(?:is|are)\s+(?:required|obliged|forbidden|"
    r"prohibited|banned|allowed|permitted|entitled|eligible|exempt|covered|considered\s+as)\b"
    r"|\b(?:were|was)\s+required\s+to\b|\brequires?\b|\bprohibits?\b|\bbans?\s+[a-z]+ing\b"
    r"|\bcovered\s+by\s+the\b|\bretroactive\b|\bcriterion\b|\bcriteria\b|\bin\s+line\s+with\s+the\s+"
    r"(?:published\s+)?(?:policy|law|rules?)\b"
)

# ---------------------------------------------------------------- quantity

# Numbers that place or name something are not quantities: times of day,
# days of the month, ordinal minutes and editions, ages, scores, "one of".
_NOT_A_QUANTITY = _rx(
    r"\b\d{1,2}:\d{2}\b|\b(?:january|february|march|april|may|june|july|august|september|october|"
    r"november|december)\s+\d{1,2}\b|\b\d{1,2}\s+(?:january|february|march|april|may|june|july|"
    r"august|september|october|november|december)\b|\b\d+(?:st|nd|rd|th)\b"
    r"|\b\d+-year-old\b|,\s*\d{1,2},|\b\d+\s*[\u2013-]\s*\d+\s+(?=on\b|up\b|to\b)|\b\d+\s+[\u2013-]\s+\d+\b"
    r"|\bone\s+of\b"
    # Numbers that time an event ("six minutes later", "for two hours", "a 20-minute demo",
    # "ten years ago", "a 2000 year old tradition") and model numbers after a name ("Explorer 6").
    r"|\b\w+[\s-](?:seconds?|minutes?|hours?|days?|weeks?|months?|years?)\s+(?:later|ago|earlier|in\b|into|"
    r"before|after|old)\b|\bfor\s+(?:the\s+next\s+)?\w+\s+(?:seconds|minutes|hours|days|weeks|months|years)\b"
    r"|\b\w+-(?:second|minute|hour|day|week|month|year)\b|\b\w+\s+years?\s+old\b|\b\d+\s+year\b"
    r"|(?-i:(?<=[A-Z][a-z]{2} )\d+\b)|\b\d+\s*[\u2013-]\s*\d+\b"
)
_QUANTITY_WORDS = _rx(
    r"\b(?:majority|minority|half|most|few\s+if\s+any|twice|one\s+in\s+(?:every\s+)?\w+|record|"
    r"market\s+share|share\s+of|rate|average|per\s+cent|percent|percentage|statistic\w*|"
    r"first\s+\w+\s+(?:in|since)|number\s+\d|#\d|possession|popularity|"
    r"increas\w+|decreas\w+|declin\w+|slipping|dropped|doubled|grows?|gaining|surge)\b"
)

# A comparison of amounts; a bare superlative or comparative ("their latest
# games", "a larger tour") describes, it does not measure.
_COMPARISON = _rx(
    r"\b(?:more|less|fewer|higher|lower|greater|larger|smaller|bigger|better)\s+(?:\w+\s+){0,2}"
    r"(?:than|possession|share|number|amount|rate)\b|\bas\s+(?:much|many)\s+as\b|\b\w+-fold\b"
    r"|\btimes\s+(?:as|more|higher|larger)\b|\bthe\s+most\s+\w+\s+(?:in|of)\b|\b(?:ranked|ranks?)\b"
)


def _states_quantity(sentence: str) -> bool:
    cleaned = _NOT_A_QUANTITY.sub(" ", sentence)
    return reasons.states_quantity(cleaned) or bool(
        _COMPARISON.search(cleaned) or _QUANTITY_WORDS.search(cleaned)
    )


# ---------------------------------------------------------------- classify


def is_fragment(sentence: str) -> bool:
    """Say whether a piece is too short and verbless to assert anything (a heading, a dateline)."""
    words = sentence.split()
    return len(words) <= _FRAGMENT_WORDS and not _FINITE.search(sentence)


def classify(sentence: str, *, kind: str = "sentence") -> str:
    """Return the Full Fact type of one sentence; kind is the segmenter's (caption, credit, label)."""
    if kind != "sentence" or not sentence.strip():
        return NOT_A_CLAIM
    if _QUESTION.search(sentence) or _IMPERATIVE.match(sentence) or _GREETING.search(sentence):
        return NOT_A_CLAIM
    if is_fragment(sentence):
        return NOT_A_CLAIM
    if reasons.personal_experience(sentence) or _PERSONAL.search(sentence):
        return PERSONAL_EXPERIENCE
    if reasons.predicts(sentence) or _FUTURE.search(sentence):
        return PREDICTION
    if (reasons.claims_cause(sentence) or _CAUSE.search(sentence)) and not _MOTIVE.search(sentence):
        return CORRELATION_CAUSATION
    if _RULE.search(sentence):
        return LAWS_RULES
    if _states_quantity(sentence):
        return QUANTITY
    if _JUDGEMENT.search(sentence) or reasons.attributes_opinion(sentence):
        return NOT_A_CLAIM
    return OTHER
