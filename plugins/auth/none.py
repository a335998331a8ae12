"""Auth type ``none``: requests go out without credentials."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from plugwire import AuthContext, AuthType, hookimpl


class NoSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", defer_build=True)


class NoAuth(AuthType):
    name = "none"
    title = "No authentication"
    description = "Public APIs, or credentials sent by hand in each request."
    Settings = NoSettings

    def build_auth(self, settings: BaseModel, context: AuthContext) -> None:
        return None


@hookimpl
def register_auth_types(register):
    register(NoAuth())
