"""The catalogue format: one file per provider, validated by these models.

The contract is written out for contributors in ``/work/notes/catalogue-format.md``
and published as JSON Schema in ``knowledge/schema/catalogue.schema.json``
(generated from these models by ``plugwire knowledge schema``). Unknown keys are
errors everywhere, so a typo in a data file is caught rather than silently ignored.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal, Union

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator, model_validator

from plugwire.core.plugincore.pagination import Pagination
from plugwire.core.plugincore.suggesters import BodyFormat, FieldConstraint
from plugwire.knowledge.content_types import DEFAULT_CONTENT_TYPES

__all__ = [
    "AuthHint",
    "BasicAuthHint",
    "CatalogueFile",
    "Constraint",
    "CustomAuthHint",
    "DEFAULT_CONTENT_TYPES",
    "DigestAuthHint",
    "Endpoint",
    "FORMAT_VERSION",
    "MAX_RANK",
    "MIN_RANK",
    "HeaderAuthHint",
    "HostName",
    "HttpMethod",
    "NoneAuthHint",
    "OAuth2AuthHint",
    "OAuth2ClientCredentialsAuthHint",
    "PathParam",
    "QueryAuthHint",
    "RequestSample",
    "ResponseSample",
    "path_placeholders",
]

FORMAT_VERSION = 1
#: The range of a provider's ``rank`` (0, the default, for a provider nobody ranked).
MIN_RANK, MAX_RANK = -100, 100

HttpMethod = Literal["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]

_PROVIDER_RE = r"^[a-z0-9][a-z0-9_-]*$"
_LABEL_RE = re.compile(r"^(?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?|\{[a-z_][a-z0-9_]*\})$")
_PLACEHOLDER_RE = re.compile(r"\{([^{}/]*)\}")
_PARAM_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_.\-]*$")
_SPACE_RE = re.compile(r"\s")  # the same characters as str.isspace
_SPANNING_RE = re.compile(r"\{[^}]*[{/]")
#: Segments of anything but spaces, '?', '#', ':' and braces, and well-named whole placeholders.
_PLAIN_PATH_RE = re.compile(r"(?:/[^\s?#{}/:]*(?:\{[A-Za-z_][A-Za-z0-9_.\-]*\}[^\s?#{}/:]*)*)+")


def path_placeholders(path: str) -> list[str]:
    """Return the ``{name}`` placeholders of a path template, in order."""
    return _PLACEHOLDER_RE.findall(path)


def _check_host(host: str) -> str:
    if host != host.lower():
        raise ValueError(f"{host!r} must be lower-case")
    if "://" in host or "/" in host or ":" in host:
        raise ValueError(f"{host!r} must be a bare host name (no scheme, port or path)")
    labels = host.split(".")
    bad = [label for label in labels if not _LABEL_RE.match(label)]
    if bad:
        raise ValueError(
            f"{host!r}: label {bad[0]!r} is neither a host label nor a whole-label {{placeholder}} such as {{company}}"
        )
    if all(label.startswith("{") for label in labels):
        raise ValueError(f"{host!r} must have at least one literal label")
    return host


#: A host name, or a template whose whole labels may be placeholders: ``{company}.atlassian.net``.
HostName = Annotated[str, AfterValidator(_check_host)]


class _Strict(BaseModel):
    # extra="forbid": a misspelt key in a data file is an error, not silently dropped.
    model_config = ConfigDict(extra="forbid")


class Constraint(FieldConstraint):
    """A :class:`plugwire.FieldConstraint` as written in a catalogue file
    (unknown keys refused)."""

    model_config = ConfigDict(extra="forbid")


class _AuthBase(_Strict):
    notes: str | None = Field(None, description="Where to get the credentials, in a sentence.")


class NoneAuthHint(_AuthBase):
    """The API needs no credentials."""

    type: Literal["none"]


class BasicAuthHint(_AuthBase):
    """HTTP basic auth; ``username``/``password`` describe what goes in each field."""

    type: Literal["basic"]
    username: str | None = Field(None, description="Hint text for the username field.")
    password: str | None = Field(None, description="Hint text for the password field.")


class DigestAuthHint(_AuthBase):
    """HTTP digest auth; hints as for basic."""

    type: Literal["digest"]
    username: str | None = None
    password: str | None = None


class HeaderAuthHint(_AuthBase):
    """Credentials sent in request headers whose names are given."""

    type: Literal["header"]
    headers: list[str] = Field(min_length=1, description="Header names the user supplies values for.")
    format: str | None = Field(None, description="Shape of the value, e.g. 'Bearer {token}'.")


class QueryAuthHint(_AuthBase):
    """Credentials sent as query parameters whose names are given."""

    type: Literal["query"]
    params: list[str] = Field(min_length=1, description="Query parameter names the user supplies values for.")


class CustomAuthHint(_AuthBase):
    """Anything else (signed requests, cookies); ``notes`` says what is needed."""

    type: Literal["custom"]


class OAuth2AuthHint(_AuthBase):
    """OAuth2 authorization-code flow."""

    type: Literal["oauth2"]
    authorize_url: str
    authorize_params: dict[str, str] = Field(default_factory=dict, description="Extra authorize-URL parameters.")
    token_url: str
    scopes: list[str] = Field(default_factory=list)
    pkce: bool = False


class OAuth2ClientCredentialsAuthHint(_AuthBase):
    """OAuth2 client-credentials flow (machine to machine)."""

    type: Literal["oauth2_client_credentials"]
    token_url: str
    scopes: list[str] = Field(default_factory=list)


AuthHint = Annotated[
    Union[
        NoneAuthHint,
        BasicAuthHint,
        DigestAuthHint,
        HeaderAuthHint,
        QueryAuthHint,
        CustomAuthHint,
        OAuth2AuthHint,
        OAuth2ClientCredentialsAuthHint,
    ],
    Field(discriminator="type"),
]


class PathParam(_Strict):
    """What one ``{placeholder}`` of a path holds, and an example value."""

    description: str | None = None
    example: str | None = None

    @field_validator("example", mode="before")
    @classmethod
    def _example_text(cls, value: Any) -> Any:
        # YAML reads `example: 123` as an int; a path segment is text either way.
        return str(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else value


class RequestSample(_Strict):
    """The sample request of an endpoint (never real credentials)."""

    body_format: BodyFormat = "none"
    content_type: str | None = None
    headers: dict[str, str] = Field(default_factory=dict)
    query: dict[str, Any] = Field(default_factory=dict)
    body: Any = None

    @model_validator(mode="after")
    def _body_fits_format(self) -> "RequestSample":
        fmt, body = self.body_format, self.body
        if fmt == "none" and body is not None:
            raise ValueError("body is given but body_format is 'none'; set body_format (json, form, ...)")
        if fmt in ("xml", "text") and body is not None and not isinstance(body, str):
            raise ValueError(f"body must be a string when body_format is {fmt!r}")
        if fmt in ("form", "multipart") and body is not None and not isinstance(body, dict):
            raise ValueError(f"body must be a mapping of field names to values when body_format is {fmt!r}")
        return self

    @property
    def effective_content_type(self) -> str | None:
        """Return ``content_type``, or the default for ``body_format``."""
        return self.content_type or DEFAULT_CONTENT_TYPES[self.body_format]


class ResponseSample(_Strict):
    """A sample response, where one is known."""

    status: int = Field(200, ge=100, le=599)
    content_type: str | None = None
    body: Any = None


class Endpoint(_Strict):
    """One operation: method, path template, what it is, and its sample request."""

    method: HttpMethod
    path: str = Field(description="Template starting with '/'; {name} stands for (part of) one path segment.")
    summary: str = Field(min_length=1)
    description: str | None = None
    docs_url: str | None = None
    tags: list[str] = Field(default_factory=list)
    path_params: dict[str, PathParam] = Field(default_factory=dict)
    request: RequestSample | None = None
    constraints: list[Constraint] = Field(default_factory=list)
    response: ResponseSample | None = None
    pagination: Pagination | None = Field(
        None, description="How a list endpoint answers in pages (the wizard pre-fills it): style, records, its options and bounds."
    )

    @field_validator("method", mode="before")
    @classmethod
    def _upper(cls, value: Any) -> Any:
        return value.upper() if isinstance(value, str) else value

    @field_validator("path")
    @classmethod
    def _path_template(cls, value: str) -> str:
        # This runs once per endpoint of every catalogue file loaded (100,000 at a
        # time): a path of plain segments and well-named placeholders is accepted by
        # one compiled pattern; the checks below word what is wrong with the others.
        if _PLAIN_PATH_RE.fullmatch(value):
            if value.count("{") < 2:
                return value
        elif not value.startswith("/"):
            raise ValueError("must start with '/'")
        elif "?" in value or "#" in value or "://" in value:
            raise ValueError("must be a path template only (no scheme, host, query string or fragment)")
        elif _SPACE_RE.search(value):
            raise ValueError("must not contain spaces")
        elif value.count("{") != value.count("}") or _SPANNING_RE.search(value):
            raise ValueError("has an unbalanced '{' or a placeholder spanning '/'")
        names = path_placeholders(value)
        for name in names:
            if not _PARAM_NAME_RE.match(name):
                raise ValueError(f"placeholder {{{name}}} must be a name such as {{organization_id}}")
        if len(set(names)) != len(names):
            dupes = sorted({n for n in names if names.count(n) > 1})
            raise ValueError(f"placeholder {{{dupes[0]}}} appears twice")
        return value

    @model_validator(mode="after")
    def _path_params_exist(self) -> "Endpoint":
        if not self.path_params:
            return self
        names = set(path_placeholders(self.path))
        extra = sorted(set(self.path_params) - names)
        if extra:
            raise ValueError(f"path_params names {extra[0]!r}, which is not a placeholder in path {self.path!r}")
        return self

    @property
    def key(self) -> tuple[str, str]:
        """Return ``(method, path)``, unique within a provider."""
        return (self.method, self.path)

    @property
    def label(self) -> str:
        """Return ``"METHOD /path/{template}"``."""
        return f"{self.method} {self.path}"


class CatalogueFile(_Strict):
    """One provider: who it is, its hosts, how to authenticate, and its endpoints."""

    format: Literal[1] = Field(description="Version of the catalogue format; only 1 exists.")
    provider: str = Field(pattern=_PROVIDER_RE, description="Unique id, e.g. 'eventbrite'.")
    name: str = Field(min_length=1)
    description: str | None = None
    docs_url: str | None = None
    hosts: list[HostName] = Field(min_length=1)
    base_path: str = ""
    rank: int = Field(
        0, ge=MIN_RANK, le=MAX_RANK,
        description=(
            "Which provider answers first when two providers' endpoints fit a URL equally well "
            "(a host both list): the higher rank; then user > plugin > contrib > built-in, then the "
            "provider id. Set with `plugwire knowledge rank PROVIDER N` or `knowledge import --rank N`."
        ),
    )
    auth: list[AuthHint] = Field(default_factory=list)
    endpoints: list[Endpoint] = Field(min_length=1)

    @field_validator("hosts")
    @classmethod
    def _unique_hosts(cls, hosts: list[str]) -> list[str]:
        if len(set(hosts)) != len(hosts):
            raise ValueError("lists the same host twice")
        return hosts

    @field_validator("base_path")
    @classmethod
    def _base_path(cls, value: str) -> str:
        if value and (not value.startswith("/") or value.endswith("/")):
            raise ValueError("must be empty or start with '/' and not end with '/', e.g. /api/v2")
        return value

    @model_validator(mode="after")
    def _unique_endpoints(self) -> "CatalogueFile":
        if len({(ep.method, ep.path) for ep in self.endpoints}) == len(self.endpoints):
            return self  # the common case, in one set; the loop below says which repeats
        seen: dict[tuple[str, str], int] = {}
        for i, ep in enumerate(self.endpoints):
            if ep.key in seen:
                raise ValueError(
                    f"endpoints[{i}] repeats {ep.method} {ep.path} (already endpoints[{seen[ep.key]}]); "
                    "endpoints are unique per (method, path)"
                )
            seen[ep.key] = i
        return self
