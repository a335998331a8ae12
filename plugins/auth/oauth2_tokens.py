"""OAuth2 tokens for the ``oauth2`` auth types: the provider's token endpoint
(:class:`TokenEndpoint`), reached through authlib's httpx2 clients with the
connection's TLS context, route and timeout. The ``httpx2.Auth`` that sends the
bearer token and renews it is :mod:`.oauth2_bearer`'s.

authlib and httpx2 are imported when a token is fetched: every plugin is loaded to
answer ``plugwire suggest``, which never fetches one (authlib and joserfc alone
took 0.13 s to import).
"""

from __future__ import annotations

import shlex
import time
from contextlib import contextmanager
from typing import Any, Iterator

from plugwire import AuthContext, AuthorizationRequired, PlugwireError

__all__ = [
    "Grant",
    "TokenEndpoint",
    "reconnect_command",
]

#: What to ask the token endpoint for: the grant type and its parameters.
Grant = tuple[str, dict[str, str]]

# The provider's error codes that point at one setting, so the message can name it.
_ERROR_FIELDS = {
    "invalid_client": ("settings.client_secret", "check client_id, client_secret and token_auth_method"),
    "unauthorized_client": ("settings.client_id", "allow this grant type for the client at the provider"),
    "invalid_scope": ("settings.scope", "ask only for scopes the provider grants this client"),
    "unsupported_grant_type": ("settings.token_url", "check that token_url is the provider's token endpoint"),
}


def reconnect_command(connection: str) -> str:
    """Return the command that (re)authorizes ``connection``, quoted for a shell."""
    return f"plugwire connections connect {shlex.quote(connection)}"


class TokenEndpoint:
    """The provider's token endpoint as one connection reaches it.

    ``fetch``/``fetch_async`` send a grant and return the token as a plain dict with
    ``expires_at``; provider errors become plugwire errors naming the setting at
    fault, and a refused refresh becomes ``AuthorizationRequired``.
    """

    def __init__(
        self,
        *,
        token_url: str,
        client_id: str,
        client_secret: str | None,
        auth_method: str,
        extra_params: dict[str, str],
        context: AuthContext,
    ):
        self.token_url = token_url
        self.client_id = client_id
        self._client_secret = client_secret
        self.auth_method = auth_method
        self.extra_params = dict(extra_params)
        self.context = context

    def _client_options(self, *, asynchronous: bool = False) -> dict[str, Any]:
        # The connection's TLS, route and timeout, and the server's network policy:
        # the token request carries the client's credentials, so it must not go
        # anywhere the connection's API requests may not.
        options = self.context.client_options(asynchronous=asynchronous)
        options.update(client_id=self.client_id, client_secret=self._client_secret,
                       token_endpoint_auth_method=self.auth_method)
        return options

    def _call_args(self, grant: Grant) -> dict[str, Any]:
        from authlib.common.urls import url_encode

        grant_type, params = grant
        # Extra parameters travel in the body so that a name such as "timeout" is
        # never mistaken by authlib for an httpx2 option.
        args: dict[str, Any] = {"body": url_encode(list(self.extra_params.items()))}
        args.update({k: v for k, v in params.items() if v})
        if grant_type != "refresh_token":
            args["grant_type"] = grant_type
        return args

    def fetch(self, grant: Grant, previous: dict[str, Any] | None = None) -> dict[str, Any]:
        """Send ``grant`` to the token endpoint and return the new token.

        Raises ``AuthorizationRequired`` when a refresh is refused (``invalid_grant``),
        ``PlugwireError`` for other provider errors or when the endpoint is unreachable.
        """
        from authlib.integrations.httpx_client import OAuth2Client

        with self._errors(grant), OAuth2Client(**self._client_options()) as client:
            if grant[0] == "refresh_token":
                token = client.refresh_token(self.token_url, **self._call_args(grant))
            else:
                token = client.fetch_token(self.token_url, **self._call_args(grant))
        return normalise_token(token, previous, grant)

    async def fetch_async(self, grant: Grant, previous: dict[str, Any] | None = None) -> dict[str, Any]:
        """Like :meth:`fetch`, for async clients; same return value and errors."""
        from authlib.integrations.httpx_client import AsyncOAuth2Client

        with self._errors(grant):
            async with AsyncOAuth2Client(**self._client_options(asynchronous=True)) as client:
                if grant[0] == "refresh_token":
                    token = await client.refresh_token(self.token_url, **self._call_args(grant))
                else:
                    token = await client.fetch_token(self.token_url, **self._call_args(grant))
        return normalise_token(token, previous, grant)

    @contextmanager
    def _errors(self, grant: Grant) -> Iterator[None]:
        import httpx2
        from authlib.integrations.httpx_client import OAuthError

        from plugwire import classify_error

        grant_type, params = grant
        secrets = [s for s in (self._client_secret, *params.values()) if s]
        name = self.context.connection_name
        try:
            yield
        except OAuthError as exc:
            error = exc.error or "error"
            said = _redact(f"{error}: {exc.description}" if exc.description else error, secrets)
            if grant_type == "refresh_token" and error == "invalid_grant":
                raise AuthorizationRequired(
                    f"Connection {name!r} must be reconnected: the provider refused to renew its token ({said}).",
                    field="connection",
                    fix=f"run `{reconnect_command(name)}`",
                ) from None
            field, fix = _ERROR_FIELDS.get(error, ("settings.token_url", "check the connection's OAuth2 settings"))
            raise PlugwireError(
                f"The token endpoint {self.token_url} refused the {grant_type} request ({said}).", field=field, fix=fix
            ) from None
        except httpx2.HTTPStatusError as exc:
            status = exc.response.status_code
            raise PlugwireError(
                f"The token endpoint {self.token_url} answered {status} {exc.response.reason_phrase} "
                "instead of a token.",
                field="settings.token_url",
                fix="check token_url, or try again if the provider is down",
            ) from None
        except ValueError as exc:
            # authlib: the body was not a JSON object (a gateway page, HTML...).
            raise PlugwireError(
                f"The token endpoint {self.token_url} did not answer with a token ({_redact(str(exc), secrets)}).",
                field="settings.token_url",
                fix="check that token_url is the provider's token endpoint",
            ) from None
        except httpx2.RequestError as exc:  # unreachable, or an answer past the size cap
            _, message = classify_error(exc)
            raise PlugwireError(
                f"Could not reach the token endpoint {self.token_url}: {message}",
                field="settings.token_url",
                fix="check token_url and the connection's network settings",
            ) from None


def normalise_token(token: dict[str, Any], previous: dict[str, Any] | None, grant: Grant) -> dict[str, Any]:
    """Return ``token`` as a plain dict to store: ``expires_at`` as an int, the
    refresh token and scope carried over from ``previous`` when the provider did not
    send them again, and ``obtained_at``."""
    out = {k: v for k, v in dict(token).items() if v is not None}
    if out.get("expires_in") is not None and out.get("expires_at") is None:
        out["expires_at"] = int(time.time()) + int(out["expires_in"])
    previous = previous or {}
    if "refresh_token" not in out and previous.get("refresh_token"):
        out["refresh_token"] = previous["refresh_token"]
    if not out.get("scope"):
        scope = previous.get("scope") or grant[1].get("scope")
        if scope:
            out["scope"] = scope
    out["obtained_at"] = int(time.time())
    return out


def _redact(text: str, secrets: list[str]) -> str:
    for s in sorted(set(secrets), key=len, reverse=True):
        if len(s) >= 4:
            text = text.replace(s, "****")
    return text
