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
from urllib.parse import quote, quote_plus, urlencode

import httpx2

from plugwire.core.http.body import canonical_name, encode_body, parse_response
from plugwire.core.base.errors import AuthorizationRequired, PlugwireError
from plugwire.core.http.exchange import Exchange, ReceivedResponse, RequestSpec, SentRequest, is_sensitive_name, masked_headers
from plugwire.core.http.client import client_for
from plugwire.core.http.outcomes import Outcome, api_message, classify_error, redact, sent_secrets
from plugwire.core.base.secrets import MASK
from plugwire.core.base.urls import validate_absolute_url

if TYPE_CHECKING:  # only for annotations; connections import the HTTP layer lazily
    from plugwire.core.http.retry import RetryPolicy
    from plugwire.core.connections.model import Connection, Connections

__all__ = ["auth_additions", "open_client", "prepare", "send", "send_async"]

_MASK_TOKEN = "PLUGWIREMASKED"
_PUBLIC_TIMEOUT = 30.0  # seconds, for a request that goes through no connection


def open_client(connection: "Connection | None", connections: "Connections | None", *, asynchronous: bool = False):
    """Return an ``httpx2`` client for ``connection`` (its auth, TLS and route), or a
    plain client for a public API when ``connection`` is None.

    Raises ``AuthorizationRequired`` when an interactive auth has no token yet.
    """
    if connection is not None:
        if connections is None:
            raise PlugwireError("A connection was given without the connections service.", field="connection")
        return client_for(connection, connections, asynchronous=asynchronous)
    cls = httpx2.AsyncClient if asynchronous else httpx2.Client
    return cls(timeout=httpx2.Timeout(_PUBLIC_TIMEOUT), follow_redirects=True, trust_env=False, headers={"User-Agent": "plugwire"})


class _Prepared:
    """A request ready to go out, with what is needed to describe it afterwards."""

    __slots__ = ("spec", "request", "body_text", "files", "content_type", "url_text", "headers_before", "query_before")

    def __init__(self, spec: RequestSpec, request: httpx2.Request, body_text: str | None, files: list[dict[str, Any]],
                 content_type: str | None = None, url_text: str | None = None):
        self.spec = spec
        self.request = request
        self.body_text = body_text
        self.files = files
        self.content_type = content_type  # as set on the request (None: no Content-Type)
        self.url_text = url_text  # the request's URL as text, when known without a query
        # Auth flows change the request in place: keep what it was before they ran,
        # so that whatever they add can be told apart and masked. Raw byte pairs:
        # decoding every header here would cost more than the comparison.
        self.headers_before = frozenset(request.headers.raw)
        self.query_before = request.url.query

    def params_before(self) -> set[str]:
        """Return the query parameter names the request had before any auth flow ran."""
        if not self.query_before:
            return set()
        return {k for k, _ in httpx2.QueryParams(self.query_before.decode("ascii")).multi_items()}

    def auth_headers(self, final: httpx2.Request) -> dict[str, str]:
        """Return the headers of ``final`` that an auth flow added or changed, by their usual spelling."""
        before = self.headers_before
        added = [(k, v) for k, v in final.headers.raw if (k, v) not in before]
        if not added:
            return {}
        enc = final.headers.encoding
        return {canonical_name(k.decode(enc)): v.decode(enc) for k, v in added}


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


def prepare(spec: RequestSpec, client: httpx2.Client | httpx2.AsyncClient, *, timeout: float | None = None) -> _Prepared:
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
                pairs.append((key, _query_text(item)))
        params = httpx2.QueryParams(pairs)
    content, content_type, body_text, files = encode_body(spec)
    headers = {k: v for k, v in spec.headers.items() if not (content_type and k.lower() == "content-type")}
    if content_type:
        headers["Content-Type"] = content_type
    else:
        content_type = next((v for k, v in headers.items() if k.lower() == "content-type"), None)
    kwargs: dict[str, Any] = {"headers": headers}
    if params is not None:
        kwargs["params"] = params
    if content is not None:
        kwargs["content"] = content
    if timeout is not None:
        kwargs["timeout"] = timeout
    request = client.build_request(spec.method, url, **kwargs)
    return _Prepared(spec, request, body_text, files, content_type, url_text if params is None else None)


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


def _query_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


def _sent(prepared: _Prepared, final: httpx2.Request | None) -> SentRequest:
    """Describe what went out: the configured headers and query, with anything the
    connection's auth added (or changed) masked, and every sensitive name masked."""
    built = prepared.request
    spec = prepared.spec
    added_headers: dict[str, str] = {}
    added_params: set[str] = set()
    source = built.url
    if final is not None:
        added_headers = prepared.auth_headers(final)
        source = final.url
        if source.query != prepared.query_before:
            known = prepared.params_before()
            added_params = {k for k, _ in source.params.multi_items() if k not in known}
    headers = dict(spec.headers)
    content_type = prepared.content_type
    if content_type:
        headers = {k: v for k, v in headers.items() if k.lower() != "content-type"}
        headers["Content-Type"] = content_type
    auth_added = set()
    for name, value in added_headers.items():
        if name in ("Content-Length", "Host"):
            continue
        # Whatever auth put on the wire is a credential, whatever its header name.
        headers[name] = value
        auth_added.add(name.lower())
    if source.query:
        pairs = []
        for key, value in source.params.multi_items():
            masked = key in added_params or is_sensitive_name(key)
            pairs.append((key, _MASK_TOKEN if masked else value))
        url = str(source.copy_with(query=None)) + "?" + urlencode(pairs).replace(_MASK_TOKEN, MASK)
    elif source is built.url and prepared.url_text is not None:
        url = prepared.url_text  # the URL as configured: no auth flow or redirect changed it
    else:
        url = str(source.copy_with(query=None)) if b"?" in source.raw_path else str(source)
    query = {k: (MASK if is_sensitive_name(k) else v) for k, v in spec.query.items()}
    return SentRequest(
        method=spec.method,
        url=url,
        headers=masked_headers(headers, auth_added),
        query=query,
        body=spec.body if spec.body_format != "binary" else f"({len(built.content)} bytes)",
        body_format=spec.body_format,
        content_type=content_type,
        body_text=prepared.body_text,
        files=prepared.files,
    )


def _answer(prepared: _Prepared, response: httpx2.Response, elapsed_ms: float, response_format: str, secrets: list[str], attempts: int,
            pretty: bool = True) -> Exchange:
    # What the request carried (a Basic blob, a bearer token) is as secret as the
    # connection's settings: an API that echoes the request must not show it.
    secrets = secrets + sent_secrets(response.request, secrets)
    received = parse_response(response, elapsed_ms, response_format, pretty=pretty)
    if secrets and _echoes(received, secrets):
        received = _redacted(received, secrets)
    status = response.status_code
    said = api_message(response, secrets=secrets) if status >= 400 else None
    if 200 <= status < 300:
        outcome, message = Outcome.OK, f"{status} {received.reason} in {elapsed_ms:.0f} ms, {received.size} bytes."
    else:
        outcome = Outcome.CREDENTIALS_REJECTED if status in (401, 403) else Outcome.HTTP_ERROR
        message = f"The API answered {status} {received.reason}" + (f": {said}" if said else ".")
    return Exchange(
        request=_sent(prepared, response.request),
        response=received,
        outcome=outcome.value,
        ok=200 <= status < 300,
        message=message,
        api_message=said,
        elapsed_ms=round(elapsed_ms, 1),
        attempts=attempts,
    )


def _failure(prepared: _Prepared | None, spec: RequestSpec, exc: BaseException, elapsed_ms: float, secrets: list[str],
             attempts: int, *, agent_url: str | None, timeout: float | None) -> Exchange:
    if isinstance(exc, AuthorizationRequired):
        outcome, message = Outcome.NOT_CONNECTED, str(exc)
    elif isinstance(exc, httpx2.HTTPError):
        secrets = secrets + sent_secrets(_request_of(exc), secrets)
        outcome, message = classify_error(exc, agent_url=agent_url, timeout=timeout)
    else:
        outcome, message = Outcome.INVALID, str(exc)
    request = _sent(prepared, None) if prepared is not None else SentRequest(
        method=spec.method, url=spec.url, headers=masked_headers(spec.headers), body_format=spec.body_format
    )
    return Exchange(
        request=request,
        outcome=outcome.value,
        ok=False,
        message=redact(message, secrets) if secrets else message,
        elapsed_ms=round(elapsed_ms, 1),
        attempts=attempts,
    )


def _request_of(exc: httpx2.HTTPError) -> httpx2.Request | None:
    try:
        return exc.request
    except RuntimeError:  # raised when the error is not tied to a request
        return None


@functools.lru_cache(maxsize=64)
def _forms(secret: str) -> tuple[str, ...]:
    """Return the ways ``secret`` can appear in text (as is, percent-encoded), as ``redact`` masks them."""
    if len(secret) < 4:
        return ()
    return tuple({secret, quote(secret, safe=""), quote_plus(secret, safe="")})


def _echoes(received: ReceivedResponse, secrets: list[str]) -> bool:
    """Return True unless ``received`` certainly holds none of ``secrets``.

    Checking the text as it came is enough when every parsed string is a plain
    substring of it: a JSON body without escapes (a backslash could spell a secret
    as ``\\u0041`` or ``\\/``) that was kept whole. XML (entities, attribute
    normalisation) is always cleaned the slow way.
    """
    text = received.text or ""
    if received.truncated or received.format == "xml" or (received.format == "json" and "\\" in text):
        return True
    forms = [f for s in secrets for f in _forms(s)]
    places = [text, received.pretty, *received.headers.values()]
    if isinstance(received.body, str):
        places.append(received.body)
    return any(f in place for place in places for f in forms)


def _redacted(received: ReceivedResponse, secrets: list[str]) -> ReceivedResponse:
    """Return ``received`` with any of the connection's secrets an API echoed masked."""

    def clean(value: Any) -> Any:
        if isinstance(value, str):
            return redact(value, secrets)
        if isinstance(value, dict):
            return {k: clean(v) for k, v in value.items()}
        if isinstance(value, list):
            return [clean(v) for v in value]
        return value

    return received.model_copy(
        update={"body": clean(received.body), "text": clean(received.text), "pretty": clean(received.pretty), "headers": clean(received.headers)}
    )


class _Attempts:
    """The bookkeeping both :func:`send` and :func:`send_async` share: count the
    attempts, turn each answer or failure into an exchange, decide about a retry."""

    def __init__(self, spec: RequestSpec, connection: "Connection | None", response_format: str, retry: "RetryPolicy | None",
                 timeout: float | None, secrets: list[str] | None = None, pretty: bool = True):
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
        self.count = 0
        self.exchange: Exchange | None = None
        self.started = 0.0

    def begin(self) -> None:
        self.count += 1
        self.started = time.perf_counter()

    def answered(self, prepared: _Prepared, response: httpx2.Response) -> float | None:
        """Record the answer; return the delay before a retry, or None when final."""
        elapsed = (time.perf_counter() - self.started) * 1000
        self.exchange = _answer(prepared, response, elapsed, self.response_format, self.secrets, self.count, self.pretty)
        return self._delay()

    def failed(self, prepared: _Prepared | None, exc: BaseException) -> float | None:
        """Record the failure; return the delay before a retry, or None when final."""
        elapsed = (time.perf_counter() - self.started) * 1000
        self.exchange = _failure(prepared, self.spec, exc, elapsed, self.secrets, self.count, agent_url=self.agent_url, timeout=self.timeout)
        return self._delay()

    def _delay(self) -> float | None:
        ex = self.exchange
        if self.retry is None or ex is None:
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
    secrets: list[str] | None = None,
    pretty: bool = True,
) -> Exchange:
    """Send ``spec`` through ``connection`` (None for a public API) and return the
    :class:`Exchange`, retrying as ``retry`` says (no retry when None).

    ``client`` reuses an open client (the caller closes it). ``secrets`` are the values
    to keep out of the exchange when the caller has them already (default: the
    connection's secrets); ``pretty=False`` leaves the response's pretty text empty
    (a job keeps the parsed body, not its indented copy). Never raises for an HTTP
    status or a network failure: they are the exchange's outcome. Raises
    ``UserInputError`` for a request that cannot be built (bad URL, body, file).
    """
    run = _Attempts(spec, connection, response_format, retry, timeout, secrets, pretty)
    owned = client is None
    try:
        while True:
            run.begin()
            prepared = None
            try:
                client = client or open_client(connection, connections)
                prepared = prepare(spec, client, timeout=timeout)
                response = client.send(prepared.request)
                response.read()
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
    secrets: list[str] | None = None,
    pretty: bool = True,
) -> Exchange:
    """The asynchronous twin of :func:`send`: same arguments, same result, same errors."""
    run = _Attempts(spec, connection, response_format, retry, timeout, secrets, pretty)
    owned = client is None
    try:
        while True:
            run.begin()
            prepared = None
            try:
                client = client or open_client(connection, connections, asynchronous=True)
                prepared = prepare(spec, client, timeout=timeout)
                response = await client.send(prepared.request)
                await response.aread()
                delay = run.answered(prepared, response)
            except (httpx2.HTTPError, AuthorizationRequired) as exc:
                delay = run.failed(prepared, exc)
            if delay is None:
                return run.exchange
            await asyncio.sleep(delay)
    finally:
        if owned and client is not None:
            await client.aclose()
