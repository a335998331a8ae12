"""Test connection: send a GET through a connection and say plainly what happened.

Every failure is an outcome with a sentence, never a traceback; no secret of the
connection (nor any credential the request carried) appears in the result. Given
the server's network policy, the GET and every redirect it follows are checked
against it, and a refusal is the outcome ``refused``.
"""

from __future__ import annotations

import logging
import time
from typing import Any

import httpx2
from pydantic import BaseModel

from plugwire.core.base.errors import AuthorizationRequired, PlugwireError, UserInputError
from plugwire.core.base.urls import validate_absolute_url
from plugwire.core.connections.model import Connection, Connections
from plugwire.core.connections.tls import server_requests_certificate
from plugwire.core.http.client import client_for
from plugwire.core.http.netpolicy import NetworkPolicy, NetworkPolicyError
from plugwire.core.http.outcomes import (
    Outcome,
    api_message,
    classify_error,
    error_chain,
    redact,
    safe_url,
    sent_secrets,
)
from plugwire.core.http.stream import ResponseTooLarge, cap_responses

__all__ = ["TestResult", "test_connection"]

logger = logging.getLogger(__name__)
_REPORT_BYTES = 65_536  # of an error body: the API's own words are at its start


class TestResult(BaseModel):
    """What Test connection found, in plain words.

    ``route`` is ``direct`` or ``agent <url>`` (private network); ``field`` names the
    connection field at fault when the connection itself is unusable (``invalid``).
    """

    __test__ = False  # not a pytest test class

    connection: str
    url: str | None
    outcome: Outcome
    ok: bool
    message: str
    status: int | None = None
    elapsed_ms: float | None = None
    api_message: str | None = None
    route: str = "direct"
    field: str | None = None


def test_connection(
    conn: Connection,
    connections: Connections,
    url: str | None = None,
    *,
    policy: NetworkPolicy | None = None,
    client_kwargs: dict[str, Any] | None = None,
) -> TestResult:
    """Send a GET to ``url`` (default: the connection's test URL) and report the outcome.

    ``policy`` (the server's :class:`NetworkPolicy`) checks the GET and every
    redirect: a host in a forbidden range is the outcome ``refused``, naming the
    policy, and nothing is sent there. ``client_kwargs`` go to the client.

    The outcome is kept on the connection (``Connections.record_check``), so that
    the console shows it until the next test. Returns a :class:`TestResult`. Never raises for a bad URL, an unusable
    certificate, a missing authorization, a refusal by the policy, a network failure
    or an HTTP error: each is an outcome.
    """
    secrets = _known_secrets(conn, connections)
    agent = conn.options.agent_url if conn.options.private_network else None
    route = f"agent {safe_url(agent)}" if agent else "direct"
    target = url or conn.options.test_url

    def result(outcome: Outcome, message: str, **extra: Any) -> TestResult:
        found = TestResult(
            connection=conn.name, url=redact(target, secrets) if target else target, outcome=outcome, ok=outcome is Outcome.OK,
            message=redact(message, secrets), route=route, **extra,
        )
        _remember(found, connections)
        return found

    try:
        target = validate_absolute_url(target, "test_url")
    except UserInputError as exc:
        return result(Outcome.INVALID, str(exc), field=exc.field)
    options = dict(client_kwargs or {})
    start = time.perf_counter()
    try:
        with client_for(conn, connections, policy=policy, **options) as client:
            cap_responses(client, conn.options.max_response_bytes)
            with client.stream("GET", target) as response:
                head = _head(response)
    except NetworkPolicyError as exc:
        return result(Outcome.REFUSED, str(exc), field=exc.field, elapsed_ms=_ms(start))
    except AuthorizationRequired as exc:
        return result(Outcome.NOT_CONNECTED, str(exc), field=exc.field)
    except PlugwireError as exc:
        return result(Outcome.INVALID, str(exc), field=exc.field)
    except httpx2.HTTPError as exc:
        elapsed = _ms(start)
        secrets += sent_secrets(_request_of(exc), secrets)
        outcome, message = classify_error(exc, agent_url=agent, timeout=conn.options.timeout)
        if outcome in (Outcome.NETWORK_ERROR, Outcome.TLS_ERROR) and _may_be_client_certificate(exc, target):
            found = _client_certificate_problem(conn, target, agent)
            if found:
                outcome, message = Outcome.TLS_ERROR, found
        return result(outcome, message, elapsed_ms=elapsed)
    elapsed = _ms(start)
    secrets += sent_secrets(response.request, secrets)
    status, reason = response.status_code, response.reason_phrase
    said = api_message(response, secrets=secrets, text=head) if status >= 400 else None
    answered = f"{status} {reason}" + (f": {said}" if said else "")
    base: dict[str, Any] = {"status": status, "elapsed_ms": elapsed, "api_message": said}
    through = f" through the on-premise agent at {safe_url(agent)}" if agent else ""
    if status < 400:
        return result(Outcome.OK, f"Connected{through}: GET answered {status} {reason} in {elapsed:.0f} ms.", **base)
    if status in (401, 403):
        what = "rejected the credentials" if status == 401 else "refused access with these credentials"
        return result(
            Outcome.CREDENTIALS_REJECTED,
            f"The API {what} ({answered}). Check the connection's credentials and permissions.",
            **base,
        )
    if agent and status in (502, 504):
        return result(
            Outcome.PROXY_ERROR,
            f"The on-premise agent at {safe_url(agent)} (or a gateway behind it) could not get an answer "
            f"from the API ({answered}). Check that the agent can reach the API's host.",
            **base,
        )
    return result(
        Outcome.HTTP_ERROR,
        f"The API answered {answered}. The connection reached the API; check the test URL.",
        **base,
    )


def _remember(found: TestResult, connections: Connections) -> None:
    """Keep the outcome on the connection, where its list and page show it. A store
    that cannot be written costs the record, never the test's answer."""
    try:
        connections.record_check(
            found.connection, "test", ok=found.ok, outcome=found.outcome.value, message=found.message, status=found.status
        )
    except PlugwireError as exc:
        logger.warning("The outcome of testing connection %r was not recorded: %s", found.connection, exc)


def _head(response: httpx2.Response) -> str:
    """Return what the report needs of the body, as text: nothing for a success,
    the first ``_REPORT_BYTES`` (decompressed) of an error. The rest is never read."""
    if response.status_code < 400:
        return ""
    got = bytearray()
    chunks = response.iter_bytes()
    try:
        for chunk in chunks:
            got += chunk
            if len(got) >= _REPORT_BYTES:
                break
    except ResponseTooLarge:
        pass  # announced past the cap: the report goes without the API's words
    finally:
        chunks.close()
    return bytes(got[:_REPORT_BYTES]).decode(response.charset_encoding or "utf-8", "replace")


def _ms(start: float) -> float:
    return round((time.perf_counter() - start) * 1000, 1)


def _known_secrets(conn: Connection, connections: Connections) -> list[str]:
    found = list(conn.secret_values())
    try:
        token = connections.tokens(conn.name).load() or {}
    except PlugwireError:
        token = {}
    found += [v for k, v in token.items() if isinstance(v, str) and k.endswith("token")]
    return found


def _request_of(exc: httpx2.HTTPError) -> httpx2.Request | None:
    try:
        return exc.request
    except RuntimeError:  # httpx raises when the error is not tied to a request
        return None


def _may_be_client_certificate(exc: BaseException, target: str) -> bool:
    """True for an https failure that a missing or refused client certificate would
    cause: the server hangs up during or right after the handshake."""
    if not target.lower().startswith("https://"):
        return False
    text = " ".join(str(x) for x in error_chain(exc)).upper()
    return "CERTIFICATE_VERIFY_FAILED" not in text


def _client_certificate_problem(conn: Connection, target: str, agent: str | None) -> str | None:
    """Return the sentence for a server that asked for a client certificate, or None."""
    url = httpx2.URL(target)
    asked = server_requests_certificate(
        url.host, url.port or 443, agent_url=agent, timeout=min(conn.options.timeout, 5.0)
    )
    if not asked:
        return None
    cc = conn.options.client_certificate
    if cc is None or cc.certificate is None:
        return (
            "TLS failed: the server demands a client certificate and this connection has none "
            "(the server asked for one during the handshake, then hung up). Add client_certificate "
            f"(certificate and key): plugwire connections edit {conn.name!r} --cert-file PATH --key-file PATH."
        )
    # The server asked, got ours, and hung up: refusal is by far the likeliest reason,
    # but a server may also fail after the handshake for its own reasons.
    return (
        "TLS failed: the server asked for a client certificate and hung up after getting the one this "
        "connection sent: most likely it did not accept it (not signed by a CA the server trusts, "
        "expired or revoked). Check client_certificate."
    )


test_connection.__test__ = False  # a function named test_* that pytest must not collect
