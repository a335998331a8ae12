"""Datapills: values of a step that point into the trigger's event or an earlier
step's output.

Syntax: ``{{trigger.payload.venue.name}}``, ``{{steps.create_venue.response.body.id}}``.
A path is dotted; ``[0]`` (or ``.0``) picks an array element and ``["odd key"]`` a
key with dots or spaces. A value that is exactly one pill keeps the JSON type of
what it points at (a number stays a number, an object an object); pills inside
longer text are written into it as text. ``\\{{`` writes a literal ``{{``.

Nothing here evaluates code: a pill is a path and nothing else, and anything else
between the braces is refused when the recipe is saved.
"""

from __future__ import annotations

import functools
import json
import re
from dataclasses import dataclass
from typing import Any, Iterator

from plugwire.core.base.errors import PlugwireError, UserInputError
from plugwire.core.wizard.datatree import DataField, DataTree

__all__ = ["MissingValue", "Pill", "check_pill", "find_pills", "item_tree", "parse_pill", "render"]

_PILL = re.compile(r"(?<!\\)\{\{(.*?)\}\}", re.S)
_IDENT = re.compile(r"[A-Za-z0-9_$@#:\-]+")
_ROOTS = ("trigger", "steps")
_INDEX = re.compile(r"0|[1-9][0-9]{0,8}")


class MissingValue(PlugwireError):
    """At run time, a pill pointed at a field the data did not have."""


@dataclass(frozen=True)
class Pill:
    """A parsed pill: its text as written and its path segments (str keys, int indexes)."""

    text: str
    path: tuple[str | int, ...]

    @property
    def dotted(self) -> str:
        """Return the path written back as ``a.b[0].c``."""
        return format_path(self.path)


def format_path(path: tuple[str | int, ...]) -> str:
    """Return ``path`` as readable text: ``payload.items[0].name``."""
    out = ""
    for seg in path:
        if isinstance(seg, int):
            out += f"[{seg}]"
        elif _IDENT.fullmatch(seg):
            out += ("." if out else "") + seg
        else:
            out += f"[{json.dumps(seg)}]"
    return out


def parse_pill(inner: str, *, where: str) -> Pill:
    """Return the :class:`Pill` for the text between ``{{`` and ``}}``.

    Raises ``UserInputError`` naming ``where`` when it is not a path into
    ``trigger`` or ``steps.NAME``.
    """
    text = inner.strip()
    segs: list[str | int] = []
    i = 0
    fix = "write a path such as {{trigger.payload.name}} or {{steps.STEP.response.body.id}}"
    while i < len(text):
        ch = text[i]
        if ch == "." and segs:
            i += 1
            m = _IDENT.match(text, i)
            if not m:
                raise UserInputError(f"{where}: {{{{{inner}}}}} has an empty or invalid name after a dot.", field=where, fix=fix)
            seg = m.group(0)
            # .0 picks an element; .007 or a 30-digit name is a key (an index would lose its text).
            segs.append(int(seg) if _INDEX.fullmatch(seg) else seg)
            i = m.end()
        elif ch == "[":
            quote = text[i + 1 : i + 2]
            if quote in ("'", '"'):
                close = text.find(quote, i + 2)
                if close < 0 or text[close + 1 : close + 2] != "]":
                    raise UserInputError(f"{where}: {{{{{inner}}}}} has an unclosed quoted key.", field=where, fix=fix)
                segs.append(text[i + 2 : close])
                i = close + 2
                continue
            end = text.find("]", i)
            body = text[i + 1 : end].strip() if end > 0 else ""
            if not _INDEX.fullmatch(body.lstrip("0") or "0"):  # ASCII digits ('²' is a digit to str.isdigit), < 10**9
                raise UserInputError(
                    f"{where}: {{{{{inner}}}}} has a '[' that is neither an index [0] nor a quoted key [\"key\"].",
                    field=where,
                    fix=fix,
                )
            segs.append(int(body))
            i = end + 1
        elif not segs:
            m = _IDENT.match(text, i)
            if not m:
                raise UserInputError(f"{where}: {{{{{inner}}}}} is not a datapill.", field=where, fix=fix)
            segs.append(m.group(0))
            i = m.end()
        else:
            raise UserInputError(
                f"{where}: {{{{{inner}}}}} is not a datapill (only paths are allowed, no expressions).", field=where, fix=fix
            )
    if not segs or segs[0] not in _ROOTS:
        raise UserInputError(f"{where}: {{{{{inner}}}}} must start with 'trigger' or 'steps'.", field=where, fix=fix)
    if segs[0] == "steps" and (len(segs) < 2 or not isinstance(segs[1], str)):
        raise UserInputError(f"{where}: {{{{{inner}}}}} must name a step after 'steps.'.", field=where, fix=fix)
    return Pill(text=f"{{{{{inner}}}}}", path=tuple(segs))


def find_pills(value: Any, where: str = "") -> Iterator[tuple[str, Pill]]:
    """Yield ``(location, pill)`` for every pill in ``value`` (strings, dicts, lists),
    where location is the dotted place of the value (``body.venue.name``).

    Raises ``UserInputError`` for a malformed pill, naming its location.
    """
    if isinstance(value, str):
        for m in _PILL.finditer(value):
            yield where, parse_pill(m.group(1), where=where or "value")
    elif isinstance(value, dict):
        for k, v in value.items():
            yield from find_pills(v, f"{where}.{k}" if where else str(k))
    elif isinstance(value, list):
        for n, v in enumerate(value):
            yield from find_pills(v, f"{where}[{n}]")


# -- run time -------------------------------------------------------------------------
_ABSENT = object()
_SCALARS = frozenset({int, float, bool, type(None)})


def lookup(data: Any, path: tuple[str | int, ...]) -> Any:
    """Return the value at ``path`` in ``data``, or raise ``KeyError`` with the index
    of the first segment that is missing."""
    cur = data
    for n, seg in enumerate(path):
        if isinstance(cur, dict):
            key = seg if isinstance(seg, str) else str(seg)
            cur = cur.get(key, _ABSENT)
        elif isinstance(cur, list) and isinstance(seg, int):
            cur = cur[seg] if -len(cur) <= seg < len(cur) else _ABSENT
        else:
            cur = _ABSENT
        if cur is _ABSENT:
            raise KeyError(n)
    return cur


def _as_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def _value(pill: Pill, context: dict[str, Any], where: str) -> Any:
    try:
        return lookup(context, pill.path)
    except KeyError as exc:
        n = exc.args[0]
        missing = format_path(pill.path[: n + 1])
        raise MissingValue(
            f"{pill.text} in {where} has no value: the field {missing!r} is missing from this job's data.",
            field=missing,
            fix="send the field, or point the pill at a field the data always has",
        ) from None


@functools.lru_cache(maxsize=4096)
def _template(value: str, where: str) -> Pill | tuple[str | Pill, ...]:
    """Return ``value`` parsed once: the :class:`Pill` when the whole value is one pill,
    else its parts in order (literal text, escapes already undone, and pills).

    Raises ``UserInputError`` naming ``where`` for a malformed pill (not cached).
    """
    found = list(_PILL.finditer(value))
    if len(found) == 1 and found[0].span() == (0, len(value)):
        return parse_pill(found[0].group(1), where=where)
    parts: list[str | Pill] = []
    last = 0
    for m in found:
        if m.start() > last:
            parts.append(value[last : m.start()].replace("\\{{", "{{"))
        parts.append(parse_pill(m.group(1), where=where))
        last = m.end()
    if last < len(value):
        parts.append(value[last:].replace("\\{{", "{{"))
    return tuple(parts)


def render(value: Any, context: dict[str, Any], *, where: str = "") -> Any:
    """Return ``value`` with every pill replaced from ``context`` (``{"trigger": event,
    "steps": {name: output}}``): a lone pill keeps its type, embedded pills become text.

    Raises ``MissingValue`` naming the location and the missing field (the caller names
    the step), and ``UserInputError`` for a malformed pill.
    """
    if isinstance(value, str):
        if "{{" not in value:
            return value
        # Parsed once per distinct text and place: a recipe's values repeat for every event.
        tpl = _template(value, where)
        if isinstance(tpl, Pill):
            return _value(tpl, context, where)
        return "".join(p if isinstance(p, str) else _as_text(_value(p, context, where)) for p in tpl)
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            # Plain text and numbers (most of a request) skip the call and the place's name.
            out[k] = v if (type(v) is str and "{{" not in v) or type(v) in _SCALARS else render(
                v, context, where=f"{where}.{k}" if where else str(k))
        return out
    if isinstance(value, list):
        return [render(v, context, where=f"{where}[{n}]") for n, v in enumerate(value)]
    return value


# -- save time --------------------------------------------------------------------------
def _walk(node: DataField, path: tuple[str | int, ...], open_prefixes: set[tuple]) -> int | None:
    """Return the index of the first segment of ``path`` not in the tree under ``node``, or None."""
    for n, seg in enumerate(path):
        if path[:n] in open_prefixes or node.type == "any":
            return None
        if node.type == "array" and isinstance(seg, int):
            if node.item is None:  # the sample array was empty: its elements are unknown
                return None
            node = node.item
            continue
        if node.type == "object":
            found = next((c for c in node.children if c.name == str(seg)), None)
            if found is not None:
                node = found
                continue
        return n
    return None


def check_pill(pill: Pill, rel: tuple[str | int, ...], tree: DataTree | None, *, open_paths: list[str] = ()) -> str | None:
    """Check the part ``rel`` of ``pill``'s path against ``tree``; return the missing
    field's path (as text) or None when the field exists. ``open_paths`` are dotted
    paths under which any key is accepted (e.g. ``headers``). A None tree accepts all."""
    if tree is None:
        return None
    prefixes = {tuple(p.split(".")) for p in open_paths if p}
    n = _walk(tree.root, rel, prefixes)
    return None if n is None else format_path(rel[: n + 1])


def item_tree(tree: DataTree | None, records: str | None) -> DataTree | None:
    """Return the datatree of one item a paginated action gathers: the element of the
    list at ``records`` in its saved response ``tree`` (the body itself when records is
    empty); None when it is not known (no sample, or an empty list in it), which
    accepts any field as :func:`check_pill` does for an unknown tree."""
    node = tree.find(records or "") if tree is not None else None
    if node is None or node.type != "array" or node.item is None:
        return None
    return DataTree(source=tree.source, root=node.item)
