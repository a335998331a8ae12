"""Checks for faults in a document's data that would mislead a sample request."""

from __future__ import annotations

import re
from typing import Any

from plugwire.knowledge.openapi.document import Faults, Resolver
from plugwire.knowledge.openapi.samples import singular

__all__ = ["check_path_params", "wrapper_mismatch"]


def check_path_params(path: str, declared: set[str], label: str, faults: Faults) -> None:
    """Record placeholders of ``path`` that no parameter declares, and path
    parameters that name no placeholder."""
    used = re.findall(r"\{([^{}/]*)\}", path)
    for name in used:
        if name not in declared:
            faults.add(f"{label}: path parameter {{{name}}} is not declared")
    for name in sorted(declared - set(used)):
        faults.add(f"{label}: declares the path parameter {name!r}, which the path does not contain")


def wrapper_mismatch(path: str, schema: Any, description: Any, resources: set[str], resolver: Resolver) -> str | None:
    """Return a message when a body wraps its fields in a key naming another resource
    than the path's (Eventbrite's create venue under ``event``), else None.

    A body counts as a wrapper when its schema has exactly one property and that
    property is an object. It is a fault when the key differs from the path's last
    literal segment (singular or plural) and either names another resource of the
    document or the body's own description names the expected key.
    """
    target = resolver.node(schema)
    props = target.get("properties") if isinstance(target, dict) else None
    if not isinstance(props, dict) or len(props) != 1:
        return None
    key, inner = next(iter(props.items()))
    inner = resolver.node(inner)
    if not isinstance(inner, dict) or not (inner.get("properties") or inner.get("type") == "object" or inner.get("allOf")):
        return None
    segments = [s for s in path.split("/") if s and "{" not in s]
    if not segments:
        return None
    resource = segments[-1]
    expected = singular(resource)
    if key in (resource, expected) or singular(key) == expected:
        return None
    texts = [t for t in (description, target.get("description")) if isinstance(t, str)]
    named = any(re.search(rf"\bpropert(y|ies)\s+`?{re.escape(expected)}`?\b", t, re.I) for t in texts)
    if key in resources or singular(key) in resources or named:
        why = f"; its description says the property is {expected!r}" if named else ""
        return (f"the body wraps its fields in {key!r}, but the path is about {resource!r} "
                f"(expected the wrapper key {expected!r}){why}")
    return None
