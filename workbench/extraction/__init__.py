"""Claim extraction: pure functions from article text to candidate claims.

No database, no Flask: `extract_claims(text)` is all the app needs.
"""

from .checkworthiness import CLAIM_TYPES, Score, score
from .header import ArticleHeader, parse_header
from .pipeline import DEFAULT_THRESHOLD, EXTRACTOR_VERSION, ExtractedClaim, extract_claims
from .segment import Span, paragraphs, segment

__all__ = [
    "CLAIM_TYPES",
    "DEFAULT_THRESHOLD",
    "EXTRACTOR_VERSION",
    "ArticleHeader",
    "ExtractedClaim",
    "Score",
    "Span",
    "extract_claims",
    "paragraphs",
    "parse_header",
    "score",
    "segment",
]
