"""Auth type ``basic``: HTTP Basic with a username and a password, or an API key or
token sent as the password (or the username, as some APIs want)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict, Field, SecretStr

from plugwire import AuthContext, AuthType, hookimpl

if TYPE_CHECKING:
    import httpx2


class BasicSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", defer_build=True)

    username: str = Field("", description="user name or e-mail; empty when the API key alone is the user")
    password: SecretStr = Field(description="password, or the API key / token the API takes as password")


class BasicAuthType(AuthType):
    name = "basic"
    title = "Basic (username and password or API key)"
    description = "HTTP Basic: a username with a password, API key or token."
    Settings = BasicSettings

    def build_auth(self, settings: BasicSettings, context: AuthContext) -> httpx2.Auth:
        import httpx2  # on use: loading the plugins (plugwire suggest) needs no HTTP client

        return httpx2.BasicAuth(settings.username, settings.password.get_secret_value())


@hookimpl
def register_auth_types(register):
    register(BasicAuthType())
