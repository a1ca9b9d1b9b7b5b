"""Export: verified claims with their provenance, streamed as JSON, JSON Lines, CSV or ClaimReview,
each export recorded with a manifest (sha256 of its bytes, the audit head) that verify checks."""

from workbench.export.claimreview import ClaimReviewSettings
from workbench.export.filters import FORMATS, ExportFilters, read_export_query
from workbench.export.service import Export, export_to_file, start_export

__all__ = [
    "FORMATS",
    "ClaimReviewSettings",
    "Export",
    "ExportFilters",
    "export_to_file",
    "read_export_query",
    "start_export",
]
