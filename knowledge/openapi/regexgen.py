"""A string that matches a schema's ``pattern``.

The pattern is parsed with the standard library's own regex parser (``re._parser``,
so the dialect is exactly the one ``re`` accepts) and walked to build the shortest
readable string: literals as written, classes by their first allowed character,
repeats at their minimum (or three for ``+``-like repeats, which reads better),
the first branch of an alternation. Whatever comes out is checked with
``re.search``; anything this walk cannot honour (lookarounds, back-references
into odd places) yields None and the caller falls back to another sample.
"""

from __future__ import annotations

import re
from typing import Any

try:  # the parser is private API of the stdlib; without it only the fallback remains
    from re import _constants as _c
    from re import _parser as _p
except ImportError:  # pragma: no cover - older or other Pythons
    _c = _p = None

__all__ = ["string_for_pattern"]

_MAX_OUTPUT = 200


def string_for_pattern(pattern: str, *, min_length: int | None = None, max_length: int | None = None) -> str | None:
    """Return a string matching ``pattern`` (searched as ``re.search`` does) within
    the length bounds, or None when none could be built."""
    if _p is None:
        return None
    try:
        compiled = re.compile(pattern)
        parsed = _p.parse(pattern)
    except (re.error, RecursionError, OverflowError, ValueError):
        return None
    try:
        text = _Walker().walk(parsed)
    except (_GiveUp, RecursionError):
        return None
    if len(text) > _MAX_OUTPUT:
        return None
    if min_length is not None and len(text) < min_length:
        # Often a pattern leaves room at its end (e.g. "^[a-z]+"); pad and re-check.
        padded = text + text[-1:] * (min_length - len(text)) if text else None
        text = padded if padded and compiled.search(padded) else text
    if compiled.search(text) is None:
        return None
    if (min_length is not None and len(text) < min_length) or (max_length is not None and len(text) > max_length):
        return None
    return text


class _GiveUp(Exception):
    """The pattern uses something the walk does not produce text for."""


class _Walker:
    def __init__(self) -> None:
        self.groups: dict[int, str] = {}

    def walk(self, items: Any) -> str:
        return "".join(self._item(op, av) for op, av in items)

    def _item(self, op: Any, av: Any) -> str:
        if op is _c.LITERAL:
            return chr(av)
        if op is _c.NOT_LITERAL:
            return "a" if chr(av) != "a" else "b"
        if op is _c.ANY:
            return "a"
        if op is _c.IN:
            return _pick(av)
        if op in (_c.MAX_REPEAT, _c.MIN_REPEAT, getattr(_c, "POSSESSIVE_REPEAT", None)):
            low, high, sub = av
            count = low
            if 1 <= low < 3 and high > low:
                count = min(high, 3)
            if count > _MAX_OUTPUT:
                raise _GiveUp
            return "".join(self.walk(sub) for _ in range(count))
        if op is _c.SUBPATTERN:
            group, _add, _del, sub = av
            text = self.walk(sub)
            if group is not None:
                self.groups[group] = text
            return text
        if op is _c.BRANCH:
            return self.walk(av[1][0])
        if op is _c.AT:
            return ""
        if op is _c.GROUPREF:
            return self.groups.get(av, "")
        if op in (_c.ASSERT, _c.ASSERT_NOT):
            return ""  # the final re.search decides whether the lookaround holds
        if op is getattr(_c, "ATOMIC_GROUP", None):
            return self.walk(av)
        raise _GiveUp


_CATEGORY_CHARS = {
    "CATEGORY_DIGIT": "1",
    "CATEGORY_NOT_DIGIT": "a",
    "CATEGORY_SPACE": " ",
    "CATEGORY_NOT_SPACE": "a",
    "CATEGORY_WORD": "a",
    "CATEGORY_NOT_WORD": "-",
}


def _pick(items: list) -> str:
    """Return one character the character class ``items`` allows."""
    negate = any(op is _c.NEGATE for op, _ in items)
    if negate:
        for ch in "aA1-_ .":
            if not _class_has(items, ch):
                return ch
        raise _GiveUp
    for op, av in items:
        if op is _c.LITERAL:
            return chr(av)
        if op is _c.RANGE:
            return chr(av[0])
        if op is _c.CATEGORY:
            return _CATEGORY_CHARS.get(str(av), "a")
    raise _GiveUp


def _class_has(items: list, ch: str) -> bool:
    code = ord(ch)
    for op, av in items:
        if op is _c.LITERAL and av == code:
            return True
        if op is _c.RANGE and av[0] <= code <= av[1]:
            return True
        if op is _c.CATEGORY:
            name = str(av)
            checks = {
                "CATEGORY_DIGIT": ch.isdigit(),
                "CATEGORY_NOT_DIGIT": not ch.isdigit(),
                "CATEGORY_SPACE": ch.isspace(),
                "CATEGORY_NOT_SPACE": not ch.isspace(),
                "CATEGORY_WORD": ch.isalnum() or ch == "_",
                "CATEGORY_NOT_WORD": not (ch.isalnum() or ch == "_"),
            }
            if checks.get(name, False):
                return True
    return False
