"""What an export holds: its format and filters, read by one schema at every door."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import date
from typing import Any

from marshmallow import ValidationError as SchemaError
from marshmallow import fields, validate, validates_schema

from workbench.config import RATINGS
from workbench.errors import ValidationError
from workbench.schemas import QuerySchema, query_id

#: Export formats and the media type each is served as.
FORMATS = {
    "json": "application/json",
    "jsonl": "application/x-ndjson",
    "csv": "text/csv; charset=utf-8",
    "claimreview": "application/ld+json",
}
EXTENSIONS = {"json": "json", "jsonl": "jsonl", "csv": "csv", "claimreview": "jsonld"}


@dataclass(frozen=True)
class ExportFilters:
    """Which verified claims an export holds (every filter optional; dates are of the verdict)."""

    article_id: int | None = None
    rating: str | None = None
    reviewer: str | None = None
    since: date | None = None
    until: date | None = None
    # True: published verdicts only; False: unpublished ones only; None: both.
    published: bool | None = None
    # Set when the export starts, so verdicts recorded while it streams do not slip in.
    up_to_verdict_id: int | None = None

    def to_dict(self) -> dict[str, Any]:
        """The filters as they go into a manifest: only those set, dates as ISO text."""
        out = {}
        for key, value in asdict(self).items():
            if value is None or key == "up_to_verdict_id":
                continue
            out[key] = value.isoformat() if isinstance(value, date) else value
        return out


class ExportQuerySchema(QuerySchema):
    """An export's format and filters, as the API, the exports page, the CLI and jobs take them."""

    format = fields.Str(
        load_default="json",
        validate=validate.OneOf(list(FORMATS)),
        metadata={"description": "json, jsonl, csv or claimreview (schema.org ClaimReview JSON-LD)"},
    )
    article_id = query_id(metadata={"description": "only this article's claims"})
    rating = fields.Str(validate=validate.OneOf(RATINGS), metadata={"description": "only this rating"})
    reviewer = fields.Email(metadata={"description": "only verdicts by the reviewer with this e-mail"})
    since = fields.Date(metadata={"description": "verdicts recorded on or after this day (UTC)"})
    until = fields.Date(metadata={"description": "verdicts recorded on or before this day (UTC)"})
    published = fields.Bool(
        metadata={"description": "true: published verdicts only; false: unpublished only; absent: both"}
    )

    @validates_schema
    def _dates_in_order(self, data: dict[str, Any], **_kwargs: Any) -> None:
        if data.get("since") and data.get("until") and data["since"] > data["until"]:
            raise SchemaError("since must not be after until", field_name="until")


def read_export_query(args: Mapping[str, Any]) -> tuple[str, ExportFilters]:
    """Read a format and filters from request arguments or a job's kwargs; 422 names each bad one."""
    try:
        data = ExportQuerySchema().load(dict(args))
    except SchemaError as error:
        messages = error.normalized_messages()
        fields_named = ", ".join(sorted(messages))
        raise ValidationError(f"invalid export arguments: {fields_named}", errors=messages) from None
    return filters_of(data)


def filters_of(data: dict[str, Any]) -> tuple[str, ExportFilters]:
    """Split what ``ExportQuerySchema`` loaded into the format and the filters."""
    data = dict(data)
    fmt = data.pop("format")
    return fmt, ExportFilters(**data)
