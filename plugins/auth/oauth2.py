"""Auth types ``oauth2`` (authorization code, with PKCE) and
``oauth2_client_credentials``, built on authlib.

``oauth2`` is interactive: ``plugwire connections connect NAME`` sends the user to
the provider and stores the token it gets back. Both types send a bearer token that
is renewed before it expires and once after a 401 (see :mod:`.oauth2_tokens`).
"""

from __future__ import annotations

import hmac
from typing import TYPE_CHECKING, Annotated, Any, Literal
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, SecretStr, ValidationInfo, field_validator

from plugwire import AuthContext, AuthorizationRequired, AuthType, PendingAuthorization, PlugwireError, hookimpl
from plugwire.plugins.auth.oauth2_tokens import Grant, TokenEndpoint, reconnect_command

if TYPE_CHECKING:
    import httpx2

# authlib, httpx2 and the bearer auth are imported where they are used: every plugin
# is loaded to answer `plugwire suggest`, which needs none of them.

__all__ = [
    "AuthorizationCodeSettings",
    "ClientCredentialsSettings",
    "OAuth2AuthorizationCode",
    "OAuth2ClientCredentials",
    "authorize_url",
]

# Parameters of the token request that the protocol sets; an extra parameter of the
# same name would silently change the grant.
_RESERVED_TOKEN_PARAMS = {
    "grant_type", "code", "refresh_token", "client_id", "client_secret", "redirect_uri", "code_verifier",
}
# Authorize-URL parameters plugwire sets itself; all others in authorize_url are kept.
_SET_BY_US = {"client_id", "redirect_uri", "state", "code_challenge", "code_challenge_method"}


def _absolute(value: str, info: ValidationInfo) -> str:
    from plugwire import validate_absolute_url

    return validate_absolute_url(value, f"settings.{info.field_name}")


def _not_reserved(value: dict[str, str]) -> dict[str, str]:
    clash = sorted(set(value) & _RESERVED_TOKEN_PARAMS)
    if clash:
        verb = "is" if len(clash) == 1 else "are"
        raise ValueError(f"{', '.join(clash)} {verb} set by the OAuth2 protocol itself; remove from extra_token_params")
    return value


# The fields both types share, as annotated types: each model declares its fields in
# the order a form shows them (inherited fields would all come first).
Url = Annotated[str, AfterValidator(_absolute)]
TokenUrl = Annotated[Url, Field(description="the provider's token endpoint")]
ClientId = Annotated[str, Field(min_length=1, description="the client (application) id registered at the provider")]
AuthMethod = Annotated[
    Literal["client_secret_post", "client_secret_basic", "none"],
    Field(description="how the client authenticates at the token endpoint"),
]
Leeway = Annotated[int, Field(ge=0, le=86400, description="seconds before expiry at which the token is renewed")]
ExtraParams = Annotated[
    dict[str, str],
    AfterValidator(_not_reserved),
    Field(description="extra parameters sent with every token request (e.g. resource)"),
]


class _TokenSettings(BaseModel):
    """What both OAuth2 types do with their settings: reach the token endpoint."""

    model_config = ConfigDict(extra="forbid", defer_build=True)

    def endpoint(self, context: AuthContext) -> TokenEndpoint:
        """Return the token endpoint as this connection reaches it."""
        secret = self.client_secret
        return TokenEndpoint(
            token_url=self.token_url,
            client_id=self.client_id,
            client_secret=secret.get_secret_value() if secret else None,
            auth_method=self.token_auth_method,
            extra_params=self.extra_token_params,
            context=context,
        )


class AuthorizationCodeSettings(_TokenSettings):
    authorize_url: Url = Field(
        description="the provider's authorize endpoint; its own query parameters (scope, audience...) are kept"
    )
    token_url: TokenUrl
    client_id: ClientId
    token_auth_method: AuthMethod = "client_secret_post"
    client_secret: SecretStr | None = Field(
        None, validate_default=True, description="the client secret; none for a public client"
    )
    redirect_uri: Url = Field("http://127.0.0.1:8765/callback", description="the callback URL registered at the provider")
    scope: str = Field("", description="space-separated scopes, added to any in authorize_url")
    use_pkce: bool = Field(True, description="send a PKCE (S256) code challenge")
    refresh_leeway: Leeway = 60
    extra_token_params: ExtraParams = {}

    @field_validator("client_secret")
    @classmethod
    def _secret_needed(cls, v: SecretStr | None, info: ValidationInfo) -> SecretStr | None:
        method = info.data.get("token_auth_method", "client_secret_post")
        if method != "none" and not (v and v.get_secret_value()):
            raise ValueError(
                f"is required with token_auth_method {method}: give it, or set token_auth_method "
                "to none for a public client (with use_pkce on)"
            )
        return v


class ClientCredentialsSettings(_TokenSettings):
    token_url: TokenUrl
    client_id: ClientId
    token_auth_method: AuthMethod = "client_secret_post"
    client_secret: SecretStr = Field(description="the client secret")
    scope: str = Field("", description="space-separated scopes to ask for")
    audience: str | None = Field(None, description="the API the token is for, where the provider asks for one")
    refresh_leeway: Leeway = 60
    extra_token_params: ExtraParams = {}


def _merge_scopes(*scopes: str) -> str:
    seen: dict[str, None] = {}
    for text in scopes:
        for s in text.split():
            seen.setdefault(s, None)
    return " ".join(seen)


def authorize_url(settings: AuthorizationCodeSettings, redirect_uri: str, state: str, code_verifier: str | None) -> str:
    """Return the URL that sends the user to the provider.

    The parameters already in ``settings.authorize_url`` (``response_type``,
    ``audience``, ``access_type``...) are kept; its ``scope`` is merged with
    ``settings.scope``; plugwire sets ``client_id``, ``redirect_uri``, ``state`` and
    the PKCE challenge.
    """
    parts = urlsplit(settings.authorize_url)
    own = parse_qsl(parts.query, keep_blank_values=True)
    response_type = next((v for k, v in own if k == "response_type"), "code")
    scope = _merge_scopes(*(v for k, v in own if k == "scope"), settings.scope)
    kept = [(k, v) for k, v in own if k not in _SET_BY_US | {"response_type", "scope"}]
    base = urlunsplit(parts._replace(query=urlencode(kept)))
    from authlib.oauth2.client import OAuth2Client as _ProtocolClient

    client = _ProtocolClient(
        None,
        client_id=settings.client_id,
        redirect_uri=redirect_uri,
        code_challenge_method="S256" if code_verifier else None,
    )
    url, _ = client.create_authorization_url(
        base, state=state, code_verifier=code_verifier, response_type=response_type, scope=scope or None
    )
    return url


def _callback_params(callback_url: str) -> dict[str, str]:
    import httpx2

    try:
        query = httpx2.URL(callback_url).query.decode()
    except Exception:
        raise PlugwireError(
            "The callback URL could not be read.", field="callback_url", fix="pass the full URL the provider redirected to"
        ) from None
    return dict(parse_qsl(query, keep_blank_values=True))


class OAuth2AuthorizationCode(AuthType):
    name = "oauth2"
    title = "OAuth2 (authorization code)"
    description = "Sign in at the provider in a browser; the token is stored and renewed."
    Settings = AuthorizationCodeSettings
    interactive = True

    def build_auth(self, settings: AuthorizationCodeSettings, context: AuthContext) -> httpx2.Auth:
        """Return the bearer auth with the stored token.

        Raises ``AuthorizationRequired`` when the connection was never connected.
        """
        from plugwire.plugins.auth.oauth2_bearer import BearerTokenAuth

        token = context.tokens.load()
        grant_for = self._grant_for(context.connection_name)
        if token is None:
            grant_for(None)
        return BearerTokenAuth(
            endpoint=settings.endpoint(context),
            store=context.tokens,
            grant_for=grant_for,
            leeway=settings.refresh_leeway,
            token=token,
        )

    @staticmethod
    def _grant_for(connection: str):
        def grant_for(token: dict[str, Any] | None) -> Grant:
            if token is None:
                raise AuthorizationRequired(
                    f"Connection {connection!r} is not authorized yet: it has no OAuth2 token.",
                    field="connection",
                    fix=f"run `{reconnect_command(connection)}` and approve the access in the browser",
                )
            if not token.get("refresh_token"):
                raise AuthorizationRequired(
                    f"The token of connection {connection!r} has expired and the provider gave no refresh token.",
                    field="connection",
                    fix=f"run `{reconnect_command(connection)}` (ask for offline access if the provider offers it)",
                )
            return "refresh_token", {"refresh_token": token["refresh_token"]}

        return grant_for

    def start_authorization(self, settings: AuthorizationCodeSettings, redirect_uri: str | None = None) -> PendingAuthorization:
        """Return the authorize URL with a fresh ``state`` and PKCE verifier (kept in
        ``secret_state``)."""
        from authlib.common.security import generate_token
        from plugwire import validate_absolute_url

        redirect = validate_absolute_url(redirect_uri, "redirect_uri") if redirect_uri else settings.redirect_uri
        state = generate_token(32)
        # RFC 7636: a verifier of 43 to 128 unreserved characters.
        verifier = generate_token(64) if settings.use_pkce else None
        return PendingAuthorization(
            url=authorize_url(settings, redirect, state, verifier),
            state=state,
            redirect_uri=redirect,
            secret_state={"code_verifier": verifier} if verifier else {},
        )

    def finish_authorization(
        self,
        settings: AuthorizationCodeSettings,
        pending: PendingAuthorization,
        callback_url: str,
        context: AuthContext,
    ) -> dict[str, Any]:
        """Check the callback, exchange its code for a token, store and return it.

        Raises ``PlugwireError`` for a state mismatch, a denial or another provider error.
        """
        params = _callback_params(callback_url)
        name = context.connection_name
        again = f"run `{reconnect_command(name)}` again"
        if not hmac.compare_digest(params.get("state", ""), pending.state):
            raise PlugwireError(
                "The callback's state does not match the authorization that was started, so it was refused "
                "(it may be an old or forged callback). Nothing was stored.",
                field="state",
                fix=f"{again} and finish it in the same browser window",
            )
        error = params.get("error")
        if error:
            said = error + (f": {params['error_description']}" if params.get("error_description") else "")
            if error == "access_denied":
                raise PlugwireError(
                    f"The access was denied at the provider ({said}). Nothing was stored.",
                    field="connection",
                    fix=f"{again} and approve the access",
                )
            raise PlugwireError(
                f"The provider refused the authorization ({said}). Nothing was stored.",
                field="settings",
                fix="check client_id, scope, redirect_uri (as registered at the provider) and use_pkce",
            )
        if not params.get("code"):
            raise PlugwireError(
                "The callback carries neither a code nor an error.", field="callback_url", fix=again
            )
        # Providers may leave the scope out of the token response: record what was asked.
        asked = _merge_scopes(*(v for k, v in parse_qsl(urlsplit(pending.url).query) if k == "scope"))
        grant: Grant = (
            "authorization_code",
            {
                "code": params["code"],
                "redirect_uri": pending.redirect_uri,
                "code_verifier": pending.secret_state.get("code_verifier") or "",
            },
        )
        token = settings.endpoint(context).fetch(grant, {"scope": asked} if asked else None)
        context.tokens.save(token)
        return token


class OAuth2ClientCredentials(AuthType):
    name = "oauth2_client_credentials"
    title = "OAuth2 (client credentials)"
    description = "Machine to machine: the client id and secret get a token, renewed when it expires."
    Settings = ClientCredentialsSettings

    def build_auth(self, settings: ClientCredentialsSettings, context: AuthContext) -> httpx2.Auth:
        """Return the bearer auth; the first request fetches a token."""
        from plugwire.plugins.auth.oauth2_bearer import BearerTokenAuth

        def grant_for(token: dict[str, Any] | None) -> Grant:
            return "client_credentials", {"scope": settings.scope, "audience": settings.audience or ""}

        return BearerTokenAuth(
            endpoint=settings.endpoint(context),
            store=context.tokens,
            grant_for=grant_for,
            leeway=settings.refresh_leeway,
            token=context.tokens.load(),
        )


@hookimpl
def register_auth_types(register):
    register(OAuth2AuthorizationCode())
    register(OAuth2ClientCredentials())
