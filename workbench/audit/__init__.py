"""Audit: the hash-linked chain of every state change."""

from workbench.audit.chain import append, append_many, head_hash, hold, verify

__all__ = ["append", "append_many", "head_hash", "hold", "verify"]
