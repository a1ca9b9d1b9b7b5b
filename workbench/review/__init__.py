"""Review: the queue of annotated claims, reviewers' versioned decisions, agreement, history."""

from workbench.review.service import QueueFilters, decide, history, queue, record_verdict

__all__ = ["QueueFilters", "decide", "history", "queue", "record_verdict"]
