"""Auth type ``query``: key/value pairs added to every request's query string
(``?api_key=...``). Every value is a secret; the request's own parameters stay."""

from __future__ import annotations

from typing import Generator

import httpx2
from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

from plugwire import AuthContext, AuthType, hookimpl

__all__ = ["QueryAuthType", "QueryParamsAuth", "QuerySettings", "apply_params", "check_params"]


def check_params(params: dict[str, SecretStr]) -> dict[str, SecretStr]:
    """Return ``params`` when every name is non-empty and free of spaces.

    Raises ``ValueError`` naming the parameter (never its value).
    """
    for name in params:
        if not name or any(ch.isspace() for ch in name):
            raise ValueError(f"query parameter name {name!r} is empty or contains spaces")
    return params


def apply_params(request: httpx2.Request, params: dict[str, SecretStr]) -> None:
    """Merge ``params`` into ``request``'s URL: its other parameters are kept, a
    parameter of the same name is replaced by the auth's value."""
    plain = {name: value.get_secret_value() for name, value in params.items()}
    request.url = request.url.copy_merge_params(plain)


class QuerySettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    params: dict[str, SecretStr] = Field(description="query parameter name to value, e.g. api_key: <key>")

    @field_validator("params")
    @classmethod
    def _params(cls, v: dict[str, SecretStr]) -> dict[str, SecretStr]:
        if not v:
            raise ValueError("needs at least one parameter, e.g. params.api_key=env:API_KEY")
        return check_params(v)


class QueryParamsAuth(httpx2.Auth):
    """Adds fixed query parameters to every request; no I/O (sync and async)."""

    def __init__(self, params: dict[str, SecretStr]):
        self._params = dict(params)

    def auth_flow(self, request: httpx2.Request) -> Generator[httpx2.Request, httpx2.Response, None]:
        apply_params(request, self._params)
        yield request


class QueryAuthType(AuthType):
    name = "query"
    title = "Query parameters (any key/values)"
    description = "Key/value pairs added to every URL, e.g. ?api_key=..."
    Settings = QuerySettings

    def build_auth(self, settings: QuerySettings, context: AuthContext) -> httpx2.Auth:
        return QueryParamsAuth(settings.params)


@hookimpl
def register_auth_types(register):
    register(QueryAuthType())
