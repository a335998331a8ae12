"""Sending a configured request through a connection and capturing the whole exchange.

:func:`send` (and :func:`send_async`) encode the body by its format, send it through
the connection's client (auth, TLS, agent route), and return an
:class:`~plugwire.core.http.exchange.Exchange`: what went out with the auth masked, and
what came back in full. A 4xx or 5xx is an answer, and a refused connection, a DNS
or TLS failure or a timeout is an outcome: none of them raises.
"""

from __future__ import annotations

import asyncio
import functools
import time
from typing import TYPE_CHECKING, Any

import httpx2

from plugwire.core.base.errors import AuthorizationRequired, PlugwireError
from plugwire.core.base.urls import validate_absolute_url
from plugwire.core.http.body import encode_body
from plugwire.core.http.capture import Prepared, capture_answer, capture_failure, query_text
from plugwire.core.http.client import client_for, public_client
from plugwire.core.http.exchange import Exchange, RequestSpec
from plugwire.core.http.rules import check_headers
from plugwire.core.http.stream import DEFAULT_MAX_RESPONSE_BYTES, cap_responses, limit_request

if TYPE_CHECKING:  # annotations only
    from plugwire.core.connections.model import Connection, Connections
    from plugwire.core.http.netpolicy import NetworkPolicy
    from plugwire.core.http.retry import RetryPolicy

__all__ = ["auth_additions", "open_client", "prepare", "send", "send_async"]

_PUBLIC_TIMEOUT = 30.0  # seconds, for a request that goes through no connection


def open_client(connection: "Connection | None", connections: "Connections | None", *, asynchronous: bool = False,
                policy: "NetworkPolicy | None" = None):
    """Return an ``httpx2`` client for ``connection`` (its auth, TLS and route), or a
    plain client for a public API when ``connection`` is None; with ``policy``, every
    request it makes (token requests of its auth included) goes through the policy.

    Raises ``AuthorizationRequired`` when an interactive auth has no token yet.
    """
    if connection is not None:
        if connections is None:
            raise PlugwireError("A connection was given without the connections service.", field="connection")
        return client_for(connection, connections, asynchronous=asynchronous, policy=policy)
    return public_client(asynchronous=asynchronous, policy=policy)


@functools.lru_cache(maxsize=512)
def _target(text: str) -> tuple[httpx2.URL, tuple[tuple[str, str], ...], str]:
    """Return ``text`` validated and parsed: the URL without its query, the query's
    pairs, and that URL as text.

    Cached: a job sends to the same few URLs over and over, and parsing and
    validating costs more than encoding a small body. Raises ``UserInputError``
    (field ``url``) for a URL that is not absolute http(s); failures are not cached.
    """
    url = httpx2.URL(validate_absolute_url(text, "url"))
    pairs = tuple(url.params.multi_items())
    if url.query or b"?" in url.raw_path:
        url = url.copy_with(query=None)
    return url, pairs, str(url)


def prepare(spec: RequestSpec, client: httpx2.Client | httpx2.AsyncClient, *, timeout: float | None = None) -> Prepared:
    """Return the request ``spec`` describes, built on ``client`` (not sent yet).

    Raises ``UserInputError`` naming the field for a bad URL, a body that does not fit
    its format, or an unreadable file.
    """
    url, own, url_text = _target(spec.url)
    params = None
    if own or spec.query:
        pairs = list(own)
        for key, value in spec.query.items():
            for item in value if isinstance(value, (list, tuple)) else [value]:
                pairs.append((key, query_text(item)))
        params = httpx2.QueryParams(pairs)
    content, content_type, body_text, files = encode_body(spec)
    headers = {k: v for k, v in spec.headers.items() if not (content_type and k.lower() == "content-type")}
    if content_type:
        headers["Content-Type"] = content_type
    else:
        content_type = next((v for k, v in headers.items() if k.lower() == "content-type"), None)
    check_headers(headers)  # as filled in: a datapill may have brought a line break or non-ASCII text
    kwargs: dict[str, Any] = {"headers": headers}
    if params is not None:
        kwargs["params"] = params
    if content is not None:
        kwargs["content"] = content
    if timeout is not None:
        kwargs["timeout"] = timeout
    request = client.build_request(spec.method, url, **kwargs)
    return Prepared(spec, request, body_text, files, content_type, url_text if params is None else None)


def auth_additions(spec: RequestSpec, connection: "Connection", connections: "Connections") -> tuple[dict[str, str], dict[str, str]]:
    """Return the headers and query parameters ``connection``'s auth adds to ``spec``
    (in clear: the caller masks them), without sending anything.

    An auth that answers a challenge (digest) adds nothing before the server asks.
    Raises ``AuthorizationRequired`` when an interactive auth has no token yet.
    """
    with open_client(connection, connections) as client:
        prepared = prepare(spec, client)
        auth = client.auth
        if auth is None:
            return {}, {}
        request = next(auth.sync_auth_flow(prepared.request))
    headers = prepared.auth_headers(request)
    before = prepared.params_before()
    params = {k: v for k, v in request.url.params.multi_items() if k not in before}
    return headers, params


class _Attempts:
    """The bookkeeping both :func:`send` and :func:`send_async` share: count the
    attempts, turn each answer or failure into an exchange, decide about a retry."""

    def __init__(self, spec: RequestSpec, connection: "Connection | None", response_format: str, retry: "RetryPolicy | None",
                 timeout: float | None, secrets: list[str] | None = None, pretty: bool = True, max_response_bytes: int | None = None):
        self.spec = spec
        self.response_format = response_format
        self.retry = retry
        self.pretty = pretty
        if secrets is None:
            secrets = connection.secret_values() if connection is not None else []
        self.secrets = secrets
        # Named in failures: a private-network request that cannot reach its agent is
        # the agent's fault, and a timeout says how long was waited.
        options = connection.options if connection is not None else None
        self.agent_url = options.agent_url if options is not None and options.private_network else None
        self.timeout = timeout if timeout is not None else (options.timeout if options is not None else _PUBLIC_TIMEOUT)
        self.max_bytes = max_response_bytes or (options.max_response_bytes if options is not None else DEFAULT_MAX_RESPONSE_BYTES)
        self.count = 0
        self.exchange: Exchange | None = None
        self.started = 0.0

    def begin(self) -> None:
        self.count += 1
        self.started = time.perf_counter()

    def answered(self, prepared: Prepared, response: httpx2.Response) -> float | None:
        """Record the answer; return the delay before a retry, or None when final."""
        elapsed = (time.perf_counter() - self.started) * 1000
        self.exchange = capture_answer(prepared, response, elapsed, self.response_format, self.secrets, self.count, self.pretty)
        return self._delay()

    def failed(self, prepared: Prepared | None, exc: BaseException) -> float | None:
        """Record the failure; return the delay before a retry, or None when final."""
        elapsed = (time.perf_counter() - self.started) * 1000
        self.exchange = capture_failure(prepared, self.spec, exc, elapsed, self.secrets, self.count, agent_url=self.agent_url, timeout=self.timeout)
        return self._delay()

    def capped(self, client, prepared: Prepared) -> httpx2.Request:
        """Return the request, its answer to be read with this send's cap."""
        cap_responses(client, self.max_bytes)
        return limit_request(prepared.request, self.max_bytes)

    def _delay(self) -> float | None:
        ex = self.exchange
        if self.retry is None or ex is None or ex.outcome == "response_too_large":  # it would be as large again
            return None
        status = ex.response.status if ex.response is not None else None
        retry_after = ex.response.headers.get("Retry-After") if ex.response is not None else None
        return self.retry.next_delay(self.count, self.spec.method, status=status, outcome=ex.outcome, retry_after=retry_after)


def send(
    spec: RequestSpec,
    *,
    connection: "Connection | None" = None,
    connections: "Connections | None" = None,
    response_format: str = "auto",
    timeout: float | None = None,
    retry: "RetryPolicy | None" = None,
    client: httpx2.Client | None = None,
    policy: "NetworkPolicy | None" = None,
    secrets: list[str] | None = None,
    pretty: bool = True,
    max_response_bytes: int | None = None,
) -> Exchange:
    """Send ``spec`` through ``connection`` (None for a public API) and return the
    :class:`Exchange`, retrying as ``retry`` says (no retry when None).

    The answer is read as a stream and cut off past ``max_response_bytes``
    (decompressed; default: the connection's, else 10 MB): the outcome is then
    ``response_too_large``, with the status and headers and no body.

    ``client`` reuses an open client (the caller closes it); otherwise one is opened,
    through ``policy`` when given (a refused destination raises
    ``NetworkPolicyError``, before any credential leaves). ``secrets`` are the values
    to keep out of the exchange when the caller has them already (default: the
    connection's secrets); ``pretty=False`` leaves the response's pretty text empty
    (a job keeps the parsed body, not its indented copy). Never raises for an HTTP
    status or a network failure: they are the exchange's outcome. Raises
    ``UserInputError`` for a request that cannot be built (bad URL, body, file).
    """
    run = _Attempts(spec, connection, response_format, retry, timeout, secrets, pretty, max_response_bytes)
    owned = client is None
    try:
        while True:
            run.begin()
            prepared = None
            try:
                client = client or open_client(connection, connections, policy=policy)
                prepared = prepare(spec, client, timeout=timeout)
                response = client.send(run.capped(client, prepared))
                delay = run.answered(prepared, response)
            except (httpx2.HTTPError, AuthorizationRequired) as exc:
                delay = run.failed(prepared, exc)
            if delay is None:
                return run.exchange
            time.sleep(delay)
    finally:
        if owned and client is not None:
            client.close()


async def send_async(
    spec: RequestSpec,
    *,
    connection: "Connection | None" = None,
    connections: "Connections | None" = None,
    response_format: str = "auto",
    timeout: float | None = None,
    retry: "RetryPolicy | None" = None,
    client: httpx2.AsyncClient | None = None,
    policy: "NetworkPolicy | None" = None,
    secrets: list[str] | None = None,
    pretty: bool = True,
    max_response_bytes: int | None = None,
) -> Exchange:
    """The asynchronous twin of :func:`send`: same arguments, same result, same errors."""
    run = _Attempts(spec, connection, response_format, retry, timeout, secrets, pretty, max_response_bytes)
    owned = client is None
    try:
        while True:
            run.begin()
            prepared = None
            try:
                client = client or open_client(connection, connections, asynchronous=True, policy=policy)
                prepared = prepare(spec, client, timeout=timeout)
                response = await client.send(run.capped(client, prepared))
                delay = run.answered(prepared, response)
            except (httpx2.HTTPError, AuthorizationRequired) as exc:
                delay = run.failed(prepared, exc)
            if delay is None:
                return run.exchange
            await asyncio.sleep(delay)
    finally:
        if owned and client is not None:
            await client.aclose()
