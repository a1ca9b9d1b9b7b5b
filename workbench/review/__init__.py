"""Review: the queue of annotated claims and the reviewers' versioned verdicts."""

from workbench.review.service import queue, record_verdict

__all__ = ["queue", "record_verdict"]
