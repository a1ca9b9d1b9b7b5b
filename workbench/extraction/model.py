"""The shipped check-worthiness model: a linear model over TF-IDF features.

The model file is gzipped JSON (no pickle): per block an IDF and a weight per
feature, a bias, the block weights and the decision threshold chosen at
training time. Scoring is a dot product in plain Python, fast enough for
thousands of sentences a second on one core, and every score can be
explained by the features that pushed it up or down.
"""

from __future__ import annotations

import gzip
import json
import math
from collections import Counter, defaultdict
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from .features import analyse, char_grams

MODEL_FORMAT = "workbench-checkworthiness/1"
MODEL_PATH = Path(__file__).resolve().parent / "model" / "checkworthiness.json.gz"
BLOCKS = ("word", "char")

# How a rule flag reads in a reason.
RULE_LABELS = {
    "percent": "a percentage",
    "money": "an amount of money",
    "number": "a number",
    "date": "a date",
    "statword": "a statistics word",
    "comparison": "a comparison",
    "change": "a change verb",
    "event": "an event verb",
    "opinion": "an opinion marker",
    "wish": "a wish",
    "greeting": "a greeting",
    "hedge": "a hedge",
    "future1p": "a first-person promise",
    "future": "a future tense",
    "entity": "a named entity",
    "entities": "several named entities",
    "question": "a question",
    "short": "very short",
    "first_person": "first person",
}


@dataclass(frozen=True)
class Contribution:
    """What one word, word pair or rule added to the log-odds of a score."""

    label: str
    weight: float

    def reason(self) -> str:
        """Render as a reason an annotator can read."""
        return f"{self.label} ({self.weight:+.2f})"


class CheckworthinessModel:
    """A linear check-worthiness model loaded from its JSON description."""

    def __init__(self, spec: dict):
        if spec.get("format") != MODEL_FORMAT:
            raise ValueError(f"not a {MODEL_FORMAT} model: {spec.get('format')!r}")
        self.spec = spec
        self.version: str = spec["version"]
        self.threshold: float = spec["threshold"]
        self.bias: float = spec["bias"]
        self.block_weights: dict[str, float] = spec["block_weights"]
        self.vocab: dict[str, dict[str, tuple[float, float]]] = {
            block: {term: (iw[0], iw[1]) for term, iw in spec[block].items()} for block in BLOCKS
        }
        self.rules: dict[str, float] = spec["rule"]

    @classmethod
    def load(cls, path: Path | str = MODEL_PATH) -> CheckworthinessModel:
        """Read a model file (gzipped JSON, or plain JSON)."""
        path = Path(path)
        raw = path.read_bytes()
        if raw[:2] == b"\x1f\x8b":
            raw = gzip.decompress(raw)
        return cls(json.loads(raw))

    def _block(self, block: str, counts: Counter[str]) -> tuple[float, dict[str, float]]:
        """Return (block log-odds, per-feature contributions) for one block."""
        vocab = self.vocab[block]
        values: dict[str, tuple[float, float]] = {}
        norm = 0.0
        for term, tf in counts.items():
            iw = vocab.get(term)
            if iw is None:
                continue
            v = (1.0 + math.log(tf)) * iw[0]
            values[term] = (v, iw[1])
            norm += v * v
        if not values:
            return 0.0, {}
        scale = self.block_weights[block] / math.sqrt(norm)
        contrib = {term: v * w * scale for term, (v, w) in values.items()}
        return sum(contrib.values()), contrib

    def logit(self, text: str) -> float:
        """Return the log-odds that text is check-worthy."""
        return self._explain(text)[0]

    def probability(self, text: str) -> float:
        """Return the model's probability that text is check-worthy."""
        return _sigmoid(self.logit(text))

    def score(self, text: str) -> float:
        """Return a score in [0, 1] where 0.5 is the model's decision threshold.

        The logistic output is shifted so that the threshold chosen on the
        validation split maps to 0.5, the workbench's default threshold.
        """
        return _sigmoid(self.logit(text) - _logit(self.threshold))

    def _explain(self, text: str):
        toks, words, chars, flags = analyse(text)
        total = self.bias
        parts: dict[str, dict[str, float]] = {}
        for block, counts in (("word", words), ("char", chars)):
            value, contrib = self._block(block, counts)
            total += value
            parts[block] = contrib
        rule_contrib = {name: self.rules.get(name, 0.0) * v for name, v in flags.items()}
        total += sum(rule_contrib.values())
        parts["rule"] = rule_contrib
        return total, toks, parts

    def explain(self, text: str, k: int = 4) -> tuple[float, list[Contribution]]:
        """Return (score, the k contributions that drove it most), words first.

        Character n-grams are credited to the words they came from, so the
        reasons read "'percent' (+0.61)" rather than "'rcen'".
        """
        total, toks, parts = self._explain(text)
        by_label: dict[str, float] = defaultdict(float)
        for term, c in parts["word"].items():
            by_label[f"'{term}'"] += c
        # A char n-gram occurring in several words is shared among them.
        owners: dict[str, list[str]] = defaultdict(list)
        for t in dict.fromkeys(toks):
            for g in set(char_grams(t)):
                owners[g].append(t)
        for gram, c in parts["char"].items():
            words = owners.get(gram) or []
            for w in words:
                by_label[f"'{w}'"] += c / len(words)
        for name, c in parts["rule"].items():
            by_label[f"rule: {RULE_LABELS.get(name.removeprefix('rule:'), name)}"] += c
        value = _sigmoid(total - _logit(self.threshold))
        # Reasons agree with the decision: what pushed up for a high score,
        # what pushed down for a low one.
        sign = 1.0 if value >= 0.5 else -1.0
        ranked = sorted(
            (Contribution(label, c) for label, c in by_label.items() if c * sign > 0),
            key=lambda x: -abs(x.weight),
        )
        return value, ranked[:k]


def _sigmoid(x: float) -> float:
    if x >= 0:
        return 1.0 / (1.0 + math.exp(-x))
    e = math.exp(x)
    return e / (1.0 + e)


def _logit(p: float) -> float:
    return math.log(p / (1.0 - p))


@lru_cache(maxsize=1)
def shipped_model() -> CheckworthinessModel:
    """Return the model shipped in the package, loaded once per process."""
    return CheckworthinessModel.load(MODEL_PATH)
