"""Field constraints (``plugwire.core.plugincore.suggesters.FieldConstraint``) read from schemas.

Paths are dotted as in the catalogue format: ``venue.address.country``, list items
as ``[]`` (``fields[].name``), query parameters prefixed ``query.``.
"""

from __future__ import annotations

from typing import Any

from plugwire.knowledge.openapi.document import Resolver, plain, required_names
from plugwire.knowledge.openapi.samples import merge_all_of, schema_type

__all__ = ["constraint_for", "body_constraints"]

_MAX_ENUM = 100
_MAX_DESCRIPTION = 200


def constraint_for(path: str, schema: dict, *, required: bool, description: Any = None,
                   resolver: Resolver | None = None) -> dict:
    """Return one constraint (a dict in the catalogue's shape) for the field at ``path``."""
    item: dict[str, Any] = {"path": path}
    kind = schema_type(schema)
    if kind is None and resolver is not None:
        # oneOf/anyOf: the type of the first branch that has one (Stripe: object or "").
        for branch in schema.get("oneOf") or schema.get("anyOf") or []:
            target = resolver.node(branch)
            kind = schema_type(target) if isinstance(target, dict) else None
            if kind and kind != "null":
                break
    if kind:
        item["type"] = kind
    if required:
        item["required"] = True
    for key, name in (("pattern", "pattern"), ("format", "format")):
        if isinstance(schema.get(key), str):
            item[name] = schema[key]
    enum = schema.get("enum")
    if isinstance(enum, list) and enum:
        item["enum"] = plain(enum[:_MAX_ENUM])
    for key, name in (("minLength", "min_length"), ("maxLength", "max_length")):
        if isinstance(schema.get(key), int) and not isinstance(schema.get(key), bool):
            item[name] = schema[key]
    for key, name in (("minimum", "minimum"), ("maximum", "maximum")):
        value = schema.get(key)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            item[name] = value
    text = description if description is not None else schema.get("description")
    if isinstance(text, str) and text.strip():
        line = " ".join(text.split())
        item["description"] = line if len(line) <= _MAX_DESCRIPTION else line[: _MAX_DESCRIPTION - 1] + "…"
    return item


def body_constraints(schema: Any, resolver: Resolver, *, max_depth: int = 4, limit: int = 120) -> list[dict]:
    """Return the constraints of every field of a request body schema, depth-first,
    up to ``max_depth`` levels and ``limit`` fields; recursive schemas are cut."""
    out: list[dict] = []
    _walk(schema, resolver, "", (), 0, max_depth, limit, out)
    return out


def _walk(schema: Any, resolver: Resolver, prefix: str, stack: tuple, depth: int, max_depth: int, limit: int, out: list) -> None:
    schema, stack = resolver.deref(schema, stack)
    if not isinstance(schema, dict) or depth >= max_depth or len(out) >= limit:
        return
    if "allOf" in schema:
        schema, stack = merge_all_of(schema, resolver, stack)
    if not schema.get("properties"):
        for key in ("oneOf", "anyOf"):
            # The first object-like branch describes the body the sample shows.
            for branch in schema.get(key) or []:
                target, branch_stack = resolver.deref(branch, stack)
                if isinstance(target, dict) and schema_type(target) in ("object", "array"):
                    _walk(target, resolver, prefix, branch_stack, depth, max_depth, limit, out)
                    return
    kind = schema_type(schema)
    if kind == "array":
        _walk(schema.get("items"), resolver, f"{prefix}[]", stack, depth + 1, max_depth, limit, out)
        return
    props = schema.get("properties")
    if kind != "object" or not isinstance(props, dict):
        return
    required = set(required_names(schema))
    for name, sub in props.items():
        if len(out) >= limit:
            return
        target, sub_stack = resolver.deref(sub, stack)
        if not isinstance(target, dict) or target.get("readOnly"):
            continue
        if "allOf" in target:
            target, sub_stack = merge_all_of(target, resolver, sub_stack)
        path = f"{prefix}.{name}" if prefix else str(name)
        out.append(constraint_for(path, target, required=name in required, resolver=resolver))
        if schema_type(target) in ("object", "array") or target.get("oneOf") or target.get("anyOf"):
            _walk(target, resolver, path, sub_stack, depth + 1, max_depth, limit, out)
