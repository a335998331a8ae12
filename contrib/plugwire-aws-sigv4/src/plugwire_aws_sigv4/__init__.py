"""plugwire auth type ``aws_sigv4``: AWS Signature Version 4 request signing.

Registered through the ``plugwire`` entry-point group (see pyproject.toml)."""

from __future__ import annotations

import re

import httpx2
from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

from plugwire import AuthContext, AuthType, hookimpl
from plugwire_aws_sigv4.signer import Credentials, SigV4Auth

__all__ = ["AwsSigV4AuthType", "AwsSigV4Settings", "SigV4Auth"]

#: The plugwire plugin API this plugin is written for.
PLUGWIRE_PLUGIN_API = 1

_NAME = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")


class AwsSigV4Settings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    access_key_id: str = Field(description="access key id, e.g. AKIAIOSFODNN7EXAMPLE (ASIA... for temporary credentials)")
    secret_access_key: SecretStr = Field(description="the secret access key that belongs to the key id")
    session_token: SecretStr | None = Field(None, description="session token of temporary (STS) credentials")
    region: str = Field(description="region the service runs in, e.g. us-east-1 (auto for Cloudflare R2)")
    service: str = Field(description="service signing name, e.g. execute-api, s3, es, lambda")

    @field_validator("access_key_id")
    @classmethod
    def _key_id(cls, v: str) -> str:
        v = v.strip()
        if not re.fullmatch(r"[A-Za-z0-9]{3,128}", v):
            raise ValueError("must be the access key id alone (letters and digits, e.g. AKIAIOSFODNN7EXAMPLE)")
        return v

    @field_validator("region", "service")
    @classmethod
    def _scope_name(cls, v: str, info) -> str:
        v = v.strip()
        if not _NAME.match(v):
            example = "us-east-1" if info.field_name == "region" else "execute-api"
            raise ValueError(f"must be lower-case letters, digits and '-', e.g. {example}")
        return v

    @field_validator("session_token")
    @classmethod
    def _empty_token(cls, v: SecretStr | None) -> SecretStr | None:
        return v if v is not None and v.get_secret_value().strip() else None


class AwsSigV4AuthType(AuthType):
    name = "aws_sigv4"
    title = "AWS Signature Version 4"
    description = "Signs each request with an AWS access key (SigV4): API Gateway, S3, OpenSearch and other AWS services."
    Settings = AwsSigV4Settings

    def build_auth(self, settings: AwsSigV4Settings, context: AuthContext) -> httpx2.Auth:
        credentials = Credentials(settings.access_key_id, settings.secret_access_key, settings.session_token)
        return SigV4Auth(credentials, settings.region, settings.service)


@hookimpl
def register_auth_types(register):
    register(AwsSigV4AuthType())
