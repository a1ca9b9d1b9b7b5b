"""Turn a web page into the article's text and metadata (trafilatura: main content only)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from workbench.errors import ValidationError


@dataclass(frozen=True)
class PageText:
    text: str
    title: str | None
    author: str | None = None
    published_at: date | None = None
    url: str | None = None
    publisher: str | None = None

    def fields(self) -> dict[str, Any]:
        """The page as the single-article API's fields (``published_at`` as an ISO date).

        Metadata longer than its column is cut (title, author, publisher) or left out (a URL cut
        short is a wrong URL): a page's guess is never worth refusing its article.
        """
        from workbench.ingest.service import FIELD_LIMITS

        def clip(value: str | None, name: str) -> str | None:
            return value[: FIELD_LIMITS[name]] if value else None

        return {
            "text": self.text,
            "title": clip(self.title, "title"),
            "author": clip(self.author, "author"),
            "published_at": self.published_at.isoformat() if self.published_at else None,
            "url": self.url if self.url and len(self.url) <= FIELD_LIMITS["url"] else None,
            "publisher": clip(self.publisher, "publisher"),
        }


def article_from_html(html: str | bytes, *, field: str = "file") -> PageText:
    """Extract the article body of a news page, one blank line between paragraphs, with its
    title, author, publication date, canonical URL and site name from the page's metadata.

    Navigation, footers and comments are left out; raises a 422 naming ``field`` when no
    article text is found.
    """
    import trafilatura

    text = trafilatura.extract(html, include_comments=False, include_tables=False, favor_precision=True)
    if not text or not text.strip():
        raise ValidationError(
            "no article text was found in that HTML page; paste the text instead",
            errors={field: ["no article text found"]},
        )
    meta = trafilatura.extract_metadata(html)
    # Paragraphs come one per line; the extractor reads a blank line as a paragraph break.
    paragraphs = [line.strip() for line in text.splitlines() if line.strip()]
    return PageText(
        "\n\n".join(paragraphs) + "\n",
        title=_value(meta, "title"),
        author=_value(meta, "author"),
        published_at=_date(_value(meta, "date")),
        url=_http_url(_value(meta, "url")),
        publisher=_value(meta, "sitename"),
    )


def _value(meta: Any, name: str) -> str | None:
    value = getattr(meta, name, None) if meta is not None else None
    return value.strip() or None if isinstance(value, str) else None


def _date(value: str | None) -> date | None:
    """trafilatura gives dates as YYYY-MM-DD; anything else is left out rather than guessed."""
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        return None


def _http_url(value: str | None) -> str | None:
    """Keep a canonical URL only when it is an absolute web address (the article's url rule)."""
    return value if value and value.startswith(("http://", "https://")) else None
