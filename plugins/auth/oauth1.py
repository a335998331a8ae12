"""Auth types ``oauth1`` (OAuth 1.0a, three-legged) and ``oauth1_two_legged``
(a consumer key and secret, and a token given directly, if any), built on
authlib's OAuth 1 client.

``oauth1`` is interactive: ``plugwire connections connect NAME`` (or the console's
Connect button) gets a request token, sends the user to the provider's authorize
page and exchanges the verifier the callback brings for an access token, stored
sealed like OAuth2's. Both sign every request with HMAC-SHA1, HMAC-SHA256,
RSA-SHA1 or PLAINTEXT, the parameters of a form-encoded body included.
"""

from __future__ import annotations

import hmac
from typing import TYPE_CHECKING, Annotated, Any, Literal
from urllib.parse import parse_qsl

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationInfo,
    model_validator,
)

from plugwire import (
    AuthContext,
    AuthorizationRequired,
    AuthType,
    PendingAuthorization,
    PlugwireError,
    hookimpl,
)

if TYPE_CHECKING:
    import httpx2

# authlib, httpx2 and cryptography are imported where a request is signed or a key
# read: every plugin is loaded to answer `plugwire suggest`, which needs none of them.

__all__ = ["OAuth1Settings", "OAuth1ThreeLegged", "OAuth1TwoLegged", "OAuth1TwoLeggedSettings"]

_AGAIN = "run `plugwire connections connect {}` again"


def _absolute(value: str, info: ValidationInfo) -> str:
    from plugwire import validate_absolute_url

    return validate_absolute_url(value, f"settings.{info.field_name}")


def _pem_private_key(value: SecretStr | None) -> SecretStr | None:
    if value is None or not value.get_secret_value():
        return None
    from cryptography.hazmat.primitives.serialization import load_pem_private_key

    try:
        load_pem_private_key(value.get_secret_value().encode(), password=None)
    except (ValueError, TypeError):
        raise ValueError("is not a PEM private key without a password (-----BEGIN PRIVATE KEY----- ...)") from None
    return value


Url = Annotated[str, AfterValidator(_absolute)]
ConsumerKey = Annotated[str, Field(min_length=1, description="the consumer (client) key registered at the provider")]
ConsumerSecret = Annotated[SecretStr | None, Field(description="the consumer secret (not used by RSA-SHA1)")]
SignatureMethod = Annotated[
    Literal["HMAC-SHA1", "HMAC-SHA256", "RSA-SHA1", "PLAINTEXT"],
    Field(description="how requests are signed; PLAINTEXT sends the secrets as they are (https only)"),
]
RsaKey = Annotated[
    SecretStr | None,
    AfterValidator(_pem_private_key),
    Field(description="the PEM private key for RSA-SHA1 (the provider holds its public key)"),
]
Realm = Annotated[str, Field(description="the realm sent in the Authorization header, where the provider asks for one")]


class _Signing(BaseModel):
    """What both types sign with."""

    model_config = ConfigDict(extra="forbid", defer_build=True)

    @model_validator(mode="after")
    def _key_for_method(self) -> _Signing:
        if self.signature_method == "RSA-SHA1":
            if self.rsa_private_key is None:
                raise ValueError("settings.rsa_private_key is required with signature_method RSA-SHA1")
        elif not (self.consumer_secret and self.consumer_secret.get_secret_value()):
            raise ValueError(f"settings.consumer_secret is required with signature_method {self.signature_method}")
        return self

    def signing(self) -> dict[str, Any]:
        """Return authlib's OAuth 1 client arguments for signing as this consumer."""
        return {
            "client_id": self.consumer_key,
            "client_secret": self.consumer_secret.get_secret_value() if self.consumer_secret else None,
            "signature_method": self.signature_method,
            "rsa_key": self.rsa_private_key.get_secret_value() if self.rsa_private_key else None,
            "realm": self.realm or None,
        }

    def key_field(self) -> str:
        """Return the setting a refused signature points at."""
        return "settings.rsa_private_key" if self.signature_method == "RSA-SHA1" else "settings.consumer_secret"

    def secrets(self) -> list[str]:
        return [s.get_secret_value() for s in (self.consumer_secret, self.rsa_private_key) if s]


class OAuth1Settings(_Signing):
    request_token_url: Url = Field(description="the provider's request (temporary credentials) token URL")
    authorize_url: Url = Field(description="the provider's authorize page, where the user approves the access")
    access_token_url: Url = Field(description="the provider's access token URL")
    consumer_key: ConsumerKey
    consumer_secret: ConsumerSecret = None
    signature_method: SignatureMethod = "HMAC-SHA1"
    rsa_private_key: RsaKey = None
    redirect_uri: Url = Field(
        "http://127.0.0.1:8765/callback", description="the callback URL (oauth_callback) registered at the provider"
    )
    realm: Realm = ""


class OAuth1TwoLeggedSettings(_Signing):
    consumer_key: ConsumerKey
    consumer_secret: ConsumerSecret = None
    signature_method: SignatureMethod = "HMAC-SHA1"
    rsa_private_key: RsaKey = None
    token: str = Field("", description="the access token the provider gave, if any (empty: consumer only)")
    token_secret: SecretStr | None = Field(None, description="the token's secret, given with token")
    realm: Realm = ""


def _signer(signing: dict[str, Any], token: str | None, token_secret: str | None) -> httpx2.Auth:
    from plugwire.plugins.auth.oauth1_sign import OAuth1Signer

    return OAuth1Signer(token=token or None, token_secret=token_secret or None, **signing)


def _callback_params(callback_url: str) -> dict[str, str]:
    from urllib.parse import urlsplit

    return dict(parse_qsl(urlsplit(callback_url).query, keep_blank_values=True))


class OAuth1ThreeLegged(AuthType):
    name = "oauth1"
    title = "OAuth 1.0a"
    description = "Sign in at the provider in a browser (three-legged); every request is signed with the stored token."
    Settings = OAuth1Settings
    interactive = True

    def build_auth(self, settings: OAuth1Settings, context: AuthContext) -> httpx2.Auth:
        """Return the signing auth with the stored token.

        Raises ``AuthorizationRequired`` when the connection was never connected.
        """
        from plugwire.plugins.auth.oauth2_tokens import reconnect_command

        token = context.tokens.load()
        if not token or not token.get("oauth_token"):
            raise AuthorizationRequired(
                f"Connection {context.connection_name!r} is not authorized yet: it has no OAuth 1.0a token.",
                field="connection",
                fix=f"run `{reconnect_command(context.connection_name)}` and approve the access in the browser",
            )
        return _signer(settings.signing(), token["oauth_token"], token.get("oauth_token_secret"))

    def begin_authorization(
        self, settings: OAuth1Settings, redirect_uri: str | None, context: AuthContext
    ) -> PendingAuthorization:
        """Get a request token (through the connection's transport) and return the
        authorize URL; the request token is the ``state`` the callback brings back
        as ``oauth_token``, its secret is kept in ``secret_state``.

        Raises ``PlugwireError`` naming the setting to check when the provider refuses.
        """
        from plugwire.plugins.auth.oauth1_sign import token_errors, token_request

        from plugwire import validate_absolute_url

        redirect = validate_absolute_url(redirect_uri, "redirect_uri") if redirect_uri else settings.redirect_uri
        url = settings.request_token_url
        with (
            token_errors(url, "request token request", settings.key_field(), settings.secrets()),
            token_request(context, settings.signing(), redirect_uri=redirect) as client,
        ):
            found = client.fetch_request_token(url)
            authorize = client.create_authorization_url(settings.authorize_url, found["oauth_token"])
        if not found.get("oauth_token"):
            raise PlugwireError(f"{url} gave no request token.", field="settings.request_token_url",
                                fix="check that request_token_url is the provider's request token URL")
        return PendingAuthorization(
            url=authorize, state=found["oauth_token"], redirect_uri=redirect,
            secret_state={"oauth_token_secret": found.get("oauth_token_secret") or ""},
        )

    def finish_authorization(
        self, settings: OAuth1Settings, pending: PendingAuthorization, callback_url: str, context: AuthContext
    ) -> dict[str, Any]:
        """Check the callback's ``oauth_token``, exchange its ``oauth_verifier`` for an
        access token, store and return it.

        Raises ``PlugwireError`` for another request token, a denial or a provider error.
        """
        from plugwire.plugins.auth.oauth1_sign import token_errors, token_request
        from plugwire.plugins.auth.oauth2_tokens import reconnect_command

        params = _callback_params(callback_url)
        again = f"run `{reconnect_command(context.connection_name)}` again"
        if params.get("error"):
            said = params["error"] + (f": {params['error_description']}" if params.get("error_description") else "")
            raise PlugwireError(f"The access was denied at the provider ({said}). Nothing was stored.",
                                field="connection", fix=f"{again} and approve the access")
        if not hmac.compare_digest(params.get("oauth_token", ""), pending.state):
            raise PlugwireError(
                "The callback's oauth_token is not the request token of the authorization that was started, so it "
                "was refused (it may be an old or forged callback). Nothing was stored.",
                field="oauth_token", fix=f"{again} and finish it in the same browser window",
            )
        if not params.get("oauth_verifier"):
            raise PlugwireError("The callback carries no oauth_verifier.", field="callback_url", fix=again)
        url = settings.access_token_url
        secret = pending.secret_state.get("oauth_token_secret") or None
        with (
            token_errors(url, "access token request", settings.key_field(), [*settings.secrets(), secret or ""]),
            token_request(context, settings.signing(), token=pending.state, token_secret=secret) as client,
        ):
            found = client.fetch_access_token(url, verifier=params["oauth_verifier"])
        token = {k: v for k, v in found.items() if v is not None and k != "oauth_verifier"}
        if not token.get("oauth_token"):
            raise PlugwireError(f"{url} gave no access token.", field="settings.access_token_url",
                                fix="check that access_token_url is the provider's access token URL")
        context.tokens.save(token)
        return token


class OAuth1TwoLegged(AuthType):
    name = "oauth1_two_legged"
    title = "OAuth 1.0a (two-legged)"
    description = "Sign every request with the consumer key and secret, and a token given directly if the API wants one."
    Settings = OAuth1TwoLeggedSettings

    def build_auth(self, settings: OAuth1TwoLeggedSettings, context: AuthContext) -> httpx2.Auth:
        """Return the signing auth (no request of its own)."""
        secret = settings.token_secret.get_secret_value() if settings.token_secret else None
        return _signer(settings.signing(), settings.token, secret)


@hookimpl
def register_auth_types(register):
    register(OAuth1ThreeLegged())
    register(OAuth1TwoLegged())
