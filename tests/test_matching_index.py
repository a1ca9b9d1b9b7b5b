"""The search index picks candidates by a claim's rare words; the IDF background is cached, bounded."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from tests.factories import make_article
from workbench.db import db
from workbench.matching import search
from workbench.models import Claim, ClaimStatus

# Eight common words (in every claim of the archive below) come before the rare ones.
NOISE = "People across the country told the government the state economy and jobs market grew in {}."
TARGET = "The Kalvik harbour fees doubled last spring."
QUERY = "People across the country told the government the state economy grew as Kalvik harbour fees doubled."


@pytest.fixture
def caches(monkeypatch):
    """Per-test caches: the module's are per process, keyed by the database URL."""
    monkeypatch.setattr(search, "_background_cache", {})
    monkeypatch.setattr(search, "_stats_cache", {})


def _verify(article) -> list[int]:
    ids = [c.id for c in article.claims]
    db.session.execute(sa.update(Claim).where(Claim.id.in_(ids)).values(status=ClaimStatus.VERIFIED))
    db.session.commit()
    return ids


def _archive(n: int) -> list[int]:
    years = " ".join(NOISE.format(1000 + i) for i in range(n))
    return _verify(make_article(text=years))


def _analyze() -> None:
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(sa.text("ANALYZE claim_search"))
        db.session.commit()
    search._stats_cache.clear()  # re-read every STATS_SECONDS: now, for the test


def test_a_repeat_sharing_only_rare_words_is_found_among_claims_sharing_common_ones(app, caches, monkeypatch):
    monkeypatch.setattr(search, "COMMON_ROWS", 100)  # a thousand claims' ingest is slow for a test
    with app.app_context():
        noise = _archive(150)
        assert len(noise) > search.COMMON_ROWS, "the common words must be common enough to be dropped"
        target = _verify(make_article(text=TARGET))
        _analyze()
        background = search.background(ClaimStatus.VERIFIED)
        found = search.candidates([QUERY], statuses=[ClaimStatus.VERIFIED], rarity=background)[0]
        # Queried by its first words, the claim finds only the noise; by its rarest, the repeat.
        assert found and found[0][0] == target[0]


def test_the_background_is_cached_and_follows_the_verified_claims(app, caches):
    with app.app_context():
        first = _verify(make_article(text="The council doubled the harbour fees in 2028."))
        one = search.background(ClaimStatus.VERIFIED)
        assert one.docs == len(first)
        assert search.background(ClaimStatus.VERIFIED) is one, "unchanged claims: the cached counts"
        more = _verify(make_article(text="Fishermen earn 20 percent less than in 2027."))
        two = search.background(ClaimStatus.VERIFIED)
        assert two is not one and two.docs == len(first) + len(more)
        assert two.words[search.term("fishermen")] == 1


def test_a_large_archive_is_sampled_once_and_the_sample_is_bounded(app, caches, monkeypatch):
    monkeypatch.setattr(search, "SAMPLE", 20)
    with app.app_context():
        ids = _archive(60)
        _analyze()
        sampled = search.background(ClaimStatus.VERIFIED)
        assert sampled.sampled == 20 and sampled.docs == len(ids)
        _archive(5)
        assert search.background(ClaimStatus.VERIFIED) is sampled, "refreshed by time, not per ingest"


def test_the_postgres_index_takes_new_claims_without_a_pending_list(app):
    with app.app_context():
        if db.session.get_bind().dialect.name != "postgresql":
            pytest.skip("a GIN index is PostgreSQL's")
        options = db.session.scalar(
            sa.text("SELECT reloptions FROM pg_class WHERE oid = to_regclass('ix_claim_search_terms')")
        )
        assert "fastupdate=off" in options


def test_many_texts_are_looked_up_in_chunks_with_the_same_answers_and_the_jit_setting_restored(
    app, caches, monkeypatch
):
    """On PostgreSQL a thousand lookups in one statement cost more to JIT-compile than to run
    (an article of 5,000 claims took a minute): candidates asks in chunks, with JIT off while they
    run, and gives back the setting it found. Chunked or not, the answers are the same."""
    with app.app_context():
        if db.session.get_bind().dialect.name != "postgresql":
            pytest.skip("PostgreSQL's statements of UNION ALL lookups (SQLite asks one text at a time)")
        _archive(40)
        _analyze()
        texts = [NOISE.format(1000 + i) for i in range(0, 40, 3)] + [QUERY, "Nothing shared here at all."]
        background = search.background(ClaimStatus.VERIFIED)
        whole = search.candidates(texts, statuses=[ClaimStatus.VERIFIED], rarity=background)
        monkeypatch.setattr(search, "CHUNK", 4)
        db.session.execute(sa.text("SET jit = on"))
        chunked = search.candidates(texts, statuses=[ClaimStatus.VERIFIED], rarity=background)
        assert chunked == whole and sum(map(len, whole)) > len(texts) // 2
        assert db.session.execute(sa.text("SELECT current_setting('jit')")).scalar_one() == "on"
        db.session.rollback()
