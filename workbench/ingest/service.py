"""The ingest rule: validate, deduplicate by text hash, extract, queue, audit — in one transaction."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from urllib.parse import urlsplit

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from workbench import audit
from workbench.audit.rows import attest
from workbench.db import db
from workbench.errors import PayloadTooLarge, ValidationError
from workbench.extraction import EXTRACTOR_VERSION, extract_claims, parse_header
from workbench.models import Article, Claim, ClaimStatus
from workbench.validation import check_json

#: Longest value of each optional field, in characters: the articles table's column lengths.
FIELD_LIMITS = {"title": 1000, "url": 2000, "publisher": 300, "author": 300}
#: Column lengths of what the header parser and the extractor derive from the text.
_DERIVED_LIMITS = {"title": 1000, "publisher": 300, "byline": 300, "dateline": 200, "speaker": 300}


def _clip(value: str | None, field: str) -> str | None:
    """Cut a value derived from the text to its column's length (a guess, never worth a 500)."""
    return value[: _DERIVED_LIMITS[field]] if value else value


@dataclass(frozen=True)
class ArticleInput:
    text: str
    title: str | None = None
    url: str | None = None
    publisher: str | None = None
    author: str | None = None
    published_at: date | None = None


def parse_published(value: Any) -> date | None:
    """Parse an ISO date or datetime; raise a 422 naming the field otherwise."""
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise ValidationError(
            "published_at must be an ISO date string such as 2023-12-28",
            errors={"published_at": ["not a string"]},
        )
    try:
        return date.fromisoformat(value)
    except ValueError:
        pass
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).date()
    except ValueError:
        raise ValidationError(
            f"published_at {value!r} is not an ISO date such as 2023-12-28",
            errors={"published_at": ["unparseable date"]},
        ) from None


def validate_input(data: Any, *, max_bytes: int) -> ArticleInput:
    """Turn untrusted input (a decoded JSON body or CLI options) into an ArticleInput."""
    if not isinstance(data, dict):
        raise ValidationError(
            "the body must be a JSON object with a 'text' field", errors={"_schema": ["not an object"]}
        )
    # The same text rule as the API's JSON door (NUL, lone surrogates), so the CLI and the API
    # refuse the same input with the same error, naming the same JSONPath.
    check_json(data)
    errors: dict[str, list[str]] = {}
    text = data.get("text")
    if "text" not in data or text is None:
        raise ValidationError("'text' is required", errors={"text": ["missing"]})
    if not isinstance(text, str):
        raise ValidationError(
            f"'text' must be a string, not {type(text).__name__}", errors={"text": ["not a string"]}
        )
    if not text.strip():
        raise ValidationError("'text' is empty or blank", errors={"text": ["blank"]})
    size = len(text.encode("utf-8"))
    if size > max_bytes:
        raise PayloadTooLarge(
            f"'text' is {size} bytes; the limit is {max_bytes} bytes", errors={"text": ["too large"]}
        )
    fields = {}
    for name, limit in FIELD_LIMITS.items():
        value = data.get(name)
        if value is not None and not isinstance(value, str):
            errors[name] = ["not a string"]
        elif value is not None and len(value) > limit:
            errors[name] = [f"longer than {limit} characters"]
        else:
            fields[name] = value.strip() or None if isinstance(value, str) else None
    url = fields.get("url")
    if url and not url.startswith(("http://", "https://")):
        errors["url"] = ["must start with http:// or https://"]
    elif url and not _has_host(url):
        errors["url"] = ["names no host"]
    if errors:
        raise ValidationError("invalid fields: " + ", ".join(sorted(errors)), errors=errors)
    published = parse_published(data.get("published_at"))
    return ArticleInput(text=text, published_at=published, **fields)


def _has_host(url: str) -> bool:
    try:
        return bool(urlsplit(url).hostname)
    except ValueError:  # an unclosed IPv6 bracket
        return False


def text_sha256(text: str) -> str:
    """Hash the text exactly as stored; this is the article's identity."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def ingest_article(
    item: ArticleInput,
    *,
    actor: str,
    user_id: int | None,
    via: str,
    raw_input: dict[str, Any],
    threshold: float,
    match_threshold: float | None = None,
) -> tuple[Article, bool]:
    """Store the article and its claims, or return the existing one; returns (article, created)."""
    digest = text_sha256(item.text)
    # Extracted before the first query: on SQLite a writer's first query takes the write lock, so
    # the CPU-heavy part runs outside it and concurrent ingests (two workers, two requests) overlap.
    extracted_claims = extract_claims(item.text, threshold=threshold)
    header = parse_header(item.text)
    existing = db.session.scalar(sa.select(Article).where(Article.text_sha256 == digest))
    if existing is not None:
        return existing, False

    article = Article(
        title=item.title or _clip(header.title, "title"),
        url=item.url,
        publisher=item.publisher or _clip(header.agency, "publisher"),
        byline=item.author or _clip(header.byline, "byline"),
        published_at=item.published_at or _header_date(header.published),
        dateline=_clip(header.dateline, "dateline"),
        text=item.text,
        text_sha256=digest,
        raw_input=raw_input,
        extractor_version=EXTRACTOR_VERSION,
        ingested_by_id=user_id,
        ingested_via=via,
    )
    try:
        # A concurrent request may store the same text first: then answer with its article.
        with db.session.begin_nested():
            db.session.add(article)
            db.session.flush()
    except IntegrityError:
        existing = db.session.scalar(sa.select(Article).where(Article.text_sha256 == digest))
        if existing is None:
            raise
        return existing, False

    claims = []
    for extracted in extracted_claims:
        # Outbox: a check-worthy claim is queued in the transaction that creates it.
        status = ClaimStatus.QUEUED if extracted.checkworthy else ClaimStatus.EXTRACTED
        claims.append(
            Claim(
                article_id=article.id,
                ordinal=extracted.ordinal,
                text=extracted.text,
                start=extracted.start,
                end=extracted.end,
                paragraph_index=extracted.paragraph_index,
                speaker=_clip(extracted.speaker, "speaker"),
                is_quote=extracted.is_quote,
                checkworthiness=float(extracted.checkworthiness),
                checkworthy=extracted.checkworthy,
                claim_type=extracted.claim_type,
                reasons=list(extracted.reasons),
                context_before=extracted.context_before,
                needs_rewrite=extracted.needs_rewrite,
                resolving_context=extracted.resolving_context,
                status=status,
                extractor_version=EXTRACTOR_VERSION,
                scored_by=extracted.scored_by,
            )
        )
    from workbench.ingest.matching import link_matches, verified_candidates

    # Asked before the claims are written: see verified_candidates.
    candidates = verified_candidates([c.text for c in claims], article_id=article.id)
    db.session.add_all(claims)
    db.session.flush()

    events = [
        {
            "actor": actor,
            "action": "article.ingested",
            "subject_type": "article",
            "subject_id": article.id,
            "payload": {
                "uuid": article.uuid,
                "text_sha256": digest,
                "via": via,
                "title": article.title,
                "url": article.url,
                "claims": len(claims),
                "rows": attest(article),
            },
        }
    ]
    events += [
        {
            "actor": actor,
            "action": "claim.extracted",
            "subject_type": "claim",
            "subject_id": c.id,
            "payload": {
                "uuid": c.uuid,
                "article_id": article.id,
                "start": c.start,
                "end": c.end,
                "checkworthiness": c.checkworthiness,
                "status": c.status,
                "extractor_version": EXTRACTOR_VERSION,
                "rows": attest(c),
            },
        }
        for c in claims
    ]
    audit.append_many(events)
    from workbench.extraction.matching import DEFAULT_THRESHOLD

    link_matches(
        claims,
        actor=actor,
        threshold=DEFAULT_THRESHOLD if match_threshold is None else match_threshold,
        candidates=candidates,
    )
    return article, True


def ingest_raw(
    raw: Any, config: dict[str, Any], *, actor: str, user_id: int | None, via: str, raw_input: dict[str, Any]
) -> tuple[Article, bool]:
    """Validate untrusted input and ingest it with the configured limits and thresholds."""
    item = validate_input(raw, max_bytes=config["MAX_ARTICLE_BYTES"])
    return ingest_article(
        item,
        actor=actor,
        user_id=user_id,
        via=via,
        raw_input=raw_input,
        threshold=config["CHECKWORTHY_THRESHOLD"],
        match_threshold=config.get("MATCH_THRESHOLD"),
    )


def _header_date(value: str | None) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        return None
