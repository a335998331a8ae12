"""What went wrong on the wire, said so a user can act on it: the outcome of a
request (:class:`Outcome`), a transport failure named (:func:`classify_error`), the
API's own words found in an error body (:func:`api_message`), and secrets kept out
of all of it (:func:`redact`, :func:`sent_secrets`, :func:`safe_url`)."""

from __future__ import annotations

import json
import socket
import ssl
from enum import Enum
from typing import Any, Iterable
from urllib.parse import quote, quote_plus

import httpx2

from plugwire.core.base.secrets import MASK
from plugwire.core.http.body import header_pairs
from plugwire.core.http.stream import ResponseTooLarge

__all__ = ["Outcome", "api_message", "classify_error", "error_chain", "redact", "safe_url", "sent_secrets"]


def safe_url(url: str | None) -> str | None:
    """Return ``url`` with any password in it masked (agent URLs may carry one)."""
    if not url:
        return url
    try:
        parsed = httpx2.URL(url)
    except Exception:
        return url
    if parsed.password:
        return str(parsed.copy_with(password=MASK))
    return url


# Request headers whose values are credentials whatever the auth type calls them.
_SENSITIVE_HEADERS = {
    "authorization", "proxy-authorization", "cookie", "x-api-key", "api-key", "apikey",
    "x-auth-token", "x-access-token", "private-token",
}


def sent_secrets(request: httpx2.Request | None, known: Iterable[str] = ()) -> list[str]:
    """Return the credential values ``request`` actually carried: sensitive headers
    (Authorization and the like, also their token part after the scheme) and any
    header holding a ``known`` secret. A server that echoes the request back would
    otherwise leak what an auth flow added (a bearer token, a Basic base64 blob)."""
    if request is None:
        return []
    known = [k for k in known if k]
    found: list[str] = []
    for name, value in header_pairs(request.headers):
        if name in _SENSITIVE_HEADERS or any(k in value for k in known):
            found.append(value)
            scheme, _, token = value.partition(" ")
            if token and scheme.isalpha():
                found.append(token.strip())
    return [v for v in found if len(v) >= 4]


def redact(text: str, secrets: Iterable[str]) -> str:
    """Return ``text`` with every secret value (also percent-encoded, as it appears
    in URLs) replaced by a mask. Values shorter than 4 characters are left alone."""
    forms: set[str] = set()
    for s in secrets:
        if s and len(s) >= 4:
            forms.update({s, quote(s, safe=""), quote_plus(s, safe="")})
    for s in sorted(forms, key=len, reverse=True):
        text = text.replace(s, MASK)
    return text


class Outcome(str, Enum):
    """How a test (or any request) ended, one value per thing a user must fix differently."""

    OK = "ok"
    CREDENTIALS_REJECTED = "credentials_rejected"
    HTTP_ERROR = "http_error"
    TLS_ERROR = "tls_error"
    DNS_ERROR = "dns_error"
    CONNECTION_REFUSED = "connection_refused"
    TIMEOUT = "timeout"
    PROXY_ERROR = "proxy_error"
    NETWORK_ERROR = "network_error"
    NOT_CONNECTED = "not_connected"
    INVALID = "invalid"
    REFUSED = "refused"  # by the server's network policy: nothing was sent there
    RESPONSE_TOO_LARGE = "response_too_large"  # past max_response_bytes: cut off, no body kept


def api_message(response: httpx2.Response, limit: int = 300, *, secrets: Iterable[str] = (), text: str | None = None) -> str | None:
    """Return the API's own explanation from an error response body, or None.

    JSON bodies are searched for the usual keys (``message``, ``error_description``,
    ``error``, ``detail``, ``errors``); other bodies give their first ``limit``
    characters. ``secrets`` are masked before the text is cut, so no part of one
    survives a cut. ``text`` is the body (or its first part) when the response was
    streamed rather than read.
    """
    try:
        body = json.loads(text) if text is not None else response.json()
    except Exception:
        text = redact((response.text if text is None else text).strip(), secrets)
        return text[:limit] or None
    found = _find_message(body)
    if not found:
        found = json.dumps(body, ensure_ascii=False)
    return redact(found, secrets)[:limit] or None


def _find_message(body: Any) -> str | None:
    if isinstance(body, str):
        return body
    if isinstance(body, list):
        for item in body:
            m = _find_message(item)
            if m:
                return m
        return None
    if not isinstance(body, dict):
        return None
    for key in ("error_description", "message", "error_message", "errorMessages", "detail", "description", "title", "error", "errors", "msg"):
        if key in body:
            m = _find_message(body[key])
            if m:
                return m
    return None


def classify_error(exc: BaseException, *, agent_url: str | None = None, timeout: float | None = None) -> tuple[Outcome, str]:
    """Return the outcome and a plain sentence for a transport exception.

    ``agent_url`` is the on-premise agent the request went through, if any: failing
    to reach it is a proxy outcome, not the API's. ``timeout`` (seconds) is named in
    the timeout sentence.
    """
    if isinstance(exc, ResponseTooLarge):
        return Outcome.RESPONSE_TOO_LARGE, str(exc)
    chain = error_chain(exc)
    text = " ".join(str(x) for x in chain)
    agent = safe_url(agent_url)
    within = f" within {timeout:g} s" if timeout else ""
    # Checked before the agent: TLS with the API happens inside the agent's tunnel.
    if any(isinstance(x, ssl.SSLError) for x in chain) or "[SSL" in text:
        return Outcome.TLS_ERROR, _tls_sentence(text)
    if isinstance(exc, httpx2.ProxyError):
        said = _short(str(exc))
        if said.startswith("407"):
            return Outcome.PROXY_ERROR, (
                f"The on-premise agent at {agent} wants a login ({said}): put user:password in agent_url."
            )
        return Outcome.PROXY_ERROR, (
            f"The on-premise agent at {agent} could not open a tunnel to the API ({said}): "
            "check that the agent can reach the API's host and port."
        )
    connect_phase = isinstance(exc, (httpx2.ConnectError, httpx2.ConnectTimeout))
    if agent_url and connect_phase:
        if isinstance(exc, httpx2.ConnectTimeout):
            why = f"it did not accept a connection{within}"
        elif any(isinstance(x, socket.gaierror) for x in chain):
            why = "its host name does not resolve"
        elif any(isinstance(x, ConnectionRefusedError) for x in chain):
            why = "the connection was refused: nothing listens at that address"
        else:
            why = _short(text)
        return Outcome.PROXY_ERROR, (
            f"The on-premise agent at {agent} could not be reached ({why}). This connection is marked "
            "private network, so its requests go through the agent: start the agent or fix agent_url."
        )
    if isinstance(exc, httpx2.TimeoutException):
        phase = "accept a connection" if isinstance(exc, httpx2.ConnectTimeout) else "answer"
        return Outcome.TIMEOUT, (
            f"The server did not {phase}{within} (timeout). Raise the connection's timeout if the API is slow."
        )
    if any(isinstance(x, socket.gaierror) for x in chain) or "Name or service not known" in text or "nodename nor servname" in text:
        return Outcome.DNS_ERROR, "The host name could not be resolved (DNS failure). Check the URL's host."
    if any(isinstance(x, ConnectionRefusedError) for x in chain) or "Connection refused" in text:
        return Outcome.CONNECTION_REFUSED, "The connection was refused: nothing is listening at that host and port."
    if isinstance(exc, httpx2.RemoteProtocolError) and "disconnected" in text:
        return Outcome.NETWORK_ERROR, "The server closed the connection without answering."
    return Outcome.NETWORK_ERROR, f"The request failed before an answer came back: {_short(text)}."


def error_chain(exc: BaseException) -> list[BaseException]:
    """Return ``exc`` and the exceptions it came from (causes or contexts), at most 10."""
    chain: list[BaseException] = []
    e: BaseException | None = exc
    while e is not None and len(chain) < 10:
        chain.append(e)
        e = e.__cause__ or e.__context__
    return chain


def _tls_sentence(text: str) -> str:
    upper = text.upper()
    if "CERTIFICATE_REQUIRED" in upper:
        return (
            "TLS failed: the server demands a client certificate and got none. "
            "Add client_certificate (certificate and key) to the connection."
        )
    if any(m in upper for m in ("BAD_CERTIFICATE", "UNKNOWN_CA", "CERTIFICATE_UNKNOWN", "ACCESS_DENIED")):
        return (
            "TLS failed: the server did not accept the client certificate (it may demand one, or one "
            "signed by a CA it trusts). Check the connection's client_certificate."
        )
    if "CERTIFICATE_VERIFY_FAILED" in upper:
        if "MISMATCH" in upper:
            why = "it is not issued for this host name"
        elif "EXPIRED" in upper:
            why = "it has expired"
        else:
            why = "it is not signed by a CA this connection trusts"
        return (
            f"TLS failed: the server's certificate is not trusted: {why} ({_short(text, 160)}). "
            "Add the server's CA to client_certificate.ca_bundle; certificate verification stays on."
        )
    return f"TLS failed: {_short(text)}."


def _short(text: str, limit: int = 200) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
