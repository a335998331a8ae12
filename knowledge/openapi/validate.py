"""Checking a document's examples against its own schemas.

A small validator for the parts of JSON Schema that decide whether an example is
plausible: type (with ``nullable``), enum, required, properties and
``additionalProperties: false``, items, allOf/oneOf/anyOf (one branch must fit),
lengths, ranges and pattern. It reports the first few problems with a dotted path;
it is not a full JSON Schema implementation and errs towards silence.
"""

from __future__ import annotations

import datetime as _dt
import re
from typing import Any, Iterator

from plugwire.knowledge.openapi.document import Resolver, required_names
from plugwire.knowledge.openapi.samples import merge_all_of

__all__ = ["example_problems"]

_TYPES = {
    "string": lambda v: isinstance(v, (str, _dt.date)),
    "integer": lambda v: (isinstance(v, int) and not isinstance(v, bool)) or (isinstance(v, float) and v.is_integer()),
    "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
    "boolean": lambda v: isinstance(v, bool),
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
    "null": lambda v: v is None,
}


def example_problems(value: Any, schema: Any, resolver: Resolver, *, limit: int = 3) -> list[str]:
    """Return up to ``limit`` messages saying where ``value`` does not fit ``schema``
    (``path: problem``); an empty list when it fits or cannot be judged."""
    out = []
    for problem in _check(value, schema, resolver, "", (), 0):
        out.append(problem)
        if len(out) >= limit:
            break
    return out


def _check(value: Any, schema: Any, resolver: Resolver, path: str, stack: tuple[str, ...], depth: int) -> Iterator[str]:
    schema, stack = resolver.deref(schema, stack)
    if not isinstance(schema, dict) or depth > 30:
        return
    where = path or "(body)"
    if "allOf" in schema:
        schema, stack = merge_all_of(schema, resolver, stack)
    for key in ("oneOf", "anyOf"):
        branches = schema.get(key)
        if isinstance(branches, list) and branches:
            if not any(not list(_check(value, b, resolver, path, stack, depth + 1)) for b in branches):
                yield f"{where}: fits none of the {key} alternatives"
                return
    kind = schema.get("type")
    kinds = kind if isinstance(kind, list) else [kind] if isinstance(kind, str) else []
    if value is None:
        if kinds and "null" not in kinds and not schema.get("nullable"):
            yield f"{where}: is null but the schema says {kind} (not nullable)"
        return
    if kinds and not any(_TYPES.get(k, lambda v: True)(value) for k in kinds):
        yield f"{where}: is {_kind_of(value)} but the schema says {kind}"
        return
    enum = schema.get("enum")
    if isinstance(enum, list) and enum and value not in enum:
        yield f"{where}: {value!r} is not one of {enum[:8]}"
    if isinstance(value, str):
        yield from _string_problems(value, schema, where)
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        low, high = schema.get("minimum"), schema.get("maximum")
        if isinstance(low, (int, float)) and value < low:
            yield f"{where}: {value} is below the minimum {low}"
        if isinstance(high, (int, float)) and value > high:
            yield f"{where}: {value} is above the maximum {high}"
    elif isinstance(value, dict):
        props = schema.get("properties") if isinstance(schema.get("properties"), dict) else {}
        for name in required_names(schema):
            if name not in value:
                yield f"{where}: lacks the required property {name!r}"
        for name, item in value.items():
            if name in props:
                yield from _check(item, props[name], resolver, f"{path}.{name}" if path else str(name), stack, depth + 1)
            elif schema.get("additionalProperties") is False and props:
                yield f"{where}: has {name!r}, which the schema does not define"
    elif isinstance(value, list) and "items" in schema:
        for i, item in enumerate(value[:20]):
            yield from _check(item, schema["items"], resolver, f"{path}[{i}]", stack, depth + 1)


def _string_problems(value: str, schema: dict, where: str) -> Iterator[str]:
    low, high = schema.get("minLength"), schema.get("maxLength")
    if isinstance(low, int) and len(value) < low:
        yield f"{where}: {value!r} is shorter than minLength {low}"
    if isinstance(high, int) and len(value) > high:
        yield f"{where}: {value!r} is longer than maxLength {high}"
    pattern = schema.get("pattern")
    if isinstance(pattern, str):
        try:
            if re.search(pattern, value) is None:
                yield f"{where}: {value!r} does not match the pattern {pattern!r}"
        except re.error:
            pass  # an ECMA-only pattern Python cannot read says nothing about the example


def _kind_of(value: Any) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__
