"""A real OAuth 1.0a provider for the tests, built from authlib's server side
(``authlib.oauth1``: AuthorizationServer, ResourceProtector) and served by Starlette
(on uvicorn through the ``live_server`` fixture).

It verifies every signature (HMAC-SHA1, HMAC-SHA256, RSA-SHA1, PLAINTEXT), nonces
and timestamps; issues request tokens (``/initiate``), auto-approves (or denies) at
``/authorize`` and exchanges the verifier at ``/token``; protects ``/api/me`` (GET)
and ``/api/notes`` (a form POST whose body parameters are part of the signature).
A request without ``oauth_token`` is checked as consumer-only (one-legged).
HMAC-SHA256 is not in authlib: verified here by RFC 5849 3.4.2 with SHA-256, from
authlib's base string, independently of plugwire's client side.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections import Counter
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from authlib.common.security import generate_token
from authlib.oauth1.rfc5849 import AuthorizationServer, ResourceProtector
from authlib.oauth1.rfc5849.errors import OAuth1Error
from authlib.oauth1.rfc5849.signature import generate_signature_base_string
from authlib.oauth1.rfc5849.util import escape
from authlib.oauth1.rfc5849.wrapper import OAuth1Request
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

__all__ = ["USER", "OAuth1Provider"]

USER = "alice"
METHODS = ["HMAC-SHA1", "HMAC-SHA256", "RSA-SHA1", "PLAINTEXT"]


def _verify_hmac_sha256(request: OAuth1Request) -> bool:
    if not request.client_secret:
        return False
    key = f"{escape(request.client_secret)}&{escape(request.token_secret or '')}"
    digest = hmac.new(key.encode(), generate_signature_base_string(request).encode(), hashlib.sha256).digest()
    return hmac.compare_digest(base64.b64encode(digest).decode(), request.signature or "")


@dataclass
class Consumer:
    client_id: str
    client_secret: str | None
    rsa_public_key: str | None = None
    default_redirect_uri: str = ""

    def get_client_secret(self):
        return self.client_secret

    def get_rsa_public_key(self):
        return self.rsa_public_key

    def get_default_redirect_uri(self):
        return self.default_redirect_uri


@dataclass
class Credential:
    """A temporary (request) or token (access) credential."""

    oauth_token: str
    oauth_token_secret: str
    client_id: str
    redirect_uri: str = ""
    verifier: str = ""
    user_id: str = ""

    def get_oauth_token(self):
        return self.oauth_token

    def get_oauth_token_secret(self):
        return self.oauth_token_secret

    def get_client_id(self):
        return self.client_id

    def get_redirect_uri(self):
        return self.redirect_uri

    def get_user_id(self):
        return self.user_id

    def check_verifier(self, verifier):
        return bool(self.verifier) and hmac.compare_digest(self.verifier, verifier)


class _Shared:
    """What both servers look up in the provider."""

    SIGNATURE_METHODS = {**AuthorizationServer.SIGNATURE_METHODS, "HMAC-SHA256": _verify_hmac_sha256}
    SUPPORTED_SIGNATURE_METHODS = METHODS

    def __init__(self, provider: OAuth1Provider):
        self.provider = provider

    def get_client_by_id(self, client_id):
        return self.provider.consumers.get(client_id)

    def exists_nonce(self, nonce, request):
        key = (nonce, request.timestamp, request.client_id, request.token)
        if key in self.provider.nonces:
            return True
        self.provider.nonces.add(key)
        return False


class _AuthServer(_Shared, AuthorizationServer):
    def create_oauth1_request(self, request):
        return request if isinstance(request, OAuth1Request) else OAuth1Request(*request)

    def handle_response(self, status_code, payload, headers):
        return status_code, payload, headers

    def create_temporary_credential(self, request):
        cred = Credential(generate_token(24), generate_token(32), request.client_id, request.redirect_uri)
        self.provider.temporary[cred.oauth_token] = cred
        return cred

    def get_temporary_credential(self, request):
        return self.provider.temporary.get(request.token)

    def delete_temporary_credential(self, request):
        self.provider.temporary.pop(request.token, None)

    def create_authorization_verifier(self, request):
        request.credential.verifier = generate_token(20)
        request.credential.user_id = request.user
        return request.credential.verifier

    def create_token_credential(self, request):
        return self.provider.issue(request.credential.client_id, request.credential.user_id)


class _Protector(_Shared, ResourceProtector):
    def get_token_credential(self, request):
        return self.provider.tokens.get(request.token)

    def validate_request(self, method, uri, body, headers):
        request = OAuth1Request(method, uri, body, headers)
        if request.token:
            return super().validate_request(method, uri, body, headers)
        # Consumer only (one-legged): the client and its signature, no token.
        request.client = self.get_client_by_id(request.client_id)
        if request.client is None:
            from authlib.oauth1.rfc5849.errors import InvalidClientError

            raise InvalidClientError()
        self.validate_timestamp_and_nonce(request)
        self.validate_oauth_signature(request)
        return request


def _form(status: int, payload: Any, headers: list[tuple[str, str]]) -> Response:
    if status == 302:
        return RedirectResponse(dict(headers)["Location"], status_code=302)
    body = payload if isinstance(payload, str) else urlencode([(k, str(v).lower() if v is True else v) for k, v in payload])
    return Response(body, status_code=status, headers=dict(headers))


class OAuth1Provider:
    """The provider; ``calls`` counts the requests per endpoint, ``seen`` keeps the
    signature method and the signed parameters of each API request it accepted."""

    def __init__(self) -> None:
        self.consumers: dict[str, Consumer] = {}
        self.temporary: dict[str, Credential] = {}
        self.tokens: dict[str, Credential] = {}
        self.nonces: set[tuple] = set()
        self.calls: Counter[str] = Counter()
        self.seen: list[dict[str, Any]] = []
        self.deny = False
        self.server = _AuthServer(self)
        self.protector = _Protector(self)
        self.app = Starlette(routes=[
            Route("/initiate", self._initiate, methods=["POST"]),
            Route("/authorize", self._authorize),
            Route("/token", self._token, methods=["POST"]),
            Route("/api/me", self._api),
            Route("/api/notes", self._api, methods=["POST"]),
        ])

    def add_consumer(self, client_id: str, secret: str | None, rsa_public_key: str | None = None) -> Consumer:
        self.consumers[client_id] = Consumer(client_id, secret, rsa_public_key)
        return self.consumers[client_id]

    def issue(self, client_id: str, user_id: str = USER) -> Credential:
        """Issue an access token (the three-legged flow's, or one given to a two-legged client)."""
        cred = Credential(generate_token(24), generate_token(32), client_id, user_id=user_id)
        self.tokens[cred.oauth_token] = cred
        return cred

    @staticmethod
    async def _raw(request: Request) -> tuple[str, str, str, Any]:
        body = (await request.body()).decode()
        # Starlette's headers: authlib looks them up as "Authorization", case-insensitively.
        return request.method, str(request.url), body, request.headers

    async def _initiate(self, request: Request) -> Response:
        self.calls["initiate"] += 1
        return _form(*self.server.create_temporary_credentials_response(await self._raw(request)))

    async def _authorize(self, request: Request) -> Response:
        self.calls["authorize"] += 1
        try:
            found = self.server.create_authorization_response(await self._raw(request), None if self.deny else USER)
        except OAuth1Error as exc:
            return _form(exc.status_code or 400, exc.get_body(), [])
        return _form(*found)

    async def _token(self, request: Request) -> Response:
        self.calls["token"] += 1
        return _form(*self.server.create_token_response(await self._raw(request)))

    async def _api(self, request: Request) -> Response:
        self.calls["api"] += 1
        method, url, body, headers = await self._raw(request)
        try:
            checked = self.protector.validate_request(method, url, body, headers)
        except OAuth1Error as exc:
            return _form(exc.status_code or 400, exc.get_body(), [("WWW-Authenticate", "OAuth")])
        user = checked.credential.user_id if checked.credential else None
        self.seen.append({"method": checked.signature_method, "params": dict(checked.params), "user": user})
        return JSONResponse({"user": user, "consumer": checked.client_id, "form": dict(checked.body_params)})
