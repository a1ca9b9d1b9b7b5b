"""Turn an uploaded web page into the article's text and title (trafilatura: main content only)."""

from __future__ import annotations

from dataclasses import dataclass

from workbench.errors import ValidationError


@dataclass(frozen=True)
class PageText:
    text: str
    title: str | None


def article_from_html(html: str) -> PageText:
    """Extract the article body of a news page, one blank line between paragraphs.

    Navigation, footers and comments are left out; raises a 422 when no article text is found.
    """
    import trafilatura

    text = trafilatura.extract(html, include_comments=False, include_tables=False, favor_precision=True)
    if not text or not text.strip():
        raise ValidationError(
            "no article text was found in that HTML file; paste the text instead",
            errors={"file": ["no article text found"]},
        )
    metadata = trafilatura.extract_metadata(html)
    # Paragraphs come one per line; the extractor reads a blank line as a paragraph break.
    paragraphs = [line.strip() for line in text.splitlines() if line.strip()]
    return PageText("\n\n".join(paragraphs) + "\n", (metadata.title if metadata else None) or None)
