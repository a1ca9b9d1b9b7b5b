"""Marshmallow schemas: what the API accepts and what it returns."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from marshmallow import INCLUDE, fields, pre_load, validate, validates_schema
from marshmallow import ValidationError as SchemaError

from workbench.config import RATINGS
from workbench.fastdump import Schema
from workbench.models import ROLES
from workbench.models.base import iso
from workbench.validation import MAX_INT

_INTEGER = re.compile(r"[+-]?0*([0-9]+)\Z")


class UTCDateTime(fields.DateTime):
    """The one date-time format of every response: UTC, ``YYYY-MM-DDTHH:MM:SS.ffffffZ``.

    SQLite hands back naive datetimes and PostgreSQL aware ones; both are read as UTC (``iso``).
    A string is taken as already formatted by ``iso`` (audit payloads, job results).
    """

    def _serialize(self, value: Any, attr: str | None, obj: Any, **kwargs: Any) -> str | None:
        if value is None or isinstance(value, str):
            return value
        if isinstance(value, datetime):
            return iso(value)
        serialized = super()._serialize(value, attr, obj, **kwargs)
        return None if serialized is None else str(serialized)


class QueryInt(fields.Int):
    """An integer from a query string: ASCII digits only (``int()`` would also take ``²`` or
    ``1_0``), leading zeros allowed; more digits than any column holds is out of range."""

    default_error_messages = {"too_large": "Number too large: at most {max}."}

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> int:
        if isinstance(value, bool | float):  # a JSON body's 1.5 or true would be cut to 1
            raise self.make_error("invalid")
        if isinstance(value, str):
            match = _INTEGER.match(value.strip())
            if match is None:
                raise self.make_error("invalid")
            if len(match.group(1)) > len(str(MAX_INT)):
                raise self.make_error("too_large", max=MAX_INT)
            value = match.group()
        return super()._deserialize(value, attr, data, **kwargs)


def query_id(**kwargs: Any) -> QueryInt:
    """An optional id in a query string (1 .. 2^31-1)."""
    return QueryInt(load_default=None, validate=validate.Range(1, MAX_INT), **kwargs)


class QuerySchema(Schema):
    """Query arguments: an empty value (``?rating=``) means the argument was not given.

    An argument the endpoint does not know (``?artcle_id=5``) or one given twice
    (``?format=csv&format=xml``) is refused with a 422 naming it: ignored, a mistyped filter would
    export everything.
    """

    @pre_load
    def _drop_empty(self, data: Any, **kwargs: Any) -> Any:
        if not isinstance(data, Mapping):  # a JSON body that is not an object: marshmallow says 422
            return data
        raw = getattr(data, "data", data)  # webargs' proxy over the request's MultiDict
        if hasattr(raw, "getlist"):
            repeated = sorted(key for key in raw if len(raw.getlist(key)) > 1)
            if repeated:
                raise SchemaError({key: ["Given more than once."] for key in repeated})
        return {key: data[key] for key in data if data[key] != ""}


class PageArgs(QuerySchema):
    limit = QueryInt(load_default=50, validate=validate.Range(1, 500))
    offset = QueryInt(load_default=0, validate=validate.Range(0, MAX_INT))


class PageSchema(Schema):
    """The one page envelope: ``items`` and where they sit in the whole list."""

    total = fields.Int(required=True)
    limit = fields.Int(required=True)
    offset = fields.Int(required=True)


def page_of(item: type[Schema], name: str) -> type[Schema]:
    """A page schema of ``item`` (named ``name`` in the OpenAPI document)."""
    return type(name, (PageSchema,), {"items": fields.List(fields.Nested(item), required=True)})


class UserBrief(Schema):
    id = fields.Int()
    email = fields.Str()
    name = fields.Str()
    role = fields.Str()


class LinkSchema(Schema):
    project_id = fields.Int()
    task_id = fields.Int()
    pushed_at = UTCDateTime()
    label_config_sha256 = fields.Str()


class AnnotationSchema(Schema):
    id = fields.Int()
    ls_annotation_id = fields.Int()
    ls_task_id = fields.Int()
    ls_project_id = fields.Int(allow_none=True)
    version = fields.Int()
    annotator_ls_id = fields.Int(allow_none=True)
    annotator_email = fields.Str(allow_none=True)
    updated_by_ls_id = fields.Int(allow_none=True)
    edited_by_someone_else = fields.Method("_edited")
    checkworthy = fields.Bool(allow_none=True)
    verdict = fields.Str(allow_none=True)
    evidence_urls = fields.List(fields.Str())
    rationale = fields.Str(allow_none=True)
    confidence = fields.Int(allow_none=True)
    rewritten_claim = fields.Str(allow_none=True)
    was_cancelled = fields.Bool()
    lead_time = fields.Float(allow_none=True)
    ls_created_at = fields.Str(allow_none=True)
    ls_updated_at = fields.Str(allow_none=True)
    source = fields.Str()
    payload_sha256 = fields.Str()
    received_at = UTCDateTime()
    result = fields.Raw()

    def _edited(self, obj) -> bool:
        return obj.updated_by_ls_id is not None and obj.updated_by_ls_id != obj.annotator_ls_id


class VerdictSchema(Schema):
    id = fields.Int()
    version = fields.Int()
    decision = fields.Str()
    rating = fields.Str(allow_none=True)
    rationale = fields.Str()
    evidence = fields.List(fields.Str())
    annotation_ids = fields.List(fields.Int())
    agreement = fields.Dict()
    reviewer = fields.Nested(UserBrief)
    created_at = UTCDateTime()


# Blind overlap: an annotator sees no other annotator's vote, count or agreement anywhere. The
# annotator's shapes below hold only what says what a claim *is*; the full shapes, for reviewers
# and admins, extend them with what tells of the annotation work and its review. A field added to
# a full shape therefore stays hidden from annotators unless it is added to a blind shape on purpose.
FULL_VIEW_ROLES = frozenset({"reviewer", "admin"})


def sees_blind(role: str | None) -> bool:
    """Whether a user of ``role`` gets the blind shapes (anyone but reviewers and admins)."""
    return role not in FULL_VIEW_ROLES


class BlindAnnotationSchema(AnnotationSchema):
    """An annotator's own annotation: no version counter, and no other Label Studio user's id."""

    class Meta:
        exclude = ("version", "updated_by_ls_id")


class BlindClaimSchema(Schema):
    """A claim as an annotator sees it: no status, version, count, agreement or publication.

    ``status`` (annotated/in_review say enough others answered), ``version`` and ``updated_at``
    (bumped on every annotation's arrival) would each tell of other annotators' work.
    """

    id = fields.Int()
    uuid = fields.Str()
    article_id = fields.Int()
    ordinal = fields.Int()
    text = fields.Str()
    start = fields.Int()
    end = fields.Int()
    paragraph_index = fields.Int()
    speaker = fields.Str(allow_none=True)
    is_quote = fields.Bool()
    checkworthiness = fields.Float()
    checkworthy = fields.Bool()
    claim_type = fields.Str()
    reasons = fields.List(fields.Str())
    context_before = fields.Str()
    needs_rewrite = fields.Bool()
    resolving_context = fields.Str()
    extractor_version = fields.Str()
    scored_by = fields.Str(
        metadata={"description": "the check-worthiness model (and version) that scored it"}
    )
    created_at = UTCDateTime()


class ClaimSchema(BlindClaimSchema):
    """A claim as reviewers and admins see it."""

    annotator_count = fields.Int()
    agreement = fields.Str(allow_none=True)
    published_at = UTCDateTime(allow_none=True)
    status = fields.Str()
    version = fields.Int()
    updated_at = UTCDateTime()


class BlindClaimDetailSchema(BlindClaimSchema):
    """A claim with the annotator's own annotations only (none without a Label Studio id)."""

    link = fields.Nested(LinkSchema, allow_none=True)
    annotations = fields.Method("_own_annotations")

    _annotations = BlindAnnotationSchema(many=True)

    def __init__(self, *args, annotator_ls_id: int | None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.annotator_ls_id = annotator_ls_id

    def _own_annotations(self, claim) -> list[dict]:
        own = self.annotator_ls_id
        if own is None:
            return []
        return self._annotations.dump([a for a in claim.annotations if a.annotator_ls_id == own])


class ClaimDetailSchema(ClaimSchema):
    link = fields.Nested(LinkSchema, allow_none=True)
    annotations = fields.List(fields.Nested(AnnotationSchema))
    verdicts = fields.List(fields.Nested(VerdictSchema))


class ArticleSchema(Schema):
    id = fields.Int()
    uuid = fields.Str()
    title = fields.Str(allow_none=True)
    url = fields.Str(allow_none=True)
    publisher = fields.Str(allow_none=True)
    byline = fields.Str(allow_none=True)
    published_at = fields.Date(allow_none=True)
    dateline = fields.Str(allow_none=True)
    language = fields.Str()
    text_sha256 = fields.Str()
    extractor_version = fields.Str()
    scored_by = fields.Str(
        metadata={"description": "the check-worthiness model (and version) that scored it"}
    )
    ingested_via = fields.Str()
    created_at = UTCDateTime()


class BlindArticleDetailSchema(ArticleSchema):
    """An article with its text and its claims in the annotator's blind shape."""

    text = fields.Str()
    claims = fields.List(fields.Nested(BlindClaimSchema))


class ArticleDetailSchema(BlindArticleDetailSchema):
    claims = fields.List(fields.Nested(ClaimSchema))


#: How an http(s) URL field is documented (marshmallow's Url would say the non-standard "url").
_HTTP_URL = {"format": "uri", "pattern": "^https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?(/[A-Za-z0-9._~/-]*)?$"}


def _at_most(limit: int) -> validate.Length:
    return validate.Length(max=limit, error="longer than {max} characters")


class ArticleInputSchema(Schema):
    """An article to ingest. The rules every door shares (blank text, its size in bytes, the
    URL's scheme, the date) are checked by ``workbench.ingest``; fields it does not know are kept
    with the raw input."""

    class Meta:
        unknown = INCLUDE

    error_messages = {"type": "the body must be a JSON object with a 'text' field"}

    text = fields.Str(
        required=True,
        validate=validate.Regexp(r"[\s\S]*\S", error="'text' is empty or blank"),
        metadata={"description": "The article's plain text (not blank)"},
        error_messages={
            "required": "'text' is required",
            "null": "'text' is required",
            "invalid": "'text' must be a string",
        },
    )
    title = fields.Str(allow_none=True, validate=_at_most(1000))
    url = fields.Str(allow_none=True, validate=_at_most(2000), metadata={"description": "http(s) URL"})
    publisher = fields.Str(allow_none=True, validate=_at_most(300))
    author = fields.Str(allow_none=True, validate=_at_most(300))
    published_at = fields.Str(
        allow_none=True, metadata={"description": "An ISO date such as 2023-12-28 (or a date-time)"}
    )


ArticlePageSchema = page_of(ArticleSchema, "ArticlePage")


def _distinct(ids: list[int] | None) -> None:
    if ids is not None and len(set(ids)) != len(ids):
        repeated = sorted({i for i in ids if ids.count(i) > 1})
        raise SchemaError(f"Each annotation may be named once; repeated: {repeated}.")


class VerdictInputSchema(Schema):
    rating = fields.Str(required=True, validate=validate.OneOf(RATINGS))
    rationale = fields.Str(load_default="", validate=validate.Length(max=20000))
    evidence = fields.List(
        fields.Url(schemes={"http", "https"}, metadata=_HTTP_URL, validate=validate.Length(max=2048)),
        load_default=list,
        validate=validate.Length(max=50),
    )
    annotation_ids = fields.List(fields.Int(strict=True), load_default=None, validate=_distinct)
    claim_version = fields.Int(required=True, strict=True)


#: The fields each reviewer action reads besides ``action`` and ``claim_version``; any other field
#: sent with it is refused rather than ignored (a rating sent with accept is not the one stored).
ACTION_FIELDS = {
    "accept": {"annotation_id", "annotation_ids", "rationale", "evidence"},
    "override": {"rating", "rationale", "evidence", "annotation_ids"},
    "reject": {"reason"},
    "send_back": {"reason"},
    "publish": set(),
    "reopen": {"reason"},
}


class ReviewActionSchema(Schema):
    """A reviewer's decision; each action takes only the fields it uses (ACTION_FIELDS)."""

    action = fields.Str(
        required=True,
        validate=validate.OneOf(("accept", "override", "reject", "send_back", "publish", "reopen")),
    )
    claim_version = fields.Int(required=True, strict=True)
    annotation_id = fields.Int(load_default=None, strict=True)
    annotation_ids = fields.List(fields.Int(strict=True), load_default=None, validate=_distinct)
    rating = fields.Str(load_default=None, validate=validate.OneOf(RATINGS))
    rationale = fields.Str(load_default=None, validate=validate.Length(max=20000))
    reason = fields.Str(load_default=None, validate=validate.Length(max=20000))
    evidence = fields.List(
        fields.Url(schemes={"http", "https"}, metadata=_HTTP_URL, validate=validate.Length(max=2048)),
        load_default=list,
        validate=validate.Length(max=50),
    )

    @validates_schema(pass_original=True)
    def _only_fields_the_action_uses(self, data: dict[str, Any], original: Any, **_kwargs: Any) -> None:
        allowed = ACTION_FIELDS.get(data.get("action", ""), set()) | {"action", "claim_version"}
        given = original if isinstance(original, Mapping) else {}
        unused = sorted(key for key in given if key in self.fields and key not in allowed)
        if unused:
            hint = " (the accepted annotations' verdict is the rating; override to set another)"
            raise SchemaError(
                {key: [f"Not used with {data['action']}{hint if key == 'rating' else ''}."] for key in unused}
            )


# --- what the views add to a claim ----------------------------------------------------------------


class AgreementDetailSchema(Schema):
    """How a claim's current annotations agree."""

    kind = fields.Str(allow_none=True, metadata={"description": "unanimous, majority, split, or null"})
    votes = fields.Dict(keys=fields.Str(), values=fields.Int())
    leading = fields.Str(allow_none=True)
    annotators = fields.Int()


class EarlierArticleSchema(Schema):
    id = fields.Int()
    title = fields.Str(allow_none=True)
    url = fields.Str(allow_none=True)


class EarlierVerdictRatingSchema(Schema):
    rating = fields.Str(allow_none=True)
    decision = fields.Str()
    version = fields.Int()
    rationale = fields.Str(allow_none=True)


class EarlierVerdictSchema(Schema):
    """An earlier verified claim this one matches, with its current verdict."""

    claim_id = fields.Int()
    claim_uuid = fields.Str()
    text = fields.Str()
    score = fields.Float()
    threshold = fields.Float(metadata={"description": "the score the link had to reach"})
    method = fields.Str(
        metadata={
            "description": "how the link was scored: workbench.extraction.matching (TF-IDF alone), "
            "or that name + '+' + the sentence embedder's version when the cosine took part"
        }
    )
    article = fields.Nested(EarlierArticleSchema)
    status = fields.Str()
    verdict = fields.Nested(EarlierVerdictRatingSchema, allow_none=True)


class ClaimViewSchema(ClaimDetailSchema):
    """A claim as reviewers and admins see it, with its article, agreement and earlier verdicts."""

    article = fields.Nested(ArticleSchema)
    agreement_detail = fields.Nested(AgreementDetailSchema)
    earlier_verdicts = fields.List(fields.Nested(EarlierVerdictSchema))


class BlindClaimViewSchema(BlindClaimSchema):
    """A claim as an annotator sees it: their own annotations only (set by the view), its article."""

    link = fields.Nested(LinkSchema, allow_none=True)
    annotations = fields.List(fields.Nested(BlindAnnotationSchema))
    article = fields.Nested(ArticleSchema)


class HistoryEventSchema(Schema):
    seq = fields.Int()
    at = UTCDateTime()
    actor = fields.Str()
    action = fields.Str()
    payload = fields.Dict()
    hash = fields.Str()


class ClaimHistorySchema(Schema):
    """A claim's whole timeline from the audit chain, oldest first."""

    claim_id = fields.Int()
    events = fields.List(fields.Nested(HistoryEventSchema))


# --- the reviewer's queue and agreement ----------------------------------------------------------


class QueueArgs(PageArgs):
    article_id = query_id()
    rating = fields.Str(load_default=None, validate=validate.OneOf(RATINGS))
    annotator = fields.Str(
        load_default=None,
        validate=validate.Length(max=320),
        metadata={"description": "A Label Studio user id or an email"},
    )
    status = fields.Str(load_default=None, validate=validate.OneOf(("annotated", "in_review")))


class QueueAnnotationSchema(AnnotationSchema):
    class Meta:
        exclude = ("result",)


class QueueItemSchema(ClaimSchema):
    annotations = fields.List(fields.Nested(QueueAnnotationSchema))
    agreement_detail = fields.Nested(AgreementDetailSchema)
    earlier_verdicts = fields.List(fields.Nested(EarlierVerdictSchema))


class QueuePageSchema(page_of(QueueItemSchema, "QueueItemPage")):  # type: ignore[misc]
    overlap = fields.Int(required=True, metadata={"description": "Annotations a claim needs"})


class AgreementArgs(QuerySchema):
    article_id = query_id()


class AnnotatorAgreementSchema(Schema):
    annotator_ls_id = fields.Int()
    email = fields.Str(allow_none=True)
    claims = fields.Int()
    claims_shared = fields.Int()
    alpha_nominal = fields.Float(allow_none=True)
    alpha_ordinal = fields.Float(allow_none=True)
    agreement_rate = fields.Float(allow_none=True)


class AgreementReportSchema(Schema):
    """Krippendorff's alpha for the project (or one article) and for each annotator."""

    claims_with_votes = fields.Int()
    claims_shared = fields.Int()
    alpha_nominal = fields.Float(allow_none=True)
    alpha_ordinal = fields.Float(allow_none=True)
    claims_by_agreement = fields.Dict(keys=fields.Str(), values=fields.Int())
    annotators = fields.List(fields.Nested(AnnotatorAgreementSchema))


# --- users ----------------------------------------------------------------------------------------


class UserSchema(Schema):
    """A user and their role (never their token)."""

    id = fields.Int()
    email = fields.Str()
    name = fields.Str()
    role = fields.Str()
    active = fields.Bool()
    label_studio_user_id = fields.Int(allow_none=True)
    has_password = fields.Function(lambda user: user.password_hash is not None)


class CreatedUserSchema(UserSchema):
    token = fields.Str(metadata={"description": "The API token, shown this once (stored hashed)"})


UserPageSchema = page_of(UserSchema, "UserPage")


class UserInputSchema(Schema):
    """A user to create; the rules every door shares (lengths, the address, duplicates) are
    checked by ``workbench.auth.create_user``."""

    email = fields.Str(required=True, metadata={"description": "At most 320 characters"})
    role = fields.Str(required=True, validate=validate.OneOf(ROLES))
    name = fields.Str(load_default="", metadata={"description": "At most 200 characters"})


# --- the webhook, jobs and the audit chain -------------------------------------------------------


#: What a kept webhook delivery can be (workbench.models.WebhookEvent.status).
WEBHOOK_STATUSES = (
    "received",
    "placing",
    "processed",
    "duplicate",
    "unplaced",
    "malformed",
    "recorded",
    "failed",
    "unknown_action",
)


class WebhookEventArgs(PageArgs):
    status = fields.Str(
        load_default=None,
        validate=validate.OneOf(WEBHOOK_STATUSES),
        metadata={"description": "Only deliveries in this state: " + ", ".join(WEBHOOK_STATUSES)},
    )


class WebhookEventSchema(Schema):
    """A kept delivery of Label Studio's webhook."""

    id = fields.Int()
    received_at = UTCDateTime()
    placed_at = UTCDateTime(allow_none=True)
    action = fields.Str(allow_none=True)
    status = fields.Str()
    detail = fields.Str(allow_none=True)
    annotation_id = fields.Int(allow_none=True)
    body = fields.Str()
    body_length = fields.Int(allow_none=True)
    body_sha256 = fields.Str(allow_none=True)
    body_stored_as = fields.Str()


WebhookEventPageSchema = page_of(WebhookEventSchema, "WebhookEventPage")


class WebhookReceiptSchema(Schema):
    event_id = fields.Int(allow_none=True)
    status = fields.Str()
    detail = fields.Str(allow_none=True)


class ProgressSchema(Schema):
    """How far a job has got: ``done`` of ``total`` items (articles, claims, tasks)."""

    done = fields.Int(required=True)
    total = fields.Int(required=True)


class JobSchema(Schema):
    """A job started (inline: already finished, with its result) or queued for an RQ worker."""

    id = fields.Str(allow_none=True)
    mode = fields.Str(metadata={"description": "inline or rq"})
    status = fields.Str()
    progress = fields.Nested(
        ProgressSchema, allow_none=True, metadata={"description": "absent until the job reports"}
    )
    result = fields.Raw(allow_none=True)
    error = fields.List(fields.Str())


class AuditReportSchema(Schema):
    ok = fields.Bool()
    checked = fields.Int()
    head_hash = fields.Str()
    first_broken_seq = fields.Int(allow_none=True)
    reason = fields.Str(allow_none=True)


class WebhookRefusalSchema(Schema):
    """The one error shape, with the id the refused delivery was kept under."""

    code = fields.Str(required=True)
    status = fields.Int(required=True)
    message = fields.Str(required=True)
    errors = fields.Dict(required=True)
    event_id = fields.Int(allow_none=True)
