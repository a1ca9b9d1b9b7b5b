"""Train the check-worthiness model on ClaimBuster (needs scikit-learn).

Only `workbench model train` and the benchmark import this module; the
extractor itself reads the trained JSON with `model.CheckworthinessModel`.

Procedure (documented in docs/model-card.md): read crowdsourced.csv, label
CFS (Verdict 1) as check-worthy, hold out whole debates (grouped by File_id)
as a validation split, pick the regularisation and the decision threshold
that maximise F1 there, then refit on all of crowdsourced.csv with those
choices. groundtruth.csv is never read here.
"""

from __future__ import annotations

import csv
import gzip
import json
import math
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy import sparse
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import precision_recall_fscore_support

from .features import analyse
from .model import BLOCKS, MODEL_FORMAT, CheckworthinessModel

DEFAULT_SEED = 13
MODEL_VERSION = "cw-1"
MIN_DF = {"word": 2, "char": 3}
BLOCK_WEIGHTS = {"word": 1.0, "char": 1.0}
C_GRID = (0.5, 1.0, 2.0, 4.0, 8.0)
VALIDATION_SHARE = 0.2


CLASSES = ("NFS", "UFS", "CFS")
_VERDICTS = {"-1": "NFS", "0": "UFS", "1": "CFS"}


@dataclass(frozen=True)
class Example:
    text: str
    verdict: str  # NFS, UFS or CFS (anything not 1 or 0 counts as NFS)
    group: str  # the debate it comes from

    @property
    def label(self) -> int:
        """Return 1 for check-worthy (CFS), else 0."""
        return int(self.verdict == "CFS")


def read_claimbuster(path: Path | str) -> list[Example]:
    """Read a ClaimBuster CSV: Verdict 1 is check-worthy (CFS), anything else is not."""
    with open(path, encoding="utf-8", newline="") as fh:
        return [
            Example(row["Text"], _VERDICTS.get(row["Verdict"].strip(), "NFS"), row.get("File_id") or "")
            for row in csv.DictReader(fh)
        ]


def grouped_split(
    examples: Sequence[Example], seed: int, share: float = VALIDATION_SHARE
) -> tuple[list[int], list[int]]:
    """Return (train, validation) indices, whole debates held out together."""
    groups = sorted({e.group for e in examples})
    rng = np.random.default_rng(seed)
    rng.shuffle(groups)
    held, total, target = set(), 0, share * len(examples)
    sizes = Counter(e.group for e in examples)
    for g in groups:
        if total >= target:
            break
        held.add(g)
        total += sizes[g]
    train = [i for i, e in enumerate(examples) if e.group not in held]
    valid = [i for i, e in enumerate(examples) if e.group in held]
    return train, valid


class Featuriser:
    """Fit vocabularies and IDF on training texts; turn texts into a matrix."""

    def __init__(self, texts: Sequence[str]):
        analysed = [analyse(t) for t in texts]
        self.vocab: dict[str, dict[str, int]] = {}
        self.idf: dict[str, npt.NDArray[np.float64]] = {}
        n = len(texts)
        for b, block in enumerate(BLOCKS):
            df: Counter[str] = Counter()
            for a in analysed:
                df.update((a[1], a[2])[b].keys())
            terms = sorted(t for t, d in df.items() if d >= MIN_DF[block])
            self.vocab[block] = {t: i for i, t in enumerate(terms)}
            self.idf[block] = np.array([math.log((1 + n) / (1 + df[t])) + 1.0 for t in terms])
        rules: set[str] = set()
        for a in analysed:
            rules.update(a[3])
        self.rules = sorted(rules)
        self._analysed = analysed

    def transform(self, texts: Sequence[str] | None = None) -> sparse.csr_matrix:
        """Return the feature matrix (word block, char block, rule flags)."""
        analysed = self._analysed if texts is None else [analyse(t) for t in texts]
        mats = []
        for b, block in enumerate(BLOCKS):
            vocab, idf = self.vocab[block], self.idf[block]
            rows, cols, vals = [], [], []
            for r, a in enumerate(analysed):
                grams = (a[1], a[2])[b]
                entries = [(vocab[t], (1.0 + math.log(tf))) for t, tf in grams.items() if t in vocab]
                if not entries:
                    continue
                idx = np.array([e[0] for e in entries])
                v = np.array([e[1] for e in entries]) * idf[idx]
                v *= BLOCK_WEIGHTS[block] / np.linalg.norm(v)
                rows.extend([r] * len(idx))
                cols.extend(idx.tolist())
                vals.extend(v.tolist())
            mats.append(sparse.csr_matrix((vals, (rows, cols)), shape=(len(analysed), len(vocab))))
        index = {name: i for i, name in enumerate(self.rules)}
        rows, cols = [], []
        for r, a in enumerate(analysed):
            for name in a[3]:
                if name in index:
                    rows.append(r)
                    cols.append(index[name])
        mats.append(
            sparse.csr_matrix(([1.0] * len(rows), (rows, cols)), shape=(len(analysed), len(self.rules)))
        )
        return sparse.hstack(mats, format="csr")


def _fit(x: sparse.csr_matrix, verdicts: npt.NDArray[Any], c: float, seed: int) -> LogisticRegression:
    # Three classes rather than CFS-vs-rest: telling unimportant facts (UFS)
    # from opinions (NFS) helps the CFS boundary (+0.005 F1 on validation).
    clf = LogisticRegression(C=c, max_iter=5000, solver="lbfgs", random_state=seed, tol=1e-6)
    return clf.fit(x, verdicts)


def _cfs(clf: LogisticRegression, x: sparse.csr_matrix) -> npt.NDArray[np.float64]:
    probabilities: npt.NDArray[np.float64] = clf.predict_proba(x)
    return probabilities[:, list(clf.classes_).index(CLASSES.index("CFS"))]


def best_threshold(y: npt.NDArray[Any], p: npt.NDArray[np.float64]) -> tuple[float, float]:
    """Return (threshold, F1) maximising F1, on a grid of 0.01 steps."""
    best = (0.5, -1.0)
    for t in np.arange(0.10, 0.91, 0.01):
        f1 = precision_recall_fscore_support(y, p >= t, average="binary", zero_division=0)[2]
        if f1 > best[1] + 1e-12:
            best = (round(float(t), 2), float(f1))
    return best


def train(
    examples: Sequence[Example],
    *,
    seed: int = DEFAULT_SEED,
    c_grid: Sequence[float] = C_GRID,
    log: Callable[[str], object] = print,
) -> tuple[CheckworthinessModel, dict[str, Any]]:
    """Choose C and threshold on a grouped split, refit on everything, return (model, report)."""
    train_idx, valid_idx = grouped_split(examples, seed)
    texts = [e.text for e in examples]
    y = np.array([e.label for e in examples])
    verdicts = np.array([CLASSES.index(e.verdict) for e in examples])
    feats = Featuriser([texts[i] for i in train_idx])
    x_train = feats.transform()
    x_valid = feats.transform([texts[i] for i in valid_idx])
    trials = []
    for c in c_grid:
        p = _cfs(_fit(x_train, verdicts[train_idx], c, seed), x_valid)
        threshold, f1 = best_threshold(y[valid_idx], p)
        pr, rc, f05, _ = precision_recall_fscore_support(
            y[valid_idx], p >= threshold, average="binary", zero_division=0
        )
        trials.append({"C": c, "threshold": threshold, "precision": pr, "recall": rc, "f1": f1})
        log(f"  C={c:<5} threshold={threshold:.2f} P={pr:.3f} R={rc:.3f} F1={f1:.3f}")
    chosen = max(trials, key=lambda t: (round(t["f1"], 4), -t["C"]))
    log(f"chosen C={chosen['C']} threshold={chosen['threshold']} (validation F1 {chosen['f1']:.3f})")
    full = Featuriser(texts)
    clf = _fit(full.transform(), verdicts, chosen["C"], seed)
    report = {
        "seed": seed,
        "examples": len(examples),
        "positives": int(y.sum()),
        "validation": {
            "debates_held_out": len({examples[i].group for i in valid_idx}),
            "sentences": len(valid_idx),
            "trials": trials,
            "chosen": chosen,
        },
    }
    return CheckworthinessModel(to_spec(full, clf, chosen["threshold"], report)), report


def to_spec(
    feats: Featuriser, clf: LogisticRegression, threshold: float, report: dict[str, Any]
) -> dict[str, Any]:
    """Describe a fitted model as JSON-ready data (weights rounded to 6 digits)."""
    coef = clf.coef_
    assert list(clf.classes_) == list(range(len(CLASSES))), clf.classes_

    def weights(j: int) -> list[float]:
        return [round(float(w), 6) for w in coef[:, j]]

    spec: dict[str, Any] = {
        "format": MODEL_FORMAT,
        "version": MODEL_VERSION,
        "classes": list(CLASSES),
        "positive": "CFS",
        "threshold": threshold,
        "bias": [round(float(b), 6) for b in clf.intercept_],
        "block_weights": BLOCK_WEIGHTS,
        "training": report,
    }
    offset = 0
    for block in BLOCKS:
        vocab, idf = feats.vocab[block], feats.idf[block]
        block_spec = {}
        for term, i in vocab.items():
            # Features absent from training rows only shift the norm: keep all.
            block_spec[term] = [round(float(idf[i]), 6), *weights(offset + i)]
        spec[block] = block_spec
        offset += len(vocab)
    spec["rule"] = {name: weights(offset + i) for i, name in enumerate(feats.rules)}
    return spec


def save(model: CheckworthinessModel, path: Path | str) -> None:
    """Write the model as gzipped JSON, byte-for-byte reproducible."""
    data = json.dumps(model.spec, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_bytes(gzip.compress(data.encode("utf-8"), mtime=0))
