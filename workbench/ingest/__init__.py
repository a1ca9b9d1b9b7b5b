"""Ingest: take an article in, store it exactly, extract its claims, queue the check-worthy ones."""

from workbench.ingest.service import ArticleInput, ingest_article, ingest_raw, validate_input

__all__ = ["ArticleInput", "ingest_article", "ingest_raw", "validate_input"]
