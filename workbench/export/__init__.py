"""Export: verified claims with their provenance, streamed as JSON, JSON Lines, CSV or ClaimReview."""

from workbench.export.service import FORMATS, ExportFilters, start_export

__all__ = ["FORMATS", "ExportFilters", "start_export"]
