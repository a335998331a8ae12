"""Auth type ``digest``: HTTP Digest (RFC 7616) with a username and a password; the
password never crosses the wire."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

from plugwire import AuthContext, AuthType, hookimpl

if TYPE_CHECKING:
    import httpx2

__all__ = ["DigestAuthType", "DigestSettings"]


class DigestSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", defer_build=True)

    username: str = Field(description="user name")
    password: SecretStr = Field(description="password")

    @field_validator("username")
    @classmethod
    def _username(cls, v: str) -> str:
        if not v:
            raise ValueError("is empty: Digest needs a user name")
        return v


class DigestAuthType(AuthType):
    name = "digest"
    title = "Digest (username and password)"
    description = "HTTP Digest: answers the server's challenge without sending the password."
    Settings = DigestSettings

    def build_auth(self, settings: DigestSettings, context: AuthContext) -> httpx2.Auth:
        import httpx2  # on use: loading the plugins (plugwire suggest) needs no HTTP client

        return httpx2.DigestAuth(settings.username, settings.password.get_secret_value())


@hookimpl
def register_auth_types(register):
    register(DigestAuthType())
