"""Auth type ``query``: key/value pairs added to every request's query string
(``?api_key=...``). Every value is a secret; the request's own parameters stay."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

from plugwire import AuthContext, AuthType, hookimpl

if TYPE_CHECKING:
    import httpx2

    from plugwire.plugins.auth.flows import QueryParamsAuth, apply_params

__all__ = ["QueryAuthType", "QueryParamsAuth", "QuerySettings", "apply_params", "check_params"]


def check_params(params: dict[str, SecretStr]) -> dict[str, SecretStr]:
    """Return ``params`` when every name is non-empty and free of spaces.

    Raises ``ValueError`` naming the parameter (never its value).
    """
    for name in params:
        if not name or any(ch.isspace() for ch in name):
            raise ValueError(f"query parameter name {name!r} is empty or contains spaces")
    return params


class QuerySettings(BaseModel):
    model_config = ConfigDict(extra="forbid", defer_build=True)

    params: dict[str, SecretStr] = Field(description="query parameter name to value, e.g. api_key: <key>")

    @field_validator("params")
    @classmethod
    def _params(cls, v: dict[str, SecretStr]) -> dict[str, SecretStr]:
        if not v:
            raise ValueError("needs at least one parameter, e.g. params.api_key=env:API_KEY")
        return check_params(v)


class QueryAuthType(AuthType):
    name = "query"
    title = "Query parameters (any key/values)"
    description = "Key/value pairs added to every URL, e.g. ?api_key=..."
    Settings = QuerySettings

    def build_auth(self, settings: QuerySettings, context: AuthContext) -> httpx2.Auth:
        from plugwire.plugins.auth.flows import QueryParamsAuth

        return QueryParamsAuth(settings.params)


@hookimpl
def register_auth_types(register):
    register(QueryAuthType())


_IN_FLOWS = {"QueryParamsAuth", "apply_params"}


def __getattr__(name: str) -> Any:
    # The httpx2.Auth flow (and what it shares) lives in .flows, imported on first use
    # so that loading this plugin does not import httpx2 (PEP 562).
    if name in _IN_FLOWS:
        from plugwire.plugins.auth import flows

        return getattr(flows, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
