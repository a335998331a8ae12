"""Reading a webhook's payload: its format (from Content-Type, or as configured), its
charset (as declared, else UTF-8), and how deep it may nest.

Every way a sender's body can be unreadable ends as ``TriggerRefused`` with a plain
message: 400 for a body that is not what it claims to be (or nests more than
:data:`MAX_DEPTH` levels, which the engine's recursive code would not survive), 415
for a charset plugwire cannot read.
"""

from __future__ import annotations

import base64
import codecs
import re
from typing import Any
from urllib.parse import parse_qs

from plugwire import TriggerRefused, loads_json

__all__ = ["MAX_DEPTH", "PayloadTooDeep", "charset_of", "format_for", "parse_payload", "read_payload"]

#: Levels of arrays and objects (or XML elements) a payload may nest: far more than
#: any real event (a GitHub push nests 6), far fewer than Python's recursion limit.
MAX_DEPTH = 100

# A charset name as IANA registers them; anything else is refused before Python's
# codec machinery sees it.
_CHARSET_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:+-]{0,39}")
# Text codecs Python knows that are not charsets a body is written in.
_NOT_CHARSETS = frozenset({"idna", "punycode", "unicode-escape", "raw-unicode-escape", "undefined", "charmap"})


class PayloadTooDeep(ValueError):
    """A payload nested more than :data:`MAX_DEPTH` levels."""

    def __init__(self) -> None:
        super().__init__(f"it is nested more than {MAX_DEPTH} levels deep")


def format_for(content_type: str, configured: str) -> str:
    """Return how to read a body sent with ``content_type``: ``configured``, unless it
    is ``auto``, then json, form, xml, text or raw by the media type."""
    if configured != "auto":
        return configured
    ct = content_type.split(";", 1)[0].strip().lower()
    if ct == "application/json" or ct.endswith("+json"):
        return "json"
    if ct == "application/x-www-form-urlencoded":
        return "form"
    if ct in ("application/xml", "text/xml") or ct.endswith("+xml"):
        return "xml"
    if ct.startswith("text/"):
        return "text"
    return "raw"


def charset_of(content_type: str) -> str | None:
    """Return the Python codec of the ``charset`` parameter of ``content_type``, or None
    when it declares none. Raises ``TriggerRefused`` (415) naming a charset that is
    unknown, or a codec that is no charset (rot13, punycode)."""
    for param in content_type.split(";")[1:]:
        key, _, value = param.partition("=")
        if key.strip().lower() != "charset":
            continue
        name = value.strip().strip('"').strip()
        try:
            codec = codecs.lookup(name) if _CHARSET_NAME.fullmatch(name) else None
        except LookupError:
            codec = None
        if codec is None or not codec._is_text_encoding or codec.name in _NOT_CHARSETS:
            raise TriggerRefused(415, f"The charset {name!r} in the Content-Type header is not one plugwire can read; "
                                      "send the body in UTF-8, or name its charset (e.g. charset=iso-8859-1).")
        return codec.name
    return None


def _check_depth(value: Any, text: str) -> Any:
    """Return ``value`` (parsed from ``text``); raises :class:`PayloadTooDeep` when it
    nests past :data:`MAX_DEPTH`."""
    if text.count("[") + text.count("{") <= MAX_DEPTH:
        return value  # too few brackets to nest that deep: no walk (every webhook pays for it)
    stack = [(value, 1)] if isinstance(value, (dict, list)) else []
    while stack:
        item, depth = stack.pop()
        children = item.values() if isinstance(item, dict) else item
        if depth > MAX_DEPTH:
            raise PayloadTooDeep()
        stack.extend((child, depth + 1) for child in children if isinstance(child, (dict, list)))
    return value


def _check_xml_depth(document: str | bytes) -> None:
    # Before xml_to_data, which recurses once per level: stop at the first element too deep.
    # The XML parser is imported here: loading the plugins (plugwire suggest) needs none.
    import xml.etree.ElementTree as ET

    parser = ET.XMLPullParser(events=("start", "end"))
    depth = 0
    step = 65536
    for start in range(0, len(document), step):
        parser.feed(document[start:start + step])
        for event, _ in parser.read_events():
            depth += 1 if event == "start" else -1
            if depth > MAX_DEPTH:
                raise PayloadTooDeep()
    parser.close()


def parse_payload(body: bytes, fmt: str, charset: str | None = None) -> Any:
    """Return the payload of ``body`` read as ``fmt`` in ``charset`` (a Python codec
    name; None: UTF-8, or for XML what the document declares). Raises ``ValueError``
    (:class:`PayloadTooDeep` among them) or ``xml.etree.ElementTree.ParseError`` saying
    why it is unreadable."""
    # The XML reader lives in the HTTP layer, whose models cost every loading of the
    # plugins (plugwire suggest) 0.05 s: looked up when a payload is read.
    from plugwire import xml_to_data

    if fmt == "raw":
        return {"base64": base64.b64encode(body).decode("ascii"), "size": len(body)}
    if fmt == "xml" and charset is None:
        _check_xml_depth(body)  # the parser follows the document's own declaration (UTF-8 by default)
        return xml_to_data(body)
    text = body.decode(charset or "utf-8")
    if text.startswith("\ufeff") and charset in (None, "utf-8"):
        # A byte-order mark is never content (RFC 8259 lets a JSON reader skip it);
        # stripped here rather than by the utf-8-sig codec, which is written in Python.
        text = text[1:]
    if fmt == "json":
        if not text.strip():
            return None
        try:
            return _check_depth(loads_json(text), text)
        except RecursionError:  # the json module's own limit, past orjson's
            raise PayloadTooDeep() from None
    if fmt == "form":
        return {k: v[0] if len(v) == 1 else v for k, v in parse_qs(text, keep_blank_values=True, encoding=charset or "utf-8").items()}
    if fmt == "xml":
        _check_xml_depth(text)
        return xml_to_data(text)
    return text


def read_payload(body: bytes, content_type: str, configured: str) -> Any:
    """Return the payload of a body sent with ``content_type`` (``configured``: the
    recipe's payload_format). Raises ``TriggerRefused``: 415 for a charset plugwire
    cannot read, 400 for a body that is not what it claims to be, saying why."""
    fmt = format_for(content_type, configured)
    charset = charset_of(content_type) if fmt != "raw" else None
    try:
        return parse_payload(body, fmt, charset)
    except PayloadTooDeep as exc:
        raise TriggerRefused(400, f"The payload is not accepted: {exc}; send it flatter.") from None
    except UnicodeDecodeError as exc:
        name = charset or "utf-8"
        raise TriggerRefused(400, f"The payload is not valid {name} text (byte {exc.start}); name its charset in the "
                                  "Content-Type header (e.g. charset=iso-8859-1), or send UTF-8.") from None
    except (ValueError, SyntaxError) as exc:  # xml.etree's ParseError is a SyntaxError
        raise TriggerRefused(400, f"The payload is not valid {fmt.upper()}: {exc}.") from None
