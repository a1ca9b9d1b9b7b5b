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
from typing import Any

from workbench.resources import resource_path

from .features import analyse, char_grams, surface_forms

MODEL_FORMAT = "workbench-checkworthiness/1"
MODEL_PATH = resource_path("extraction", "model", "checkworthiness.json.gz")
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
    """A multinomial linear model loaded from its JSON description.

    Classes are ClaimBuster's (NFS, UFS, CFS); the score is P(CFS). Each
    feature carries an IDF and one weight per class.
    """

    def __init__(self, spec: dict[str, Any]):
        if spec.get("format") != MODEL_FORMAT:
            raise ValueError(f"not a {MODEL_FORMAT} model: {spec.get('format')!r}")
        self.spec = spec
        self.version: str = spec["version"]
        self.classes: list[str] = spec["classes"]
        self.positive: int = self.classes.index(spec["positive"])
        self.threshold: float = spec["threshold"]
        self.bias: list[float] = spec["bias"]
        self.block_weights: dict[str, float] = spec["block_weights"]
        self.vocab: dict[str, dict[str, list[float]]] = {block: spec[block] for block in BLOCKS}
        self.rules: dict[str, list[float]] = spec["rule"]

    @classmethod
    def load(cls, path: Path | str = MODEL_PATH) -> CheckworthinessModel:
        """Read a model file (gzipped JSON, or plain JSON)."""
        raw = Path(path).read_bytes()
        if raw[:2] == b"\x1f\x8b":
            raw = gzip.decompress(raw)
        return cls(json.loads(raw))

    def _block(self, block: str, counts: Counter[str]) -> dict[str, tuple[float, list[float]]]:
        """Return feature -> (scaled TF-IDF value, class weights) for one block."""
        vocab = self.vocab[block]
        values: dict[str, tuple[float, list[float]]] = {}
        norm = 0.0
        for term, tf in counts.items():
            entry = vocab.get(term)
            if entry is None:
                continue
            v = (1.0 + math.log(tf)) * entry[0]
            values[term] = (v, entry)
            norm += v * v
        if not values:
            return {}
        scale = self.block_weights[block] / math.sqrt(norm)
        return {term: (v * scale, entry[1:]) for term, (v, entry) in values.items()}

    def _features(
        self, text: str
    ) -> tuple[list[float], list[str], dict[str, dict[str, tuple[float, list[float]]]]]:
        toks, words, chars, flags = analyse(text)
        parts = {"word": self._block("word", words), "char": self._block("char", chars)}
        parts["rule"] = {name: (v, self.rules[name]) for name, v in flags.items() if name in self.rules}
        z = list(self.bias)
        for block in parts.values():
            for v, weights in block.values():
                for k, w in enumerate(weights):
                    z[k] += v * w
        return z, toks, parts

    def probability(self, text: str) -> float:
        """Return the model's probability that text is check-worthy (CFS)."""
        return _softmax(self._features(text)[0])[self.positive]

    def score(self, text: str) -> float:
        """Return a score in [0, 1] where 0.5 is the model's decision threshold.

        The probability is shifted on the log-odds scale so that the
        threshold chosen on the validation split maps to 0.5, the
        workbench's default threshold.
        """
        return self._calibrated(self.probability(text))

    def _calibrated(self, p: float) -> float:
        p = min(max(p, 1e-12), 1 - 1e-12)
        return _sigmoid(_logit(p) - _logit(self.threshold))

    def explain(self, text: str, k: int = 4) -> tuple[float, list[Contribution]]:
        """Return (score, the k contributions that drove it most).

        A feature's contribution is its effect on the log-odds of CFS
        against the other classes (weighted by their current shares).
        Character n-grams are credited to the words they came from, so the
        reasons read "'percent' (+0.61)" rather than "'rcen'".
        """
        z, toks, parts = self._features(text)
        probs = _softmax(z)
        shown = surface_forms(text)
        others = [(k2, p) for k2, p in enumerate(probs) if k2 != self.positive]
        total_other = sum(p for _, p in others) or 1.0

        def effect(v: float, weights: list[float]) -> float:
            rest = sum(p * weights[k2] for k2, p in others) / total_other
            return v * (weights[self.positive] - rest)

        by_label: dict[str, float] = defaultdict(float)
        for term, (v, weights) in parts["word"].items():
            label = " ".join(shown.get(t, t) for t in term.split(" "))
            by_label[f"'{label}'"] += effect(v, weights)
        # A char n-gram occurring in several words is shared among them.
        owners: dict[str, list[str]] = defaultdict(list)
        for t in dict.fromkeys(toks):
            for g in set(char_grams(t)):
                owners[g].append(t)
        for gram, (v, weights) in parts["char"].items():
            words = owners.get(gram) or []
            for w in words:
                by_label[f"'{shown.get(w, w)}'"] += effect(v, weights) / len(words)
        for name, (v, weights) in parts["rule"].items():
            by_label[f"rule: {RULE_LABELS.get(name.removeprefix('rule:'), name)}"] += effect(v, weights)
        value = self._calibrated(probs[self.positive])
        # Reasons agree with the decision: what pushed up for a high score,
        # what pushed down for a low one.
        sign = 1.0 if value >= 0.5 else -1.0
        ranked = sorted(
            (Contribution(label, c) for label, c in by_label.items() if c * sign > 0),
            key=lambda x: -abs(x.weight),
        )
        return value, ranked[:k]


def _softmax(z: list[float]) -> list[float]:
    top = max(z)
    e = [math.exp(x - top) for x in z]
    s = sum(e)
    return [x / s for x in e]


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
