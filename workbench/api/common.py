"""Request helpers shared by the API views and the pages: bodies, query arguments, URL ids."""

from __future__ import annotations

import json
import re
from typing import Any

from flask import Request, g, request
from marshmallow import ValidationError as SchemaError
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.routing import IntegerConverter
from werkzeug.utils import cached_property
from werkzeug.wsgi import LimitedStream

from workbench.errors import BadRequest, UnsupportedMediaType, ValidationError
from workbench.fastdump import Schema
from workbench.schemas import sees_blind
from workbench.validation import MAX_INT, check_json, loads_strict

_INTEGER = re.compile(r"[+-]?0*([0-9]+)\Z")
_FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


class _WholeBodyLimit(LimitedStream):
    """A body stream that answers 413 when the body goes on past the limit.

    werkzeug's own limit on a body without Content-Length (chunked) stops reading at the
    limit and hands the view the first ``limit`` bytes as if they were the whole body.
    """

    def __init__(self, stream: Any, limit: int) -> None:
        super().__init__(stream, limit, is_max=True)
        self._raw = stream
        self._ended = False

    def readinto(self, b: Any) -> int | None:
        read = super().readinto(b)
        if self.is_exhausted and not self._ended:
            if self._raw.read(1):  # one byte past the limit: the body is too large
                raise RequestEntityTooLarge()
            self._ended = True  # the body ends exactly at the limit
        return read

    def on_exhausted(self) -> None:
        if not self._ended:
            super().on_exhausted()


class LimitedRequest(Request):
    """Flask's request, with ``MAX_CONTENT_LENGTH`` enforced on chunked bodies too (413)."""

    @cached_property
    def stream(self) -> Any:
        limit = self.max_content_length
        if limit is not None and self.content_length is None and "wsgi.input_terminated" in self.environ:
            return _WholeBodyLimit(self.environ["wsgi.input"], limit)
        return super().stream


def json_body() -> Any:
    """Decode the request body as JSON: 415 when it is not JSON, 400 when it is broken, NaN,
    infinite or nested too deeply, 422 naming the JSONPath of a string no database can store."""
    if not request.is_json:
        raise UnsupportedMediaType(f"send Content-Type: application/json (got {request.mimetype or 'none'})")
    raw = request.get_data(cache=True)
    if not raw.strip():
        raise BadRequest("the request body is empty; send a JSON object")
    try:
        body = loads_strict(raw)
    except json.JSONDecodeError as exc:
        raise BadRequest(
            f"the request body is not valid JSON at line {exc.lineno} column {exc.colno}",
            errors={"body": [str(exc)]},
        ) from None
    except UnicodeDecodeError as exc:
        raise BadRequest("the request body is not UTF-8 JSON", errors={"body": [str(exc)]}) from None
    except RecursionError:
        raise BadRequest("the JSON body nests too deeply", errors={"body": ["nested too deeply"]}) from None
    except ValueError as exc:  # NaN, 1e400, an integer of more than 4300 digits
        raise BadRequest(f"the request body is not valid JSON: {exc}", errors={"body": [str(exc)]}) from None
    check_json(body)
    return body


def load(schema: Schema, data: Any) -> Any:
    """Load ``data`` with ``schema`` as the API does, for a page's form: a 422 naming each field."""
    from workbench.api.framework import validation_message

    try:
        return schema.load(data)
    except SchemaError as exc:
        message, errors = validation_message({"json": exc.messages})
        raise ValidationError(message, errors=errors) from None


def int_arg(name: str, default: int, *, minimum: int = 0, maximum: int = MAX_INT) -> int:
    """Read an integer query parameter for a page, refusing garbage and out-of-range numbers with a
    422 (the API reads its arguments with schemas: workbench.schemas.QueryInt)."""
    value = request.args.get(name)
    if value is None or value == "":
        return default
    # ASCII digits only (int() would also take "²" or "1_0"), and never more than fit a column.
    match = _INTEGER.match(value.strip())
    if match is None:
        raise ValidationError(
            f"query parameter {name!r} must be an integer, got {value[:40]!r}",
            errors={name: ["not an integer"]},
        )
    number = int(match.group()) if len(match.group(1)) <= len(str(MAX_INT)) else None
    if number is None or number < minimum or number > maximum:
        raise ValidationError(
            f"query parameter {name!r} must be between {minimum} and {maximum}",
            errors={name: ["out of range"]},
        )
    return number


def by_role(full: type[Schema], blind: type[Schema], name: str) -> type[Schema]:
    """A response schema that dumps ``full`` for reviewers and admins and ``blind`` for anyone
    else (blind overlap: see workbench/schemas.py). The document shows ``full``; the blind shape
    holds a subset of its fields."""
    shapes: dict[tuple[bool, bool], Schema] = {}

    def dump(self: Schema, obj: Any, *, many: bool | None = None) -> Any:
        many = self.many if many is None else bool(many)
        key = (sees_blind(g.user.role), many)
        if key not in shapes:  # built once: a schema costs more to build than a page to dump
            shapes[key] = (blind if key[0] else full)(many=many)
        return shapes[key].dump(obj)

    return type(name, (full,), {"dump": dump, "__doc__": full.__doc__})


class With:
    """``obj`` seen with a few more attributes, for a schema to dump (e.g. figures a view adds)."""

    def __init__(self, obj: Any, **extra: Any) -> None:
        self._obj = obj
        self.__dict__.update(extra)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._obj, name)


class BoundedIntConverter(IntegerConverter):
    """Flask's ``int`` URL converter, bounded to what an INTEGER id column holds.

    A larger id cannot name a row, and PostgreSQL refuses it outright: the route does not
    match, so the answer is 404.
    """

    def __init__(self, map, *args: Any, **kwargs: Any) -> None:
        if len(args) < 3:  # ``max`` not given positionally: bound it
            kwargs.setdefault("max", MAX_INT)
        super().__init__(map, *args, **kwargs)


def refuse_nul_parameters() -> None:
    """Refuse a NUL in the path, a query parameter or a form field with a 400 naming it."""
    if "\x00" in request.path:
        raise BadRequest("the URL path contains a NUL character", errors={"path": ["contains NUL"]})
    fields = [("query parameter", request.args)]
    if request.mimetype in _FORM_TYPES:
        # Keep the raw body readable for the view: form parsing would otherwise consume it.
        request.get_data(cache=True)
        fields.append(("form field", request.form))
    for what, values in fields:
        for key, value in values.items(multi=True):
            # A multipart part can arrive without a name or a value (None): nothing to refuse there.
            key, value = key or "", value if isinstance(value, str) else ""
            if "\x00" in key or "\x00" in value:
                shown = key.replace("\x00", "\\0")
                raise BadRequest(
                    f"{what} '{shown}' contains a NUL character (U+0000)",
                    errors={shown: ["contains NUL"]},
                )
