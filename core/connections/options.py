"""What a connection is besides its auth: name, URLs, client TLS certificate and the
private-network route, validated. Split from connections.py, which stores them."""

from __future__ import annotations

import warnings
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

from plugwire.core.base.names import Name
from plugwire.core.base.urls import validate_absolute_url

__all__ = ["DEFAULT_MAX_RESPONSE_BYTES", "MAX_RESPONSE_BYTES_CEILING", "ClientCertificate", "ConnectionOptions", "PlugwireDeprecationWarning"]

#: The cap of a connection that sets none: 10 MB of response body, decompressed.
DEFAULT_MAX_RESPONSE_BYTES = 10_485_760
#: The largest cap a connection or an action may set (1 GB): a job holds what it keeps.
MAX_RESPONSE_BYTES_CEILING = 1_073_741_824



class PlugwireDeprecationWarning(DeprecationWarning):
    """A field or option that still works but will go; the message says what replaces it."""


class ClientCertificate(BaseModel):
    """A client TLS certificate and/or the CA bundle to trust for the server: PEM text
    (not paths), so the record is self-contained. A CA bundle alone is allowed, for a
    server with a private CA that asks for no client certificate."""

    model_config = ConfigDict(extra="forbid")

    certificate: str | None = Field(None, description="PEM certificate (chain); may also hold the private key")
    private_key: SecretStr | None = Field(None, description="PEM private key, unless it is in the certificate")
    key_password: SecretStr | None = Field(None, description="password of an encrypted private key")
    ca_bundle: str | None = Field(None, description="PEM CA certificates to trust for the server")

    @field_validator("certificate")
    @classmethod
    def _pem_certificate(cls, v: str | None) -> str | None:
        if v is not None and "-----BEGIN CERTIFICATE-----" not in v:
            raise ValueError("is not a PEM certificate (no BEGIN CERTIFICATE line)")
        return v

    @field_validator("ca_bundle")
    @classmethod
    def _pem_ca(cls, v: str | None) -> str | None:
        if v is not None and "-----BEGIN CERTIFICATE-----" not in v:
            raise ValueError("is not a PEM CA bundle (no BEGIN CERTIFICATE line)")
        return v

    @model_validator(mode="before")
    @classmethod
    def _key_out_of_certificate(cls, data: Any) -> Any:
        # A combined PEM file holds the key too: keep the key as a secret (sealed at
        # rest, masked when shown) rather than in the readable certificate text.
        if isinstance(data, dict) and isinstance(data.get("certificate"), str):
            from plugwire.core.connections.tls import split_key_from_certificate

            cert, key = split_key_from_certificate(data["certificate"])
            if key is not None:
                data = {**data, "certificate": cert}
                if not data.get("private_key"):
                    data["private_key"] = key
        return data

    @model_validator(mode="after")
    def _has_key(self) -> "ClientCertificate":
        from pydantic_core import PydanticCustomError

        from plugwire.core.connections.tls import KeyPairError, check_key_pair

        key = self.private_key.get_secret_value() if self.private_key else ""
        if self.certificate is None:
            if key or self.key_password is not None:
                raise ValueError("certificate: a private key or key_password was given without a certificate")
            if not self.ca_bundle:
                raise ValueError("give a certificate (with its private key), a ca_bundle, or both")
            return self
        if "PRIVATE KEY-----" not in key:
            raise ValueError("has no private key: give private_key, or a certificate file that includes the key")
        password = self.key_password.get_secret_value() if self.key_password else None
        try:
            check_key_pair(self.certificate, key, password)
        except KeyPairError as exc:
            # A custom error type: its message reads without pydantic's "Value error," prefix.
            raise PydanticCustomError("client_certificate", "{field}: {problem}", {"field": exc.field, "problem": str(exc)}) from None
        return self


class ConnectionOptions(BaseModel):
    """Everything of a connection but its auth settings, validated."""

    model_config = ConfigDict(extra="forbid")

    name: Name
    auth_type: str
    description: str = ""
    provider: str | None = Field(None, description="catalogue provider id this connection is for")
    base_url: str | None = Field(None, description="the API's base URL, for relative paths and suggestions")
    test_url: str | None = Field(None, description="URL that Test connection sends a GET to")
    client_certificate: ClientCertificate | None = None
    private_network: bool = Field(False, description="route requests through the on-premise agent")
    agent_url: str | None = Field(None, description="URL of the on-premise agent/proxy (http, https or socks5)")
    verify_tls: bool = Field(True, description="verify the server's certificate (on by default)")
    timeout: float = Field(30.0, gt=0, le=600, description="seconds before a request times out")
    max_response_bytes: int = Field(
        DEFAULT_MAX_RESPONSE_BYTES, description="bytes of a response body (decompressed) kept; a longer answer is refused as 'response too large'",
    )

    @model_validator(mode="before")
    @classmethod
    def _deprecated_fields(cls, data: Any) -> Any:
        if isinstance(data, dict) and "restricted_ip" in data:
            data = dict(data)
            restricted = data.pop("restricted_ip")
            warnings.warn(
                "The connection field 'restricted_ip' is deprecated and has no effect"
                + (" (it was set)" if restricted else "")
                + ": for an API that admits only known addresses, set 'private_network' "
                "and 'agent_url' so requests leave through your on-premise agent.",
                PlugwireDeprecationWarning,
                stacklevel=2,
            )
        return data

    @field_validator("max_response_bytes")
    @classmethod
    def _response_cap(cls, v: int) -> int:
        from pydantic_core import PydanticCustomError

        if not 1 <= v <= MAX_RESPONSE_BYTES_CEILING:
            # A custom error type: its message reads without pydantic's "Value error," prefix.
            raise PydanticCustomError(
                "max_response_bytes",
                "must be between 1 and {ceiling} bytes (1 GB), not {value}; leave it out for the default of {default} (10 MB)",
                {"ceiling": MAX_RESPONSE_BYTES_CEILING, "value": v, "default": DEFAULT_MAX_RESPONSE_BYTES},
            )
        return v

    @field_validator("test_url", "base_url")
    @classmethod
    def _url(cls, v: str | None, info) -> str | None:
        if v is None or v == "":
            return None
        return validate_absolute_url(v, info.field_name)

    @field_validator("agent_url")
    @classmethod
    def _agent(cls, v: str | None) -> str | None:
        if v is None or v == "":
            return None
        return validate_absolute_url(v, "agent_url", schemes=("http", "https", "socks5", "socks5h"))

    @model_validator(mode="after")
    def _agent_needed(self) -> "ConnectionOptions":
        if self.private_network and not self.agent_url:
            raise ValueError(
                "private_network is on but agent_url is empty: give the URL of the on-premise agent "
                "(e.g. http://agent.internal:3128) or turn private_network off"
            )
        return self
