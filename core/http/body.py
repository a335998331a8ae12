"""Bodies on the wire: encoding a configured body by its format, and reading a
response body (JSON, XML, text or bytes) into data and pretty text."""

from __future__ import annotations

import base64
import codecs
import functools
import json
import secrets as _random
from typing import Any
from urllib.parse import urlencode
from xml.dom import minidom
from xml.etree import ElementTree

import httpx2

from plugwire.core.base.errors import UserInputError
from plugwire.core.http.exchange import ReceivedResponse, RequestSpec, decode_base64, masked_headers

__all__ = ["canonical_name", "encode_body", "header_pairs", "parse_response", "pretty_xml", "xml_to_data"]

#: Text kept of a body for display and storage; parsing always reads all of it.
TEXT_LIMIT = 1_000_000
_SHOWN = 20_000


def encode_body(spec: RequestSpec) -> tuple[bytes | None, str | None, str | None, list[dict[str, Any]]]:
    """Return ``(content, content_type, body_text, files)`` for ``spec``'s body.

    ``body_text`` is what went on the wire as text (files summarised, shortened);
    ``files`` lists each multipart file's field, name, type and size. Raises
    ``UserInputError`` (field ``body`` or ``files.NAME``) when the body does not
    fit its format.
    """
    fmt = spec.body_format
    ctype = spec.effective_content_type()
    body = spec.body
    if fmt == "none":
        return None, None, None, []
    if fmt == "json":
        if isinstance(body, (bytes, str)):
            try:
                json.loads(body)
            except ValueError as exc:
                raise UserInputError(f"body is not valid JSON ({exc}).", field="body", fix="correct the JSON, or choose --body-format text") from None
            text = body.decode() if isinstance(body, bytes) else body
        else:
            text = json.dumps(body, ensure_ascii=False)
        return text.encode("utf-8"), ctype, _short(text), []
    if fmt == "form":
        text = body if isinstance(body, str) else urlencode(_pairs(body, "form"), doseq=True)
        return text.encode("utf-8"), ctype, _short(text), []
    if fmt == "multipart":
        return _multipart(spec)
    if fmt in ("xml", "text"):
        if isinstance(body, (dict, list)):
            raise UserInputError(
                f"body is a {type(body).__name__}, but the {fmt} format sends text.",
                field="body",
                fix="give the body as text, or choose --body-format json",
            )
        text = body.decode("utf-8", "replace") if isinstance(body, bytes) else ("" if body is None else str(body))
        return text.encode("utf-8"), ctype, _short(text), []
    if fmt == "binary":
        # A step's datapill may have filled in any JSON value: only text is base64.
        if isinstance(body, bytes):
            raw = body
        elif body is None or isinstance(body, str):
            try:
                raw = decode_base64(body or "")
            except ValueError:
                raise UserInputError("body of a binary request must be base64 text.", field="body", fix="give --body-file PATH") from None
        else:
            raise UserInputError(f"body of a binary request is a {type(body).__name__}, not base64 text.", field="body",
                                 fix="point the datapill at base64 text, or choose --body-format json")
        return raw, ctype, None, []
    raise UserInputError(f"Unknown body format {fmt!r}.", field="body_format", fix="use one of json, form, multipart, xml, text, binary")


def _pairs(body: Any, fmt: str) -> list[tuple[str, str]]:
    if body is None:
        return []
    if not isinstance(body, dict):
        raise UserInputError(
            f"body of a {fmt} request must be a mapping of field to value, not {type(body).__name__}.",
            field="body",
            fix="give fields as NAME=VALUE, or choose --body-format json",
        )
    out = []
    for key, value in body.items():
        for item in value if isinstance(value, list) else [value]:
            if isinstance(item, (dict, list)):
                item = json.dumps(item)
            elif isinstance(item, bool):
                item = "true" if item else "false"
            out.append((str(key), "" if item is None else str(item)))
    return out


def _multipart(spec: RequestSpec) -> tuple[bytes, str, str, list[dict[str, Any]]]:
    # Encoded here rather than by httpx2, which silently falls back to a urlencoded
    # body when there are no files: the format the user chose must hold.
    boundary = "plugwire-" + _random.token_hex(12)
    chunks: list[bytes] = []
    shown: list[str] = []
    for key, value in _pairs(spec.body, "multipart"):
        head = f'--{boundary}\r\nContent-Disposition: form-data; name="{_quote(key)}"\r\n\r\n'
        chunks += [head.encode(), value.encode("utf-8"), b"\r\n"]
        shown.append(head + value + "\r\n")
    files = []
    for part in spec.files:
        data = part.read()
        filename = part.filename or (part.path.rsplit("/", 1)[-1] if part.path else part.field)
        ftype = part.content_type or "application/octet-stream"
        head = (
            f'--{boundary}\r\nContent-Disposition: form-data; name="{_quote(part.field)}"; filename="{_quote(filename)}"\r\n'
            f"Content-Type: {ftype}\r\n\r\n"
        )
        chunks += [head.encode(), data, b"\r\n"]
        shown.append(head + f"({len(data)} bytes)\r\n")
        files.append({"field": part.field, "filename": filename, "content_type": ftype, "size": len(data)})
    chunks.append(f"--{boundary}--\r\n".encode())
    shown.append(f"--{boundary}--\r\n")
    return b"".join(chunks), f"multipart/form-data; boundary={boundary}", _short("".join(shown)), files


def _quote(name: str) -> str:
    return name.replace("\\", "\\\\").replace('"', '\\"').replace("\r", " ").replace("\n", " ")


def _short(text: str) -> str:
    return text if len(text) <= _SHOWN else text[:_SHOWN] + f"… ({len(text)} characters)"


# -- responses ------------------------------------------------------------------
def _kind(ctype: str, content: bytes, wanted: str) -> str:
    if not content:
        return "empty"
    if wanted != "auto":
        return wanted
    low = ctype.lower()
    if "json" in low:
        return "json"
    if "xml" in low and "html" not in low:
        return "xml"
    head = content.lstrip()[:1]
    if not low or low.startswith("text/plain"):
        if head in (b"{", b"["):
            return "json"
        if head == b"<" and content.lstrip().startswith(b"<?xml"):
            return "xml"
    if low.startswith("text/") or "charset" in low or "javascript" in low or "html" in low:
        return "text"
    try:
        text = content.decode("utf-8")
    except UnicodeDecodeError:
        return "bytes"
    return "bytes" if "\x00" in text else "text"


def parse_response(response: httpx2.Response, elapsed_ms: float, response_format: str = "auto", *,
                   pretty: bool = True) -> ReceivedResponse:
    """Return the response in full: status, headers (sensitive ones masked), body
    parsed by ``response_format`` (``auto`` decides by Content-Type), pretty text,
    size and time. A body that does not parse as asked is kept as text.

    ``pretty=False`` skips indenting a JSON or XML body for display (``pretty`` stays
    empty): a job's record keeps the parsed body, and indenting costs more than parsing.
    """
    content = response.content
    headers: dict[str, str] = {}
    for key, value in header_pairs(response.headers):
        name = canonical_name(key)
        headers[name] = f"{headers[name]}, {value}" if name in headers else value
    ctype = headers.get("Content-Type", "")
    kind = _kind(ctype, content, response_format)
    text: str | None = None
    body: Any = None
    shown = ""
    if kind == "bytes":
        body = base64.b64encode(content).decode("ascii")
        shown = f"({len(content)} bytes of {ctype or 'unknown type'})"
    elif kind != "empty":
        text = _text(response, content, ctype)
        if kind == "json":
            try:
                body = json.loads(text)
                shown = json.dumps(body, indent=2, ensure_ascii=False) if pretty else ""
            except ValueError:
                kind = "text"
        elif kind == "xml":
            try:
                body = xml_to_data(text)
                shown = pretty_xml(text) if pretty else ""
            except ElementTree.ParseError:
                kind = "text"
        if kind == "text":
            body = text
            shown = text
    truncated = False
    if text is not None and len(text) > TEXT_LIMIT:
        text, shown, truncated = text[:TEXT_LIMIT], shown[:TEXT_LIMIT], True
    # Validated, not model_construct: with pydantic-core, validating these few typed
    # fields is about twice as fast as model_construct's Python loop (measured).
    return ReceivedResponse(
        status=response.status_code,
        reason=response.reason_phrase,
        http_version=response.http_version,
        headers=masked_headers(headers),
        content_type=ctype or None,
        format=kind,
        body=body,
        text=text,
        pretty=shown,
        size=len(content),
        elapsed_ms=round(elapsed_ms, 1),
        truncated=truncated,
    )


def _text(response: httpx2.Response, content: bytes, ctype: str) -> str:
    """Return the body as text, decoded as ``response.text`` would decode it.

    The charset is read here (cached per Content-Type): httpx2 parses it with the
    email package on every response, which costs more than decoding a small body.
    """
    encoding = _charset(ctype)
    if encoding is None and isinstance(response.default_encoding, str):
        encoding = response.default_encoding
    if encoding is None:  # a client that detects the encoding from the content
        return response.text
    return content.decode(encoding, "replace")


@functools.lru_cache(maxsize=128)
def _charset(ctype: str) -> str | None:
    """Return the known encoding named by ``ctype``'s charset parameter, or None."""
    for part in ctype.split(";")[1:]:
        key, _, value = part.partition("=")
        if key.strip().lower() == "charset":
            value = value.strip().strip("\"'")
            try:
                codecs.lookup(value)
            except LookupError:
                return None
            return value
    return None


def header_pairs(headers: httpx2.Headers) -> list[tuple[str, str]]:
    """Return ``headers`` as ``(lower-case name, value)`` text pairs, repeated names kept.

    The same pairs as ``Headers.multi_items()``, decoded in one pass: httpx2 reads its
    ``encoding`` property once per name and per value, which costs more than the
    decoding itself on every request a job sends.
    """
    enc = headers.encoding
    return [(k.decode(enc).lower(), v.decode(enc)) for k, v in headers.raw]


@functools.lru_cache(maxsize=256)
def canonical_name(name: str) -> str:
    """Return a header name in its usual spelling (``content-type`` -> ``Content-Type``)."""
    return "-".join(p.capitalize() for p in name.split("-"))


# -- XML ------------------------------------------------------------------------
def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1] if tag.startswith("{") else tag


def _element(el: ElementTree.Element) -> Any:
    children = list(el)
    text = (el.text or "").strip()
    if not children and not el.attrib:
        return text
    out: dict[str, Any] = {f"@{_local(k)}": v for k, v in el.attrib.items()}
    repeated = _repeated(el)
    for child in children:
        name = _local(child.tag)
        if name in repeated:
            out.setdefault(name, []).append(_element(child))
        else:
            out[name] = _element(child)
    if text:
        out["#text"] = text
    return out


def _repeated(el: ElementTree.Element) -> set[str]:
    seen: set[str] = set()
    twice: set[str] = set()
    for child in el:
        name = _local(child.tag)
        (twice if name in seen else seen).add(name)
    return twice


def xml_to_data(text: str | bytes) -> dict[str, Any]:
    """Return an XML document as data: ``{root: ...}`` where an element with only
    text is its text, attributes are ``@name``, mixed text is ``#text``, and a
    repeated child element is a list. Namespaces are dropped from names.

    Raises ``xml.etree.ElementTree.ParseError`` for a document that is not well-formed.
    """
    root = ElementTree.fromstring(text)
    return {_local(root.tag): _element(root)}


def pretty_xml(text: str) -> str:
    """Return ``text`` indented, one element per line (blank lines dropped)."""
    pretty = minidom.parseString(text.encode("utf-8") if isinstance(text, str) else text).toprettyxml(indent="  ")
    lines = [line for line in pretty.splitlines() if line.strip()]
    if lines and lines[0].startswith("<?xml") and not text.lstrip().startswith("<?xml"):
        lines = lines[1:]
    return "\n".join(lines)
