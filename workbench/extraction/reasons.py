"""Reasons in words: the features of a sentence a fact-checker recognises, each with its weight.

Nine features, each found by general rules (patterns and word lists, no
sentence written in): a number or quantity, a comparison or ranking, a past
event, a prediction, a law or rule, cause and effect, an opinion, personal
experience, hedged or vague wording. Each feature's contribution is not
written by hand: it is the coefficient of a logistic regression of
ClaimBuster's check-worthy label (CFS against the rest) on the nine binary
features, fitted by :func:`fit` and shipped in ``model/reasons.json``. A
sentence's reasons are the features it has, strongest contribution first
(up to three), e.g. ``states a number or quantity (+1.20)``.

The reasons explain the sentence in a fact-checker's terms; the score itself
still comes from the check-worthiness model (`model.py`), which they do not
change.

Data: ClaimBuster (Arslan, Hassan, Li, Tremayne, "A Benchmark Dataset of
Check-worthy Factual Claims", ICWSM 2020; Zenodo 10.5281/zenodo.3609356),
licensed CC BY 4.0. Only the fitted weights are shipped, never the data.
Regenerate them with::

    .venv/bin/python -m workbench.extraction.reasons --data ../shared/data/claimbuster/crowdsourced.csv
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from workbench.resources import resource_path

WEIGHTS_FORMAT = "workbench-reasons/1"
WEIGHTS_VERSION = "reasons-1"
WEIGHTS_PATH = resource_path("extraction", "model", "reasons.json")
MAX_REASONS = 3
FIT_C = 1.0
DATA_CREDIT = (
    "ClaimBuster crowdsourced.csv (Arslan, Hassan, Li, Tremayne, 'A Benchmark Dataset of "
    "Check-worthy Factual Claims', ICWSM 2020; Zenodo 10.5281/zenodo.3609356), CC BY 4.0"
)


def _rx(pattern: str, *, case: bool = False) -> re.Pattern[str]:
    return re.compile(pattern, 0 if case else re.I)


def _any(words: str) -> str:
    """Return an alternation of the space-separated words ("_" stands for a space)."""
    return "|".join(w.replace("_", r"\s+") for w in words.split())


# ---------------------------------------------------------------- detectors

_APOS = "['’]"

# "G20", "COVID-19" and "F-35" are names, not quantities; a bare year is a date.
_DIGITS = re.compile(r"(?<![\w\-])[$€£¥₹]?\d[\d,.]*%?")
_YEAR = re.compile(r"^(?:1[6-9]|20)\d\d$")
_QUANTITY = _rx(
    r"\b(?:"
    + _any(
        "two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen "
        "sixteen seventeen eighteen nineteen twenty thirty forty fifty sixty seventy eighty ninety "
        "hundred hundreds thousand thousands million millions billion billions trillion trillions "
        "dozen dozens half thirds quarters percent per_cent percentage lakh lakhs crore crores "
        "a_third a_quarter a_fifth"
    )
    + r")\b|[%$€£¥₹]"
    r"|\bone\s+(?:in|out\s+of)\s+(?:every\s+)?(?:\d|two|three|four|five|six|seven|eight|nine|ten|a\s+hundred)"
)


def states_quantity(text: str) -> bool:
    """Say whether text states a number or quantity (digits, number words, %, money)."""
    for m in _DIGITS.finditer(text):
        token = m.group(0).rstrip(".,")
        if not _YEAR.match(token.lstrip("$€£¥₹")) or token[0] in "$€£¥₹" or token.endswith("%"):
            return True
    return bool(_QUANTITY.search(text))


# Words ending in "est" that are not superlatives.
_NOT_SUPERLATIVE = set(
    "rest west interest request protest contest test guest chest quest nest forest harvest suggest "
    "honest modest manifest arrest invest conquest inquest midwest northwest southwest earnest digest "
    "lest pest vest zest crest behest unrest priest attest detest infest divest".split()
)
_COMPARE = _rx(
    r"\b(?:"
    + _any(
        "compared_to compared_with comparison versus vs relative_to as_many_as as_much_as "
        "twice_as times_as times_more times_higher times_larger more_than less_than fewer "
        "the_most the_least best worst rank ranks ranked ranking number_one top_ten record_high "
        "record_low outpaced outperformed exceeded surpassed higher lower bigger larger greater "
        "smaller better worse faster slower cheaper richer poorer stronger weaker safer"
    )
    + r")\b"
)
# "other than" and "rather than" contrast, they do not compare.
_COMPARATIVE = _rx(r"\b(?:more|less)\s+[a-z]+|\b(?!other\b|rather\b)[a-z]{3,}er\s+than\b")
_SUPERLATIVE = _rx(r"\b(?:the|its|their|our|his|her)\s+([a-z]{2,}est)\b")


def compares(text: str) -> bool:
    """Say whether text compares or ranks (than, more/less, superlatives, rankings)."""
    if _COMPARE.search(text) or _COMPARATIVE.search(text):
        return True
    return any(m.group(1).lower() not in _NOT_SUPERLATIVE for m in _SUPERLATIVE.finditer(text))


# Common irregular past tenses of things that happen (not saying or thinking).
_IRREGULAR_PAST = _rx(
    r"\b(?:"
    + _any(
        "went came took gave made won lost rose fell grew began became brought bought built caught "
        "chose drove fought fled flew hid held kept led left lent met paid ran sank sent shot sold "
        "spent stole struck swore taught threw wrote broke froze shook sought forbade overtook "
        "undertook withdrew arose shrank sprang swam tore wore woke didn" + _APOS + "t did_not "
        "ago last_year last_month last_week last_night yesterday"
    )
    + r")\b(?!['’])"
)
# A lower-case past tense or participle ending in -ed ("voted", "was elected").
_REGULAR_PAST = re.compile(r"(?:\b([A-Za-z'’]+)\s+)?\b([a-z][a-z]{2,}ed)\b")
# -ed words that report speech, describe a state of mind or are adjectives.
_NOT_EVENT = set(
    "added stated noted asked replied explained argued insisted suggested remarked responded "
    "answered continued concluded claimed mentioned commented observed wanted liked loved hoped "
    "wished believed assumed guessed supposed seemed appeared needed concerned interested involved "
    "united based related advanced skilled limited tired worried prepared pleased excited married "
    "scared ashamed qualified talented determined committed dedicated detailed experienced "
    "organized organised armed naked sacred wicked beloved crooked rugged ragged wretched learned "
    "aged biased blessed hundred kindred called named used so-called alleged supposed "
    "unprecedented unemployed retired disabled talked".split()
)
# After these words an -ed form is a present state or an adjective, not a past event.
_STATE_BEFORE = set(
    "am is are be being 'm ’m 're ’re get gets getting feel feels seem seems look looks become "
    "becomes very so too more most less least a an the fully highly well not my our your his her "
    "their its these those".split()
)


def reports_past_event(text: str) -> bool:
    """Say whether text reports something that happened (a past tense of an event, "ago")."""
    if _IRREGULAR_PAST.search(text):
        return True
    for m in _REGULAR_PAST.finditer(text):
        before, word = (m.group(1) or "").lower(), m.group(2)
        if word.endswith("eed") or word in _NOT_EVENT or before in _STATE_BEFORE:
            continue
        if before.endswith(("'m", "’m", "'re", "’re", "'s", "’s")):
            continue
        return True
    return False


_PREDICT = _rx(
    r"(?<!\bthe )(?<!\bpolitical )(?<!\bfree )(?<!\bgood )(?<!\bown )(?<!\bill )\b(?:will|shall)\s+"
    r"(?!of\b)[a-z]+"
    rf"|\b(?:won{_APOS}t|[a-z]+{_APOS}ll)\b"
    r"|\b(?:going\s+to|gonna)\s+(?!the\b|a\b|an\b|my\b|his\b|her\b|their\b|our\b|your\b|this\b|that\b)"
    r"[a-z]+"
    r"|\b(?:"
    + _any(
        "expected_to projected_to forecast_to predicted_to scheduled_to poised_to on_track_to on_course_to "
        "predict predicts prediction predictions forecast forecasts projection projections "
        "next_year next_month next_week next_decade next_century next_term next_generation "
        "in_the_future in_the_coming in_the_years_ahead by_the_end_of_the_decade"
    )
    + r")\b"
)


def predicts(text: str) -> bool:
    """Say whether text predicts (will, 'll, going to, expected to, next year, forecasts)."""
    return bool(_PREDICT.search(text))


_LAW = _rx(
    r"\b(?:"
    + _any(
        "law laws lawful unlawful legal legally illegal illegally legislation legislative "
        "legislature statute statutes statutory constitution constitutional unconstitutional "
        "amendment amendments regulation regulations regulatory deregulation treaty treaties "
        "ordinance ordinances decree decrees court courts ruling rulings rule rules mandate "
        "mandates mandatory executive_order executive_orders article_\\d+ section_\\d+ clause"
    )
    + r")\b"
)
# Case matters: "the bill" is a law, "Bill Clinton" is not; "the Clean Air Act" is one.
_LAW_CASED = re.compile(r"\b(?:bill|bills)\b|(?<=[a-z] )Act\b|\b[A-Z][a-z]+ Act\b")


def cites_law(text: str) -> bool:
    """Say whether text cites a law or rule (laws, bills, acts, courts, regulations)."""
    return bool(_LAW.search(text) or _LAW_CASED.search(text))


_CAUSE = _rx(
    r"\b(?:"
    + _any(
        "because because_of due_to owing_to thanks_to as_a_result as_a_consequence "
        "causes caused causing result_in results_in resulted_in resulting_in result_from "
        "results_from resulted_from led_to lead_to leads_to leading_to contribute_to contributes_to "
        "contributed_to contributing_to responsible_for blame_for blamed_for blames_for blamed_on "
        "therefore consequently hence thus that" + _APOS + "s_why that_is_why which_is_why the_reason "
        "reason_why effect_of effects_of impact_of brought_about gave_rise_to driven_by triggered"
    )
    + r")\b"
    # "cause" the noun ("the cause of peace") is not a claim of cause.
    r"|\b(?:will|would|could|can|may|might|to|did|does|do)\s+cause\b"
)


def claims_cause(text: str) -> bool:
    """Say whether text claims cause and effect (because, led to, due to, as a result)."""
    return bool(_CAUSE.search(text))


_OPINION = _rx(
    r"\b(?:i|we|you|he|she|they|people|[a-z]+s)\s+(?:really\s+|honestly\s+|strongly\s+|firmly\s+"
    rf"|still\s+|also\s+|just\s+|do\s+|don{_APOS}t\s+|do\s+not\s+|did\s+not\s+|didn{_APOS}t\s+)?"
    r"(?:think|thinks|thought|believe|believes|believed|feel|feels|felt|guess|suppose|consider|"
    r"considers|doubt|doubts|reckon|reckons)\b"
    r"|\bin\s+(?:my|our|his|her|their)\s+(?:opinion|view|judgment|judgement)\b"
    r"|\b(?:my|our|his|her|their)\s+(?:view|opinion|belief|feeling)\s+(?:is|was|that)\b"
    rf"|\bit\s+seems\s+to\s+me\b|\bi{_APOS}m\s+(?:sure|convinced|confident)\b"
    r"|\bi\s+am\s+(?:sure|convinced|confident)\b"
    r"|\b(?:[A-Z][a-z]+|he|she|they)\s+(?:believes|thinks|feels|argues|insists)\b"
)


def attributes_opinion(text: str) -> bool:
    """Say whether text states or attributes an opinion (I think, she believes, in my view)."""
    return bool(_OPINION.search(text))


_PERSONAL = _rx(
    r"\bi\s+(?:\w+ly\s+)?(?:was|grew\s+up|remember|recall|saw|met|visited|went|lived|worked|served|"
    r"spent|talked|spoke|sat|stood|watched|heard|traveled|travelled|learned|learnt|knew|used\s+to|"
    r"have\s+(?:been|seen|met|visited|talked|spoken|lived|worked|served|traveled|travelled|heard|"
    r"watched|known|had))\b"
    rf"|\bi{_APOS}(?:ve|d)\s+(?:been|seen|met|visited|talked|spoken|lived|worked|served|traveled|"
    r"travelled|heard|watched|known|had)\b"
    r"|\bmy\s+(?:own\s+)?(?:father|mother|dad|mom|mum|wife|husband|son|sons|daughter|daughters|"
    r"children|kids|family|parents|grandfather|grandmother|grandparents|brother|brothers|sister|"
    r"sisters|uncle|aunt|friend|friends|home|hometown|life|lifetime|childhood|experience|career|"
    r"youth|neighbor|neighbour|neighbors|neighbours)\b"
    r"|\bwhen\s+i\s+was\b|\bin\s+my\s+(?:life|lifetime|experience|career|youth)\b"
)


def personal_experience(text: str) -> bool:
    """Say whether text tells the speaker's own experience (I grew up, my father, when I was)."""
    return bool(_PERSONAL.search(text))


_HEDGE = _rx(
    r"\b(?:"
    + _any(
        "maybe perhaps possibly probably presumably apparently reportedly allegedly supposedly "
        "seemingly arguably likely unlikely might could somewhat somehow roughly approximately "
        "some many several various numerous countless lots_of a_lot plenty_of a_number_of a_bit "
        "more_or_less and_so_on and_so_forth or_so things_like_that "
        "stuff_like_that something_like seem_to seems_to seemed_to seem_like seems_like "
        "appear_to appears_to appeared_to"
    )
    + r")\b"
    # "kind of" hedges; "what kind of", "the kind of leadership" do not.
    r"|(?<!\bwhat )(?<!\bthe )(?<!\bthis )(?<!\bthat )(?<!\bany )(?<!\bsame )(?<!\bone )(?<!\ba )"
    r"\b(?:kind|sort)\s+of\b"
    r"|\b(?:about|around|nearly|almost)\s+(?=\d|a\s+(?:third|quarter|half|dozen|hundred|thousand|million|billion))"
    # "May" the month is not a hedge.
    r"|(?-i:\bmay\b)"
)


def hedged(text: str) -> bool:
    """Say whether text is hedged or vague (maybe, might, some, a lot of, about 10)."""
    return bool(_HEDGE.search(text))


@dataclass(frozen=True)
class Feature:
    """A feature a fact-checker recognises: its key, how it reads, how it is found."""

    name: str
    label: str
    detect: Callable[[str], bool]


FEATURES: tuple[Feature, ...] = (
    Feature("quantity", "states a number or quantity", states_quantity),
    Feature("comparison", "compares or ranks", compares),
    Feature("past_event", "reports a past event", reports_past_event),
    Feature("prediction", "predicts", predicts),
    Feature("law", "cites a law or rule", cites_law),
    Feature("cause", "claims cause and effect", claims_cause),
    Feature("opinion", "attributes an opinion", attributes_opinion),
    Feature("personal", "personal experience", personal_experience),
    Feature("hedge", "hedged or vague", hedged),
)
FEATURE_NAMES = tuple(f.name for f in FEATURES)


def detect(text: str) -> list[str]:
    """Return the names of the features text has, in FEATURES order."""
    return [f.name for f in FEATURES if f.detect(text)]


# ---------------------------------------------------------------- reasons


@dataclass(frozen=True)
class Reason:
    """One feature of a sentence and what it contributes to the log-odds of check-worthy."""

    feature: str
    label: str
    contribution: float

    def text(self) -> str:
        """Render as annotators read it: "states a number or quantity (+1.20)"."""
        return f"{self.label} ({self.contribution:+.2f})"


@lru_cache(maxsize=1)
def shipped_weights() -> dict[str, float]:
    """Return feature -> contribution from the shipped ``model/reasons.json``, read once."""
    spec = json.loads(WEIGHTS_PATH.read_text(encoding="utf-8"))
    if spec.get("format") != WEIGHTS_FORMAT:
        raise ValueError(f"not a {WEIGHTS_FORMAT} file: {spec.get('format')!r}")
    return {name: float(w) for name, w in spec["weights"].items()}


def reasons_for(text: str, k: int = MAX_REASONS, weights: dict[str, float] | None = None) -> list[Reason]:
    """Return up to k reasons for text: the features it has, largest contribution (either sign) first."""
    weights = shipped_weights() if weights is None else weights
    labels = {f.name: f.label for f in FEATURES}
    found = [Reason(name, labels[name], weights[name]) for name in detect(text)]
    # Sorted is stable: equal contributions keep FEATURES order.
    found.sort(key=lambda r: -abs(r.contribution))
    return found[:k]


def explain(text: str, k: int = MAX_REASONS) -> tuple[str, ...]:
    """Return the reasons for text as the strings stored with a claim."""
    return tuple(r.text() for r in reasons_for(text, k))


# ---------------------------------------------------------------- fitting


def _read(path: Path) -> tuple[list[str], list[int], list[str]]:
    """Read ClaimBuster: texts, 1 for check-worthy (Verdict 1, CFS) else 0, and the debate."""
    with open(path, encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    return (
        [r["Text"] for r in rows],
        [int(r["Verdict"].strip() == "1") for r in rows],
        [r.get("File_id") or "" for r in rows],
    )


def fit(path: Path | str, *, c: float = FIT_C) -> dict[str, Any]:
    """Fit the contributions on a ClaimBuster CSV; return the JSON-ready weights file.

    A logistic regression (scikit-learn, lbfgs, L2 with C) of CFS against
    the rest on the nine binary features; the coefficients are the
    contributions. Also reports, per feature, how many sentences have it and
    how many of those are CFS, and the AUC of the same fit on whole debates
    held out (the split the check-worthiness model was chosen on).
    """
    import numpy as np
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import roc_auc_score

    from .training import Example, grouped_split

    path = Path(path)
    texts, labels, groups = _read(path)
    x = np.array([[f.detect(t) for f in FEATURES] for t in texts], dtype=float)
    y = np.array(labels)

    def model() -> LogisticRegression:
        return LogisticRegression(C=c, solver="lbfgs", max_iter=1000, tol=1e-8)

    train_idx, valid_idx = grouped_split(
        [Example(t, "CFS" if yy else "NFS", g) for t, yy, g in zip(texts, labels, groups, strict=True)],
        seed=13,
    )
    held = model().fit(x[train_idx], y[train_idx])
    auc = roc_auc_score(y[valid_idx], held.predict_proba(x[valid_idx])[:, 1])
    clf = model().fit(x, y)
    return {
        "format": WEIGHTS_FORMAT,
        "version": WEIGHTS_VERSION,
        "weights": {f.name: round(float(w), 4) for f, w in zip(FEATURES, clf.coef_[0], strict=True)},
        "intercept": round(float(clf.intercept_[0]), 4),
        "labels": {f.name: f.label for f in FEATURES},
        "fit": {
            "method": f"logistic regression, CFS vs rest, L2 C={c}, lbfgs (scikit-learn)",
            "data": DATA_CREDIT,
            "data_sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
            "sentences": len(texts),
            "check_worthy": int(y.sum()),
            "held_out_debates_auc": round(float(auc), 4),
            "support": {
                f.name: {"sentences": int(x[:, j].sum()), "check_worthy": int(y[x[:, j] == 1].sum())}
                for j, f in enumerate(FEATURES)
            },
        },
    }


def save(spec: dict[str, Any], path: Path | str = WEIGHTS_PATH) -> None:
    """Write the weights file as stable, diff-friendly JSON."""
    Path(path).write_text(
        json.dumps(spec, indent=2, sort_keys=True, ensure_ascii=False) + "\n", encoding="utf-8"
    )


def main(argv: Sequence[str] | None = None) -> None:
    """Refit the shipped contributions from ClaimBuster's crowdsourced.csv."""
    parser = argparse.ArgumentParser(prog="python -m workbench.extraction.reasons", description=main.__doc__)
    parser.add_argument("--data", required=True, help="path to ClaimBuster crowdsourced.csv")
    parser.add_argument("--output", default=str(WEIGHTS_PATH), help="where to write the weights JSON")
    args = parser.parse_args(argv)
    spec = fit(args.data)
    save(spec, args.output)
    for name, w in sorted(spec["weights"].items(), key=lambda kv: -abs(kv[1])):
        print(f"{spec['labels'][name]:<30} {w:+.3f}  {spec['fit']['support'][name]}")
    print(f"held-out debates AUC {spec['fit']['held_out_debates_auc']}; wrote {args.output}")


if __name__ == "__main__":
    main()
