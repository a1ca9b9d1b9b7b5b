"""Claim matching with the shipped sentence embedder: stored vectors, the mixed score, fallbacks."""

from __future__ import annotations

import logging

import numpy as np
import pytest
import requests
import sqlalchemy as sa

from tests.factories import make_article, make_user
from tests.served import workbench_serve
from tests.test_concurrency_http import at_once, fresh
from workbench.db import db
from workbench.ingest.matching import METHOD, earlier_verdicts, link_waiting
from workbench.labelstudio.service import task_for
from workbench.matching import embeddings
from workbench.models import AuditEvent, Claim, ClaimEmbedding, ClaimMatch, ClaimStatus

# TF-IDF alone scores this pair about 0.3 (under its 0.4); the embeddings' cosine is about 0.9,
# so the mixed score (0.25 x TF-IDF + 0.75 x cosine) reaches 0.7.
EARLIER = "The senator opposed the climate legislation."
PARAPHRASE = "The senator voted against the climate bill."
# Said the same way but for the year: the number veto keeps them apart whatever the cosine.
OTHER_YEAR = "The senator opposed the climate legislation in 2031."
EARLIER_YEAR = "The senator opposed the climate legislation in 2029."


def _article(sentence: str):
    return make_article(text=f"WASHINGTON: {sentence} Reporters waited outside the building on Tuesday.\n")


def _claim(article, words: str) -> Claim:
    return next(c for c in article.claims if words in c.text)


def _verify(claim: Claim) -> Claim:
    db.session.execute(sa.update(Claim).where(Claim.id == claim.id).values(status=ClaimStatus.VERIFIED))
    db.session.commit()
    return db.session.get(Claim, claim.id)


def _links() -> list[ClaimMatch]:
    return list(db.session.scalars(sa.select(ClaimMatch).order_by(ClaimMatch.id)))


def _vectors() -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(ClaimEmbedding))


def test_every_ingested_claim_keeps_the_vector_the_embedder_gives(app):
    article = _article(EARLIER)
    embedder = embeddings.load()
    rows = {
        r.claim_id: r
        for r in db.session.scalars(sa.select(ClaimEmbedding).where(ClaimEmbedding.model == embedder.version))
    }
    assert set(rows) == {c.id for c in article.claims} and len(rows) >= 2
    fresh = embedder.embed([c.text for c in article.claims])
    stored = embeddings.stored(embedder, [c.id for c in article.claims])
    for claim, vector in zip(article.claims, fresh, strict=True):
        kept = stored[claim.id]
        assert kept.shape == (embedder.dimensions,)
        assert float(kept @ vector) > 0.999  # float16 keeps the cosine
        assert len(rows[claim.id].vector) == 2 * embedder.dimensions


def test_a_paraphrase_tf_idf_misses_is_linked_by_the_mixed_score_and_says_so(app):
    earlier = _verify(_claim(_article(EARLIER), "senator"))
    later = _claim(_article(PARAPHRASE), "senator")
    [link] = _links()
    embedder = embeddings.load()
    assert (link.claim_id, link.matched_claim_id) == (later.id, earlier.id)
    assert link.method == f"{METHOD}+{embedder.version}" and link.threshold == 0.7
    assert link.threshold <= link.score <= 1.0
    event = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "claim.matched"))
    assert event.payload["method"] == link.method and event.payload["threshold"] == 0.7


def test_with_embeddings_off_the_same_paraphrase_is_left_to_tf_idf(app):
    app.config["MATCH_EMBEDDINGS"] = False
    _verify(_claim(_article(EARLIER), "senator"))
    _article(PARAPHRASE)
    assert _links() == [] and _vectors() == 0


def test_a_different_number_vetoes_the_link_whatever_the_cosine(app):
    _verify(_claim(_article(EARLIER_YEAR), "senator"))
    _article(OTHER_YEAR)
    assert _links() == []


def test_a_higher_threshold_setting_keeps_the_paraphrase_apart(app):
    app.config["MATCH_EMBEDDING_THRESHOLD"] = 0.95
    _verify(_claim(_article(EARLIER), "senator"))
    _article(PARAPHRASE)
    assert _links() == []


def test_a_candidate_without_a_vector_is_scored_by_tf_idf_alone(app):
    """Claims made before the embedder shipped have no vector until `workbench matching embed`."""
    earlier = _verify(_claim(_article(EARLIER), "senator"))
    db.session.execute(sa.delete(ClaimEmbedding))
    db.session.commit()
    _article(PARAPHRASE)
    assert _links() == []  # TF-IDF alone is under its threshold
    repeat = _claim(_article(f"Again: {EARLIER}"), "senator")
    [link] = _links()
    assert (link.claim_id, link.matched_claim_id) == (repeat.id, earlier.id)
    assert link.method == METHOD and link.threshold == 0.4


def test_a_claim_verified_now_links_the_waiting_paraphrase_with_its_own_vector(app):
    waiting = _claim(_article(PARAPHRASE), "senator")
    earlier = _claim(_article(EARLIER), "senator")
    db.session.execute(sa.delete(ClaimEmbedding).where(ClaimEmbedding.claim_id == earlier.id))
    earlier = _verify(earlier)
    [link] = link_waiting(earlier, actor="test", threshold=0.4)
    assert (link.claim_id, link.matched_claim_id) == (waiting.id, earlier.id)
    assert link.method.endswith(embeddings.load().version)
    # The verified claim had lost its vector: it was made again and kept.
    assert earlier.id in embeddings.stored(embeddings.load(), [earlier.id])


def test_an_embedder_that_cannot_load_falls_back_to_tf_idf_and_says_why(app, monkeypatch, tmp_path, caplog):
    monkeypatch.setenv("WORKBENCH_EMBEDDER_DIR", str(tmp_path / "nowhere"))
    _verify(_claim(_article(EARLIER), "senator"))
    with caplog.at_level(logging.ERROR, logger="workbench.matching.embeddings"):
        _article(PARAPHRASE)
    assert _links() == [] and _vectors() == 0
    assert any(
        "matching with TF-IDF alone" in r.getMessage() and "nowhere" in r.getMessage() for r in caplog.records
    )


def test_matching_embed_fills_in_the_missing_vectors_once(app, runner):
    articles = [_article(EARLIER), _article(PARAPHRASE)]
    claims = sum(len(a.claims) for a in articles)
    keep = articles[0].claims[0].id
    db.session.execute(sa.delete(ClaimEmbedding).where(ClaimEmbedding.claim_id != keep))
    db.session.commit()
    before = embeddings.stored(embeddings.load(), [keep])[keep]
    result = runner.invoke(args=["matching", "embed", "--batch", "2"])
    assert result.exit_code == 0, result.output
    assert f"embedded {claims - 1} claim(s)" in result.output
    db.session.rollback()
    assert _vectors() == claims
    assert np.array_equal(embeddings.stored(embeddings.load(), [keep])[keep], before)
    again = runner.invoke(args=["matching", "embed"])
    assert again.exit_code == 0 and "embedded 0 claim(s)" in again.output


def test_matching_status_counts_the_claims_still_without_a_vector(app, runner):
    article = _article(EARLIER)
    db.session.execute(sa.delete(ClaimEmbedding).where(ClaimEmbedding.claim_id == article.claims[0].id))
    db.session.commit()
    result = runner.invoke(args=["matching", "status"])
    assert result.exit_code == 0, result.output
    assert "minilm-l6-v2-int8" in result.output
    assert f"claims without its vector: 1 of {len(article.claims)}" in result.output
    assert "workbench matching embed" in result.output
    app.config["MATCH_EMBEDDINGS"] = False
    off = runner.invoke(args=["matching", "status"])
    assert off.exit_code == 0 and "TF-IDF alone" in off.output


def test_matching_embed_with_no_embedder_is_a_clear_error(app, runner, monkeypatch, tmp_path):
    monkeypatch.setenv("WORKBENCH_EMBEDDER_DIR", str(tmp_path / "missing"))
    result = runner.invoke(args=["matching", "embed"])
    assert result.exit_code != 0
    assert "the embedder cannot be loaded" in result.output and "missing" in result.output


@pytest.mark.parametrize("cosine", [0.9, 0.5])
def test_mix_scores_pairs_with_both_vectors_and_falls_back_per_pair(cosine):
    subject = np.array([1.0, 0.0], dtype=np.float32)
    other = np.array([cosine, np.sqrt(1 - cosine**2)], dtype=np.float32)
    [row] = embeddings.mix(
        [[(1, 0.3), (2, 0.45)]],
        [subject],
        {1: other},
        tfidf_threshold=0.4,
        embedding_threshold=0.7,
        top_k=3,
    )
    mixed = round(0.25 * 0.3 + 0.75 * cosine, 4)
    expected = [embeddings.Scored(2, 0.45, 0.4, False)]
    if mixed >= 0.7:
        expected.insert(0, embeddings.Scored(1, mixed, 0.7, True))
    assert row == expected


@pytest.fixture
def served(app, database_url, tmp_path):
    instance = tmp_path / "served"
    instance.mkdir()
    with workbench_serve(database_url, instance) as url:
        yield url


def test_ingests_at_once_over_http_each_keep_their_vectors_and_link_once(served):
    """Six articles repeating a verified claim in other words, posted at once to a served workbench."""
    earlier = _verify(_claim(_article(EARLIER), "senator"))
    admin = make_user("admin")
    texts = [f"WASHINGTON: {PARAPHRASE} Edition {n} went to press at {n + 1} o'clock.\n" for n in range(6)]
    calls = [
        lambda t=t: requests.post(
            f"{served}/api/v1/articles", headers=admin.headers, json={"text": t}, timeout=120
        )
        for t in texts
    ]
    responses = at_once([calls], workers=6)
    assert [r.status_code for r in responses] == [201] * 6, [r.text[:200] for r in responses]
    fresh()
    repeats = {c["id"] for r in responses for c in r.json()["claims"] if "senator" in c["text"]}
    links = _links()
    assert len(repeats) == 6 and {(m.claim_id, m.matched_claim_id) for m in links} == {
        (claim_id, earlier.id) for claim_id in repeats
    }
    assert all(m.method.endswith(embeddings.load().version) for m in links)
    claims = db.session.scalar(sa.select(sa.func.count()).select_from(Claim))
    assert _vectors() == claims
    events = db.session.scalar(
        sa.select(sa.func.count()).select_from(AuditEvent).where(AuditEvent.action == "claim.matched")
    )
    assert events == 6
    # The API says how each link was scored.
    some = sorted(repeats)[0]
    detail = requests.get(f"{served}/api/v1/claims/{some}", headers=admin.headers, timeout=30).json()
    [earlier_verdict] = detail["earlier_verdicts"]
    assert earlier_verdict["claim_id"] == earlier.id and earlier_verdict["threshold"] == 0.7
    assert earlier_verdict["method"] == f"{METHOD}+{embeddings.load().version}"


def test_the_claim_page_says_whether_a_match_is_by_wording_or_by_meaning(client, reviewer):
    from tests.test_web import sign_in

    earlier = _verify(_claim(_article(EARLIER), "senator"))
    by_meaning = _claim(_article(PARAPHRASE), "senator")
    # Without the earlier claim's vector, its exact repeat is linked by TF-IDF alone.
    db.session.execute(sa.delete(ClaimEmbedding).where(ClaimEmbedding.claim_id == earlier.id))
    db.session.commit()
    by_wording = _claim(_article(f"Again: {EARLIER}"), "senator")
    sign_in(client, reviewer)
    meaning = client.get(f"/claims/{by_meaning.id}").get_data(as_text=True)
    wording = client.get(f"/claims/{by_wording.id}").get_data(as_text=True)
    assert "by wording and meaning" in meaning
    assert "by wording," in wording and "by wording and meaning" not in wording
    # Annotators read the same in the Label Studio task.
    for claim, how in ((by_meaning, "by wording and meaning,"), (by_wording, "by wording,")):
        fresh_claim = db.session.get(Claim, claim.id)
        task = task_for(fresh_claim, fresh_claim.article, earlier_verdicts([claim.id])[claim.id])
        assert how in task["data"]["earlier_verdict_label"]


@pytest.mark.parametrize(
    "name",
    ["WORKBENCH_MATCH_EMBEDDING_THRESHOLD", "WORKBENCH_MATCH_THRESHOLD", "WORKBENCH_CHECKWORTHY_THRESHOLD"],
)
@pytest.mark.parametrize("raw", ["abc", "7", "-0.1", "nan"])
def test_a_threshold_that_is_not_a_share_is_refused_naming_its_setting(monkeypatch, tmp_path, name, raw):
    from workbench import config

    monkeypatch.setenv(name, raw)
    with pytest.raises(ValueError, match=f"{name} must be a number from 0 to 1, not '{raw}'"):
        config.from_environment(str(tmp_path))
    monkeypatch.setenv(name, "0.65")
    assert config.from_environment(str(tmp_path))[name.removeprefix("WORKBENCH_")] == 0.65
