"""Request and response bodies: which media type, which example, which format.

Examples in the document come first (media-type ``example``/``examples``, then a
schema-level example); otherwise the sample is generated from the schema. The
content type decides the catalogue's body format: JSON stays JSON, URL-encoded
forms stay forms (Stripe), multipart stays multipart, XML becomes an XML string.
"""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import parse_qsl
from xml.sax.saxutils import escape

from plugwire.knowledge.openapi.document import Resolver, plain
from plugwire.knowledge.openapi.samples import SampleGenerator

__all__ = ["body_format", "json_text", "pick_media", "media_example", "shape_body", "to_xml", "trim"]

_JSON_RE = re.compile(r"^application/([\w.+-]+\+)?json\b|^application/json|^\*/\*$")


def body_format(content_type: str) -> str:
    """Return the catalogue body format for a media type."""
    ct = content_type.split(";")[0].strip().lower()
    if _JSON_RE.match(ct) or ct.endswith("+json") or ct == "text/json":
        return "json"
    if ct == "application/x-www-form-urlencoded":
        return "form"
    if ct.startswith("multipart/"):
        return "multipart"
    if ct.endswith("/xml") or ct.endswith("+xml"):
        return "xml"
    if ct.startswith("text/"):
        return "text"
    return "binary"


_PREFERENCE = {"json": 0, "form": 1, "multipart": 2, "xml": 3, "text": 4, "binary": 5}


def pick_media(content: dict) -> tuple[str, Any] | None:
    """Return ``(content_type, media_object)`` of the most useful media type, JSON first."""
    if not isinstance(content, dict) or not content:
        return None
    ranked = sorted(content.items(), key=lambda kv: (_PREFERENCE[body_format(str(kv[0]))], str(kv[0]) != "application/json"))
    return str(ranked[0][0]), ranked[0][1]


def media_example(media: Any, resolver: Resolver) -> tuple[bool, Any]:
    """Return (True, value) when the media object (or its schema's top level) carries
    an example; refs to Example objects are followed, external values skipped."""
    if not isinstance(media, dict):
        return False, None
    if "example" in media:
        return True, plain(media["example"])
    examples = media.get("examples")
    if isinstance(examples, dict):
        for item in examples.values():
            item = resolver.node(item)
            if isinstance(item, dict) and "value" in item:
                return True, plain(item["value"])
    schema = resolver.node(media.get("schema"))
    if isinstance(schema, dict):
        if "example" in schema:
            return True, plain(schema["example"])
        if isinstance(schema.get("examples"), list) and schema["examples"]:
            return True, plain(schema["examples"][0])
    return False, None


def shape_body(value: Any, fmt: str, schema: Any, generator: SampleGenerator, root_name: str) -> Any:
    """Return ``value`` in the shape the catalogue wants for ``fmt`` (a mapping for
    forms, a string for XML and text, None for binary), or None when it cannot be."""
    if fmt == "binary" or value is None:
        return None
    if fmt in ("form", "multipart"):
        if isinstance(value, str):
            return dict(parse_qsl(value, keep_blank_values=True)) or None
        return value if isinstance(value, dict) else None
    if fmt == "xml":
        if isinstance(value, str):
            return value
        target = generator.resolver.node(schema)
        xml_name = (target.get("xml") or {}).get("name") if isinstance(target, dict) else None
        return to_xml(xml_name or root_name or "root", value)
    if fmt == "text":
        return value if isinstance(value, str) else str(value)
    return json_text(value)


def json_text(value: Any) -> Any:
    """Return ``value`` decoded when it is JSON written as text (Jira's examples are),
    else ``value`` unchanged."""
    if isinstance(value, str) and value.lstrip()[:1] in ("{", "["):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def to_xml(name: str, value: Any) -> str:
    """Return ``value`` (mappings, lists, scalars) as an XML element named ``name``."""
    tag = re.sub(r"[^A-Za-z0-9_.-]", "_", name) or "root"
    if isinstance(value, dict):
        inner = "".join(to_xml(str(k), v) for k, v in value.items())
    elif isinstance(value, list):
        inner = "".join(to_xml("item", v) for v in value)
    elif isinstance(value, bool):
        inner = "true" if value else "false"
    elif value is None:
        return f"<{tag}/>"
    else:
        inner = escape(str(value))
    return f"<{tag}>{inner}</{tag}>"


def trim(value: Any, *, items: int = 2, depth: int = 0) -> Any:
    """Return ``value`` with every list cut to ``items`` entries and long strings
    shortened: a response sample shows the shape, not the whole page."""
    if depth > 12:
        return None
    if isinstance(value, dict):
        return {k: trim(v, items=items, depth=depth + 1) for k, v in value.items()}
    if isinstance(value, list):
        return [trim(v, items=items, depth=depth + 1) for v in value[:items]]
    if isinstance(value, str) and len(value) > 500 and depth:
        return value[:497] + "..."
    return value
