"""Measure sentence segmenters and the extraction pipeline on Wikinews gold.

Usage: python bench/extraction.py [--wikinews DIR] [--runs 5]

Boundaries are compared as cumulative counts of non-whitespace characters,
because the gold (GUM) sentences carry tokenisation artefacts ("six - member")
that make raw character offsets useless. Every candidate is run paragraph by
paragraph, as the workbench does. The last line printed is one JSON object.
"""

from __future__ import annotations

import argparse
import csv
import json
import re
import statistics
import sys
import time
from collections.abc import Callable
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from workbench.extraction import extract_claims  # noqa: E402
from workbench.extraction.segment import paragraphs, raw_sentence_starts, segment  # noqa: E402

_WS = re.compile(r"\s+")
Splitter = Callable[[str], list[str]]


def _pysbd() -> Splitter:
    import pysbd

    seg = pysbd.Segmenter(language="en", clean=False)
    return seg.segment


def _sentencex() -> Splitter:
    import sentencex

    return lambda p: list(sentencex.segment("en", p))


def _syntok_raw(p: str) -> list[str]:
    starts = [*raw_sentence_starts(p), len(p)]
    return [p[a:b] for a, b in zip(starts, starts[1:], strict=False)]


def candidates() -> dict[str, tuple[str, Splitter]]:
    """Return name -> (package version, paragraph splitter) for what is installed."""
    out: dict[str, tuple[str, Splitter]] = {}
    for name, make in [
        ("pysbd", _pysbd),
        ("sentencex", _sentencex),
        ("syntok", lambda: _syntok_raw),
    ]:
        try:
            out[name] = (version(name), make())
        except (ImportError, PackageNotFoundError):
            print(f"skipping {name}: not installed", file=sys.stderr)
    return out


def load(directory: Path) -> list[tuple[str, str, list[str]]]:
    """Return (name, article text, gold sentences) for each article."""
    docs = []
    for path in sorted(directory.glob("*.txt")):
        gold_path = directory / "sentences" / f"{path.stem}.sentences.tsv"
        if not gold_path.exists():
            continue
        with gold_path.open(encoding="utf-8", newline="") as fh:
            gold = [row["text"] for row in csv.DictReader(fh, delimiter="\t")]
        docs.append((path.stem, path.read_text(encoding="utf-8"), gold))
    return docs


def boundaries(sentences: list[str]) -> set[int]:
    """Return sentence ends as cumulative non-whitespace character counts."""
    out, n = set(), 0
    for s in sentences:
        n += len(_WS.sub("", s))
        out.add(n)
    return out


def prf(pred_gold: list[tuple[set[int], set[int]]]) -> tuple[float, float, float]:
    tp = sum(len(p & g) for p, g in pred_gold)
    fp = sum(len(p - g) for p, g in pred_gold)
    fn = sum(len(g - p) for p, g in pred_gold)
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, f1


def measure(docs, split_article: Callable[[str], list[str]], runs: int) -> dict:
    """Score one whole-article splitter: accuracy, then median speed of runs."""
    outputs = [split_article(text) for _, text, _ in docs]
    p, r, f1 = prf(
        [(boundaries(out), boundaries(gold)) for out, (_, _, gold) in zip(outputs, docs, strict=True)]
    )
    n_sent = sum(len(o) for o in outputs)
    n_bytes = sum(len(text.encode("utf-8")) for _, text, _ in docs)
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        for _, text, _ in docs:
            split_article(text)
        times.append(time.perf_counter() - t0)
    elapsed = statistics.median(times)
    return {
        "boundary_precision": round(p, 4),
        "boundary_recall": round(r, 4),
        "boundary_f1": round(f1, 4),
        "sentences": n_sent,
        "sentences_per_s": round(n_sent / elapsed, 1),
        "kb_per_s": round(n_bytes / 1024 / elapsed, 1),
    }


def by_paragraph(split: Splitter) -> Callable[[str], list[str]]:
    def run(text: str) -> list[str]:
        return [s for a, b in paragraphs(text) for s in split(text[a:b]) if s.strip()]

    return run


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--wikinews", type=Path, default=ROOT.parent / "shared/samples/wikinews")
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args(argv)
    docs = load(args.wikinews)
    if not docs:
        parser.error(f"no articles with gold sentences under {args.wikinews}")

    rows: dict[str, dict] = {}
    for name, (ver, split) in candidates().items():
        rows[f"{name} {ver} (raw)"] = measure(docs, by_paragraph(split), args.runs)
    rows["workbench segment() (syntok + repairs)"] = measure(
        docs, lambda t: [t[s.start : s.end] for s in segment(t)], args.runs
    )
    # The full pipeline: header parsing, attribution and scoring included.
    # Its sentences exclude header lines, so only its speed is comparable.
    pipeline = measure(docs, lambda t: [c.text for c in extract_claims(t)], args.runs)
    final = rows["workbench segment() (syntok + repairs)"]

    print(
        f"{len(docs)} articles, {sum(len(g) for *_, g in docs)} gold sentences, "
        f"median of {args.runs} runs, one core"
    )
    header = f"{'segmenter':42} {'P':>6} {'R':>6} {'F1':>6} {'sent/s':>9} {'KB/s':>8}"
    print(header)
    print("-" * len(header))
    for name, m in rows.items():
        print(
            f"{name:42} {m['boundary_precision']:6.3f} {m['boundary_recall']:6.3f} "
            f"{m['boundary_f1']:6.3f} {m['sentences_per_s']:9.0f} {m['kb_per_s']:8.1f}"
        )
    print(
        f"{'full extract_claims() pipeline':42} {'':6} {'':6} {'':6} "
        f"{pipeline['sentences_per_s']:9.0f} {pipeline['kb_per_s']:8.1f}"
    )
    summary = {
        **{k: final[k] for k in ("boundary_precision", "boundary_recall", "boundary_f1")},
        "sentences_per_s": pipeline["sentences_per_s"],
        "kb_per_s": pipeline["kb_per_s"],
        "segmenter_sentences_per_s": final["sentences_per_s"],
        "segmenters": rows,
    }
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
