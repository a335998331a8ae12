"""Auth type ``custom``: any combination of headers, query parameters and HTTP Basic,
for APIs that want several at once (an app key in the URL and a user token in a
header, Basic plus an ``X-Tenant`` header...)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

from plugwire import AuthContext, AuthType, hookimpl
from plugwire.plugins.auth.header import check_headers
from plugwire.plugins.auth.query import check_params

if TYPE_CHECKING:
    import httpx2

    from plugwire.plugins.auth.flows import CustomAuth

__all__ = ["CustomAuth", "CustomAuthType", "CustomSettings"]


class CustomSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", defer_build=True)

    headers: dict[str, SecretStr] = Field(default_factory=dict, description="headers sent with every request")
    params: dict[str, SecretStr] = Field(default_factory=dict, description="query parameters added to every URL")
    username: str | None = Field(None, description="HTTP Basic user (Basic is used when username or password is set)")
    password: SecretStr | None = Field(None, description="HTTP Basic password, API key or token")

    @field_validator("headers")
    @classmethod
    def _headers(cls, v: dict[str, SecretStr]) -> dict[str, SecretStr]:
        return check_headers(v)

    @field_validator("params")
    @classmethod
    def _params(cls, v: dict[str, SecretStr]) -> dict[str, SecretStr]:
        return check_params(v)

    @model_validator(mode="after")
    def _something_set(self) -> "CustomSettings":
        basic = self.username is not None or self.password is not None
        if not (self.headers or self.params or basic):
            raise ValueError("set at least one of headers, params, username or password")
        if basic and any(name.lower() == "authorization" for name in self.headers):
            # Both would write the Authorization header; one would silently lose.
            raise ValueError(
                "headers.Authorization and username/password both set the Authorization header: keep one"
            )
        return self

    @property
    def uses_basic(self) -> bool:
        """True when HTTP Basic is part of this auth."""
        return self.username is not None or self.password is not None


class CustomAuthType(AuthType):
    name = "custom"
    title = "Custom (headers, query parameters and/or Basic)"
    description = "Any combination of headers, query parameters and HTTP Basic credentials."
    Settings = CustomSettings

    def build_auth(self, settings: CustomSettings, context: AuthContext) -> httpx2.Auth:
        from plugwire.plugins.auth.flows import CustomAuth

        return CustomAuth(settings)


@hookimpl
def register_auth_types(register):
    register(CustomAuthType())


_IN_FLOWS = {"CustomAuth"}


def __getattr__(name: str) -> Any:
    # The httpx2.Auth flow (and what it shares) lives in .flows, imported on first use
    # so that loading this plugin does not import httpx2 (PEP 562).
    if name in _IN_FLOWS:
        from plugwire.plugins.auth import flows

        return getattr(flows, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
