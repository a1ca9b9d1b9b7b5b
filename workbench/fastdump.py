"""marshmallow's dump, planned once per schema instead of walked field by field each time.

marshmallow stays the one description of every response (flask-smorest documents it, and loading
is untouched); only the way a schema turns objects into dicts is changed. ``Schema._serialize``
asks each field to ``serialize`` itself: one accessor call, a ``hasattr``, a ``try`` around an
item lookup and a method call per value, about 60% of the time of a 100-claim review-queue page
(``bench/review_queue.py``). :class:`Schema` here plans each schema's fields once and then reads
every value with one ``getattr`` (ORM rows) or item lookup (dicts) and converts the common field
types inline; whatever else a field is (``Method``, a custom field such as ``UTCDateTime``)
goes through that field's own ``_serialize``, so its behaviour is marshmallow's by construction.
Hooks (``pre_dump`` / ``post_dump``) keep running: only ``_serialize`` is replaced.

No maintained library does this for marshmallow 3 or 4 (toastedmarshmallow, which compiled
schemas, supports marshmallow 2 only). ``_serialize`` is marshmallow's private method, so with
``WORKBENCH_CHECK_FAST_DUMP=1`` (and in every test: ``tests/conftest.py``) every field is also read
and serialised by marshmallow itself, from the same value, and any difference, down to ``True``
against ``1`` or the order of keys, raises: an upgrade of marshmallow that changes a field's
output fails the tests instead of changing answers.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from operator import attrgetter
from typing import Any

import marshmallow
from marshmallow import fields, missing, utils

#: Also dump with marshmallow and compare (tests/conftest.py turns it on for the whole suite).
CHECK = os.environ.get("WORKBENCH_CHECK_FAST_DUMP") == "1"

Step = tuple[str, str, fields.Field, str, "Callable[[Any, Any], Any] | None"]


class Plan:
    """A schema's fields in dump order: ``(key, name, field, source, convert)`` each, where
    ``convert`` is None for a field marshmallow serialises itself; and one ``attrgetter`` that
    reads every other field's value off an object in one call."""

    def __init__(self, steps: list[Step]) -> None:
        self.steps = steps
        sources = [source for _, _, _, source, convert in steps if convert is not None]
        read = attrgetter(*sources) if sources else None
        if len(sources) == 1:
            assert read is not None
            self.read: Callable[[Any], tuple[Any, ...]] | None = lambda obj: (read(obj),)
        else:
            self.read = read


class Schema(marshmallow.Schema):
    """A marshmallow schema whose dump reads its fields from a plan made on first use."""

    _fast_plan: Plan | None = None

    def _serialize(self, obj: Any, *, many: bool = False) -> Any:
        plan = self._fast_plan
        if plan is None:
            plan = self._fast_plan = _plan(self)
        dump_one = _checked_dump_one if CHECK else _dump_one
        if many and obj is not None:
            return [dump_one(self, plan, item) for item in obj]
        return dump_one(self, plan, obj)


def _dump_one(schema: Schema, plan: Plan, obj: Any, seen: list | None = None) -> dict[str, Any]:
    values: Any = None
    # marshmallow's accessor tries an item lookup first on anything with __getitem__ (dicts);
    # anything else is read with getattr, here every attribute in one call.
    by_item = hasattr(obj, "__getitem__")
    if not by_item and plan.read is not None:
        try:
            values = iter(plan.read(obj))
        except AttributeError:  # one is missing: each on its own below (dump_default, omission)
            values = None
    result = schema.dict_class()
    for step in plan.steps:
        key, name, field, source, convert = step
        if convert is None:  # a field marshmallow serialises itself (Method, custom, dotted names)
            value = field.serialize(name, obj, accessor=schema.get_attribute)
            if value is not missing:
                result[key] = value
            continue
        if values is not None:
            value = next(values)
        else:
            value = (
                utils._get_value_for_key(obj, source, missing) if by_item else getattr(obj, source, missing)
            )
            if value is missing:
                default = field.dump_default
                value = default() if callable(default) else default
                if value is missing:
                    continue
        if seen is not None:  # CHECK mode: keep what was read for _compare (an iterator as a list)
            if isinstance(value, Iterator):
                value = list(value)
            seen.append((step, value))
        result[key] = convert(value, obj)
    return result


def _checked_dump_one(schema: Schema, plan: Plan, obj: Any) -> dict[str, Any]:
    """``_dump_one``, then each field compared with what marshmallow makes of it (CHECK mode).

    Field by field rather than by a second whole dump: a response may hold one-shot iterators
    (a generator of items) that a second dump would find empty. marshmallow must read the same
    value (the same object) from ``obj``, and convert the value the fast dump read (an iterator
    kept as a list) into the same output; the keys must be marshmallow's, in its order."""
    seen: list = []
    result = _dump_one(schema, plan, obj, seen)
    read = {step[1]: value for step, value in seen}
    expected_keys = []
    for key, name, field, _, convert in plan.steps:
        if convert is None:
            if key in result:
                expected_keys.append(key)
            continue
        slow = field.get_value(obj, name, accessor=schema.get_attribute)
        if slow is missing:
            default = field.dump_default
            slow = default() if callable(default) else default
        if name not in read:
            if slow is not missing:
                raise AssertionError(f"{type(schema).__name__}.{name}: left out, marshmallow reads {slow!r}")
            continue
        value = read[name]
        if (
            slow is not value
            and not (type(slow) is type(value) and slow == value)
            and not isinstance(slow, Iterator)
        ):
            raise AssertionError(
                f"{type(schema).__name__}.{name}: read {value!r}, marshmallow reads {slow!r}"
            )
        expected = field._serialize(value, name, obj)
        if not identical(result[key], expected):
            raise AssertionError(
                f"{type(schema).__name__}.{name}: fast dump {result[key]!r}, marshmallow's {expected!r}"
            )
        expected_keys.append(key)
    if list(result) != expected_keys:
        raise AssertionError(f"{type(schema).__name__}: keys {list(result)} instead of {expected_keys}")
    return result


def _plan(schema: marshmallow.Schema) -> Plan:
    custom_accessor = type(schema).get_attribute is not marshmallow.Schema.get_attribute
    steps: list[Step] = []
    for name, field in schema.dump_fields.items():
        key = field.data_key if field.data_key is not None else name
        source = field.attribute if field.attribute is not None else name
        convert = None
        if not custom_accessor and field._CHECK_ATTRIBUTE and "." not in source:
            convert = _converter(field, name)
        steps.append((key, name, field, source, convert))
    return Plan(steps)


def _converter(field: fields.Field, name: str) -> Callable[[Any, Any], Any]:
    """``(value, obj) -> dumped value``, as ``field._serialize(value, name, obj)`` would give."""
    kind = type(field)
    if kind in (fields.Integer, fields.Float) and not field.as_string:  # type: ignore[attr-defined]
        number = field.num_type  # type: ignore[attr-defined]
        return lambda value, obj: None if value is None else number(value)
    if kind is fields.String:
        text = utils.ensure_text_type
        return lambda value, obj: value if type(value) is str else None if value is None else text(value)
    if kind in (fields.Raw, fields.Boolean):  # neither converts when dumping
        return lambda value, obj: value
    if kind is fields.Dict and field.key_field is None and field.value_field is None:  # type: ignore[attr-defined]
        mapping = field.mapping_type  # type: ignore[attr-defined]
        return lambda value, obj: None if value is None else mapping(value)
    if kind is fields.Nested and not isinstance(field.nested, str):  # type: ignore[attr-defined]
        return _nested(field)  # type: ignore[arg-type]
    if kind is fields.List:
        inner = field.inner  # type: ignore[attr-defined]
        if type(inner) is fields.Nested:
            each = _nested(inner)
        else:
            each = lambda value, obj: inner._serialize(value, name, obj)  # noqa: E731
        return lambda value, obj: None if value is None else [each(item, obj) for item in value]
    serialize = field._serialize
    return lambda value, obj: serialize(value, name, obj)


def _nested(field: fields.Nested) -> Callable[[Any, Any], Any]:
    def dump(value: Any, obj: Any) -> Any:
        # As Nested._serialize, with the schema (and its many) looked up when first used.
        if value is None:
            return None
        schema = field.schema
        return schema.dump(value, many=schema.many or field.many)

    return dump


def identical(a: Any, b: Any) -> bool:
    """Equal and of the same types all the way down (``1 == True`` and ``1 == 1.0`` are not)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return a.keys() == b.keys() and list(a) == list(b) and all(identical(a[k], b[k]) for k in a)
    if isinstance(a, list | tuple):
        return len(a) == len(b) and all(identical(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, float) and a != a:  # NaN equals nothing, itself included
        return b != b
    return bool(a == b)
