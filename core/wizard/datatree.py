"""Datatrees: the output fields of a step, inferred from a sample of its data.

A datatree names every field a later step may point at, with its type: nested
objects are nested fields, an array has one ``[]`` item field describing its
elements, and the elements of an array of objects are merged (a key present in some
elements only is ``optional``; a key that is sometimes null is ``nullable``). Paths
are dotted with ``[]`` for array items, the same notation as field constraints:
``venue.address.country``, ``[].lead.displayName``.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any, Iterator, Literal

from pydantic import BaseModel, Field

from plugwire.core.base.errors import UserInputError
from plugwire.core.base.secrets import MASK
from plugwire.core.http.exchange import ReceivedResponse, is_sensitive_name

__all__ = ["DataField", "DataTree", "FieldType", "infer", "infer_response", "infer_xml", "read_as_type_of", "value_at"]

FieldType = Literal["string", "integer", "number", "boolean", "null", "object", "array", "any"]
_EXAMPLE_LIMIT = 80
_INDEX = re.compile(r"^(.*)\[(\d+)\]$")  # items[0], as set_path reads a path


class DataField(BaseModel):
    """One field: its key, dotted path, type, and children (object) or item (array)."""

    name: str
    path: str
    type: FieldType
    nullable: bool = False
    optional: bool = False
    example: Any = None
    children: list["DataField"] = Field(default_factory=list)
    item: "DataField | None" = None

    def walk(self) -> Iterator["DataField"]:
        """Yield this field and every field below it, depth first."""
        yield self
        for child in self.children:
            yield from child.walk()
        if self.item is not None:
            yield from self.item.walk()


class DataTree(BaseModel):
    """The fields of one sample, and where the sample came from (json, xml, text...)."""

    source: Literal["json", "xml", "text", "bytes", "empty"]
    root: DataField

    def fields(self) -> list[DataField]:
        """Return every field except the root, depth first."""
        return [f for f in self.root.walk() if f is not self.root]

    def paths(self) -> list[str]:
        """Return the path of every field except the root."""
        return [f.path for f in self.fields()]

    def find(self, path: str) -> DataField | None:
        """Return the field at ``path`` (``""`` is the root), or None."""
        for f in self.root.walk():
            if f.path == path:
                return f
        return None


def _join(parent: str, name: str) -> str:
    if name == "[]":
        return f"{parent}[]"
    return f"{parent}.{name}" if parent else name


def _type_of(value: Any) -> FieldType:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, dict):
        return "object"
    if isinstance(value, (list, tuple)):
        return "array"
    return "any"


def _example(name: str, value: Any) -> Any:
    if isinstance(value, str):
        if is_sensitive_name(name) and value:
            return MASK  # a token in a response is still a token
        return value if len(value) <= _EXAMPLE_LIMIT else value[: _EXAMPLE_LIMIT - 1] + "…"
    return value if isinstance(value, (int, float, bool)) else None


def _field(name: str, path: str, value: Any) -> DataField:
    kind = _type_of(value)
    node = DataField(name=name, path=path, type=kind, nullable=kind == "null", example=_example(name, value))
    if kind == "object":
        node.children = [_field(str(k), _join(path, str(k)), v) for k, v in value.items()]
    elif kind == "array":
        item: DataField | None = None
        for element in value:
            one = _field("[]", _join(path, "[]"), element)
            item = one if item is None else _merge(item, one)
        node.item = item
    return node


def _merge(a: DataField, b: DataField) -> DataField:
    """Return one field describing both samples ``a`` and ``b`` of the same path."""
    if a.type == "null" and b.type != "null":
        return b.model_copy(update={"nullable": True, "optional": a.optional or b.optional})
    if b.type == "null":
        return a.model_copy(update={"nullable": True, "optional": a.optional or b.optional})
    out = a.model_copy(update={"nullable": a.nullable or b.nullable, "optional": a.optional or b.optional})
    if a.type != b.type:
        numeric = {a.type, b.type} == {"integer", "number"}
        out.type = "number" if numeric else "any"
        out.children, out.item = [], None
        return out
    if a.type == "object":
        theirs = {c.name: c for c in b.children}
        ours = {c.name for c in a.children}
        merged = []
        for child in a.children:
            if child.name in theirs:
                merged.append(_merge(child, theirs[child.name]))
            else:
                merged.append(child.model_copy(update={"optional": True}))
        merged += [c.model_copy(update={"optional": True}) for c in b.children if c.name not in ours]
        out.children = merged
    elif a.type == "array":
        if a.item is None or b.item is None:
            out.item = a.item or b.item
        else:
            out.item = _merge(a.item, b.item)
    if out.example is None:
        out.example = b.example
    return out


def infer(value: Any, source: Literal["json", "xml", "text", "bytes", "empty"] = "json") -> DataTree:
    """Return the datatree of one sample ``value`` (parsed JSON, or XML as data)."""
    return DataTree(source=source, root=_field("", "", value))


def infer_xml(text: str | bytes) -> DataTree:
    """Return the datatree of an XML document (see :func:`plugwire.core.http.body.xml_to_data`).

    Raises ``xml.etree.ElementTree.ParseError`` for a document that is not well-formed.
    """
    from plugwire.core.http.body import xml_to_data

    return infer(xml_to_data(text), "xml")


def infer_response(response: ReceivedResponse) -> DataTree:
    """Return the datatree of a captured response: its fields for JSON and XML, one
    string (text) or base64 string (bytes) root otherwise."""
    if response.format == "empty":
        return DataTree(source="empty", root=DataField(name="", path="", type="null", nullable=True))
    if response.format in ("json", "xml"):
        return infer(response.body, response.format)
    return DataTree(source=response.format, root=DataField(name="", path="", type="string"))


def value_at(data: Any, path: str) -> Any:
    """Return the value at dotted ``path`` (``owner.id``, ``items[0].sku``) in
    ``data``, or None when it is absent."""
    node = data
    for part in (p for p in path.split(".") if p):
        m = _INDEX.match(part)
        key, index = (m.group(1), int(m.group(2))) if m else (part, None)
        if key:
            node = node.get(key) if isinstance(node, dict) else None
        if index is not None:
            node = node[index] if isinstance(node, list) and index < len(node) else None
        if node is None:
            return None
    return node


def read_as_type_of(current: Any, text: str, path: str) -> Any:
    """Return ``text``, typed for the field ``path`` (``PATH=TEXT``), as a value of
    the JSON type ``current`` has: a number stays a number, a boolean a boolean; a
    string field, or one that is absent or null, gets the text itself.

    Raises ``UserInputError`` naming ``path`` when the text is not of that type
    (the fix shows the ``PATH:=JSON`` form, which sets a value of any type).
    """
    kind = _type_of(current)
    if kind == "boolean" and text.strip().lower() in ("true", "false"):
        return text.strip().lower() == "true"
    if kind in ("integer", "number"):
        try:
            value = json.loads(text)
        except ValueError:
            value = None
        if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
            return value
    if kind in ("object", "array"):
        raise UserInputError(
            f"{path} is an {kind} field: a text cannot replace it.", field=path,
            fix=f'set it as JSON: {path}:=JSON, e.g. {path}:=["a"] or {path}:={{"a": 1}}',
        )
    if kind in ("boolean", "integer", "number"):
        expected = "true or false" if kind == "boolean" else "a number"
        raise UserInputError(
            f"{path} is a {'boolean' if kind == 'boolean' else 'number'} field; {text!r} is not {expected}.", field=path,
            fix=f'type {expected}, or set a value of another type as JSON: {path}:=JSON, e.g. {path}:="text" for a string',
        )
    return text
