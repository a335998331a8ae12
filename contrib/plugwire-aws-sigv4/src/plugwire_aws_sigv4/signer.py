"""AWS Signature Version 4, from the specification, with hashlib and hmac.

:func:`sign` adds ``x-amz-date`` (and ``x-amz-security-token``,
``x-amz-content-sha256`` where they apply) and the ``Authorization`` header to an
``httpx2.Request``. It first rewrites the request's path and query into their
canonical encoding, so the bytes on the wire are the bytes that were signed: a
server (or a proxy) that canonicalises again gets the same string.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Callable, Generator
from urllib.parse import quote, unquote, unquote_plus

import httpx2
from pydantic import SecretStr

__all__ = [
    "ALGORITHM",
    "Credentials",
    "SigV4Auth",
    "canonical_path",
    "canonical_query",
    "sign",
    "signing_key",
    "strict_path",
]

ALGORITHM = "AWS4-HMAC-SHA256"
_UNRESERVED = "-_.~"
# Headers a client or proxy may change on the way; everything else that matters is
# listed in _ALWAYS_SIGNED or starts with x-amz-.
_ALWAYS_SIGNED = ("host", "content-type", "content-md5")


@dataclass(frozen=True)
class Credentials:
    """An access key pair, and a session token for temporary credentials."""

    access_key_id: str
    secret_access_key: SecretStr = field(repr=False)
    session_token: SecretStr | None = field(default=None, repr=False)


def _hmac(key: bytes, text: str) -> bytes:
    return hmac.new(key, text.encode("utf-8"), hashlib.sha256).digest()


def signing_key(secret: str, date: str, region: str, service: str) -> bytes:
    """Return the derived key for ``date`` (YYYYMMDD), ``region`` and ``service``."""
    k_date = _hmac(("AWS4" + secret).encode("utf-8"), date)
    return _hmac(_hmac(_hmac(k_date, region), service), "aws4_request")


def _encode(text: str) -> str:
    """Percent-encode every byte but the RFC 3986 unreserved characters."""
    return quote(text, safe=_UNRESERVED)


def strict_path(raw_path: str) -> str:
    """Return ``raw_path`` with each segment decoded and strictly re-encoded."""
    path = raw_path or "/"
    return "/".join(_encode(unquote(segment)) for segment in path.split("/"))


def canonical_path(wire_path: str, service: str) -> str:
    """Return the canonical URI of a strictly encoded path: as it is for S3, and
    encoded once more for every other service (AWS's double encoding)."""
    if service == "s3":
        return wire_path
    return quote(wire_path, safe="/" + _UNRESERVED)


def canonical_query(raw_query: str) -> str:
    """Return the canonical query string of ``raw_query``: every name and value
    decoded (``+`` is a space, as in a form) and strictly re-encoded, pairs sorted
    by name then value, a name without ``=`` given an empty value."""
    pairs = []
    for part in raw_query.split("&"):
        if not part:
            continue
        name, _, value = part.partition("=")
        pairs.append((_encode(unquote_plus(name)), _encode(unquote_plus(value))))
    return "&".join(f"{n}={v}" for n, v in sorted(pairs))


def _header_value(value: str) -> str:
    return " ".join(value.split())


def sign(
    request: httpx2.Request,
    credentials: Credentials,
    region: str,
    service: str,
    *,
    now: datetime | None = None,
) -> str:
    """Sign ``request`` in place; returns the canonical request that was signed
    (for troubleshooting: it holds no secret)."""
    now = (now or datetime.now(timezone.utc)).astimezone(timezone.utc)
    amz_date = now.strftime("%Y%m%dT%H%M%SZ")
    date = amz_date[:8]

    raw_path, _, raw_query = request.url.raw_path.decode("ascii").partition("?")
    wire_path, query = strict_path(raw_path), canonical_query(raw_query)
    request.url = request.url.copy_with(raw_path=(wire_path + (f"?{query}" if query else "")).encode("ascii"))

    payload_hash = hashlib.sha256(request.content).hexdigest()
    request.headers.pop("Authorization", None)
    request.headers["X-Amz-Date"] = amz_date
    if credentials.session_token is not None:
        request.headers["X-Amz-Security-Token"] = credentials.session_token.get_secret_value()
    if service == "s3":
        request.headers["X-Amz-Content-SHA256"] = payload_hash

    names = sorted({n.lower() for n in request.headers if n.lower() in _ALWAYS_SIGNED or n.lower().startswith("x-amz-")})
    canonical_headers = "".join(f"{n}:{','.join(_header_value(v) for v in request.headers.get_list(n))}\n" for n in names)
    signed_headers = ";".join(names)
    canonical = "\n".join(
        [request.method.upper(), canonical_path(wire_path, service), query, canonical_headers, signed_headers, payload_hash]
    )
    scope = f"{date}/{region}/{service}/aws4_request"
    string_to_sign = "\n".join([ALGORITHM, amz_date, scope, hashlib.sha256(canonical.encode("utf-8")).hexdigest()])
    key = signing_key(credentials.secret_access_key.get_secret_value(), date, region, service)
    signature = hmac.new(key, string_to_sign.encode("utf-8"), hashlib.sha256).hexdigest()
    request.headers["Authorization"] = (
        f"{ALGORITHM} Credential={credentials.access_key_id}/{scope}, "
        f"SignedHeaders={signed_headers}, Signature={signature}"
    )
    return canonical


class SigV4Auth(httpx2.Auth):
    """An ``httpx2.Auth`` that signs each request (and each retry, with a fresh
    date). It does no I/O, so one instance serves sync and async clients."""

    requires_request_body = True  # the payload hash needs the whole body

    def __init__(
        self,
        credentials: Credentials,
        region: str,
        service: str,
        *,
        clock: Callable[[], datetime] | None = None,
    ):
        self.credentials = credentials
        self.region = region
        self.service = service
        self._clock = clock

    def __repr__(self) -> str:
        return f"SigV4Auth(access_key_id={self.credentials.access_key_id!r}, region={self.region!r}, service={self.service!r})"

    def auth_flow(self, request: httpx2.Request) -> Generator[httpx2.Request, httpx2.Response, None]:
        sign(request, self.credentials, self.region, self.service, now=self._clock() if self._clock else None)
        yield request
