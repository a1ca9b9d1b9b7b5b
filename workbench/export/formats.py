"""Serialise export records: JSON array, JSON Lines, CSV and schema.org ClaimReview JSON-LD."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Iterator
from typing import Any

# Numeric positions on the published scale for ClaimReview's reviewRating (5 = true).
_SCALE = {"True": 5, "Mostly true": 4, "Half true": 3, "Mostly false": 2, "False": 1}

CSV_COLUMNS = [
    "claim_uuid",
    "claim_text",
    "start",
    "end",
    "speaker",
    "is_quote",
    "article_url",
    "article_title",
    "article_sha256",
    "rating",
    "decision",
    "rationale",
    "reviewer_email",
    "verdict_at",
    "verdict_version",
    "annotators",
    "annotator_rationales",
    "annotator_evidence",
    "ls_project_id",
    "ls_task_id",
    "audit_hash",
]


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def jsonl(records: Iterable[dict]) -> Iterator[str]:
    for record in records:
        yield _dumps(record) + "\n"


def json_array(records: Iterable[dict]) -> Iterator[str]:
    yield "["
    first = True
    for record in records:
        yield ("" if first else ",\n") + _dumps(record)
        first = False
    yield "]\n"


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: Any) -> Any:
    """Neutralise text a spreadsheet would run as a formula (claims are quoted from the world)."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def csv_rows(records: Iterable[dict]) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")

    def flush() -> str:
        value = buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        return value

    writer.writerow(CSV_COLUMNS)
    yield flush()
    for r in records:
        c, a, v, ls = r["claim"], r["article"], r["verdict"], r["label_studio"] or {}
        annotators = "; ".join(
            f"{x['annotator_email'] or '?'} (label-studio id {x['annotator_ls_id']}) "
            f"at {x['ls_updated_at'] or x['received_at']}"
            for x in r["annotations"]
        )
        # Every annotator's own words, one "email: text" line each (nothing they typed dropped).
        rationales = "\n".join(
            f"{x['annotator_email'] or x['annotator_ls_id']}: {x['rationale']}"
            for x in r["annotations"]
            if x.get("rationale")
        )
        evidence = "\n".join(
            f"{x['annotator_email'] or x['annotator_ls_id']}: {x['evidence_text']}"
            for x in r["annotations"]
            if x.get("evidence_text")
        )
        writer.writerow(
            _cell(value)
            for value in [
                c["uuid"],
                c["text"],
                c["start"],
                c["end"],
                c["speaker"] or "",
                c["is_quote"],
                a["url"] or "",
                a["title"] or "",
                a["text_sha256"],
                v["rating"],
                v["decision"],
                v["rationale"],
                (v["reviewer"] or {}).get("email", ""),
                v["created_at"],
                v["version"],
                annotators,
                rationales,
                evidence,
                ls.get("project_id", ""),
                ls.get("task_id", ""),
                r["audit_hash"],
            ]
        )
        yield flush()


def claimreview_item(r: dict, organisation: str) -> dict[str, Any]:
    """Map a record to schema.org ClaimReview (the markup Google's Fact Check tools read)."""
    c, a, v = r["claim"], r["article"], r["verdict"]
    rating: dict[str, Any] = {"@type": "Rating", "alternateName": v["rating"]}
    if v["rating"] in _SCALE:
        rating.update(ratingValue=_SCALE[v["rating"]], bestRating=5, worstRating=1)
    item: dict[str, Any] = {"@type": "Claim", "appearance": {"@type": "CreativeWork"}}
    if a["url"]:
        item["appearance"]["url"] = a["url"]
    if a["title"]:
        item["appearance"]["headline"] = a["title"]
    if a["published_at"]:
        item["datePublished"] = a["published_at"]
    if c["speaker"]:
        item["author"] = {"@type": "Person", "name": c["speaker"]}
    return {
        "@context": "https://schema.org",
        "@type": "ClaimReview",
        "claimReviewed": c["text"],
        "datePublished": (v["created_at"] or "")[:10],
        "author": {"@type": "Organization", "name": organisation},
        "reviewRating": rating,
        "itemReviewed": item,
        "reviewBody": v["rationale"] or None,
        "identifier": c["uuid"],
    }


def claimreview(records: Iterable[dict], organisation: str) -> Iterator[str]:
    return json_array(claimreview_item(r, organisation) for r in records)
