"""What a configured request may hold, checked wherever one is made or filled in:
header names (RFC 9110 tokens) and values (one line of ASCII), query values, base64
text, absolute http(s) URLs, and a body that fits its format.

The pydantic types and checks here are used by
:class:`plugwire.core.http.exchange.RequestSpec` (so every door, wizard, CLI, console and
JSON API, keeps the same rules) and by the JSON API's own models; :func:`check_headers`
checks headers a datapill filled in at run time.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from typing import Annotated, Any

from pydantic import AfterValidator, ValidationError, ValidationInfo, WithJsonSchema
from pydantic_core import InitErrorDetails, PydanticCustomError

__all__ = [
    "STORED", "HeaderName", "HeaderValue", "QueryValue", "body_problem", "check_headers", "check_url", "decode_base64",
    "is_stored", "refuse",
]

#: The validation context of a record read back from the store: a request saved before
#: a rule existed still loads (it is checked again when it is sent), so nothing is lost.
STORED = {"stored": True}


def is_stored(info: ValidationInfo | None) -> bool:
    """Return True when a validator runs on a record read back from the store."""
    return info is not None and isinstance(info.context, dict) and bool(info.context.get("stored"))


# -- what a request may hold ------------------------------------------------------------
# RFC 9110's token: the characters a header name may have.
_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
# Control characters other than tab end or smuggle a header line; the client encodes
# header values as ASCII, so anything past it would fail at send time instead.
_BAD_VALUE = re.compile(r"[^\t\x20-\x7e]")
_PILL_MARK = "{{"  # a value holding a datapill is checked when the pill is filled in


def _header_name(name: str, info: ValidationInfo | None = None) -> str:
    if not _TOKEN.fullmatch(name) and not is_stored(info):
        raise PydanticCustomError(
            "header_name", "{name} is not a header name: use letters, digits and !#$%&'*+-.^_`|~ (no spaces, colons or accents)",
            {"name": repr(name)},
        )
    return name


def _header_value(value: str, info: ValidationInfo | None = None) -> str:
    bad = _BAD_VALUE.search(value)
    if bad is not None and not is_stored(info):
        ch = bad.group(0)
        what = "a line break (CR or LF), which would end the header" if ch in "\r\n" else (
            f"the control character {ch!r}" if ord(ch) < 0x80 else f"the non-ASCII character {ch!r}")
        raise PydanticCustomError("header_value", "holds {what}: give the value on one line, in ASCII (percent-encode other text)",
                                  {"what": what})
    return value


#: A header name (an RFC 9110 token) and value (one line of printable ASCII), as
#: validated wherever a request is configured; a bad one is refused naming the header.
HeaderName = Annotated[str, AfterValidator(lambda v, info: _header_name(v, info)),
                      WithJsonSchema({"type": "string", "pattern": "^[!#$%&'*+\\-.^_`|~0-9A-Za-z]+$"})]
HeaderValue = Annotated[str, AfterValidator(lambda v, info: _header_value(v, info)), WithJsonSchema({"type": "string", "pattern": "^[\\t\\x20-\\x7e]*$"})]


def check_headers(headers: dict[str, str]) -> None:
    """Check headers about to be sent, after datapills filled them in (an event may
    carry a line break or non-ASCII text). Raises ``UserInputError`` naming
    ``headers.NAME``."""
    for name, value in headers.items():
        try:
            _header_value(_header_name(name) and value)
        except PydanticCustomError as exc:
            from plugwire.core.base.errors import UserInputError

            raise UserInputError(f"headers.{name}: {exc.message()}.", field=f"headers.{name}",
                                 fix="send a value without line breaks, in ASCII (a datapill may have filled it in)") from None


def _query_value(value: Any, info: ValidationInfo | None = None) -> Any:
    if is_stored(info):
        return value
    for item in value if isinstance(value, list) else [value]:
        if isinstance(item, (dict, list)):
            raise PydanticCustomError("query_value", "holds a {kind}: a query parameter is text, a number, true/false, "
                                      "or a list of those (repeated)", {"kind": _kind(item)})
    return value


# (pydantic passes the validation info only to a validator whose second parameter is required)
QueryValue = Annotated[Any, AfterValidator(lambda v, info: _query_value(v, info))]


def check_url(value: str) -> str:
    """Return ``value`` stripped when it is an absolute http(s) URL; for a pydantic
    validator: raises ``PydanticCustomError`` saying what is wrong."""
    from plugwire.core.base.errors import UserInputError
    from plugwire.core.base.urls import validate_absolute_url

    try:
        return validate_absolute_url(value, "url")
    except UserInputError as exc:
        raise PydanticCustomError("url", str(exc)) from None


def decode_base64(text: str | bytes) -> bytes:
    """Return the bytes of base64 ``text`` (white space ignored). Raises ``ValueError``
    when it is not base64."""
    compact = re.sub(rb"\s+", b"", text.encode("ascii", "replace") if isinstance(text, str) else text)
    try:
        return base64.b64decode(compact, validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("is not base64 text") from None


def refuse(model: type, loc: tuple[str | int, ...], message: str) -> ValidationError:
    """Return a ValidationError naming the field at ``loc`` (a model validator's own
    errors would name no field)."""
    error = InitErrorDetails(type=PydanticCustomError("request", message), loc=loc, input=None)
    return ValidationError.from_exception_data(model.__name__, [error])


def body_problem(body: Any, fmt: str) -> str | None:
    """Return why ``body`` does not fit the body format ``fmt``, or None when it does."""
    if body is None or fmt == "none":
        return None
    pill = isinstance(body, str) and _PILL_MARK in body
    if fmt == "json":
        if isinstance(body, str) and not pill:
            try:
                json.loads(body)
            except ValueError as exc:
                return f"is JSON text that does not parse ({exc}); give the JSON value itself, or choose the text body format"
        return None
    if fmt in ("form", "multipart"):
        if isinstance(body, str) and fmt == "form":
            return None  # sent as written: a=1&b=2
        if not isinstance(body, dict):
            return (f"is a {_kind(body)}, but a {fmt} body is a mapping of field to value "
                    "(a list for a repeated field); or choose the json body format")
        return None
    if fmt in ("xml", "text"):
        if not isinstance(body, str):
            return f"is a {_kind(body)}, but the {fmt} format sends text; give the body as a string, or choose the json body format"
        return None
    if fmt == "binary":
        if isinstance(body, bytes) or pill:
            return None
        if not isinstance(body, str):
            return f"is a {_kind(body)}, but a binary body is base64 text"
        try:
            decode_base64(body)
        except ValueError:
            return "is not base64 text, which a binary body must be; encode the bytes as base64"
    return None


def _kind(value: Any) -> str:
    return {dict: "mapping", list: "list", str: "string", bool: "boolean", int: "number", float: "number"}.get(
        type(value), type(value).__name__)
