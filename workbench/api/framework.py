"""The API's framework: flask-smorest, with the workbench's error shape, strict JSON and roles.

A resource module under ``workbench/api/`` defines a module-level ``blp = Blueprint(...)`` (this
module's ``Blueprint``) and one ``MethodView`` per resource; ``workbench.api.init_app`` finds and
registers every such module under ``/api/v1``, so a new module needs no edit anywhere else.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping
from typing import Any

import flask_smorest
import marshmallow
from flask import Flask
from marshmallow import fields
from webargs.flaskparser import FlaskParser

from workbench import __version__
from workbench.fastdump import Schema

API_PREFIX = "/api/v1"

#: How a caller proves who it is: a user's API token, or (Label Studio's webhook only) the secret.
BEARER = "bearerAuth"
WEBHOOK_SECRET = "webhookSecret"


class ErrorSchema(Schema):
    """The one error shape every failure is answered with (workbench/errors.py)."""

    code = fields.Str(required=True, metadata={"description": "A stable name, e.g. validation_error"})
    status = fields.Int(required=True, metadata={"description": "The HTTP status, repeated"})
    message = fields.Str(required=True, metadata={"description": "What went wrong, for a person"})
    errors = fields.Dict(
        required=True, metadata={"description": "Field (or JSONPath) -> what is wrong with it"}
    )


#: The error answers the document names, each the one error shape (stable names: Python's
#: HTTPStatus names change between versions, and the committed docs/openapi.json must not).
ERROR_RESPONSES = {
    400: ("BadRequest", "The body is not JSON, is empty, holds NaN or nests too deeply"),
    401: ("Unauthorized", "No valid token (or webhook secret)"),
    403: ("Forbidden", "The token's role may not do this"),
    404: ("NotFound", "No such object (ids above 2^31-1 name none)"),
    409: ("Conflict", "The object changed meanwhile, or is in a state that forbids this"),
    413: ("PayloadTooLarge", "The body is larger than WORKBENCH_MAX_CONTENT_LENGTH"),
    415: ("UnsupportedMediaType", "The body is not application/json"),
    422: ("ValidationError", "An argument or field is invalid; `errors` names each"),
    502: ("LabelStudioError", "Label Studio answered with an error"),
    503: ("Unavailable", "Label Studio is unreachable, or the database is busy: try again"),
}

#: What a JSON body can be refused with before any field is read.
BODY_ERRORS = (400, 413, 415, 422)


def documents(*statuses: int) -> Callable[[Callable], Callable]:
    """Name the error answers ``statuses`` in the operation's documentation (no behaviour)."""

    def decorator(view: Callable) -> Callable:
        doc = getattr(view, "_apidoc", None)
        if doc is None:
            doc = view._apidoc = {}  # type: ignore[attr-defined]
        responses = doc.setdefault("response", {}).setdefault("responses", {})
        for status in statuses:
            name = ERROR_RESPONSES[status][0]
            if name not in responses.setdefault(status, []):
                responses[status].append(name)
        return view

    return decorator


class WorkbenchParser(FlaskParser):
    """webargs' Flask parser, reading JSON bodies the workbench's strict way.

    ``json_body`` answers 415 for a body that is not JSON, 400 for broken, empty, NaN or too deeply
    nested JSON and 422 naming the JSONPath of a string no database can store.
    """

    # webargs ignores unknown query parameters by default; the schemas refuse them (QuerySchema),
    # so that a mistyped filter is a 422, not an export of everything.
    DEFAULT_UNKNOWN_BY_LOCATION = {
        **FlaskParser.DEFAULT_UNKNOWN_BY_LOCATION,
        "query": None,
        "querystring": None,
    }

    def load_json(self, req: Any, schema: marshmallow.Schema) -> Any:
        from workbench.api.common import json_body

        return json_body()


class Blueprint(flask_smorest.Blueprint):
    """A flask-smorest Blueprint whose ``@arguments`` parse JSON strictly (WorkbenchParser) and
    document the errors a body can get (400, 413, 415, 422) under stable names."""

    ARGUMENTS_PARSER = WorkbenchParser()

    def arguments(self, schema: Any, *, location: str = "json", **kwargs: Any) -> Callable:
        decorate = super().arguments(schema, location=location, **kwargs)

        def decorator(view: Callable) -> Callable:
            wrapped = decorate(view)
            doc = copy.deepcopy(wrapped._apidoc)
            doc["arguments"]["responses"] = {}  # smorest's 422 name is Python's HTTPStatus name
            wrapped._apidoc = doc
            return documents(*(BODY_ERRORS if location == "json" else (422,)))(wrapped)

        return decorator


def _said(problem: Any) -> str:
    """Say marshmallow's messages for one field (a list's are keyed by the item's index)."""
    if isinstance(problem, Mapping):
        return "; ".join(f"item {key}: {_said(value)}" for key, value in problem.items())
    if isinstance(problem, list):
        return "; ".join(_said(p) for p in problem)
    return str(problem)


def validation_message(messages: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
    """Turn webargs' ``{location: {field: [msg]}}`` into a sentence and ``{field: [msg]}``."""
    names = {"query": "query parameter", "json": "field", "view_args": "path parameter"}
    errors: dict[str, Any] = {}
    parts = []
    for location, fields_ in messages.items():
        if not isinstance(fields_, Mapping):
            fields_ = {location: fields_}
        for field, problem in fields_.items():
            errors[field] = problem
            parts.append(f"{names.get(location, location)} {field}: {_said(problem)}")
    return "invalid request: " + "; ".join(parts), errors


class WorkbenchApi(flask_smorest.Api):
    """flask-smorest's Api, whose own errors (422, 404, 405) take the workbench's one shape.

    The workbench's handlers (errors_http) answer every error of the app, smorest's included:
    they read the ``data`` webargs attaches to its 422 and render ``{code, status, message,
    errors}``. The OpenAPI document names that shape and both ways of authenticating.
    """

    ERROR_SCHEMA = ErrorSchema

    def _register_error_handlers(self) -> None:
        from workbench import errors_http

        errors_http.register(self._app)

    def _register_responses(self) -> None:
        super()._register_responses()
        for name, description in ERROR_RESPONSES.values():
            self.spec.components.response(
                name,
                {
                    "description": description,
                    "content": {"application/json": {"schema": self.ERROR_SCHEMA}},
                },
            )

    def _init_spec(self, **kwargs: Any) -> None:
        super()._init_spec(**kwargs)
        from workbench.labelstudio.bootstrap import WEBHOOK_HEADER

        self.spec.components.security_scheme(
            BEARER,
            {
                "type": "http",
                "scheme": "bearer",
                "description": "A user's API token (`workbench user create` or POST /api/v1/users).",
            },
        )
        self.spec.components.security_scheme(
            WEBHOOK_SECRET,
            {
                "type": "apiKey",
                "in": "header",
                "name": WEBHOOK_HEADER,
                "description": "The shared secret WORKBENCH_WEBHOOK_SECRET (Label Studio's webhook only).",
            },
        )


def configure(app: Flask) -> None:
    """Set flask-smorest's settings (the served document; the docs page is our own, see docs.py)."""
    app.config.setdefault("API_TITLE", "Fact-check workbench")
    app.config.setdefault("API_VERSION", __version__)
    app.config.setdefault("OPENAPI_VERSION", "3.0.3")
    app.config.setdefault("OPENAPI_URL_PREFIX", API_PREFIX)
    app.config.setdefault("OPENAPI_JSON_PATH", "openapi.json")
    app.config.setdefault(
        "API_SPEC_OPTIONS",
        {
            "info": {
                "description": (
                    "The fact-check workbench's REST API. Every error is `{code, status, message, "
                    "errors}`; lists are pages `{items, total, limit, offset}`; every date-time is "
                    "UTC, `YYYY-MM-DDTHH:MM:SS.ffffffZ`."
                ),
                "license": {"name": "MIT"},
            },
            "servers": [{"url": "/"}],
        },
    )
