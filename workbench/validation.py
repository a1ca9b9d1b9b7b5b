"""Input rules every door shares (API, pages, CLI, webhook, sync): pure functions, no Flask.

PostgreSQL cannot store a NUL (U+0000) in text, and no database can store a lone surrogate
(U+D800..U+DFFF, which JSON's "\\ud800" escape produces): UTF-8 has no encoding for it. Both
are refused at the door, or replaced with U+FFFD where refusing is not an option (sync).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterator
from typing import Any, NamedTuple

from workbench.errors import BadRequest, ValidationError

#: The largest value of an INTEGER column (PostgreSQL's int4): ids, versions, offsets.
MAX_INT = 2**31 - 1

#: How deeply containers may nest in a JSON body; real bodies nest three or four levels.
MAX_JSON_DEPTH = 64

#: Characters no text column can store: NUL (PostgreSQL refuses it) and any surrogate code
#: point (a Python str holds one only when it is unpaired; UTF-8 cannot encode it).
UNSTORABLE = re.compile("[\x00\ud800-\udfff]")

REPLACEMENT = "\ufffd"

_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")


class JSONString(NamedTuple):
    """A string found in decoded JSON: where it is, what it is, and whether it is a key."""

    path: str
    value: str
    is_key: bool


def find_unstorable(text: str) -> int | None:
    """Return the index of the first NUL or lone surrogate in ``text``, or None."""
    match = UNSTORABLE.search(text)
    return match.start() if match else None


def describe_unstorable(char: str) -> str:
    """Name an unstorable character for an error message."""
    return "a NUL character (U+0000)" if char == "\x00" else f"a lone surrogate (U+{ord(char):04X})"


def sanitize(text: str) -> str:
    """Replace each NUL and lone surrogate with U+FFFD, keeping every other character."""
    return UNSTORABLE.sub(REPLACEMENT, text)


def sanitize_json(value: Any) -> Any:
    """Return a copy of parsed JSON with every string (keys too) made storable (see ``sanitize``).

    For what must be kept although it cannot be refused (Label Studio's annotations).
    """
    if isinstance(value, str):
        return sanitize(value) if UNSTORABLE.search(value) else value
    if isinstance(value, list):
        return [sanitize_json(v) for v in value]
    if isinstance(value, dict):
        return {sanitize_json(k): sanitize_json(v) for k, v in value.items()}
    return value


def storable_body(body: bytes) -> tuple[str, str]:
    """Decode a delivery for storage: ``(text, "as_sent")`` when it can be kept byte for byte,
    else an escaped form that can (``"escaped"``: invalid UTF-8 and NUL as backslash escapes)."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        text = None
    if text is not None and "\x00" not in text:
        return text, "as_sent"
    escaped = body.decode("utf-8", errors="backslashreplace").replace("\x00", "\\x00")
    return escaped, "escaped"


def unstorable_problem(text: str) -> str | None:
    """Say what in ``text`` cannot be stored and where, or return None when all of it can."""
    index = find_unstorable(text)
    if index is None:
        return None
    return f"contains {describe_unstorable(text[index])} at index {index}"


def check_text(text: str, field: str) -> None:
    """Raise a 422 naming ``field`` when ``text`` holds a NUL or a lone surrogate."""
    problem = unstorable_problem(text)
    if problem is not None:
        raise ValidationError(f"{field} {problem}; it cannot be stored", errors={field: [problem]})


def json_path(parent: str, key: str | int) -> str:
    """Extend a JSONPath (``$.a[0]``) by an array index or an object key, printably."""
    if isinstance(key, int):
        return f"{parent}[{key}]"
    if _IDENTIFIER.match(key):
        return f"{parent}.{key}"
    # The key itself may be what is refused: print it so the message stays storable and readable.
    return f"{parent}[{json.dumps(sanitize(key))}]"


def walk_json_strings(obj: Any, path: str = "$") -> Iterator[JSONString]:
    """Yield every string in decoded JSON, object keys included, with its JSONPath.

    Iterative, so a deeply nested value cannot exhaust the interpreter's stack.
    """
    stack: list[tuple[str, Any]] = [(path, obj)]
    while stack:
        where, value = stack.pop()
        if isinstance(value, str):
            yield JSONString(where, value, False)
        elif isinstance(value, dict):
            members = list(value.items())
            for key, _ in members:
                if isinstance(key, str):
                    yield JSONString(json_path(where, key), key, True)
            stack.extend((json_path(where, str(k)), v) for k, v in reversed(members))
        elif isinstance(value, (list, tuple)):
            stack.extend((json_path(where, i), v) for i, v in reversed(list(enumerate(value))))


def json_depth(obj: Any) -> int:
    """Return how deeply arrays and objects nest in ``obj`` (a scalar is 0, ``[]`` is 1)."""
    deepest = 0
    stack: list[tuple[int, Any]] = [(0, obj)]
    while stack:
        depth, value = stack.pop()
        if isinstance(value, dict):
            value = list(value.values())
        elif not isinstance(value, (list, tuple)):
            continue
        deepest = max(deepest, depth + 1)
        stack.extend((depth + 1, v) for v in value)
    return deepest


def check_json(obj: Any, *, max_depth: int = MAX_JSON_DEPTH) -> None:
    """Refuse decoded JSON nested deeper than ``max_depth`` (400) or holding an unstorable string (422).

    The 422 names the JSONPath of the first offending string or key, e.g. ``$.title``.
    """
    if json_depth(obj) > max_depth:
        raise BadRequest(
            f"the JSON body nests deeper than {max_depth} levels", errors={"body": ["nested too deeply"]}
        )
    for found in walk_json_strings(obj):
        problem = unstorable_problem(found.value)
        if problem is not None:
            what = "the key" if found.is_key else "the string"
            raise ValidationError(
                f"{what} at {found.path} {problem}; it cannot be stored",
                errors={found.path: [f"key {problem}" if found.is_key else problem]},
            )


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):  # 1e400 parses as infinity: no column or export can hold it
        raise ValueError(f"the number {text[:40]} is too large")
    return value


def _no_repeated_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj = dict(pairs)
    if len(obj) != len(pairs):
        # Two readers of one body must not see two requests: a proxy may keep the first, we the last.
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise ValueError(f"the key {key[:80]!r} appears more than once in one object")
            seen.add(key)
    return obj


def loads_strict(text: str | bytes) -> Any:
    """Parse JSON that every database and export can hold: UTF-8 (RFC 8259; ``json.loads`` would
    guess UTF-16 or UTF-32 from bytes), no key twice in one object, no NaN, no Infinity, no number
    that overflows a float. Raises ValueError (``json.JSONDecodeError`` and
    ``UnicodeDecodeError`` are) or RecursionError."""
    if isinstance(text, bytes | bytearray):
        text = bytes(text).decode("utf-8")
    return json.loads(
        text,
        parse_constant=_refuse_constant,
        parse_float=_finite_float,
        object_pairs_hook=_no_repeated_keys,
    )
