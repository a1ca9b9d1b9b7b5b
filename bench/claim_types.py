"""Measure the claim-type classifier on sentences labelled by Full Fact's typology.

Usage: python bench/claim_types.py [--samples DIR] [--labels FILE] [--errors] [--runs 5]

The labels (bench/data/claim_types.tsv) name each sentence by its article file
under DIR (../shared/samples/wikinews), its character offsets and the first 12
hex digits of the sha256 of its text; the text itself is read from DIR, never
stored here. A sentence whose text no longer matches its hash is counted and
left out. Without DIR the benchmark says so and exits 0 (nothing to measure).

Reports accuracy, per-type precision, recall and F1, macro F1 and the
confusion matrix of the shipped classifier (claim_types.classify), beside two
baselines run side by side: the old rules' types mapped to the new ones
(checkworthiness's rules-1.x set through OLD_TO_NEW) and the majority class.
Speed is the median of --runs passes, one core. The labels are one engineer's
(see docs/claim-types.md). The last line printed is one JSON object.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import statistics
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from workbench.extraction.checkworthiness import legacy_claim_type  # noqa: E402
from workbench.extraction.claim_types import CLAIM_TYPES, OLD_TO_NEW, classify  # noqa: E402
from workbench.extraction.segment import segment  # noqa: E402

LABELS = ROOT / "bench" / "data" / "claim_types.tsv"
SHORT = {
    "personal_experience": "pers",
    "quantity": "quant",
    "correlation_causation": "cause",
    "laws_rules": "law",
    "prediction": "pred",
    "other": "other",
    "not_a_claim": "not",
}

Item = tuple[str, str, str]  # text, segmenter kind, gold label


def load(samples: Path, labels: Path) -> tuple[list[Item], int]:
    """Rebuild the labelled sentences from the articles; return them and how many no longer match."""
    items: list[Item] = []
    stale = 0
    texts: dict[str, str] = {}
    kinds: dict[str, dict[tuple[int, int], str]] = {}
    with labels.open(encoding="utf-8", newline="") as fh:
        for row in csv.DictReader(fh, delimiter="\t"):
            name = row["file"]
            if name not in texts:
                texts[name] = (samples / name).read_text(encoding="utf-8")
                kinds[name] = {(s.start, s.end): s.kind for s in segment(texts[name])}
            start, end = int(row["start"]), int(row["end"])
            text = texts[name][start:end]
            if hashlib.sha256(text.encode("utf-8")).hexdigest()[:12] != row["sha256_12"]:
                stale += 1
                continue
            # The kind the segmenter gives these offsets today; a sentence it
            # now splits differently is typed as a plain sentence.
            items.append((text, kinds[name].get((start, end), "sentence"), row["label"]))
    return items, stale


def scores(gold: list[str], pred: list[str]) -> dict:
    """Accuracy, per-type P/R/F1 with support, macro F1 and the confusion matrix."""
    per: dict[str, dict] = {}
    for t in CLAIM_TYPES:
        tp = sum(1 for g, p in zip(gold, pred, strict=True) if g == t and p == t)
        fp = sum(1 for g, p in zip(gold, pred, strict=True) if g != t and p == t)
        fn = sum(1 for g, p in zip(gold, pred, strict=True) if g == t and p != t)
        precision = tp / (tp + fp) if tp + fp else 0.0
        recall = tp / (tp + fn) if tp + fn else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        per[t] = {
            "precision": round(precision, 3),
            "recall": round(recall, 3),
            "f1": round(f1, 3),
            "support": tp + fn,
        }
    confusion = Counter(zip(gold, pred, strict=True))
    return {
        "accuracy": round(sum(g == p for g, p in zip(gold, pred, strict=True)) / len(gold), 3),
        "macro_f1": round(statistics.mean(v["f1"] for v in per.values()), 3),
        "per_type": per,
        "confusion": {g: {p: confusion[(g, p)] for p in CLAIM_TYPES} for g in CLAIM_TYPES},
    }


def timed(fn: Callable[[], list[str]], runs: int) -> tuple[list[str], float]:
    out = fn()
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return out, statistics.median(times)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=Path, default=ROOT.parent / "shared/samples/wikinews")
    parser.add_argument("--labels", type=Path, default=LABELS)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--errors", action="store_true", help="list every sentence typed wrong")
    args = parser.parse_args(argv)
    if not args.samples.is_dir():
        print(f"skipped: no sample articles at {args.samples} (the labels name sentences there)")
        print(json.dumps({"skipped": f"no samples at {args.samples}"}))
        return 0
    items, stale = load(args.samples, args.labels)
    gold = [g for *_, g in items]
    majority = Counter(gold).most_common(1)[0][0]
    runs = {
        "workbench classify()": lambda: [classify(t, kind=k) for t, k, _ in items],
        "old rules, types mapped": lambda: [OLD_TO_NEW[legacy_claim_type(t)] for t, _, _ in items],
        f"majority class ({majority})": lambda: [majority for _ in items],
    }
    results = {}
    preds = {}
    for name, fn in runs.items():
        pred, elapsed = timed(fn, args.runs)
        preds[name] = pred
        results[name] = {
            **scores(gold, pred),
            "sentences_per_s": round(len(items) / elapsed) if elapsed else None,
        }

    print(
        f"{len(items)} labelled sentences ({stale} stale, left out), labels by one engineer; "
        f"median of {args.runs}"
    )
    print(f"{'classifier':30} {'acc':>6} {'macroF1':>8} " + " ".join(f"{SHORT[t]:>6}" for t in CLAIM_TYPES))
    for name, r in results.items():
        f1s = " ".join(f"{r['per_type'][t]['f1']:6.3f}" for t in CLAIM_TYPES)
        print(f"{name:30} {r['accuracy']:6.3f} {r['macro_f1']:8.3f} {f1s}")
    print(f"{'support':30} {'':6} {'':8} " + " ".join(f"{gold.count(t):6d}" for t in CLAIM_TYPES))
    ours = results["workbench classify()"]
    base = results["old rules, types mapped"]
    print(
        f"speed: {ours['sentences_per_s']} sentences/s; accuracy ratio to the old rules "
        f"{ours['accuracy'] / base['accuracy']:.2f}"
    )
    print("\nconfusion of workbench classify() (rows: label, columns: predicted)")
    print(f"{'':8}" + "".join(f"{SHORT[t]:>7}" for t in CLAIM_TYPES))
    for g in CLAIM_TYPES:
        print(f"{SHORT[g]:8}" + "".join(f"{ours['confusion'][g][p]:7d}" for p in CLAIM_TYPES))
    if args.errors:
        print()
        for (text, kind, g), p in zip(items, preds["workbench classify()"], strict=True):
            if g != p:
                print(f"{SHORT[g]:>6} -> {SHORT[p]:<6} [{kind}] {text[:150]!r}")
    print(json.dumps({"sentences": len(items), "stale": stale, "results": results}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
