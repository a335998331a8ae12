"""The shapes of one HTTP exchange: the request a user configures, what was sent,
what came back.

:class:`RequestSpec` is the editable request (the wizard's sample request, and the
part of an action that says what to send). :class:`SentRequest` and
:class:`ReceivedResponse` record one attempt; they never hold a credential that the
connection added (those headers and query parameters are masked when captured).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field, ValidationInfo, field_validator, model_validator
from pydantic_core import PydanticCustomError

from plugwire.core.base.clock import now_iso
from plugwire.core.base.redact import MASK, is_sensitive_name  # not .secrets: its cryptography (0.02 s) is not needed here
from plugwire.core.http.rules import (
    HeaderName,
    HeaderValue,
    QueryValue,
    body_problem,
    check_headers,
    check_url,
    decode_base64,
    is_stored,
    refuse,
)
from plugwire.core.plugincore.suggesters import SampleRequest

__all__ = [
    "BODY_FORMATS",
    "DEFAULT_CONTENT_TYPES",
    "METHODS",
    "Exchange",
    "FilePart",
    "ReceivedResponse",
    "RequestSpec",
    "ResponseFormat",
    "SentRequest",
    "HeaderName",
    "HeaderValue",
    "add_field",
    "check_headers",
    "check_url",
    "decode_base64",
    "parse_body_text",
    "is_sensitive_name",
    "masked_headers",
    "now_iso",
]

METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")
BODY_FORMATS = ("none", "json", "form", "multipart", "xml", "text", "binary")
ResponseFormat = Literal["auto", "json", "xml", "text", "bytes"]

#: The content type a body gets when the user names only its format.
DEFAULT_CONTENT_TYPES: dict[str, str | None] = {
    "none": None,
    "json": "application/json",
    "form": "application/x-www-form-urlencoded",
    "multipart": None,  # the boundary is chosen when the body is encoded
    "xml": "application/xml",
    "text": "text/plain",
    "binary": "application/octet-stream",
}

def masked_headers(headers: dict[str, str], also: set[str] | frozenset[str] = frozenset()) -> dict[str, str]:
    """Return ``headers`` with the values of sensitive names (and of the lower-case
    names in ``also``) replaced by the mask.

    An ``Authorization`` value keeps its scheme (``Bearer ••••••``) so the reader
    still sees which kind of credential went out.
    """
    out = {}
    for k, v in headers.items():
        if (is_sensitive_name(k) or k.lower() in also) and MASK not in v:
            scheme = v.split(" ", 1)[0] if k.lower() in ("authorization", "proxy-authorization") and " " in v else ""
            out[k] = f"{scheme} {MASK}" if scheme else MASK
        else:
            out[k] = v
    return out


def add_field(fields: dict[str, Any], key: str, value: Any) -> None:
    """Add ``value`` under ``key``; a repeated key becomes a list, as on the wire."""
    if key not in fields:
        fields[key] = value
    elif isinstance(fields[key], list):
        fields[key].append(value)
    else:
        fields[key] = [fields[key], value]


def parse_body_text(text: str, fmt: str | None) -> tuple[Any, str]:
    """Return ``(body, format)`` for a body typed as text: JSON parsed, form and
    multipart ``a=1&b=2`` split into fields, XML and text kept. Without ``fmt`` the
    format is guessed (JSON, else XML for ``<...``, else text).

    Raises ``UserInputError`` (field ``body``) when ``fmt`` is json and the text is not.
    """
    import json
    from urllib.parse import parse_qsl

    from plugwire.core.base.errors import UserInputError

    if fmt is None:
        try:
            return json.loads(text), "json"
        except ValueError:
            fmt = "xml" if text.lstrip().startswith("<") else "text"
    if fmt == "json":
        try:
            return json.loads(text), "json"
        except ValueError as exc:
            raise UserInputError(f"body is not valid JSON ({exc}).", field="body", fix="correct it, or choose the text body format") from None
    if fmt in ("form", "multipart"):
        fields: dict[str, Any] = {}
        for k, v in parse_qsl(text, keep_blank_values=True):
            add_field(fields, k, v)
        return fields, fmt
    return text, fmt



class FilePart(BaseModel):
    """One file of a multipart body: read from ``path`` at send time, or carried
    inline as ``content_base64``."""

    field: str
    filename: str | None = None
    content_type: HeaderValue | None = None
    path: str | None = None
    content_base64: str | None = None

    @field_validator("content_base64")
    @classmethod
    def _base64(cls, v: str | None) -> str | None:
        if v is not None:
            try:
                decode_base64(v)
            except ValueError:
                raise PydanticCustomError("base64", "is not base64 text: encode the file's bytes as base64") from None
        return v

    @model_validator(mode="after")
    def _has_content(self) -> "FilePart":
        if not self.path and self.content_base64 is None:
            raise ValueError(f"file part {self.field!r} needs a path or content_base64")
        return self

    def read(self) -> bytes:
        """Return the file's bytes. Raises ``UserInputError`` naming the file when unreadable."""
        from plugwire.core.base.errors import UserInputError

        if self.content_base64 is not None:
            return decode_base64(self.content_base64)
        try:
            with open(self.path, "rb") as fh:  # type: ignore[arg-type]
                return fh.read()
        except OSError as exc:
            raise UserInputError(
                f"files.{self.field}: cannot read {self.path} ({exc.strerror}).",
                field=f"files.{self.field}",
                fix="give a readable file path",
            ) from None


class RequestSpec(SampleRequest):
    """A request as the user configures it: everything but the connection's auth.

    ``body`` by ``body_format``: json any JSON value; form and multipart a mapping of
    field to value (a list for a repeated field); xml and text a string; binary a
    base64 string. Multipart files go in ``files``.

    Validated as every door (wizard, CLI, console, JSON API) saves it: ``url`` an
    absolute http(s) URL or empty (not chosen yet: sending it is refused), header names RFC 9110 tokens and values one line of ASCII, the body fitting
    its format; a bad value raises ``ValidationError`` naming the field
    (``headers.X-Name``, ``body``...). A value holding a datapill is checked when
    the pill is filled in.
    """

    method: str = "GET"
    url: str = ""
    # additionalProperties: the document's header-name pattern then also refuses other names.
    headers: dict[HeaderName, HeaderValue] = Field(default_factory=dict, json_schema_extra={"additionalProperties": False})
    query: dict[str, QueryValue] = Field(default_factory=dict)
    content_type: HeaderValue | None = None
    files: list[FilePart] = Field(default_factory=list)
    secret_fields: list[str] = Field(
        default_factory=list, description="header and query parameter names (any case) whose values are secrets: "
        "sealed at rest, masked wherever shown, as credential-like names are"
    )

    @field_validator("method")
    @classmethod
    def _method(cls, v: str) -> str:
        v = (v or "").strip().upper()
        if v not in METHODS:
            raise ValueError(f"must be one of {', '.join(METHODS)}")
        return v

    @field_validator("url")
    @classmethod
    def _url(cls, v: str, info: ValidationInfo) -> str:
        if is_stored(info):
            return v  # saved before a rule existed: checked again when it is sent
        if not v.strip():
            return ""  # not chosen yet (the wizard's blank request); sending one is refused
        return check_url(v)

    @model_validator(mode="after")
    def _fits(self, info: ValidationInfo) -> "RequestSpec":
        problem = None if is_stored(info) else body_problem(self.body, self.body_format)
        if problem:
            raise refuse(type(self), ("body",), f"the {self.body_format} body {problem}")
        return self

    def effective_content_type(self) -> str | None:
        """Return the Content-Type this request is sent with (explicit header, then
        ``content_type``, then the format's default)."""
        for k, v in self.headers.items():
            if k.lower() == "content-type":
                return v
        return self.content_type or DEFAULT_CONTENT_TYPES.get(self.body_format)


class SentRequest(SampleRequest):
    """The request of one attempt as it went out, credentials masked.

    ``headers`` are those the user configured, the body's Content-Type, and every
    header the connection's auth added, masked. ``body`` is the configured body;
    ``body_text`` what went on the wire (shortened; multipart files summarised).
    """

    body_text: str | None = None
    files: list[dict[str, Any]] = Field(default_factory=list)


class ReceivedResponse(BaseModel):
    """A response in full: status, headers, body parsed and pretty-printed, time, size."""

    status: int
    reason: str = ""
    http_version: str = ""
    headers: dict[str, str] = Field(default_factory=dict)
    content_type: str | None = None
    format: Literal["json", "xml", "text", "bytes", "empty"] = "text"
    body: Any = None
    text: str | None = None
    pretty: str = ""
    size: int = 0
    elapsed_ms: float = 0.0
    truncated: bool = False

    @property
    def ok(self) -> bool:
        """Return True for a 2xx status."""
        return 200 <= self.status < 300


class Exchange(BaseModel):
    """One attempt: what was sent and what came back, or how it failed.

    ``outcome`` is a :class:`plugwire.core.http.outcomes.Outcome` value: ``ok`` for a 2xx,
    ``http_error`` or ``credentials_rejected`` for an answer that is an error, and a
    network outcome (``connection_refused``, ``dns_error``, ``tls_error``,
    ``timeout``...) when nothing came back.
    """

    request: SentRequest
    response: ReceivedResponse | None = None
    outcome: str
    ok: bool
    message: str
    api_message: str | None = None
    elapsed_ms: float = 0.0
    attempts: int = 1
    at: str = Field(default_factory=now_iso)
