"""A real HTTP API for tests, checking credentials the way real APIs do.

``make_api(...)`` builds a Starlette app (serve it with the ``live_server``
fixture) that knows the credentials it expects and records every request it gets.
Each route family checks one scheme, so one app serves every auth type::

    /open/...     no credentials needed
    /basic/...    HTTP Basic (``basic=(user, password)``)
    /bearer/...   ``Authorization: Bearer <token>`` (``bearer="token"``)
    /header/...   every header in ``headers={"X-Api-Key": "..."}``
    /query/...    every query parameter in ``params={"api_key": "..."}``
    /digest/...   HTTP Digest, RFC 7616/2617, qop=auth, MD5 (``digest=(user, password)``)
    /all/...      every scheme that was configured, at once (for combined auth)
    /status/N     answers status N with a JSON message (no credentials needed)

Missing credentials get ``401 {"message": "Requires authentication"}``; wrong ones
``401 {"message": "Bad credentials"}`` (Basic, bearer, Digest) or ``403 {"message":
"Invalid API key"}`` (API-key headers and query parameters), as real APIs answer.
A path ending in ``/forbidden`` answers 403 even with good credentials. Success
answers 200 with what the server saw (credential values left out).

Digest verification is written here from the RFC, independently of any client code:
the server issues the nonces, checks realm, opaque, uri, qop, a rising nonce count
and the response hash.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
import threading
from dataclasses import dataclass
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

__all__ = ["SCHEMES", "SeenRequest", "TestAPI", "make_api", "parse_digest_header"]

SCHEMES = ("basic", "bearer", "header", "query", "digest")
_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]


@dataclass
class SeenRequest:
    """One request as the server received it (headers lower-cased)."""

    method: str
    path: str
    query: list[tuple[str, str]]
    headers: dict[str, str]
    route: str
    status: int = 0
    user: str | None = None

    def param(self, name: str) -> list[str]:
        """Return every value of query parameter ``name``."""
        return [v for k, v in self.query if k == name]


class _Reject(Exception):
    def __init__(self, status: int, message: str, challenge: str | None = None):
        self.status = status
        self.message = message
        self.challenge = challenge


def _same(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode("utf-8"), b.encode("utf-8"))


def _check_named(expected: dict[str, str], lookup, what: str) -> None:
    """API-key style check: each expected name must come once with its value."""
    if not expected:
        raise _Reject(500, f"the test API has no {what} configured")
    for name, want in expected.items():
        got = lookup(name)
        if not got:
            raise _Reject(401, "Requires authentication")
        if len(got) != 1 or not _same(got[0], want):
            raise _Reject(403, "Invalid API key")


def _md5(text: str) -> str:
    return hashlib.md5(text.encode("utf-8")).hexdigest()


_DIGEST_PARAM = re.compile(r'\s*([A-Za-z0-9_-]+)\s*=\s*("((?:[^"\\]|\\.)*)"|[^,\s]*)\s*(?:,|$)')


def parse_digest_header(value: str) -> dict[str, str] | None:
    """Return the parameters of an ``Authorization: Digest ...`` header, or None
    when it is not a Digest header. Quoted values are unescaped."""
    scheme, _, rest = value.strip().partition(" ")
    if scheme.lower() != "digest":
        return None
    out: dict[str, str] = {}
    pos = 0
    rest = rest.strip()
    while pos < len(rest):
        m = _DIGEST_PARAM.match(rest, pos)
        if not m or m.end() == pos:
            return None
        raw = m.group(3) if m.group(3) is not None else m.group(2)
        out[m.group(1).lower()] = re.sub(r"\\(.)", r"\1", raw) if m.group(3) is not None else raw
        pos = m.end()
    return out


class TestAPI:
    """The app plus what it expects and what it saw."""

    __test__ = False  # not a pytest test class

    def __init__(
        self,
        *,
        basic: tuple[str, str] | None = None,
        bearer: str | None = None,
        headers: dict[str, str] | None = None,
        params: dict[str, str] | None = None,
        digest: tuple[str, str] | None = None,
        realm: str = "plugwire-test-api",
    ):
        self.basic = basic
        self.bearer = bearer
        self.headers = dict(headers or {})
        self.params = dict(params or {})
        self.digest = digest
        self.realm = realm
        self.opaque = secrets.token_hex(16)
        self.requests: list[SeenRequest] = []
        self._nonces: dict[str, int] = {}  # nonce -> highest nonce count seen
        self._lock = threading.Lock()
        self.app = Starlette(
            routes=[
                Route("/status/{code:int}", self._status, methods=_METHODS),
                Route("/{route}/{rest:path}", self._handle, methods=_METHODS),
                Route("/{route}", self._handle, methods=_METHODS),
            ]
        )

    # -- inspection ------------------------------------------------------------
    def last(self, route: str | None = None) -> SeenRequest:
        """Return the latest request (to ``route`` when given); AssertionError if none."""
        for seen in reversed(self.requests):
            if route is None or seen.route == route:
                return seen
        raise AssertionError(f"the test API got no request for {route or 'any route'}")

    def configured(self) -> list[str]:
        """Return the schemes this API was given credentials for."""
        values = {"basic": self.basic, "bearer": self.bearer, "header": self.headers, "query": self.params, "digest": self.digest}
        return [s for s in SCHEMES if values[s]]

    # -- checks ------------------------------------------------------------------
    def _check_basic(self, request: Request) -> str:
        if not self.basic:
            raise _Reject(500, "the test API has no Basic credentials configured")
        challenge = f'Basic realm="{self.realm}"'
        auth = request.headers.get("authorization", "")
        scheme, _, token = auth.partition(" ")
        if scheme.lower() != "basic" or not token:
            raise _Reject(401, "Requires authentication", challenge)
        try:
            user, sep, password = base64.b64decode(token.strip(), validate=True).decode("utf-8").partition(":")
        except (ValueError, UnicodeDecodeError):
            raise _Reject(401, "Bad credentials", challenge) from None
        if not sep or not (_same(user, self.basic[0]) & _same(password, self.basic[1])):
            raise _Reject(401, "Bad credentials", challenge)
        return user

    def _check_bearer(self, request: Request) -> str | None:
        if not self.bearer:
            raise _Reject(500, "the test API has no bearer token configured")
        challenge = f'Bearer realm="{self.realm}"'
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token:
            raise _Reject(401, "Requires authentication", challenge)
        if not _same(token.strip(), self.bearer):
            raise _Reject(401, "Bad credentials", challenge + ', error="invalid_token"')
        return None

    def _check_headers(self, request: Request) -> str | None:
        return _check_named(self.headers, request.headers.getlist, "headers")

    def _check_params(self, request: Request) -> str | None:
        return _check_named(self.params, request.query_params.getlist, "query parameters")

    def _digest_challenge(self, stale: bool = False) -> str:
        nonce = secrets.token_hex(16)
        with self._lock:
            self._nonces[nonce] = 0
        text = f'Digest realm="{self.realm}", qop="auth", algorithm=MD5, nonce="{nonce}", opaque="{self.opaque}"'
        return text + (", stale=true" if stale else "")

    def _check_digest(self, request: Request) -> str:
        if not self.digest:
            raise _Reject(500, "the test API has no Digest credentials configured")
        header = request.headers.get("authorization", "")
        parts = parse_digest_header(header) if header else None
        if not parts:
            raise _Reject(401, "Requires authentication", self._digest_challenge())
        wanted = ("username", "realm", "nonce", "uri", "response", "qop", "nc", "cnonce")
        if any(k not in parts for k in wanted):
            raise _Reject(401, "Bad credentials", self._digest_challenge())
        uri = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        if (
            parts["realm"] != self.realm
            or parts.get("opaque") != self.opaque
            or parts["qop"] != "auth"
            or parts.get("algorithm", "MD5").upper() != "MD5"
            or parts["uri"] != uri
        ):
            raise _Reject(401, "Bad credentials", self._digest_challenge())
        with self._lock:
            last = self._nonces.get(parts["nonce"])
            try:
                nc = int(parts["nc"], 16)
            except ValueError:
                nc = -1
            if last is None:  # a nonce this server never issued
                raise _Reject(401, "Bad credentials", self._digest_challenge(stale=True))
            if nc <= last:  # a replayed request
                raise _Reject(401, "Bad credentials", self._digest_challenge())
            self._nonces[parts["nonce"]] = nc
        user, password = self.digest
        ha1 = _md5(f"{user}:{self.realm}:{password}")
        ha2 = _md5(f"{request.method}:{parts['uri']}")
        expected = _md5(f"{ha1}:{parts['nonce']}:{parts['nc']}:{parts['cnonce']}:auth:{ha2}")
        if not (_same(parts["username"], user) & _same(parts["response"].lower(), expected)):
            raise _Reject(401, "Bad credentials", self._digest_challenge())
        return user

    # -- endpoints -------------------------------------------------------------
    def _record(self, request: Request, route: str) -> SeenRequest:
        seen = SeenRequest(
            method=request.method,
            path=request.url.path,
            query=list(request.query_params.multi_items()),
            headers={k.lower(): v for k, v in request.headers.items()},
            route=route,
        )
        self.requests.append(seen)
        return seen

    async def _status(self, request: Request) -> JSONResponse:
        code = request.path_params["code"]
        seen = self._record(request, "status")
        seen.status = code
        return JSONResponse({"message": f"The test API was asked to answer {code}", "status": code}, status_code=code)

    async def _handle(self, request: Request) -> JSONResponse:
        route = request.path_params["route"]
        seen = self._record(request, route)
        checks = {
            "basic": self._check_basic,
            "bearer": self._check_bearer,
            "header": self._check_headers,
            "query": self._check_params,
            "digest": self._check_digest,
        }
        if route == "all":
            todo = [checks[s] for s in self.configured()]
        elif route == "open":
            todo = []
        elif route in checks:
            todo = [checks[route]]
        else:
            seen.status = 404
            return JSONResponse({"message": "Not Found"}, status_code=404)
        try:
            for check in todo:
                user = check(request)
                seen.user = seen.user or user
        except _Reject as rej:
            seen.status = rej.status
            extra = {"WWW-Authenticate": rej.challenge} if rej.challenge else {}
            return JSONResponse({"message": rej.message}, status_code=rej.status, headers=extra)
        if request.url.path.rstrip("/").endswith("/forbidden"):
            seen.status = 403
            return JSONResponse({"message": "Resource not accessible by this token"}, status_code=403)
        seen.status = 200
        hidden = set(self.params) if route in ("query", "all") else set()
        body: dict[str, Any] = {
            "ok": True,
            "route": route,
            "user": seen.user,
            "method": request.method,
            "path": request.url.path,
            "args": [[k, v] for k, v in seen.query if k not in hidden],
        }
        return JSONResponse(body)


def make_api(
    *,
    basic: tuple[str, str] | None = None,
    bearer: str | None = None,
    headers: dict[str, str] | None = None,
    params: dict[str, str] | None = None,
    digest: tuple[str, str] | None = None,
    realm: str = "plugwire-test-api",
) -> TestAPI:
    """Return a :class:`TestAPI` expecting the given credentials; serve ``.app``."""
    return TestAPI(basic=basic, bearer=bearer, headers=headers, params=params, digest=digest, realm=realm)
