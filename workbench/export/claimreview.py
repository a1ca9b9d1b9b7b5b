"""schema.org ClaimReview, as Google's fact-check markup reads it (docs/claimreview.md has the mapping)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

#: Our published scale on ClaimReview's numeric one (5 = true, 1 = false). "Misleading" sits with
#: "Mostly false"; "Unverifiable" has no place on a truth scale, so it carries no ratingValue
#: (Google's markup then reads the alternateName alone).
RATING_VALUES: dict[str, int | None] = {
    "True": 5,
    "Mostly true": 4,
    "Half true": 3,
    "Mostly false": 2,
    "Misleading": 2,
    "False": 1,
    "Unverifiable": None,
}
BEST_RATING, WORST_RATING = 5, 1


@dataclass(frozen=True)
class ClaimReviewSettings:
    """Who publishes the reviews and where each one lives."""

    organisation: str
    url_pattern: str
    organisation_url: str | None = None

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> ClaimReviewSettings:
        """Read the app's config, then ``WORKBENCH_*`` variables, then the defaults; refuse a bad pattern."""
        public = (config.get("PUBLIC_URL") or "http://127.0.0.1:5000").rstrip("/")
        pattern = (
            config.get("CLAIMREVIEW_URL_PATTERN")
            or os.environ.get("WORKBENCH_CLAIMREVIEW_URL_PATTERN")
            or public + "/claims/{uuid}"
        )
        if "{uuid}" not in pattern and "{id}" not in pattern:
            raise ValueError(
                f"WORKBENCH_CLAIMREVIEW_URL_PATTERN must contain {{uuid}} (or {{id}}), got {pattern!r}"
            )
        try:
            pattern.format(uuid="x", id=1)
        except (KeyError, IndexError, ValueError) as error:
            raise ValueError(
                f"WORKBENCH_CLAIMREVIEW_URL_PATTERN {pattern!r} cannot be filled in: {error}"
            ) from None
        return cls(
            organisation=config.get("ORGANISATION")
            or os.environ.get("WORKBENCH_ORGANISATION")
            or "Fact-check workbench",
            url_pattern=pattern,
            organisation_url=config.get("ORGANISATION_URL") or os.environ.get("WORKBENCH_ORGANISATION_URL"),
        )


def standalone_text(record: dict[str, Any]) -> str:
    """The claim as reviewed: an annotator's standalone rewrite when there is one, else its text.

    A rewrite by an annotator whose verdict the reviewer's rating matches is preferred.
    """
    rewrites = [a for a in record["annotations"] if (a.get("rewritten_claim") or "").strip()]
    rating = record["verdict"]["rating"]
    agreeing = [a for a in rewrites if a.get("verdict") == rating]
    chosen = (agreeing or rewrites or [None])[0]
    return chosen["rewritten_claim"].strip() if chosen else record["claim"]["text"]


def review_item(record: dict[str, Any], settings: ClaimReviewSettings) -> dict[str, Any]:
    """Map an export record to one ClaimReview."""
    c, a, v = record["claim"], record["article"], record["verdict"]
    rating: dict[str, Any] = {"@type": "Rating", "alternateName": v["rating"]}
    value = RATING_VALUES.get(v["rating"])
    if value is not None:
        rating.update(ratingValue=value, bestRating=BEST_RATING, worstRating=WORST_RATING)
    appearance: dict[str, Any] = {"@type": "CreativeWork"}
    if a["url"]:
        appearance["url"] = a["url"]
    if a["title"]:
        appearance["headline"] = a["title"]
    if a["published_at"]:
        appearance["datePublished"] = a["published_at"]
    claim: dict[str, Any] = {"@type": "Claim", "appearance": appearance}
    if c["speaker"]:
        claim["author"] = {"@type": "Person", "name": c["speaker"]}
    elif a["publisher"]:
        claim["author"] = {"@type": "Organization", "name": a["publisher"]}
    if a["published_at"]:
        claim["datePublished"] = a["published_at"]
    author: dict[str, Any] = {"@type": "Organization", "name": settings.organisation}
    if settings.organisation_url:
        author["url"] = settings.organisation_url
    # Published verdicts carry the day they were published; others the day they were decided.
    published = v["published_at"] or v["created_at"]
    item: dict[str, Any] = {
        "@context": "https://schema.org",
        "@type": "ClaimReview",
        "url": settings.url_pattern.format(uuid=c["uuid"], id=c["id"]),
        "claimReviewed": standalone_text(record),
        "datePublished": published[:10],
        "author": author,
        "reviewRating": rating,
        "itemReviewed": claim,
        "identifier": c["uuid"],
    }
    if v["rationale"]:
        item["reviewBody"] = v["rationale"]
    return item
