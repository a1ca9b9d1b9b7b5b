"""The paragraph around a claim, for annotators (task context) and reviewers (claim page)."""

from __future__ import annotations

CONTEXT_CHARS = 1500


def paragraph_bounds(text: str, start: int, end: int) -> tuple[int, int]:
    """Return (start, end) of the blank-line-separated paragraph holding text[start:end]."""
    p_start = text.rfind("\n\n", 0, start)
    p_end = text.find("\n\n", end)
    return (0 if p_start < 0 else p_start + 2, len(text) if p_end < 0 else p_end)


def paragraph_context(text: str, start: int, end: int, limit: int = CONTEXT_CHARS) -> str:
    """Return the claim's paragraph, cut to about ``limit`` characters around the claim.

    Bounded because a text without blank lines is one huge paragraph, and every task carries it.
    """
    p_start, p_end = paragraph_bounds(text, start, end)
    if p_end - p_start <= limit:
        return text[p_start:p_end]
    room = max(limit - (end - start), 0) // 2
    lo, hi = max(p_start, start - room), min(p_end, end + room)
    return ("…" if lo > p_start else "") + text[lo:hi] + ("…" if hi < p_end else "")
