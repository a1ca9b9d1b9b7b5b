"""Request helpers shared by the API views."""

from __future__ import annotations

import json
from typing import Any

from flask import request

from workbench.errors import BadRequest, UnsupportedMediaType, ValidationError


def json_body() -> Any:
    """Decode the request body as JSON, with a clear 415/400 when it is not."""
    if not request.is_json:
        raise UnsupportedMediaType(f"send Content-Type: application/json (got {request.mimetype or 'none'})")
    raw = request.get_data(cache=True)
    if not raw.strip():
        raise BadRequest("the request body is empty; send a JSON object")
    try:
        return json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        where = f" at line {exc.lineno} column {exc.colno}" if isinstance(exc, json.JSONDecodeError) else ""
        raise BadRequest(f"the request body is not valid JSON{where}", errors={"body": [str(exc)]}) from None


def int_arg(name: str, default: int, *, minimum: int = 0, maximum: int | None = None) -> int:
    """Read an integer query parameter, refusing garbage with a 422."""
    value = request.args.get(name)
    if value is None or value == "":
        return default
    try:
        number = int(value)
    except ValueError:
        raise ValidationError(
            f"query parameter {name!r} must be an integer, got {value!r}", errors={name: ["not an integer"]}
        ) from None
    if number < minimum or (maximum is not None and number > maximum):
        raise ValidationError(
            f"query parameter {name!r} must be between {minimum} and {maximum}",
            errors={name: ["out of range"]},
        )
    return number
