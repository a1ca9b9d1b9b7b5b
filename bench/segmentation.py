"""Measure the sentence segmenter alone on the Wikinews gold splits, beside raw syntok.

Usage: python bench/segmentation.py [--wikinews DIR] [--runs 5] [--errors]

The same measurement as the segmentation table of bench/extraction.py
(boundaries as cumulative non-whitespace character counts, paragraph by
paragraph, median speed of --runs on one core), without the model and the
check-worthiness baselines, so a change to the repairs can be measured in
seconds. --errors lists each false and missed boundary with its context.
The last line printed is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from extraction import boundaries, by_paragraph, load, measure  # noqa: E402

from workbench.extraction.segment import segment  # noqa: E402

_WS = re.compile(r"\s+")


def _syntok(p: str) -> list[str]:
    from workbench.extraction.segment import raw_sentence_starts

    starts = [*raw_sentence_starts(p), len(p)]
    return [p[a:b] for a, b in zip(starts, starts[1:], strict=False) if p[a:b].strip()]


def _workbench(text: str) -> list[str]:
    return [text[s.start : s.end] for s in segment(text)]


def errors(docs) -> list[str]:
    """Describe each false (+) and missed (-) boundary with 40 characters either side."""
    out = []
    for name, text, gold in docs:
        flat = _WS.sub("", text)
        pred, want = boundaries(_workbench(text)), boundaries(gold)
        for kind, points in (("+", pred - want), ("-", want - pred)):
            for n in sorted(points):
                out.append(f"{kind} {name}: …{flat[max(0, n - 40) : n]} | {flat[n : n + 40]}…")
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--wikinews", type=Path, default=ROOT.parent / "shared/samples/wikinews")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--errors", action="store_true", help="list every wrong boundary")
    args = parser.parse_args(argv)
    docs = load(args.wikinews)
    if not docs:
        parser.error(f"no articles with gold sentences under {args.wikinews}")
    rows = {
        "syntok (raw)": measure(docs, by_paragraph(_syntok), args.runs),
        "workbench segment()": measure(docs, _workbench, args.runs),
    }
    print(f"{len(docs)} articles, {sum(len(g) for *_, g in docs)} gold sentences, median of {args.runs} runs")
    print(f"{'segmenter':24} {'P':>6} {'R':>6} {'F1':>6} {'sent/s':>9} {'ratio':>6}")
    base = rows["syntok (raw)"]["sentences_per_s"]
    for name, m in rows.items():
        print(
            f"{name:24} {m['boundary_precision']:6.3f} {m['boundary_recall']:6.3f} "
            f"{m['boundary_f1']:6.3f} {m['sentences_per_s']:9.0f} {m['sentences_per_s'] / base:6.2f}"
        )
    if args.errors:
        for line in errors(docs):
            print(line)
    print(json.dumps(rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
