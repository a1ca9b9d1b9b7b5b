"""Bulk and URL ingest: many articles as one job with progress, or one article fetched from a URL."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from flask import current_app, g, request
from flask.views import MethodView
from flask_smorest.fields import Upload
from marshmallow import INCLUDE, fields

from workbench import jobs
from workbench.api.articles import ArticleDetail
from workbench.api.framework import Blueprint, ErrorSchema, documents
from workbench.auth import require_role
from workbench.db import db
from workbench.errors import UnsupportedMediaType, ValidationError
from workbench.fastdump import Schema
from workbench.ingest import bulk
from workbench.ingest.service import ingest_raw
from workbench.schemas import ProgressSchema

blp = Blueprint(
    "ingest_bulk",
    __name__,
    description="Bulk and URL ingest: JSON Lines or files as one job with progress; a page from a URL.",
)

#: Media types read as JSON Lines.
JSONL_TYPES = (
    "application/x-ndjson",
    "application/jsonl",
    "application/x-jsonlines",
    "application/json-lines",
)


class IngestedSchema(Schema):
    source = fields.Str(required=True, metadata={"description": "line N, a file's name, or a URL"})
    id = fields.Int(required=True, metadata={"description": "the article's id"})
    created = fields.Bool(required=True, metadata={"description": "false: the same text was stored before"})


class ItemErrorSchema(Schema):
    source = fields.Str(required=True)
    message = fields.Str(required=True)
    errors = fields.Dict(required=True)
    status = fields.Int(required=True, metadata={"description": "what the single-article API answers"})


class BulkResultSchema(Schema):
    total = fields.Int(required=True)
    created = fields.Int(required=True)
    duplicates = fields.Int(required=True)
    failed = fields.Int(required=True)
    articles = fields.List(fields.Nested(IngestedSchema), required=True)
    errors = fields.List(fields.Nested(ItemErrorSchema), required=True)


class BulkJobSchema(Schema):
    """A bulk ingest: finished with its result when jobs run inline, else queued (follow it at
    GET /api/v1/jobs/{id})."""

    id = fields.Str(allow_none=True)
    mode = fields.Str(metadata={"description": "inline or rq"})
    status = fields.Str()
    progress = fields.Nested(ProgressSchema, allow_none=True)
    result = fields.Nested(BulkResultSchema, allow_none=True)


class BulkFilesSchema(Schema):
    class Meta:
        unknown = INCLUDE

    file = fields.List(
        Upload(),
        load_default=list,
        metadata={"description": ".jsonl (one article a line), .txt or .html files; repeat the field"},
    )


class FromURLSchema(Schema):
    """A page to fetch; the other fields replace what the page's metadata says."""

    url = fields.Str(required=True, metadata={"description": "http(s) URL of the article's page"})
    title = fields.Str(allow_none=True)
    publisher = fields.Str(allow_none=True)
    author = fields.Str(allow_none=True)
    published_at = fields.Str(allow_none=True, metadata={"description": "An ISO date such as 2023-12-28"})


def _bulk_body_limit(view: Callable) -> Callable:
    """Let this request's body be as large as WORKBENCH_MAX_BULK_BYTES (before anything reads it)."""

    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any):
        request.max_content_length = current_app.config["MAX_BULK_BYTES"]
        return view(*args, **kwargs)

    return wrapper


def _items(files: list[Any]) -> list[dict[str, Any]]:
    """The bulk ingest's items: the JSON Lines body, or each uploaded file's."""
    if request.mimetype in JSONL_TYPES:
        data = request.get_data(cache=False)
        if not data.strip():
            raise ValidationError(
                "the body is empty; send one JSON object a line", errors={"body": ["empty"]}
            )
        return bulk.items_from_jsonl(data)
    if files:
        items: list[dict[str, Any]] = []
        for upload in files:
            items += bulk.items_from_file(upload.filename or "upload", upload.read())
        return items
    if request.mimetype == "multipart/form-data":
        raise ValidationError("upload one or more files in the 'file' field", errors={"file": ["missing"]})
    raise UnsupportedMediaType(
        f"send JSON Lines (Content-Type: application/x-ndjson) or multipart/form-data files, "
        f"not {request.mimetype or 'no content type'}"
    )


@blp.route("/articles/bulk")
class BulkIngest(MethodView):
    @require_role("admin")
    @_bulk_body_limit
    @blp.arguments(BulkFilesSchema, location="files")
    @blp.response(200, BulkJobSchema, description="Ingested inline: the result lists each error")
    @blp.alt_response(202, schema=BulkJobSchema, description="Queued: follow it at /api/v1/jobs/{id}")
    @blp.doc(
        requestBody={
            "content": {
                "application/x-ndjson": {
                    "schema": {
                        "type": "string",
                        "description": "One article (POST /articles's fields) a line",
                    }
                }
            }
        }
    )
    @documents(413, 415)
    def post(self, uploads: dict):
        """Ingest many articles (JSON Lines, or .jsonl/.txt/.html files) as one job.

        Each line or file goes in on its own; the ones that cannot are listed with their line
        number or name and their error, duplicates as duplicates."""
        items = _items(uploads.get("file") or [])
        started = jobs.enqueue_parts(
            "ingest.bulk",
            [{"items": part} for part in bulk.parts_of(items)],
            gather="ingest.bulk.gather",
            total=len(items),
            actor=g.user.email,
            user_id=g.user.id,
            via="api",
        )
        return started, 200 if started["mode"] == "inline" else 202


@blp.route("/articles/from-url")
class IngestFromURL(MethodView):
    @require_role("admin")
    @blp.arguments(FromURLSchema)
    @blp.response(201, ArticleDetail, description="Fetched and ingested: the article with its claims")
    @blp.alt_response(200, schema=ArticleDetail, description="The page's text was already stored")
    @blp.alt_response(
        502, schema=ErrorSchema, description="The page could not be fetched (HTTP error, no answer)"
    )
    @blp.alt_response(504, schema=ErrorSchema, description="The page did not arrive within the time limit")
    def post(self, body: dict):
        """Fetch a web page and ingest its article.

        Only http(s), only public addresses unless WORKBENCH_INGEST_ALLOW_PRIVATE_URLS allows
        others, with a time and a size limit. The title, author, date and canonical URL come
        from the page's metadata; fields sent replace them."""
        from workbench.ingest.fetch import page_fields

        fields_ = page_fields(body["url"], current_app.config)
        fields_.update({k: v for k, v in body.items() if k != "url" and v is not None})
        article, created = ingest_raw(
            fields_,
            current_app.config,
            actor=g.user.email,
            user_id=g.user.id,
            via="api",
            raw_input={**fields_, "text": None, "source": body["url"]},
        )
        db.session.commit()
        return article, 201 if created else 200
