"""Sending HTTP through a connection: TLS, client certificate, agent route, auth.

:func:`client_for` builds one ``httpx2.Client`` (or ``AsyncClient``) per connection
with everything the connection says; :func:`test_connection` sends a GET and says
plainly what happened.
"""

from __future__ import annotations

import os
import ssl
import tempfile
import time
from enum import Enum
from typing import Any

import httpx2
from pydantic import BaseModel

from plugwire.core.connections import Connection, Connections
from plugwire.core.errors import AuthorizationRequired, PlugwireError, UserInputError
from plugwire.core.urls import validate_absolute_url

__all__ = [
    "Outcome",
    "TestResult",
    "api_message",
    "classify_error",
    "client_for",
    "redact",
    "test_connection",
    "tls_context",
]


def tls_context(conn: Connection) -> ssl.SSLContext | bool:
    """Return the SSL context for ``conn``: verification on unless switched off,
    its CA bundle trusted, its client certificate loaded.

    Raises ``UserInputError`` (field ``client_certificate``) when the certificate,
    key or password do not load.
    """
    opts = conn.options
    cc = opts.client_certificate
    if not opts.verify_tls and cc is None:
        return False
    ctx = httpx2.create_ssl_context(verify=True)
    if not opts.verify_tls:
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    if cc is None:
        return ctx
    if cc.ca_bundle:
        try:
            ctx.load_verify_locations(cadata=cc.ca_bundle)
        except ssl.SSLError as exc:
            raise UserInputError(
                f"The CA bundle does not load: {exc.reason or exc}.",
                field="client_certificate.ca_bundle",
                fix="give a PEM file of CA certificates",
            ) from None
    # ssl can only load a certificate chain from files: write them to a private
    # temporary folder for the duration of the call.
    with tempfile.TemporaryDirectory(prefix="plugwire-cert-") as tmp:
        os.chmod(tmp, 0o700)
        cert_path = os.path.join(tmp, "cert.pem")
        key_path = None
        with open(os.open(cert_path, os.O_WRONLY | os.O_CREAT, 0o600), "w") as fh:
            fh.write(cc.certificate)
        if cc.private_key is not None:
            key_path = os.path.join(tmp, "key.pem")
            with open(os.open(key_path, os.O_WRONLY | os.O_CREAT, 0o600), "w") as fh:
                fh.write(cc.private_key.get_secret_value())
        password = cc.key_password.get_secret_value() if cc.key_password else None
        try:
            ctx.load_cert_chain(cert_path, key_path, password=password)
        except ssl.SSLError as exc:
            raise UserInputError(
                f"The client certificate and key do not load together ({exc.reason or 'SSL error'}).",
                field="client_certificate",
                fix="check that the key matches the certificate and that key_password is right",
            ) from None
    return ctx


def client_for(conn: Connection, connections: Connections, *, asynchronous: bool = False, **kwargs: Any):
    """Return an ``httpx2.Client`` (or ``AsyncClient``) that sends as ``conn``:
    its auth, TLS context, agent route and timeout. Extra ``kwargs`` go to the client.

    Raises ``AuthorizationRequired`` when an interactive auth has no token yet.
    """
    context = connections.auth_context(conn)
    auth = conn.auth_type_plugin().build_auth(conn.settings, context)
    options: dict[str, Any] = {
        "verify": context.verify,
        "timeout": httpx2.Timeout(conn.options.timeout),
        "follow_redirects": True,
        "trust_env": False,
        "headers": {"User-Agent": "plugwire"},
    }
    if context.proxy:
        options["proxy"] = context.proxy
    if auth is not None:
        options["auth"] = auth
    options.update(kwargs)
    cls = httpx2.AsyncClient if asynchronous else httpx2.Client
    return cls(**options)


def redact(text: str, secrets: list[str]) -> str:
    """Return ``text`` with every secret value replaced by a mask."""
    from plugwire.core.secrets import MASK

    for s in sorted(set(secrets), key=len, reverse=True):
        if s:
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


class TestResult(BaseModel):
    """What Test connection found, in plain words."""

    __test__ = False  # not a pytest test class

    connection: str
    url: str | None
    outcome: Outcome
    ok: bool
    message: str
    status: int | None = None
    elapsed_ms: float | None = None
    api_message: str | None = None


def api_message(response: httpx2.Response, limit: int = 300) -> str | None:
    """Return the API's own explanation from an error response body, or None.

    JSON bodies are searched for the usual keys (``message``, ``error_description``,
    ``error``, ``detail``, ``errors``); other bodies give their first ``limit`` characters.
    """
    try:
        body = response.json()
    except Exception:
        text = response.text.strip()
        return text[:limit] or None
    found = _find_message(body)
    if found:
        return found[:limit]
    import json

    return json.dumps(body)[:limit]


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
    for key in ("error_description", "message", "error_message", "detail", "description", "title", "error", "errors", "msg"):
        if key in body:
            m = _find_message(body[key])
            if m:
                return m
    return None


def classify_error(exc: BaseException) -> tuple[Outcome, str]:
    """Return the outcome and a plain sentence for a transport exception."""
    chain = []
    e: BaseException | None = exc
    while e is not None and len(chain) < 10:
        chain.append(e)
        e = e.__cause__ or e.__context__
    text = " ".join(str(x) for x in chain)
    if isinstance(exc, httpx2.TimeoutException):
        return Outcome.TIMEOUT, "The server did not answer in time (timeout)."
    if isinstance(exc, httpx2.ProxyError):
        return Outcome.PROXY_ERROR, f"The on-premise agent/proxy refused or failed the request: {exc}."
    if any(isinstance(x, ssl.SSLError) for x in chain) or "SSL" in text or "CERTIFICATE" in text.upper():
        upper = text.upper()
        if "CERTIFICATE_REQUIRED" in upper or "HANDSHAKE_FAILURE" in upper or "BAD_CERTIFICATE" in upper:
            return Outcome.TLS_ERROR, (
                "TLS failed: the server demands a client certificate it did not get or did not accept. "
                "Add client_certificate (certificate and key) to the connection."
            )
        if "CERTIFICATE_VERIFY_FAILED" in upper:
            return Outcome.TLS_ERROR, (
                "TLS failed: the server's certificate is not trusted (" + _short(text) + "). "
                "Add its CA to client_certificate.ca_bundle; verification stays on."
            )
        return Outcome.TLS_ERROR, f"TLS failed: {_short(text)}."
    import socket

    if any(isinstance(x, socket.gaierror) for x in chain) or "Name or service not known" in text or "nodename nor servname" in text:
        return Outcome.DNS_ERROR, "The host name could not be resolved (DNS failure). Check the URL's host."
    if any(isinstance(x, ConnectionRefusedError) for x in chain) or "Connection refused" in text:
        return Outcome.CONNECTION_REFUSED, "The connection was refused: nothing is listening at that host and port."
    return Outcome.NETWORK_ERROR, f"The request failed before an answer came back: {_short(text)}."


def _short(text: str, limit: int = 200) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def test_connection(conn: Connection, connections: Connections, url: str | None = None) -> TestResult:
    """Send a GET to ``url`` (default: the connection's test URL) and report the outcome.

    Never raises for network or HTTP problems: they are outcomes.
    """
    secrets = conn.secret_values()
    target = url or conn.options.test_url
    try:
        target = validate_absolute_url(target, "test_url")
    except UserInputError as exc:
        return TestResult(connection=conn.name, url=target, outcome=Outcome.INVALID, ok=False, message=str(exc))
    start = time.perf_counter()
    try:
        with client_for(conn, connections) as client:
            response = client.get(target)
    except AuthorizationRequired as exc:
        return TestResult(connection=conn.name, url=target, outcome=Outcome.NOT_CONNECTED, ok=False, message=redact(str(exc), secrets))
    except PlugwireError as exc:
        return TestResult(connection=conn.name, url=target, outcome=Outcome.INVALID, ok=False, message=redact(str(exc), secrets))
    except httpx2.HTTPError as exc:
        outcome, message = classify_error(exc)
        elapsed = (time.perf_counter() - start) * 1000
        return TestResult(
            connection=conn.name, url=target, outcome=outcome, ok=False, message=redact(message, secrets), elapsed_ms=round(elapsed, 1)
        )
    elapsed = (time.perf_counter() - start) * 1000
    status = response.status_code
    said = api_message(response) if status >= 400 else None
    said = redact(said, secrets) if said else None
    base = dict(connection=conn.name, url=target, status=status, elapsed_ms=round(elapsed, 1), api_message=said)
    if 200 <= status < 300:
        return TestResult(**base, outcome=Outcome.OK, ok=True, message=f"Connected: GET answered {status} {response.reason_phrase} in {elapsed:.0f} ms.")
    if status in (401, 403):
        what = "rejected the credentials" if status == 401 else "accepted the credentials but refused access"
        return TestResult(
            **base,
            outcome=Outcome.CREDENTIALS_REJECTED,
            ok=False,
            message=f"The API {what} ({status} {response.reason_phrase})" + (f": {said}" if said else ".")
            + " Check the connection's credentials and permissions.",
        )
    return TestResult(
        **base,
        outcome=Outcome.HTTP_ERROR,
        ok=False,
        message=f"The API answered {status} {response.reason_phrase}" + (f": {said}" if said else ".")
        + " The connection reached the API; check the test URL.",
    )
