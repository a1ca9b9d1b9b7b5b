"""What an export holds: its format and filters, read by one schema at every door."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import date
from typing import Any

from marshmallow import EXCLUDE, Schema, fields, pre_load, validate, validates_schema
from marshmallow import ValidationError as SchemaError

from workbench.config import RATINGS
from workbench.errors import ValidationError

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


class ExportQuerySchema(Schema):
    """An export's format and filters, as the API, the exports page, the CLI and jobs take them."""

    class Meta:
        unknown = EXCLUDE

    format = fields.Str(load_default="json", validate=validate.OneOf(list(FORMATS)))
    article_id = fields.Int(validate=validate.Range(min=1), metadata={"description": "one article's claims"})
    rating = fields.Str(validate=validate.OneOf(RATINGS))
    reviewer = fields.Email(metadata={"description": "the e-mail of the reviewer who decided"})
    since = fields.Date(metadata={"description": "verdicts recorded on or after this day (UTC)"})
    until = fields.Date(metadata={"description": "verdicts recorded on or before this day (UTC)"})
    published = fields.Bool(
        metadata={"description": "true: published verdicts only; false: unpublished only; absent: both"}
    )

    @pre_load
    def _drop_blanks(self, data: Any, **_kwargs: Any) -> Any:
        # A form's empty inputs mean "no filter", not "an empty article id".
        if isinstance(data, Mapping):
            return {k: v for k, v in data.items() if v not in ("", None)}
        return data

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
        raise ValidationError(f"bad export arguments: {fields_named}", errors=messages) from None
    fmt = data.pop("format")
    return fmt, ExportFilters(**data)
