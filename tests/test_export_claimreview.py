"""ClaimReview as schema.org and Google's fact-check markup want it, checked item by item with a
JSON-LD processor (pyld) against a local schema.org context: no network."""

from __future__ import annotations

from datetime import date

import pytest
from pyld import jsonld

from tests.factories import annotation_payload, link_claim, make_article
from workbench.config import RATINGS
from workbench.db import db
from workbench.export.claimreview import RATING_VALUES, ClaimReviewSettings
from workbench.labelstudio.annotations import store_annotation
from workbench.review import decide

SCHEMA = "https://schema.org/"
# The few terms of schema.org's context the markup uses; "@vocab" maps every other term.
CONTEXT = {"@context": {"@vocab": SCHEMA, "url": {"@id": SCHEMA + "url", "@type": "@id"}}}


def local_loader(url: str, options: dict | None = None) -> dict:
    """Serve schema.org's context from here; refuse anything else (the tests never go online)."""
    if url.rstrip("/") in ("https://schema.org", "http://schema.org"):
        return {"contextUrl": None, "documentUrl": url, "document": CONTEXT}
    raise jsonld.JsonLdError(f"no network in tests: {url}", "jsonld.LoadDocumentError")


def expand(item: dict) -> dict:
    expanded = jsonld.expand(item, {"documentLoader": local_loader})
    assert len(expanded) == 1
    return expanded[0]


def value(node: dict, term: str):
    """The one value of a schema.org property in an expanded node."""
    values = node[SCHEMA + term]
    assert len(values) == 1, (term, values)
    return values[0]


def verified(
    reviewer, rating: str, *, rewrite: str | None = None, url: str | None = "https://news.example.org/a"
):
    article = make_article(
        url=url, title="Port Ellis budget", publisher="Harbour Wire", published_at="2031-04-02"
    )
    claim = next(c for c in article.claims if c.checkworthy and c.speaker)
    task = 7000 + claim.id
    link_claim(claim, task_id=task)
    for user in (1, 2):
        payload = annotation_payload(task * 10 + user, task, user_id=user, verdict=rating)["annotation"]
        if rewrite and user == 2:
            payload["result"].append(
                {"from_name": "rewrite", "to_name": "claim", "type": "textarea", "value": {"text": [rewrite]}}
            )
        store_annotation(claim, payload, source="webhook", project_id=1, overlap=2)
    db.session.commit()
    decide(
        claim.id,
        reviewer.user,
        {
            "action": "override",
            "rating": rating,
            "rationale": "Ministry data.",
            "claim_version": claim.version,
        },
    )
    db.session.commit()
    return claim


def claimreviews(client, reviewer) -> list[dict]:
    response = client.get("/api/v1/exports/verified-claims?format=claimreview", headers=reviewer.headers)
    assert response.status_code == 200 and response.mimetype == "application/ld+json"
    return response.json


def test_every_item_is_valid_claimreview_json_ld_with_its_required_fields(app, client, reviewer):
    app.config["CLAIMREVIEW_URL_PATTERN"] = "https://factcheck.example.org/claims/{uuid}"
    app.config["ORGANISATION"] = "Harbour Fact Check"
    claims = {rating: verified(reviewer, rating) for rating in RATINGS}
    items = claimreviews(client, reviewer)
    assert len(items) == len(RATINGS)
    for item in items:
        node = expand(item)
        assert node["@type"] == [SCHEMA + "ClaimReview"]
        # Nothing the markup says was lost in expansion (a term no context defines is dropped).
        assert {k for k in item if not k.startswith("@")} == {
            k[len(SCHEMA) :] for k in node if k.startswith(SCHEMA)
        }
        rating_name = item["reviewRating"]["alternateName"]
        claim = claims[rating_name]
        assert value(node, "url") == {"@id": f"https://factcheck.example.org/claims/{claim.uuid}"}
        assert value(node, "claimReviewed")["@value"] == claim.text
        date.fromisoformat(value(node, "datePublished")["@value"])
        author = value(node, "author")
        assert (
            author["@type"] == [SCHEMA + "Organization"]
            and value(author, "name")["@value"] == "Harbour Fact Check"
        )

        rating = value(node, "reviewRating")
        assert rating["@type"] == [SCHEMA + "Rating"]
        assert value(rating, "alternateName")["@value"] == rating_name
        if RATING_VALUES[rating_name] is None:  # Unverifiable: no place on a truth scale
            assert SCHEMA + "ratingValue" not in rating
        else:
            numbers = {t: value(rating, t)["@value"] for t in ("ratingValue", "bestRating", "worstRating")}
            assert all(isinstance(n, int) for n in numbers.values())
            assert numbers["worstRating"] <= numbers["ratingValue"] <= numbers["bestRating"]
            assert numbers["ratingValue"] == RATING_VALUES[rating_name]

        reviewed = value(node, "itemReviewed")
        assert reviewed["@type"] == [SCHEMA + "Claim"]
        speaker = value(reviewed, "author")
        assert speaker["@type"] == [SCHEMA + "Person"] and value(speaker, "name")["@value"] == claim.speaker
        assert value(reviewed, "datePublished")["@value"] == "2031-04-02"
        appearance = value(reviewed, "appearance")
        assert appearance["@type"] == [SCHEMA + "CreativeWork"]
        assert value(appearance, "url") == {"@id": "https://news.example.org/a"}


def test_the_scale_is_ordered_and_every_rating_is_mapped():
    assert set(RATING_VALUES) == set(RATINGS)
    scored = [RATING_VALUES[r] for r in ("True", "Mostly true", "Half true", "Mostly false", "False")]
    assert scored == sorted(scored, reverse=True) == [5, 4, 3, 2, 1]


def test_claim_reviewed_is_the_annotators_standalone_rewrite_when_there_is_one(client, reviewer):
    verified(reviewer, "False", rewrite="Port Ellis unemployment fell to 4.1 percent in March 2031.")
    (item,) = claimreviews(client, reviewer)
    assert item["claimReviewed"] == "Port Ellis unemployment fell to 4.1 percent in March 2031."


def test_the_url_pattern_comes_from_the_environment_and_a_bad_one_is_named(app, monkeypatch):
    monkeypatch.setenv("WORKBENCH_CLAIMREVIEW_URL_PATTERN", "https://checks.example.net/c/{uuid}.html")
    settings = ClaimReviewSettings.from_config({"PUBLIC_URL": "http://127.0.0.1:5000"})
    assert settings.url_pattern == "https://checks.example.net/c/{uuid}.html"
    monkeypatch.setenv("WORKBENCH_CLAIMREVIEW_URL_PATTERN", "https://checks.example.net/c/")
    with pytest.raises(ValueError, match="must contain"):
        ClaimReviewSettings.from_config({})
    monkeypatch.delenv("WORKBENCH_CLAIMREVIEW_URL_PATTERN")
    assert ClaimReviewSettings.from_config({"PUBLIC_URL": "https://wb.example.org/"}).url_pattern == (
        "https://wb.example.org/claims/{uuid}"
    )


def test_a_claim_without_an_article_url_still_has_an_appearance(client, reviewer):
    verified(reviewer, "True", url=None)
    (item,) = claimreviews(client, reviewer)
    node = expand(item)
    assert value(value(node, "itemReviewed"), "appearance")["@type"] == [SCHEMA + "CreativeWork"]
