"""workbench.fastdump gives what marshmallow's own dump gives, field type by field type.

The whole suite also compares the two on every response it produces (tests/conftest.py turns
``workbench.fastdump.CHECK`` on); these are the cases a response might not reach: values that
are missing, None, bytes, of a foreign type, read from dicts and objects alike, fields renamed
both ways, hooks, Method fields, and each schema of the API on rows a real database returns.
"""

from __future__ import annotations

import decimal
import inspect
from datetime import UTC, datetime
from types import SimpleNamespace

import marshmallow
import pytest
from marshmallow import fields, post_dump, pre_dump

import workbench.api
import workbench.fastdump
import workbench.schemas
from workbench.fastdump import Schema, identical


def _marshmallow_dump(schema: marshmallow.Schema, obj, many=None):
    """The same schema dumped by marshmallow alone (fastdump's _serialize bypassed)."""
    saved = workbench.fastdump.CHECK
    workbench.fastdump.CHECK = False
    original = Schema._serialize
    try:
        Schema._serialize = marshmallow.Schema._serialize  # type: ignore[method-assign]
        return schema.dump(obj, many=many)
    finally:
        Schema._serialize = original  # type: ignore[method-assign]
        workbench.fastdump.CHECK = saved


def _fast_dump(schema: marshmallow.Schema, obj, many=None):
    saved = workbench.fastdump.CHECK
    workbench.fastdump.CHECK = False
    try:
        return schema.dump(obj, many=many)
    finally:
        workbench.fastdump.CHECK = saved


class Inner(Schema):
    n = fields.Int()
    label = fields.Str(allow_none=True)


class Everything(Schema):
    i = fields.Int()
    i_text = fields.Int(as_string=True)
    f = fields.Float()
    s = fields.Str()
    b = fields.Bool()
    raw = fields.Raw()
    d = fields.Dict()
    d_typed = fields.Dict(keys=fields.Str(), values=fields.Int())
    when = workbench.schemas.UTCDateTime(allow_none=True)
    plain_when = fields.DateTime()
    words = fields.List(fields.Str())
    numbers = fields.List(fields.Int())
    inner = fields.Nested(Inner, allow_none=True)
    inners = fields.List(fields.Nested(Inner))
    inner_many = fields.Nested(Inner, many=True)
    only_n = fields.Nested(Inner, only=("n",))
    by_name = fields.Nested("Inner", allow_none=True)
    renamed_out = fields.Int(data_key="renamedOut")
    renamed_in = fields.Str(attribute="source_name")
    dotted = fields.Str(attribute="inner.label")
    with_default = fields.Int(dump_default=7)
    with_callable_default = fields.Str(dump_default=lambda: "made")
    method = fields.Method("_method")
    function = fields.Function(lambda obj: "function of " + type(obj).__name__)
    constant = fields.Constant("always")
    decimal = fields.Decimal(as_string=True)

    def _method(self, obj):
        return "method"


FULL = {
    "i": 3,
    "i_text": 4,
    "f": decimal.Decimal("1.5"),
    "s": b"bytes become text",
    "b": 1,  # Boolean does not convert when dumping: 1 stays 1
    "raw": {"any": ["thing", 1, None]},
    "d": {"a": 1},
    "d_typed": {"x": "2"},
    "when": datetime(2026, 11, 26, 3, 4, 5, 6, tzinfo=UTC),
    "plain_when": datetime(2026, 11, 26, 3, 4, 5),
    "words": ["a", 2, None],
    "numbers": ["5", 6.0],
    "inner": {"n": "8", "label": None},
    "inners": [{"n": 1, "label": "one"}, None, {"n": 2}],
    "inner_many": [{"n": 1, "label": "x"}],
    "only_n": {"n": 9, "label": "dropped"},
    "by_name": {"n": 10, "label": "by name"},
    "renamed_out": 11,
    "source_name": "from another attribute",
    "decimal": decimal.Decimal("2.50"),
}


def _as_object(values: dict) -> SimpleNamespace:
    converted = {
        k: SimpleNamespace(**v) if isinstance(v, dict) and k in {"inner", "only_n", "by_name"} else v
        for k, v in values.items()
    }
    return SimpleNamespace(**converted)


CASES = {
    "full dict": FULL,
    "full object": _as_object(FULL),
    "empty dict": {},
    "empty object": SimpleNamespace(),
    "nones dict": {k: None for k in FULL},
    "nones object": SimpleNamespace(**{k: None for k in FULL}),
    "half dict": {k: v for n, (k, v) in enumerate(FULL.items()) if n % 2},
    "half object": SimpleNamespace(**{k: v for n, (k, v) in enumerate(FULL.items()) if n % 2 == 0}),
}


@pytest.mark.parametrize("case", CASES)
def test_every_field_kind_dumps_as_marshmallow_dumps_it(case):
    obj = CASES[case]
    expected = _marshmallow_dump(Everything(), obj)
    got = _fast_dump(Everything(), obj)
    assert identical(got, expected), (got, expected)
    assert list(got) == list(expected)  # and in the same order


def test_many_and_none_dump_as_marshmallow_does():
    objects = [CASES["full dict"], CASES["full object"], CASES["empty object"]]
    assert identical(
        _fast_dump(Everything(many=True), objects), _marshmallow_dump(Everything(many=True), objects)
    )
    assert identical(_fast_dump(Everything(), None), _marshmallow_dump(Everything(), None))
    assert identical(
        _fast_dump(Everything(), objects, many=True), _marshmallow_dump(Everything(), objects, many=True)
    )


def test_a_value_of_the_wrong_type_fails_as_it_does_in_marshmallow():
    for schema, obj in ((Everything(), {"i": "not a number"}), (Everything(), SimpleNamespace(f="x"))):
        with pytest.raises(ValueError):
            _marshmallow_dump(schema, obj)
        with pytest.raises(ValueError):
            _fast_dump(schema, obj)


def test_hooks_still_run():
    class Hooked(Schema):
        n = fields.Int()

        @pre_dump
        def double(self, obj, **kwargs):
            return {"n": obj["n"] * 2}

        @post_dump
        def mark(self, data, **kwargs):
            return {**data, "hooked": True}

    assert _fast_dump(Hooked(), {"n": 2}) == {"n": 4, "hooked": True} == _marshmallow_dump(Hooked(), {"n": 2})


def test_a_schema_with_its_own_accessor_is_read_through_it():
    class Upper(Schema):
        name = fields.Str()

        def get_attribute(self, obj, attr, default):
            return str(obj.get(attr, default)).upper()

    assert (
        _fast_dump(Upper(), {"name": "abc"}) == {"name": "ABC"} == _marshmallow_dump(Upper(), {"name": "abc"})
    )


def test_an_attribute_that_raises_is_treated_as_marshmallow_treats_it():
    class Flaky:
        n = 1

        @property
        def label(self):
            raise AttributeError("computed and absent")

    assert identical(_fast_dump(Inner(), Flaky()), _marshmallow_dump(Inner(), Flaky()))


def test_the_check_raises_on_any_difference(monkeypatch):
    """The suite-wide comparison is live: a fast dump that differs fails the request."""
    monkeypatch.setattr(workbench.fastdump, "CHECK", True)
    schema = Inner()
    assert schema.dump({"n": 1}) == {"n": 1}
    key, name, field, source, _ = schema._fast_plan.steps[0]
    schema._fast_plan.steps[0] = (key, name, field, source, lambda value, obj: True)
    with pytest.raises(AssertionError, match="Inner.n: fast dump True, marshmallow's 1"):
        schema.dump({"n": 1})


def test_the_check_reads_one_shot_iterators_once(monkeypatch):
    """A view may hand a generator of items: checked, it still reaches the answer whole."""
    monkeypatch.setattr(workbench.fastdump, "CHECK", True)
    page = workbench.schemas.page_of(Inner, "InnerPage")()
    items = ({"n": n} for n in range(3))
    dumped = page.dump({"items": items, "total": 3, "limit": 3, "offset": 0})
    assert dumped["items"] == [{"n": 0}, {"n": 1}, {"n": 2}]


def test_identical_tells_types_apart():
    assert identical({"a": [1, 2.5, None, "x"]}, {"a": [1, 2.5, None, "x"]})
    assert not identical(1, True)
    assert not identical(1, 1.0)
    assert not identical({"a": 1, "b": 2}, {"b": 2, "a": 1})  # key order too
    assert not identical([1], (1,))
    assert identical(float("nan"), float("nan"))


def test_every_response_schema_of_the_api_uses_the_fast_dump():
    """A schema written against marshmallow.Schema directly would silently skip the fast path
    (and the suite's comparison): every schema in the API's modules derives from fastdump's."""
    modules = [workbench.schemas]
    for name in ("articles", "claims", "review", "exports", "ingest_bulk", "outbound", "framework", "users"):
        modules.append(__import__(f"workbench.api.{name}", fromlist=["*"]))
    found = []
    for module in modules:
        for value in vars(module).values():
            if (
                inspect.isclass(value)
                and issubclass(value, marshmallow.Schema)
                and value.__module__ == module.__name__
            ):
                found.append(value)
                assert issubclass(value, Schema), (
                    f"{value.__module__}.{value.__name__} derives from marshmallow.Schema"
                )
    assert len(found) > 40
    assert workbench.api  # imported for its modules


def test_api_schemas_dump_real_rows_as_marshmallow_does(app):
    """Each claim, annotation, verdict and article schema on rows read back from the database
    (SQLAlchemy attributes, naive or aware datetimes, JSON columns), many at once."""
    import sqlalchemy as sa

    from tests.factories import annotated_claim
    from workbench.db import db
    from workbench.models import Article, Claim

    with app.app_context():
        annotated_claim(task_id=601)
        annotated_claim(task_id=602, annotators=(1, 2, 3))
        db.session.expire_all()
        rows = list(db.session.scalars(sa.select(Claim)))
        assert len(rows) > 2
        for schema in (
            workbench.schemas.ClaimSchema(many=True),
            workbench.schemas.ClaimDetailSchema(many=True),
            workbench.schemas.QueueItemSchema(many=True),
            workbench.schemas.BlindClaimSchema(many=True),
        ):
            assert identical(_fast_dump(schema, rows), _marshmallow_dump(schema, rows))
        annotations = [a for claim in rows for a in claim.annotations]
        assert len(annotations) == 5
        schema = workbench.schemas.AnnotationSchema(many=True)
        assert identical(_fast_dump(schema, annotations), _marshmallow_dump(schema, annotations))
        articles = list(db.session.scalars(sa.select(Article)))
        schema = workbench.schemas.ArticleSchema(many=True)
        assert identical(_fast_dump(schema, articles), _marshmallow_dump(schema, articles))
