"""Tasks: what a claim looks like in Label Studio (the task payload an annotator sees)."""

from __future__ import annotations

from typing import Any

from workbench.extraction.claim_types import label as claim_type_label
from workbench.models import Article, Claim
from workbench.paragraphs import paragraph_context

REWRITE_HINT = (
    "This claim leans on a pronoun or “this”: the sentence below names what it refers to. "
    "Please write a standalone version in the rewrite box."
)
# Never empty: Label Studio gives an empty Text a blank line of its own.
NO_REWRITE = "Rewrite: not needed, as far as the machine can tell (the claim reads on its own)."


def _bullets(lines: list[str] | None, empty: str) -> str:
    """Return lines as a bulleted list, one per line (Label Studio's Text keeps line breaks)."""
    return "\n".join(f"• {line}" for line in lines) if lines else empty


def task_for(claim: Claim, article: Article, earlier: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """Build the Label Studio task for a claim: its data, with the machine's score as a hint.

    No prediction is sent: a prediction's result pre-fills the controls an annotator answers, so
    one who submitted without touching "check-worthy" would be recorded as agreeing with the
    machine. The score and its reasons are shown as text, labelled as the machine's.
    """
    from workbench.ingest.matching import earlier_verdict_label

    # The last paragraph keeps the article's final line break: no blank line under it.
    paragraph = paragraph_context(article.text, claim.start, claim.end).strip()
    resolving = claim.resolving_context if claim.needs_rewrite else ""
    speaker = claim.speaker or "the reporter (not attributed to anyone)"
    return {
        "data": {
            "claim_uuid": claim.uuid,
            "claim_id": claim.id,
            "text": claim.text,
            "context": paragraph,
            "needs_rewrite": claim.needs_rewrite,
            "rewrite_label": (
                f"⚠ Rewrite needed. {REWRITE_HINT}\n{resolving}".strip()
                if claim.needs_rewrite
                else NO_REWRITE
            ),
            "earlier_verdict_label": earlier_verdict_label(earlier or []),
            "earlier_verdicts": earlier or [],
            "speaker": claim.speaker or "",
            "speaker_label": claim.speaker or "(the reporter)",
            # One string per row, label and value together, so they share a baseline.
            "speaker_line": f"Speaker: {speaker}" + (" (direct quote)" if claim.is_quote else ""),
            "is_quote": claim.is_quote,
            "claim_type": claim.claim_type,
            "claim_type_label": claim_type_label(claim.claim_type),
            "claim_type_line": f"Type (the machine's guess): {claim_type_label(claim.claim_type)}",
            "article_title": article.title or "(untitled article)",
            "article_url": article.url or "",
            "source_label": f"Source: {article.url}" if article.url else "Source: no URL given",
            "article_uuid": article.uuid,
            "checkworthiness": round(claim.checkworthiness, 4),
            "score_label": (
                f"Check-worthiness score: {claim.checkworthiness:.2f} "
                "(0 = not worth checking, 1 = worth checking)"
            ),
            "reasons_label": _bullets(
                list(claim.reasons or []), "• nothing a fact-checker would recognise was found"
            ),
            "reasons": list(claim.reasons or []),
        },
    }
