"""Find the few claims that may repeat a text, with the database's search index (migration 0011).

A text is looked up by its rarest words (up to MAX_QUERY_TERMS; a candidate must hold two of
them), so a lookup reads short posting lists however large the archive is. PostgreSQL:
full-text search on ``claim_search.terms`` (a GIN index without a pending list), rarity from
ANALYZE's most-common-element statistics, one statement for all the texts of an article with a
subquery (and a plan) per text, ranked by ts_rank. SQLite: FTS5 ranked by bm25, rarity from the
background below. Either way the database returns at most ``limit`` candidates per text, best
first; the matcher scores them (workbench.extraction.matching.rerank).

The IDF the scores need comes from :func:`background`: every known claim while there are few,
then a sample of SAMPLE of them, cached per process, so memory stays flat as the archive grows.
"""

from __future__ import annotations

import json
import random
import re
import threading
import time
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa

from workbench.db import db
from workbench.extraction.matching import Frequencies, frequencies, term

CANDIDATES = 5
# A word held by more than this many claims selects too many rows to rank: the query leaves it
# out (unless the text has too few others), so that a lookup reads at most a few thousand
# postings at any archive size. Rarer words (names, numbers, topic words) are what a repeated
# claim shares anyway.
COMMON_ROWS = 1000
MAX_QUERY_TERMS = 6
MIN_QUERY_TERMS = 3
# Up to this many known claims the IDF is exact (all are read); above, a sample this size.
SAMPLE = 1000
REFRESH_SECONDS = 3600.0
# ANALYZE's statistics (which words are common) are re-read this often: one row, cheap.
STATS_SECONDS = 300.0

_WORD = re.compile(r"[^\W_]+")
_STOP = frozenset(
    """a an the of to in on at for by with from and or but as is are was were be been being it its this that
    these those he she they his her their them him we our us i my you your has have had do does did will
    would shall should can could may might must than then there here which who whom whose what when where
    why how also just so such very into over about after before said says say told according added""".split()
)

_lock = threading.Lock()
_stats_cache: dict[str, tuple[float, tuple[dict[str, float], float]]] = {}
_background_cache: dict[str, tuple[float, Frequencies, tuple[Any, ...] | None]] = {}


def candidates(
    texts: Sequence[str],
    *,
    statuses: Sequence[str],
    exclude_article_id: int | None = None,
    exclude_claim_ids: Sequence[int] = (),
    limit: int = CANDIDATES,
    rarity: Frequencies | None = None,
) -> list[list[tuple[int, str]]]:
    """Return, per text, up to limit (claim id, text) of claims in statuses sharing its rarer words.

    rarity: document frequencies (:func:`background`) that say which words are rare on SQLite,
    which has no statistics of its own; PostgreSQL reads ANALYZE's.
    """
    if not texts:
        return []
    params = {
        "statuses": list(statuses),
        "article": -1 if exclude_article_id is None else exclude_article_id,
        "excluded": list(exclude_claim_ids) or [-1],
        "limit": limit,
    }
    if db.session.get_bind().dialect.name == "postgresql":
        return _postgres(list(texts), params)
    return _sqlite(list(texts), params, rarity)


def _postgres(texts: list[str], params: dict[str, object]) -> list[list[tuple[int, str]]]:
    lexemes = db.session.execute(
        sa.text(
            "SELECT q.i, tsvector_to_array(to_tsvector('english', q.t)) FROM "
            "unnest(CAST(:texts AS text[])) WITH ORDINALITY AS q(t, i)"
        ),
        {"texts": texts},
    ).all()
    share, rows = _common_lexemes()
    queries: dict[int, str] = {}
    for i, found in lexemes:
        ranked = sorted(found, key=lambda lex: (share.get(lex, 0.0), lex))
        chosen = _pick(ranked, [_common(share.get(lex, 0.0), rows) for lex in ranked])
        if chosen:
            queries[int(i) - 1] = _at_least_two([_quote_lexeme(lex) for lex in chosen], " & ", " | ")
    out: list[list[tuple[int, str]]] = [[] for _ in texts]
    if not queries:
        return out
    # One statement, one subquery per text: each names its own tsquery as a value, so the planner
    # sees how rare its words are and answers it from the GIN index (a tsquery read per row of a
    # LATERAL join is planned blind: a scan of the whole table for every text). The tsqueries are
    # written into the statement (literal_execute), so that no prepared, generic plan replaces
    # the one made for them.
    # At most CHUNK subqueries per statement, and PostgreSQL's JIT off while they run: a
    # statement of thousands of index lookups has a total cost over jit_above_cost, and the server
    # spends its time compiling it rather than running it (bench/long_article.py: an article of
    # 5,000 claims took 66-369 s that way, 17 s this way). The setting is local to the transaction
    # and given back after; a failed lookup aborts the transaction, which ends the setting too.
    jit = db.session.execute(sa.text("SELECT current_setting('jit')")).scalar_one()
    if JIT_OFF:
        db.session.execute(sa.text("SELECT set_config('jit', 'off', true)"))
    ordered = sorted(queries)
    for start in range(0, len(ordered), CHUNK):
        _postgres_chunk({i: queries[i] for i in ordered[start : start + CHUNK]}, params, out)
    db.session.execute(sa.text("SELECT set_config('jit', :jit, true)"), {"jit": jit})
    return out


#: Subqueries (texts) per candidate statement on PostgreSQL.
CHUNK = 250
#: Switch PostgreSQL's JIT off while the lookups run (bench/long_article.py measures both ways).
JIT_OFF = True


def _postgres_chunk(
    queries: dict[int, str], params: dict[str, object], out: list[list[tuple[int, str]]]
) -> None:
    parts, binds = [], []
    for n, i in enumerate(sorted(queries)):
        parts.append(
            f"""(SELECT {i} AS i, c.id, c.text
                FROM claim_search s JOIN claims c ON c.id = s.claim_id
                WHERE s.terms @@ CAST(:q{n} AS tsquery)
                  AND c.status = ANY(CAST(:statuses AS text[]))
                  AND c.article_id <> :article
                  AND c.id <> ALL(CAST(:excluded AS integer[]))
                ORDER BY ts_rank(s.terms, CAST(:q{n} AS tsquery)) DESC, c.id
                LIMIT :limit)"""
        )
        binds.append(sa.bindparam(f"q{n}", queries[i], type_=sa.String, literal_execute=True))
    statement = sa.text("\nUNION ALL\n".join(parts)).bindparams(*binds)
    for i, claim_id, text in db.session.execute(statement, params):
        out[int(i)].append((int(claim_id), str(text)))


def _at_least_two(terms: list[str], both: str, either: str) -> str:
    """Return a query for claims holding at least two of terms (the one term if only one).

    One shared word is no repeat; requiring two keeps the rows the index hands back few (a
    word in 0.1% of a million claims is a thousand rows, a pair of them a handful), and the
    index answers it from its posting lists without visiting the rows that hold only one.
    """
    if len(terms) < 2:
        return either.join(terms)
    return either.join(f"({a}{both}{b})" for n, a in enumerate(terms) for b in terms[n + 1 :])


def _quote_lexeme(lexeme: str) -> str:
    return "'" + lexeme.replace("\\", "\\\\").replace("'", "''") + "'"


def _pick(ranked: list[str], common: list[bool]) -> list[str]:
    """Return the words to query, rarest first: the rare ones, else (or to make MIN_QUERY_TERMS) the
    least common of the others. A claim made of common words is still looked up by its rarest few."""
    rare = [w for w, c in zip(ranked, common, strict=True) if not c][:MAX_QUERY_TERMS]
    return rare + [w for w, c in zip(ranked, common, strict=True) if c][: max(0, MIN_QUERY_TERMS - len(rare))]


def _common(share: float, rows: float) -> bool:
    return share * rows > COMMON_ROWS


def _common_lexemes() -> tuple[dict[str, float], float]:
    """Return the share of claims holding each common lexeme (ANALYZE's statistics), and the rows."""
    key = str(db.engine.url)
    now = time.monotonic()
    cached = _stats_cache.get(key)
    if cached and now - cached[0] < STATS_SECONDS:
        return cached[1]
    row = db.session.execute(
        sa.text(
            "SELECT CAST(CAST(s.most_common_elems AS text) AS text[]), s.most_common_elem_freqs, c.reltuples "
            "FROM pg_stats s JOIN pg_class c ON c.oid = to_regclass('claim_search') "
            "WHERE s.tablename = 'claim_search' AND s.attname = 'terms' AND s.schemaname = current_schema()"
        )
    ).first()
    found = (dict(zip(row[0], row[1], strict=False)), float(row[2])) if row and row[0] else ({}, 0.0)
    with _lock:
        _stats_cache[key] = (now, found)
    return found


def _sqlite(
    texts: list[str], params: dict[str, object], rarity: Frequencies | None
) -> list[list[tuple[int, str]]]:
    statement = sa.text(
        """
        SELECT c.id, c.text FROM claim_search JOIN claims c ON c.id = claim_search.rowid
        WHERE claim_search MATCH :query AND c.status IN :statuses AND c.article_id != :article
          AND c.id NOT IN :excluded
        ORDER BY claim_search.rank, c.id LIMIT :limit
        """
    ).bindparams(sa.bindparam("statuses", expanding=True), sa.bindparam("excluded", expanding=True))
    out: list[list[tuple[int, str]]] = []
    for text in texts:
        words = list(dict.fromkeys(w for w in _WORD.findall(text.lower()) if w not in _STOP))
        if rarity is not None and rarity.sampled:
            # Rarest first, by the sample's document frequencies; common words only if nothing else.
            share = {w: rarity.words.get(term(w), 0) / rarity.sampled for w in words}
            ranked = sorted(words, key=lambda w: share[w])  # stable: text order among equals
            words = _pick(ranked, [_common(share[w], rarity.docs) for w in ranked])
        if not words:
            out.append([])
            continue
        query = _at_least_two([f'"{w}"' for w in words[:MAX_QUERY_TERMS]], " AND ", " OR ")
        rows = db.session.execute(statement, {**params, "query": query})
        out.append([(int(i), str(t)) for i, t in rows])
    return out


def background(status: str) -> Frequencies:
    """Return the document frequencies of the claims in status: exact while few, else a sample.

    Cached per process: a sample (a large archive) for REFRESH_SECONDS, since the IDF of a
    million claims barely moves in an hour; the exact counts (a small archive) while the same
    claims are in status. Memory is bounded by SAMPLE claims' terms.
    """
    key = f"{db.engine.url}|{status}"
    now = time.monotonic()
    cached = _background_cache.get(key)
    if cached and cached[2] is None and now - cached[0] < REFRESH_SECONDS:
        return cached[1]
    total = _count(status)
    if total > SAMPLE:
        found, signature = frequencies(_sample(status), docs=total), None
    else:
        # Which claims they are (how many, their ids, the newest), read on every call: cheap while few.
        where = _claims.c.status == status
        signature = tuple(
            db.session.execute(
                sa.select(
                    sa.func.count(),
                    sa.func.coalesce(sa.func.sum(_claims.c.id), 0),
                    sa.func.max(_claims.c.created_at),
                ).where(where)
            ).one()
        )
        if cached and cached[2] == signature:
            return cached[1]
        found = frequencies(list(db.session.scalars(sa.select(_claims.c.text).where(where))))
    with _lock:
        _background_cache[key] = (now, found, signature)
    return found


def _count(status: str) -> int:
    """How many claims are in status: counted while few, the planner's estimate when many.

    Counting a million rows takes a quarter of a second; the IDF needs the size only roughly.
    """
    query = sa.select(sa.func.count()).select_from(_claims).where(_claims.c.status == status)
    if db.session.get_bind().dialect.name == "postgresql":
        plan = db.session.scalar(
            sa.text("EXPLAIN (FORMAT JSON) SELECT 1 FROM claims WHERE status = :status").bindparams(
                sa.bindparam("status", status, type_=sa.String, literal_execute=True)
            )
        )
        estimate = int(_plan(plan)["Plan"]["Plan Rows"])
        if estimate > 10 * SAMPLE:
            return estimate
    return int(db.session.scalar(query) or 0)


def _plan(value: object) -> dict[str, Any]:
    found = json.loads(value) if isinstance(value, str) else value
    assert isinstance(found, list) and isinstance(found[0], dict)
    return found[0]


def _sample(status: str) -> list[str]:
    """Read SAMPLE claims in status from a random point of the id range (primary-key range scans)."""
    low, high = db.session.execute(sa.select(sa.func.min(_claims.c.id), sa.func.max(_claims.c.id))).one()
    start = random.randint(int(low), int(high))
    query = sa.select(_claims.c.text).where(_claims.c.status == status).order_by(_claims.c.id).limit(SAMPLE)
    texts = list(db.session.scalars(query.where(_claims.c.id >= start)))
    if len(texts) < SAMPLE:
        texts += db.session.scalars(query.where(_claims.c.id < start).limit(SAMPLE - len(texts)))
    return texts


_claims = sa.table(
    "claims",
    sa.column("id", sa.Integer),
    sa.column("text", sa.Text),
    sa.column("status"),
    sa.column("created_at"),
)
