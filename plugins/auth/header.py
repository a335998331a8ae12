"""Auth type ``header``: any headers sent with every request (``Authorization:
Bearer ...``, ``X-Api-Key: ...``). Every value is a secret."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

from plugwire import AuthContext, AuthType, hookimpl

if TYPE_CHECKING:
    import httpx2

    from plugwire.plugins.auth.flows import HeadersAuth

__all__ = ["HeaderAuthType", "HeaderSettings", "HeadersAuth", "check_headers"]

# RFC 7230 section 3.2.6: a header name is a "token".
_TOKEN = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")
# A CR or LF in a value would let it smuggle in another header; httpx2 encodes
# header values as ASCII, so anything else would fail only at request time.
_BAD_VALUE = re.compile(r"[\r\n\x00]|[^\x00-\x7f]")


def check_headers(headers: dict[str, SecretStr]) -> dict[str, SecretStr]:
    """Return ``headers`` when every name is an RFC 7230 token and no value holds a
    line break. Raises ``ValueError`` naming the header (never its value)."""
    for name, value in headers.items():
        if not _TOKEN.match(name):
            raise ValueError(
                f"header name {name!r} is not a valid HTTP header name "
                "(letters, digits and !#$%&'*+-.^_`|~ only, no spaces or ':')"
            )
        if _BAD_VALUE.search(value.get_secret_value()):
            raise ValueError(f"the value of header {name!r} contains a line break, NUL or a non-ASCII character")
    return headers


class HeaderSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", defer_build=True)

    headers: dict[str, SecretStr] = Field(
        description="header name to value, e.g. Authorization: Bearer <token> or X-Api-Key: <key>"
    )

    @field_validator("headers")
    @classmethod
    def _headers(cls, v: dict[str, SecretStr]) -> dict[str, SecretStr]:
        if not v:
            raise ValueError("needs at least one header, e.g. headers.Authorization='Bearer <token>'")
        return check_headers(v)


class HeaderAuthType(AuthType):
    name = "header"
    title = "Header auth (any headers)"
    description = "Headers sent with every request: a bearer token, an API key header, or several."
    Settings = HeaderSettings

    def build_auth(self, settings: HeaderSettings, context: AuthContext) -> httpx2.Auth:
        from plugwire.plugins.auth.flows import HeadersAuth

        return HeadersAuth(settings.headers)


@hookimpl
def register_auth_types(register):
    register(HeaderAuthType())


_IN_FLOWS = {"HeadersAuth", "apply_headers"}


def __getattr__(name: str) -> Any:
    # The httpx2.Auth flow (and what it shares) lives in .flows, imported on first use
    # so that loading this plugin does not import httpx2 (PEP 562).
    if name in _IN_FLOWS:
        from plugwire.plugins.auth import flows

        return getattr(flows, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
