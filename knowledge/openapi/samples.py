"""Sample values generated from JSON Schemas (OpenAPI flavour).

The document's own examples always win (``example``, ``examples``, ``default``,
``const``, the first ``enum`` value); otherwise a value is built that respects the
schema: required properties, formats, patterns, length and range limits, and the
first usable branch of ``oneOf``/``anyOf`` (``allOf`` parts are merged). Recursive
schemas are cut where they would repeat, and depth is bounded so a sample stays a
sample.
"""

from __future__ import annotations

import re
from typing import Any

from plugwire.knowledge.openapi.document import Resolver, plain, required_names
from plugwire.knowledge.openapi.regexgen import string_for_pattern

__all__ = ["CUT", "SampleGenerator", "merge_all_of", "schema_type", "singular"]

#: Returned where a sample would recurse into itself (or exceed the depth bound).
CUT = object()

_FORMATS: dict[str, Any] = {
    "date-time": "2024-01-15T09:30:00Z",
    "date": "2024-01-15",
    "time": "09:30:00",
    "duration": "P1D",
    "email": "user@example.com",
    "idn-email": "user@example.com",
    "uuid": "3fa85f64-5717-4562-b3fc-2c963f66afa6",
    "uri": "https://example.com/resource",
    "url": "https://example.com/resource",
    "iri": "https://example.com/resource",
    "uri-reference": "/resource",
    "uri-template": "https://example.com/{id}",
    "hostname": "example.com",
    "idn-hostname": "example.com",
    "ipv4": "192.0.2.10",
    "ipv6": "2001:db8::10",
    "byte": "ZXhhbXBsZQ==",
    "binary": "example.bin",
    "password": "example-password",
    "phone": "+14155550100",
    "json-pointer": "/items/0",
    "regex": "^[a-z]+$",
}

# Names whose usual values a generic "string" would misrepresent; checked against
# the schema's own limits before use.
_NAMED: list[tuple[re.Pattern, Any]] = [
    (re.compile(r"(^|_)e?mail(_address)?$", re.I), "user@example.com"),
    (re.compile(r"country(_code)?$", re.I), "US"),
    (re.compile(r"currency(_code)?$", re.I), "usd"),
    (re.compile(r"(^|_)(locale|language)$", re.I), "en-US"),
    (re.compile(r"time_?zone$", re.I), "America/Los_Angeles"),
    (re.compile(r"(^|_)city$", re.I), "San Francisco"),
    (re.compile(r"(^|_)(region|state)$", re.I), "CA"),
    (re.compile(r"(postal_code|zip(_code)?|postcode)$", re.I), "94105"),
    (re.compile(r"(^|_)(address_?1|line_?1|street)$", re.I), "1 Main Street"),
    (re.compile(r"phone(_number)?$", re.I), "+14155550100"),
    (re.compile(r"(url|uri|href|website)$", re.I), "https://example.com/resource"),
    (re.compile(r"(^|_)(first_?name|given_?name)$", re.I), "Ada"),
    (re.compile(r"(^|_)(last_?name|family_?name|surname)$", re.I), "Lovelace"),
    (re.compile(r"(^|_)(owner|user_?name|login)$", re.I), "octocat"),
    (re.compile(r"(^|_)repo(sitory)?$", re.I), "hello-world"),
    (re.compile(r"(^|_)(color|colour)$", re.I), "ff0000"),
    (re.compile(r"(^|_)(id|.*_id|key|sha)$", re.I), "12345"),
    (re.compile(r"(^|_)(name|title|summary|subject|label)$", re.I), "Example {words}"),
    (re.compile(r"(description|body|message|text|comment|note)s?$", re.I), "Example {words}"),
]

_NUMBER_NAMES = {"page": 1, "per_page": 10, "limit": 10, "page_size": 10, "count": 10, "offset": 0, "amount": 1000}


def schema_type(schema: dict) -> str | None:
    """Return the schema's type (first non-null of a 3.1 type list), inferred when absent."""
    kind = schema.get("type")
    if isinstance(kind, list):
        kinds = [k for k in kind if k != "null"]
        kind = kinds[0] if kinds else "null"
    if isinstance(kind, str):
        return kind
    if "properties" in schema or "additionalProperties" in schema or "required" in schema:
        return "object"
    if "items" in schema:
        return "array"
    if any(k in schema for k in ("pattern", "minLength", "maxLength", "format")):
        return "string"
    if any(k in schema for k in ("minimum", "maximum", "multipleOf")):
        return "number"
    return None


def merge_all_of(schema: dict, resolver: Resolver, stack: tuple[str, ...]) -> tuple[dict, tuple[str, ...]]:
    """Return ``schema`` with its ``allOf`` parts merged into one (properties and
    required lists united, other keys first-wins), and the refs followed."""
    merged = {k: v for k, v in schema.items() if k != "allOf"}
    props = dict(merged.get("properties") or {})
    required = required_names(merged)
    for part in schema.get("allOf") or []:
        part, stack_part = resolver.deref(part, stack)
        if not isinstance(part, dict):
            continue
        if "allOf" in part:
            part, stack_part = merge_all_of(part, resolver, stack_part)
        stack = stack_part
        for key, value in part.items():
            if key == "properties" and isinstance(value, dict):
                for name, sub in value.items():
                    props.setdefault(name, sub)
            elif key == "required" and isinstance(value, list):
                required.extend(r for r in value if r not in required)
            else:
                merged.setdefault(key, value)
    if props:
        merged["properties"] = props
    if required:
        merged["required"] = required
    return merged, stack


class SampleGenerator:
    """Builds sample values from schemas of one document.

    ``mode`` "request" leaves out ``readOnly`` properties, "response" leaves out
    ``writeOnly`` ones. Objects get their required properties plus optional ones up
    to a cap (more at the top level than deeper down).
    """

    def __init__(self, resolver: Resolver, *, max_depth: int = 6, top_cap: int = 8, nested_cap: int = 6):
        self.resolver = resolver
        self.max_depth = max_depth
        self.top_cap = top_cap
        self.nested_cap = nested_cap

    def sample(self, schema: Any, *, name: str = "", mode: str = "request") -> Any:
        """Return a sample value for ``schema`` (None when it describes nothing usable)."""
        value = self._gen(schema, name, 0, (), mode)
        return None if value is CUT else value

    def _gen(self, schema: Any, name: str, depth: int, stack: tuple[str, ...], mode: str) -> Any:
        schema, stack = self.resolver.deref(schema, stack)
        if schema is None:
            return CUT
        if not isinstance(schema, dict):
            return None if schema is not True else "value"
        found, value = _documented(schema)
        if found:
            return plain(value)
        if "allOf" in schema:
            schema, stack = merge_all_of(schema, self.resolver, stack)
            found, value = _documented(schema)
            if found:
                return plain(value)
        for key in ("oneOf", "anyOf"):
            if key in schema and not schema.get("properties"):
                return self._first_branch(schema[key], name, depth, stack, mode)
        kind = schema_type(schema)
        if kind == "object":
            return self._object(schema, depth, stack, mode)
        if kind == "array":
            if depth >= self.max_depth:
                return []
            item = self._gen(schema.get("items", {}), singular(name), depth + 1, stack, mode)
            if item is CUT or item is None:
                return []
            return [item] * max(1, min(int(schema.get("minItems") or 1), 3))
        if kind == "string":
            return _string(schema, name)
        if kind in ("integer", "number"):
            return _number(schema, name, kind)
        if kind == "boolean":
            return False
        if kind == "null":
            return None
        return None

    def _first_branch(self, branches: Any, name: str, depth: int, stack: tuple[str, ...], mode: str) -> Any:
        for branch in branches if isinstance(branches, list) else []:
            target, _ = self.resolver.deref(branch, stack)
            if isinstance(target, dict) and (schema_type(target) == "null" or _only_blank_enum(target)):
                continue  # Stripe's anyOf [object, enum [""]]: "" means "unset", not a sample
            value = self._gen(branch, name, depth, stack, mode)
            if value is not CUT and value != "":
                return value
        return CUT

    def _object(self, schema: dict, depth: int, stack: tuple[str, ...], mode: str) -> Any:
        if depth >= self.max_depth:
            return CUT
        props = schema.get("properties") if isinstance(schema.get("properties"), dict) else {}
        required = required_names(schema)
        cap = self.top_cap if depth == 0 else self.nested_cap
        skip = "readOnly" if mode == "request" else "writeOnly"
        out: dict[str, Any] = {}
        for prop in required:
            value = self._gen(props.get(prop, {"type": "string"}), prop, depth + 1, stack, mode)
            out[prop] = _placeholder(props.get(prop)) if value is CUT else value
        for prop, sub in props.items():
            if len(out) >= max(cap, len(required)):
                break
            if prop in out:
                continue
            target, _ = self.resolver.deref(sub, stack)
            if not isinstance(target, dict) or target.get(skip) or target.get("deprecated"):
                continue
            value = self._gen(sub, prop, depth + 1, stack, mode)
            if value is not CUT and value is not None:
                out[prop] = value
        if not props and isinstance(schema.get("additionalProperties"), dict) and depth + 1 < self.max_depth:
            value = self._gen(schema["additionalProperties"], "key", depth + 1, stack, mode)
            if value is not CUT and value is not None:
                out["key"] = value
        return out


def _documented(schema: dict) -> tuple[bool, Any]:
    """Return (True, value) when the schema carries its own sample value."""
    if "example" in schema:
        return True, schema["example"]
    examples = schema.get("examples")
    if isinstance(examples, list) and examples:
        return True, examples[0]
    if "const" in schema:
        return True, schema["const"]
    if schema.get("default") is not None:
        return True, schema["default"]
    enum = [v for v in schema.get("enum") or [] if v is not None and v != ""]
    if enum:
        return True, enum[0]
    return False, None


def _only_blank_enum(schema: dict) -> bool:
    enum = schema.get("enum")
    return isinstance(enum, list) and bool(enum) and all(v in (None, "") for v in enum)


def _placeholder(schema: Any) -> Any:
    kind = schema_type(schema) if isinstance(schema, dict) else None
    return {"object": {}, "array": []}.get(kind or "", None)


def singular(word: str) -> str:
    """Return the English singular of a plural resource name (``venues`` -> ``venue``)."""
    if word.endswith("ies"):
        return word[:-3] + "y"
    if word.endswith(("ses", "xes")):
        return word[:-2]
    return word[:-1] if word.endswith("s") and not word.endswith("ss") else word


def _string(schema: dict, name: str) -> str:
    pattern = schema.get("pattern") if isinstance(schema.get("pattern"), str) else None
    low = schema.get("minLength") if isinstance(schema.get("minLength"), int) else None
    high = schema.get("maxLength") if isinstance(schema.get("maxLength"), int) else None
    candidates = []
    fmt = schema.get("format")
    if isinstance(fmt, str) and fmt in _FORMATS:
        candidates.append(_FORMATS[fmt])
    for rule, value in _NAMED:
        if name and rule.search(name):
            words = name.replace("_", " ").replace("-", " ").strip()
            candidates.append(value.replace("{words}", words))
            break
    for value in candidates:
        if _fits(value, pattern, low, high):
            return value
    if pattern:
        made = string_for_pattern(pattern, min_length=low, max_length=high)
        if made is not None:
            return made
    words = name.replace("_", " ").replace("-", " ").strip()
    base = candidates[0] if candidates else (f"example {words}" if words and len(words) <= 40 else "example")
    if low is not None and len(base) < low:
        base = base + "x" * (low - len(base))
    if high is not None and len(base) > high:
        base = base[:high]
    return base


def _fits(value: str, pattern: str | None, low: int | None, high: int | None) -> bool:
    if low is not None and len(value) < low:
        return False
    if high is not None and len(value) > high:
        return False
    if pattern:
        try:
            return re.search(pattern, value) is not None
        except re.error:
            return True  # an invalid pattern cannot be honoured; keep the readable value
    return True


def _number(schema: dict, name: str, kind: str) -> int | float:
    fmt = schema.get("format")
    value: float = 1700000000 if fmt in ("unix-time", "timestamp") else _NUMBER_NAMES.get(name.lower(), 1)
    low, high = schema.get("minimum"), schema.get("maximum")
    ex_low, ex_high = schema.get("exclusiveMinimum"), schema.get("exclusiveMaximum")
    step = 1 if kind == "integer" else 0.5
    # 3.0 writes exclusiveMinimum: true next to minimum; 3.1 gives the bound itself.
    if isinstance(ex_low, bool):
        ex_low = low if ex_low else None
    if isinstance(ex_high, bool):
        ex_high = high if ex_high else None
    if isinstance(low, (int, float)) and value < low:
        value = low
    if isinstance(ex_low, (int, float)) and not isinstance(ex_low, bool) and value <= ex_low:
        value = ex_low + step
    if isinstance(high, (int, float)) and value > high:
        value = high
    if isinstance(ex_high, (int, float)) and not isinstance(ex_high, bool) and value >= ex_high:
        value = ex_high - step
    multiple = schema.get("multipleOf")
    if isinstance(multiple, (int, float)) and multiple > 0 and value % multiple:
        value = (value // multiple + 1) * multiple
    if kind == "integer":
        return int(value)
    return float(value) if not float(value).is_integer() else value
