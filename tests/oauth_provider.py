"""A real OAuth2 provider for the tests, built from authlib's server components and
served by Starlette (on uvicorn through the ``live_server`` fixture).

It does the authorization code grant with PKCE required (S256), refresh tokens
(rotated: the old one is revoked when used) and client credentials, keeps everything
in memory, counts the token requests per grant type, auto-approves (or denies) at
its authorize endpoint, and protects ``/api/me`` with bearer tokens. Lifetimes are
configurable so that tests can use tiny ones.

authlib's authorization server refuses plain http unless AUTHLIB_INSECURE_TRANSPORT
is set; the ``oauth_provider`` fixture sets it for the test (loopback only).
"""

from __future__ import annotations

import json
import secrets
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

from authlib.common.security import generate_token
from authlib.oauth2.rfc6749 import (
    AuthorizationServer,
    ClientMixin,
    OAuth2Error,
    OAuth2Request,
    ResourceProtector,
    TokenMixin,
    grants,
    list_to_scope,
    scope_to_list,
)
from authlib.oauth2.rfc6749.errors import InvalidGrantError, InvalidRequestError
from authlib.oauth2.rfc6749.requests import OAuth2Payload
from authlib.oauth2.rfc6750 import BearerTokenGenerator, BearerTokenValidator
from authlib.oauth2.rfc7636 import CodeChallenge
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

__all__ = ["OAuthProvider", "Client"]

USER = "alice"


@dataclass
class Client(ClientMixin):
    client_id: str
    client_secret: str | None
    redirect_uris: list[str]
    auth_method: str = "client_secret_post"
    grant_types: tuple[str, ...] = ("authorization_code", "refresh_token", "client_credentials")
    scope: str = "profile email read"

    def get_client_id(self) -> str:
        return self.client_id

    def get_default_redirect_uri(self) -> str | None:
        return self.redirect_uris[0] if self.redirect_uris else None

    def get_allowed_scope(self, scope: str | None) -> str:
        if not scope:
            return ""
        allowed = set(scope_to_list(self.scope))
        return list_to_scope([s for s in scope_to_list(scope) if s in allowed])

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        return redirect_uri in self.redirect_uris

    def check_client_secret(self, client_secret: str) -> bool:
        return bool(self.client_secret) and secrets.compare_digest(self.client_secret, client_secret)

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        return method == self.auth_method if endpoint == "token" else True

    def check_response_type(self, response_type: str) -> bool:
        return response_type == "code"

    def check_grant_type(self, grant_type: str) -> bool:
        return grant_type in self.grant_types


@dataclass
class AuthorizationCode:
    code: str
    client_id: str
    redirect_uri: str
    scope: str
    user: str
    code_challenge: str | None
    code_challenge_method: str | None

    def get_redirect_uri(self) -> str:
        return self.redirect_uri

    def get_scope(self) -> str:
        return self.scope


@dataclass
class Token(TokenMixin):
    client_id: str
    access_token: str
    token_type: str
    scope: str
    user: str | None
    expires_in: int
    refresh_token: str | None = None
    issued_at: float = field(default_factory=time.time)
    revoked: bool = False
    refresh_revoked: bool = False

    def check_client(self, client: Client) -> bool:
        return client.client_id == self.client_id

    def get_scope(self) -> str:
        return self.scope

    def get_expires_in(self) -> int:
        return self.expires_in

    def is_expired(self) -> bool:
        return time.time() >= self.issued_at + self.expires_in

    def is_revoked(self) -> bool:
        return self.revoked

    def get_user(self) -> str | None:
        return self.user

    def get_client(self) -> Any:
        return self.client_id


# -- the Starlette adapter authlib's framework integrations provide for Flask/Django --
class _Payload(OAuth2Payload):
    def __init__(self, items: list[tuple[str, str]]):
        self._data: dict[str, str] = {}
        self._datalist: defaultdict[str, list] = defaultdict(list)
        for k, v in items:
            self._data.setdefault(k, v)
            self._datalist[k].append(v)

    @property
    def data(self) -> dict[str, str]:
        return self._data

    @property
    def datalist(self) -> defaultdict[str, list]:
        return self._datalist


class _Request(OAuth2Request):
    """An OAuth2Request from a Starlette request whose body was already read."""

    def __init__(self, method: str, url: str, headers: Any, args: list[tuple[str, str]], form: list[tuple[str, str]]):
        super().__init__(method, url, headers=headers)
        self._args = dict(args)
        self._form = dict(form)
        self.payload = _Payload(args + form)

    @property
    def args(self) -> dict[str, str]:
        return self._args

    @property
    def form(self) -> dict[str, str]:
        return self._form


async def _read(request: Request) -> _Request:
    form: list[tuple[str, str]] = []
    if request.method == "POST":
        form = [(k, str(v)) for k, v in (await request.form()).multi_items()]
    return _Request(request.method, str(request.url), request.headers, list(request.query_params.multi_items()), form)


class _Server(AuthorizationServer):
    def __init__(self, provider: "OAuthProvider"):
        super().__init__()
        self.provider = provider

    def query_client(self, client_id: str) -> Client | None:
        return self.provider.clients.get(client_id)

    def save_token(self, token: dict[str, Any], request: OAuth2Request) -> None:
        self.provider._store(token, request)

    def create_oauth2_request(self, request: _Request) -> _Request:
        return request

    def create_json_request(self, request: _Request) -> _Request:
        return request

    def handle_response(self, status: int, body: Any, headers: list[tuple[str, str]]) -> Response:
        content = json.dumps(body) if isinstance(body, dict) else (body or "")
        return Response(content, status_code=status, headers=dict(headers))

    def send_signal(self, name: str, *args: Any, **kwargs: Any) -> None:
        return None


# -- grants -------------------------------------------------------------------------
class _RequirePKCE(CodeChallenge):
    """PKCE required of every client (authlib requires it of public clients only)."""

    SUPPORTED_CODE_CHALLENGE_METHOD = ["S256"]

    def validate_code_challenge(self, grant: Any, redirect_uri: str) -> None:
        if not grant.request.payload.data.get("code_challenge"):
            raise InvalidRequestError("PKCE is required: send code_challenge and code_challenge_method=S256")
        super().validate_code_challenge(grant, redirect_uri)


class _CodeGrant(grants.AuthorizationCodeGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = ["client_secret_basic", "client_secret_post", "none"]

    def save_authorization_code(self, code: str, request: OAuth2Request) -> None:
        data = request.payload.data
        self.server.provider.codes[code] = AuthorizationCode(
            code=code,
            client_id=request.client.client_id,
            redirect_uri=data.get("redirect_uri", ""),
            scope=request.scope or "",
            user=request.user,
            code_challenge=data.get("code_challenge"),
            code_challenge_method=data.get("code_challenge_method"),
        )

    def query_authorization_code(self, code: str, client: Client) -> AuthorizationCode | None:
        found = self.server.provider.codes.get(code)
        return found if found and found.client_id == client.client_id else None

    def delete_authorization_code(self, authorization_code: AuthorizationCode) -> None:
        self.server.provider.codes.pop(authorization_code.code, None)

    def authenticate_user(self, authorization_code: AuthorizationCode) -> str:
        return authorization_code.user


class _RefreshGrant(grants.RefreshTokenGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = ["client_secret_basic", "client_secret_post", "none"]
    INCLUDE_NEW_REFRESH_TOKEN = True

    def authenticate_refresh_token(self, refresh_token: str) -> Token | None:
        token = self.server.provider.by_refresh.get(refresh_token)
        if token is None:
            return None
        if token.refresh_revoked:
            raise InvalidGrantError(description="The refresh token was revoked")
        return token

    def authenticate_user(self, refresh_token: Token) -> str | None:
        return refresh_token.user

    def revoke_old_credential(self, refresh_token: Token) -> None:
        refresh_token.refresh_revoked = True


class _ClientCredentialsGrant(grants.ClientCredentialsGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = ["client_secret_basic", "client_secret_post"]


class _Validator(BearerTokenValidator):
    def __init__(self, provider: "OAuthProvider"):
        super().__init__()
        self.provider = provider

    def authenticate_token(self, token_string: str) -> Token | None:
        return self.provider.by_access.get(token_string)


class OAuthProvider:
    """The provider: in-memory clients, codes and tokens, plus the Starlette ``app``.

    ``calls[grant_type]`` counts token endpoint requests; ``token_requests`` keeps
    their non-secret parameters and ``authorize_requests`` the authorize requests'
    parameters. Set ``deny`` to refuse at the authorize endpoint.
    """

    def __init__(self, *, access_lifetime: int = 3600):
        self.access_lifetime = access_lifetime
        self.clients: dict[str, Client] = {}
        self.codes: dict[str, AuthorizationCode] = {}
        self.by_access: dict[str, Token] = {}
        self.by_refresh: dict[str, Token] = {}
        self.calls: Counter[str] = Counter()
        self.token_requests: list[dict[str, str]] = []
        self.authorize_requests: list[dict[str, list[str]]] = []
        self.deny = False
        self.server = _Server(self)
        self.server.register_token_generator(
            "default",
            BearerTokenGenerator(
                lambda **kw: generate_token(42),
                lambda **kw: generate_token(48),
                lambda client, grant_type: self.access_lifetime,
            ),
        )
        self.server.register_grant(_CodeGrant, [_RequirePKCE(required=True)])
        self.server.register_grant(_RefreshGrant)
        self.server.register_grant(_ClientCredentialsGrant)
        self.protector = ResourceProtector()
        self.protector.register_token_validator(_Validator(self))
        self.app = Starlette(
            routes=[
                Route("/authorize", self._authorize),
                Route("/token", self._token, methods=["POST"]),
                Route("/api/me", self._me),
                Route("/api/always-401", self._always_401),
            ]
        )

    def add_client(self, client_id: str, client_secret: str | None, redirect_uris: list[str] = (), **kw: Any) -> Client:
        """Register a client and return it."""
        client = Client(client_id, client_secret, list(redirect_uris), **kw)
        self.clients[client_id] = client
        return client

    def revoke_access_tokens(self) -> None:
        """Revoke every access token (the API then answers 401)."""
        for token in self.by_access.values():
            token.revoked = True

    def revoke_refresh_tokens(self) -> None:
        """Revoke every refresh token (refreshing then fails with invalid_grant)."""
        for token in self.by_refresh.values():
            token.refresh_revoked = True

    def _store(self, token: dict[str, Any], request: OAuth2Request) -> None:
        record = Token(
            client_id=request.client.client_id,
            access_token=token["access_token"],
            token_type=token["token_type"],
            scope=token.get("scope", ""),
            user=request.user,
            expires_in=token.get("expires_in", 0),
            refresh_token=token.get("refresh_token"),
        )
        self.by_access[record.access_token] = record
        if record.refresh_token:
            self.by_refresh[record.refresh_token] = record

    # -- endpoints: async, so every request runs on the server's one event loop and the
    # -- in-memory state needs no lock.
    async def _authorize(self, request: Request) -> Response:
        req = await _read(request)
        self.authorize_requests.append({k: req.payload.datalist[k] for k in req.payload.datalist})
        user = None if self.deny else USER
        try:
            grant = self.server.get_consent_grant(req, end_user=user)
        except OAuth2Error as error:
            return self.server.handle_error_response(req, error)
        return self.server.create_authorization_response(req, grant_user=user, grant=grant)

    async def _token(self, request: Request) -> Response:
        req = await _read(request)
        grant_type = req.form.get("grant_type", "")
        self.calls[grant_type] += 1
        self.token_requests.append(
            {k: v for k, v in req.form.items() if k not in ("client_secret", "code", "refresh_token", "code_verifier")}
            | {"has_code_verifier": str(bool(req.form.get("code_verifier")))}
        )
        return self.server.create_token_response(req)

    def _validate(self, req: _Request) -> Token | Response:
        try:
            return self.protector.validate_request(None, req)
        except OAuth2Error as error:
            status, body, headers = error()
            return JSONResponse(dict(body), status_code=status, headers=dict(headers))

    async def _me(self, request: Request) -> Response:
        found = self._validate(await _read(request))
        if isinstance(found, Response):
            return found
        return JSONResponse({"user": found.user, "client_id": found.client_id, "scope": found.scope})

    async def _always_401(self, request: Request) -> Response:
        return JSONResponse({"error": "invalid_token", "error_description": "never authorized"}, status_code=401)
