"""OAuth 1.0a signing for the ``oauth1`` auth types, through authlib's OAuth 1 client
(RFC 5849): the ``httpx2.Auth`` that signs each request (:class:`OAuth1Signer`) and
the client that fetches request and access tokens through the connection's
transport (:func:`token_request`).

authlib signs HMAC-SHA1, RSA-SHA1 and PLAINTEXT; HMAC-SHA256 is registered on our
subclass through authlib's own extension point (``SIGNATURE_METHODS``), with
authlib's signature base string and key (RFC 5849 3.4.2 with SHA-256 for SHA-1).
Imported when an auth is built or a token fetched: loading the plugins (``plugwire
suggest``) needs neither authlib nor httpx2.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx2
from authlib.integrations.httpx_client import OAuth1Auth, OAuth1Client, OAuthError
from authlib.oauth1.rfc5849.signature import generate_signature_base_string
from authlib.oauth1.rfc5849.util import escape

from plugwire import AuthContext, PlugwireError, classify_error

__all__ = ["OAuth1Signer", "token_errors", "token_request"]

HMAC_SHA256 = "HMAC-SHA256"
_LOOPBACK = {"127.0.0.1", "localhost", "::1"}


def _sign_hmac_sha256(client: Any, request: Any) -> str:
    # authlib's HMAC-SHA1 with SHA-256: the same base string and key (RFC 5849 3.4.2).
    key = f"{escape(client.client_secret or '')}&{escape(client.token_secret or '')}"
    digest = hmac.new(key.encode(), generate_signature_base_string(request).encode(), hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


class OAuth1Signer(OAuth1Auth):
    """authlib's httpx2 OAuth 1 auth with HMAC-SHA256 too; it signs the parameters
    of a form-encoded body with the query's (RFC 5849 3.4.1.3), and refuses to send
    a PLAINTEXT signature (the secrets themselves) over plain http off this machine."""

    SIGNATURE_METHODS = {**OAuth1Auth.SIGNATURE_METHODS, HMAC_SHA256: _sign_hmac_sha256}

    def auth_flow(self, request: httpx2.Request):  # type: ignore[override]
        if self.signature_method == "PLAINTEXT" and request.url.scheme != "https" and request.url.host not in _LOOPBACK:
            raise PlugwireError(
                f"PLAINTEXT would send the consumer secret as it is to {request.url.host} over plain http; "
                "the request was not sent.",
                field="settings.signature_method",
                fix="use the API's https URL, or a signature method such as HMAC-SHA1",
            )
        yield from super().auth_flow(request)


class _Client(OAuth1Client):
    auth_class = OAuth1Signer


def token_request(context: AuthContext, signing: dict[str, Any], **extra: Any) -> _Client:
    """Return authlib's OAuth 1 client for a token request on the connection's behalf:
    its TLS, route and timeout and the server's network policy (``context``),
    signing with ``signing`` (client_id, client_secret, signature_method, rsa_key,
    realm) and ``extra`` (token, token_secret, redirect_uri, verifier)."""
    return _Client(**context.client_options(), **signing, **extra)


def _said(text: str, secrets: list[str]) -> str:
    from urllib.parse import parse_qsl

    found = dict(parse_qsl(text.strip(), keep_blank_values=True)) if "=" in text else {}
    said = found.get("error", "") + (f": {found['error_description']}" if found.get("error_description") else "")
    said = said or text.strip()[:200] or "no reason given"
    for secret in secrets:
        said = said.replace(secret, "***")
    return said


@contextmanager
def token_errors(url: str, what: str, key_field: str, secrets: list[str]) -> Iterator[None]:
    """Turn a refused or failed token request to ``url`` into a ``PlugwireError``
    naming the setting to check (``key_field`` for a refused signature); no secret
    in ``secrets`` appears in it."""
    try:
        yield
    except OAuthError as exc:
        description = exc.description or ""
        said = _said(description.split("response was '", 1)[-1].rstrip("'."), secrets)
        if "invalid_signature" in said or "invalid_client" in said:
            raise PlugwireError(
                f"{url} refused the {what}: the provider could not verify the signature ({said}).",
                field=key_field,
                fix=f"check {key_field}, consumer_key and signature_method (as registered at the provider)",
            ) from None
        raise PlugwireError(
            f"{url} refused the {what} ({said}).",
            field="settings",
            fix="check the connection's OAuth 1.0a settings (URLs, consumer_key, redirect_uri as registered)",
        ) from None
    except ValueError:
        # authlib: the answer was not form-encoded nor JSON (a gateway page, HTML...).
        raise PlugwireError(
            f"{url} answered the {what} with something other than a token.",
            field="settings",
            fix="check that the URL is the provider's OAuth 1.0a endpoint",
        ) from None
    except httpx2.RequestError as exc:  # unreachable, or an answer past the size cap
        _, message = classify_error(exc)
        raise PlugwireError(f"{url} could not be reached for the {what}: {message}", field="settings",
                            fix="check the URL and the connection's network settings") from None
