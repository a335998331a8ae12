"""Sending HTTP through a connection: TLS, client certificate, agent route, auth;
and turning whatever went wrong into an outcome a user can act on.

:func:`client_for` builds one ``httpx2.Client`` (or ``AsyncClient``) per connection
with everything the connection says; :func:`classify_error` names a transport
failure; :func:`api_message` finds the API's own words in an error body. Test
connection (:mod:`plugwire.core.testconn`) is built on these.
"""

from __future__ import annotations

import hashlib
import json
import os
import socket
import ssl
import tempfile
import threading
from collections import OrderedDict
from enum import Enum
from typing import Any, Iterable
from urllib.parse import quote, quote_plus

import httpx2

from plugwire.core.body import header_pairs
from plugwire.core.connections import Connection, Connections
from plugwire.core.errors import UserInputError
from plugwire.core.secrets import MASK

__all__ = [
    "Outcome",
    "api_message",
    "classify_error",
    "client_for",
    "error_chain",
    "redact",
    "safe_url",
    "sent_secrets",
    "tls_context",
]


_CONTEXTS: "OrderedDict[str, ssl.SSLContext]" = OrderedDict()
_CONTEXTS_LOCK = threading.Lock()
_CONTEXTS_MAX = 64


def tls_context(conn: Connection) -> ssl.SSLContext | bool:
    """Return the SSL context for ``conn``: verification on unless switched off,
    its CA bundle trusted, its client certificate loaded (False when verification is
    off and there is no certificate).

    Connections with the same TLS settings share one context: loading the system
    CA store costs tens of milliseconds, once per client otherwise. Contexts are
    never changed after they are built.

    Raises ``UserInputError`` naming the ``client_certificate`` field at fault when
    the CA bundle, certificate, key or key password do not load.
    """
    opts = conn.options
    if not opts.verify_tls and opts.client_certificate is None:
        return False
    cc = opts.client_certificate
    material = [str(opts.verify_tls)]
    if cc is not None:
        material += [
            cc.certificate or "", cc.ca_bundle or "",
            cc.private_key.get_secret_value() if cc.private_key else "",
            cc.key_password.get_secret_value() if cc.key_password else "",
        ]
    # A digest, so the cache holds no second copy of the key or its password.
    key = hashlib.sha256("\0".join(material).encode()).hexdigest()
    with _CONTEXTS_LOCK:
        if key in _CONTEXTS:
            _CONTEXTS.move_to_end(key)
            return _CONTEXTS[key]
    ctx = _build_tls_context(conn)
    with _CONTEXTS_LOCK:
        _CONTEXTS[key] = ctx
        while len(_CONTEXTS) > _CONTEXTS_MAX:
            _CONTEXTS.popitem(last=False)
    return ctx


def _build_tls_context(conn: Connection) -> ssl.SSLContext:
    from plugwire.core.tls import KeyPairError, check_key_pair

    opts = conn.options
    cc = opts.client_certificate
    ctx = httpx2.create_ssl_context(verify=True, trust_env=False)
    if not opts.verify_tls:
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    if cc is None:
        return ctx
    if cc.ca_bundle:
        try:
            ctx.load_verify_locations(cadata=cc.ca_bundle)
        except (ssl.SSLError, ValueError) as exc:
            raise UserInputError(
                f"client_certificate.ca_bundle does not load ({getattr(exc, 'reason', None) or exc}).",
                field="client_certificate.ca_bundle",
                fix="give a PEM file of CA certificates",
            ) from None
    if cc.certificate is None:
        return ctx  # a CA bundle only: the server asks for no client certificate
    key = cc.private_key.get_secret_value() if cc.private_key else ""
    password = cc.key_password.get_secret_value() if cc.key_password else None
    try:
        # Checked first so that a missing password never reaches OpenSSL, which
        # would prompt for it on the terminal.
        encrypted = check_key_pair(cc.certificate, key, password)
    except KeyPairError as exc:
        raise UserInputError(
            f"client_certificate.{exc.field}: {exc}.",
            field=f"client_certificate.{exc.field}",
            fix="give the key that belongs to the certificate and, for an encrypted key, its key_password",
        ) from None
    # ssl loads a certificate chain only from files: write them, for the duration
    # of the call, to a folder only this user can read.
    with tempfile.TemporaryDirectory(prefix="plugwire-cert-") as tmp:
        os.chmod(tmp, 0o700)
        cert_path = _private_file(tmp, "cert.pem", cc.certificate)
        key_path = _private_file(tmp, "key.pem", key)
        try:
            ctx.load_cert_chain(cert_path, key_path, password=password if encrypted else None)
        except ssl.SSLError as exc:
            raise UserInputError(
                f"client_certificate: the certificate and key do not load together ({exc.reason or 'SSL error'}).",
                field="client_certificate",
                fix="check that the key matches the certificate and that key_password is right",
            ) from None
    return ctx


def _private_file(folder: str, name: str, text: str) -> str:
    path = os.path.join(folder, name)
    with open(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "w", encoding="utf-8") as fh:
        fh.write(text)
    return path


def client_for(conn: Connection, connections: Connections, *, asynchronous: bool = False, **kwargs: Any):
    """Return an ``httpx2.Client`` (or ``AsyncClient``) that sends as ``conn``:
    its auth, TLS context, agent route (private network) and timeout. Extra
    ``kwargs`` go to the client.

    Raises ``AuthorizationRequired`` when an interactive auth has no token yet, and
    ``UserInputError`` when the client certificate does not load or a SOCKS agent
    is named without SOCKS support installed.
    """
    context = connections.auth_context(conn)
    auth = conn.auth_type_plugin().build_auth(conn.settings, context)
    options: dict[str, Any] = {
        "verify": context.verify,
        "timeout": httpx2.Timeout(conn.options.timeout),
        "follow_redirects": True,
        # The route is the connection's decision alone, never the environment's
        # HTTP(S)_PROXY: a private-network connection must go through its agent and
        # a normal one must not.
        "trust_env": False,
        "headers": {"User-Agent": "plugwire"},
    }
    if context.proxy:
        options["proxy"] = context.proxy
    if auth is not None:
        options["auth"] = auth
    options.update(kwargs)
    cls = httpx2.AsyncClient if asynchronous else httpx2.Client
    try:
        return cls(**options)
    except ImportError as exc:
        if "socks" not in str(exc).lower():
            raise
        raise UserInputError(
            f"agent_url {safe_url(context.proxy)} is a SOCKS agent, and SOCKS support is not installed.",
            field="agent_url",
            fix="install it with `pip install socksio`, or give the agent's http:// address",
        ) from None


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


def api_message(response: httpx2.Response, limit: int = 300, *, secrets: Iterable[str] = ()) -> str | None:
    """Return the API's own explanation from an error response body, or None.

    JSON bodies are searched for the usual keys (``message``, ``error_description``,
    ``error``, ``detail``, ``errors``); other bodies give their first ``limit``
    characters. ``secrets`` are masked before the text is cut, so no part of one
    survives a cut.
    """
    try:
        body = response.json()
    except Exception:
        text = redact(response.text.strip(), secrets)
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


def __getattr__(name: str) -> Any:
    # Test connection lives in its own module (which imports this one); it is also
    # offered here, lazily, because it is what most callers of this module want.
    if name in ("TestResult", "test_connection"):
        from plugwire.core import testconn

        return getattr(testconn, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
