"""What went over the wire, recorded: a request ready to go out (:class:`Prepared`)
and the exchange made of it, the request as sent (:func:`capture_sent`), the answer
(:func:`capture_answer`) or the failure (:func:`capture_failure`), with every secret
the connection knows masked or redacted. :mod:`plugwire.core.http.send` sends;
this module describes."""

from __future__ import annotations

import functools
from typing import Any
from urllib.parse import quote, quote_plus, urlencode

import httpx2

from plugwire.core.base.errors import AuthorizationRequired
from plugwire.core.base.secrets import MASK
from plugwire.core.http.body import canonical_name, parse_response
from plugwire.core.http.exchange import (
    Exchange,
    ReceivedResponse,
    RequestSpec,
    SentRequest,
    is_sensitive_name,
    masked_headers,
)
from plugwire.core.http.outcomes import Outcome, api_message, classify_error, redact, sent_secrets

__all__ = ["Prepared", "capture_answer", "capture_failure", "capture_sent", "query_text", "request_of"]

_MASK_TOKEN = "PLUGWIREMASKED"


class Prepared:
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


def query_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


def capture_sent(prepared: Prepared, final: httpx2.Request | None) -> SentRequest:
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


def capture_answer(prepared: Prepared, response: httpx2.Response, elapsed_ms: float, response_format: str, secrets: list[str], attempts: int,
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
        request=capture_sent(prepared, response.request),
        response=received,
        outcome=outcome.value,
        ok=200 <= status < 300,
        message=message,
        api_message=said,
        elapsed_ms=round(elapsed_ms, 1),
        attempts=attempts,
    )


def capture_failure(prepared: Prepared | None, spec: RequestSpec, exc: BaseException, elapsed_ms: float, secrets: list[str],
             attempts: int, *, agent_url: str | None, timeout: float | None) -> Exchange:
    if isinstance(exc, AuthorizationRequired):
        outcome, message = Outcome.NOT_CONNECTED, str(exc)
    elif isinstance(exc, httpx2.HTTPError):
        secrets = secrets + sent_secrets(request_of(exc), secrets)
        outcome, message = classify_error(exc, agent_url=agent_url, timeout=timeout)
    else:
        outcome, message = Outcome.INVALID, str(exc)
    request = capture_sent(prepared, None) if prepared is not None else SentRequest(
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


def request_of(exc: httpx2.HTTPError) -> httpx2.Request | None:
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
