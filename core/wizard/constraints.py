"""Checking a request against the field constraints a suggestion carried.

When the catalogue knows what an endpoint accepts (a pattern, an enum, lengths,
ranges, required fields), the wizard points at the field that broke a rule next to
the API's own message: ``venue.address.country: "USA" does not match ^[A-Z]{2}$``.
Paths are dotted, ``[]`` for list items, and ``query.NAME`` for query parameters.
"""

from __future__ import annotations

import re
from typing import Any, Iterator

from pydantic import BaseModel

from plugwire.core.base.errors import UserInputError
from plugwire.core.base.secrets import MASK
from plugwire.core.http.exchange import RequestSpec, is_sensitive_name
from plugwire.core.plugincore.suggesters import FieldConstraint

__all__ = ["Violation", "check", "set_path"]

_MISSING = object()
_INDEX = re.compile(r"^(.*)\[(\d+)\]$")


class Violation(BaseModel):
    """One field that broke one rule, in words a person can act on."""

    path: str
    rule: str
    value: Any = None
    message: str


def _walk(value: Any, parts: list[str], where: str) -> Iterator[tuple[str, Any]]:
    """Yield ``(concrete path, value or _MISSING)`` for every place ``parts`` reaches."""
    if not parts:
        yield where, value
        return
    head, rest = parts[0], parts[1:]
    key, is_list = (head[:-2], True) if head.endswith("[]") else (head, False)
    if key:
        here = f"{where}.{key}" if where else key
        if not isinstance(value, dict) or key not in value:
            # Name the whole field the rule is about, not just the first absent part.
            yield ".".join([here, *rest]) if rest else here, _MISSING
            return
        value = value[key]
    else:
        here = where
    if not is_list:
        yield from _walk(value, rest, here)
        return
    if not isinstance(value, list):
        return  # the list itself is absent or not a list: a type rule on it says so
    for i, item in enumerate(value):
        yield from _walk(item, rest, f"{here}[{i}]")


def _split(path: str) -> list[str]:
    return [p for p in path.split(".") if p]


def _show(path: str, value: Any) -> str:
    if is_sensitive_name(path.rsplit(".", 1)[-1]):
        return MASK
    text = repr(value) if not isinstance(value, str) else f'"{value}"'
    return text if len(text) <= 60 else text[:59] + "…"


def _type_ok(value: Any, wanted: str, textual: bool) -> bool:
    # Form fields and query parameters are text on the wire: "5" is an integer there.
    if textual and isinstance(value, str):
        if wanted == "integer":
            return re.fullmatch(r"-?\d+", value) is not None
        if wanted == "number":
            return re.fullmatch(r"-?\d+(\.\d+)?([eE][-+]?\d+)?", value) is not None
        if wanted == "boolean":
            return value.lower() in ("true", "false", "1", "0")
        return wanted in ("string", "any")
    checks = {
        "string": lambda v: isinstance(v, str),
        "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
        "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
        "boolean": lambda v: isinstance(v, bool),
        "object": lambda v: isinstance(v, dict),
        "array": lambda v: isinstance(v, list),
        "null": lambda v: v is None,
    }
    check = checks.get(wanted)
    return True if check is None else check(value)


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value)
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _rules(c: FieldConstraint, path: str, value: Any, textual: bool) -> list[Violation]:
    out: list[Violation] = []
    shown = _show(path, value)
    why = f" ({c.description})" if c.description else ""

    def add(rule: str, text: str) -> None:
        out.append(Violation(path=path, rule=rule, value=MASK if shown == MASK else value, message=f"{path}: {shown} {text}{why}"))

    if value is None:
        if c.required:
            add("required", "is null, but the field is required")
        return out
    if c.type and not _type_ok(value, c.type, textual):
        add("type", f"is not of type {c.type}")
        return out
    if c.enum is not None and value not in c.enum and str(value) not in [str(e) for e in c.enum]:
        add("enum", "is not one of " + ", ".join(repr(e) for e in c.enum))
    if isinstance(value, (str, list)):
        if c.min_length is not None and len(value) < c.min_length:
            add("min_length", f"is shorter than {c.min_length}")
        if c.max_length is not None and len(value) > c.max_length:
            add("max_length", f"is longer than {c.max_length}")
    if isinstance(value, str) and c.pattern:
        try:
            if re.search(c.pattern, value) is None:
                add("pattern", f"does not match {c.pattern}")
        except re.error:
            pass  # a catalogue's broken pattern is the catalogue's problem, not the request's
    if c.minimum is not None or c.maximum is not None:
        number = _number(value)
        if number is not None and c.minimum is not None and number < c.minimum:
            add("minimum", f"is less than {c.minimum:g}")
        if number is not None and c.maximum is not None and number > c.maximum:
            add("maximum", f"is greater than {c.maximum:g}")
    return out


def check(request: RequestSpec, constraints: list[FieldConstraint]) -> list[Violation]:
    """Return every rule of ``constraints`` that ``request`` breaks, in constraint order.

    Body paths are read from JSON, form and multipart bodies (an XML or text body is
    not checked); ``query.NAME`` paths from the query parameters.
    """
    found: list[Violation] = []
    for c in constraints:
        if c.path.startswith("query."):
            source: Any = request.query
            parts = _split(c.path[len("query."):])
            prefix = "query"
            textual = True
        else:
            if request.body_format not in ("json", "form", "multipart"):
                continue
            source = request.body
            parts = _split(c.path)
            prefix = ""
            textual = request.body_format != "json"
        for where, value in _walk(source, parts, prefix):
            if value is _MISSING:
                if c.required:
                    found.append(Violation(path=where, rule="required", message=f"{where}: is required but missing"))
                continue
            found.extend(_rules(c, where, value, textual))
    return found


def set_path(target: Any, path: str, value: Any) -> None:
    """Set ``value`` at dotted ``path`` (``items[0].sku``) inside ``target``, creating
    mappings on the way. Raises ``UserInputError`` naming the path when it cannot."""
    parts = [p for p in path.split(".") if p]
    if not parts:
        raise UserInputError("The field path is empty.", field="path", fix="name a field such as venue.address.country")
    node = target
    for i, part in enumerate(parts):
        last = i == len(parts) - 1
        m = _INDEX.match(part)
        key, index = (m.group(1), int(m.group(2))) if m else (part, None)
        if key:
            if not isinstance(node, dict):
                raise UserInputError(f"Cannot set {path}: {'.'.join(parts[:i]) or 'the body'} is not a mapping.", field=path, fix="check the path")
            if index is None and last:
                node[key] = value
                return
            node = node.setdefault(key, [] if index is not None else {})
        if index is not None:
            if not isinstance(node, list) or index > len(node):
                raise UserInputError(f"Cannot set {path}: there is no item {index} to set.", field=path, fix="use an existing index or the next one")
            if index == len(node):
                node.append({} if not last else value)
            if last:
                node[index] = value
                return
            node = node[index]
