"""What went over the wire, recorded: a request ready to go out (:class:`Prepared`)
and the exchange made of it, the request as sent (:func:`capture_sent`), the answer
(:func:`capture_answer`) or the failure (:func:`capture_failure`), with every secret
masked or redacted: the connection's, what its auth added, and the request's own
(headers and query parameters with credential-like names or named in the request's
``secret_fields``), by value wherever an API echoes them. :mod:`plugwire.core.http.send`
sends; this module describes."""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote_plus, urlencode

import httpx2

from plugwire.core.base.errors import AuthorizationRequired
from plugwire.core.base.redact import MIN_SECRET, install_log_redaction, redact_deep, redact_in_logs_here, redact_text, secret_forms
from plugwire.core.base.secrets import MASK
from plugwire.core.http.body import canonical_name, header_pairs, parse_response
from plugwire.core.http.exchange import (
    Exchange,
    ReceivedResponse,
    RequestSpec,
    SentRequest,
    is_sensitive_name,
    masked_headers,
)
from plugwire.core.http.outcomes import Outcome, api_message, classify_error, redact, sent_secrets
from plugwire.core.http.stream import ResponseTooLarge

__all__ = [
    "Prepared", "capture_answer", "capture_failure", "capture_sent", "is_secret_field", "marked_names", "masked_spec",
    "masked_url", "query_text", "request_of", "request_secrets",
]

_MASK_TOKEN = "PLUGWIREMASKED"

# Every process that sends a request imports this module before its first one: from
# here on no log record, whatever its logger, shows a credential-like query parameter
# or header, even one nobody told the redactor about.
install_log_redaction(is_sensitive_name)


def marked_names(spec: Any) -> frozenset[str]:
    """Return the header and query names ``spec`` marks secret, in lower case."""
    return frozenset(n.strip().lower() for n in getattr(spec, "secret_fields", None) or ())


def is_secret_field(name: str, marked: frozenset[str] = frozenset()) -> bool:
    """Return True when the header or query parameter ``name`` carries a secret: a
    credential-like name, or one of the ``marked`` (lower-case) names."""
    return is_sensitive_name(name) or name.strip().lower() in marked


def request_secrets(request: httpx2.Request, marked: frozenset[str] = frozenset()) -> list[str]:
    """Return the secret values ``request`` carries in its headers and query (by
    name, see :func:`is_secret_field`): each as given and as written on the wire."""
    found: list[str] = []
    for name, value in request.headers.items():
        if is_secret_field(name, marked):
            found.append(value)
            scheme, _, token = value.partition(" ")
            if token and scheme.isalpha():
                found.append(token.strip())
    if request.url.query:
        for piece in request.url.query.decode("ascii", "replace").split("&"):
            name, _, raw = piece.partition("=")
            if raw and is_secret_field(unquote_plus(name), marked):
                found += [raw, unquote_plus(raw)]
    return [v for v in dict.fromkeys(found) if len(v) >= MIN_SECRET]


def masked_url(url: str, marked: frozenset[str] = frozenset()) -> str:
    """Return ``url`` with the values of its secret query parameters masked."""
    head, sep, rest = url.partition("?")
    if not sep:
        return url
    query, hash_, fragment = rest.partition("#")
    pieces = []
    for piece in query.split("&"):
        name, eq, raw = piece.partition("=")
        pieces.append(f"{name}={MASK}" if eq and raw and is_secret_field(unquote_plus(name), marked) else piece)
    return f"{head}?{'&'.join(pieces)}{hash_}{fragment}"


def masked_spec(spec: RequestSpec) -> RequestSpec:
    """Return a copy of ``spec`` (an action too) to show: the values of its secret
    headers and query parameters masked, in its URL as well."""
    marked = marked_names(spec)
    return spec.model_copy(update={
        "url": masked_url(spec.url, marked),
        "headers": masked_headers(spec.headers, marked),
        "query": {k: (MASK if is_secret_field(k, marked) else v) for k, v in spec.query.items()},
    })


class Prepared:
    """A request ready to go out, with what is needed to describe it afterwards."""

    __slots__ = ("spec", "request", "body_text", "files", "content_type", "url_text", "headers_before", "query_before",
                 "marked", "secrets")

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
        # The request's own secrets, known to the log redactor before anything is sent.
        self.marked = marked_names(spec)
        self.secrets = request_secrets(request, self.marked)
        redact_in_logs_here(self.secrets)

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


def capture_sent(prepared: Prepared, final: httpx2.Request | None, secrets: list[str] | tuple[str, ...] = ()) -> SentRequest:
    """Describe what went out: the configured headers and query, with anything the
    connection's auth added (or changed) masked, every secret name masked, and the
    ``secrets`` and the request's own secret values masked wherever else they occur."""
    built = prepared.request
    spec = prepared.spec
    marked = prepared.marked
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
            masked = key in added_params or is_secret_field(key, marked)
            pairs.append((key, _MASK_TOKEN if masked else value))
        url = str(source.copy_with(query=None)) + "?" + urlencode(pairs).replace(_MASK_TOKEN, MASK)
    elif source is built.url and prepared.url_text is not None:
        url = prepared.url_text  # the URL as configured: no auth flow or redirect changed it
    else:
        url = str(source.copy_with(query=None)) if b"?" in source.raw_path else str(source)
    query = {k: (MASK if is_secret_field(k, marked) else v) for k, v in spec.query.items()}
    headers = masked_headers(headers, auth_added | marked)
    body = spec.body if spec.body_format != "binary" else f"({len(built.content)} bytes)"
    body_text = prepared.body_text
    known = [*secrets, *prepared.secrets]
    if known:  # the same value under another name, in the path or in the body
        url, headers, query, body, body_text = redact_deep([url, headers, query, body, body_text], known)
    return SentRequest(
        method=spec.method,
        url=url,
        headers=headers,
        query=query,
        body=body,
        body_format=spec.body_format,
        content_type=content_type,
        body_text=body_text,
        files=prepared.files,
    )


def capture_answer(prepared: Prepared, response: httpx2.Response, elapsed_ms: float, response_format: str, secrets: list[str], attempts: int,
            pretty: bool = True) -> Exchange:
    # What the request carried (a Basic blob, a bearer token) is as secret as the
    # connection's settings: an API that echoes the request must not show it.
    # (The request's own values were found before it went out; sent_secrets adds what
    # the auth flow put on it, so the final request is not scanned a second time.)
    own = prepared.secrets
    secrets = list(dict.fromkeys(secrets + own + sent_secrets(response.request, secrets + own)))
    received = parse_response(response, elapsed_ms, response_format, pretty=pretty)
    if secrets and _echoes(received, secrets):
        received = _redacted(received, secrets)
    status = response.status_code
    said = api_message(response, secrets=secrets) if status >= 400 else None
    if 200 <= status < 300:
        outcome, message = Outcome.OK, f"{status} {received.reason} in {elapsed_ms:.0f} ms, {received.size} bytes."
    else:
        outcome = Outcome.CREDENTIALS_REJECTED if status in (401, 403) else Outcome.HTTP_ERROR
        message = redact_text(f"The API answered {status} {received.reason}" + (f": {said}" if said else "."), secrets)
    return Exchange(
        request=capture_sent(prepared, response.request, secrets),
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
    if isinstance(exc, ResponseTooLarge):
        return _cut_off(prepared, spec, exc, elapsed_ms, secrets, attempts)
    if isinstance(exc, AuthorizationRequired):
        outcome, message = Outcome.NOT_CONNECTED, str(exc)
    elif isinstance(exc, httpx2.HTTPError):
        secrets = secrets + sent_secrets(request_of(exc), secrets)
        outcome, message = classify_error(exc, agent_url=agent_url, timeout=timeout)
    else:
        outcome, message = Outcome.INVALID, str(exc)
    if prepared is not None:
        secrets = secrets + prepared.secrets
    request = capture_sent(prepared, None, secrets) if prepared is not None else SentRequest(
        method=spec.method, url=spec.url, headers=masked_headers(spec.headers), body_format=spec.body_format
    )
    return Exchange(
        request=request,
        outcome=outcome.value,
        ok=False,
        message=redact_text(redact(message, secrets), secrets) if secrets else message,
        elapsed_ms=round(elapsed_ms, 1),
        attempts=attempts,
    )


def _cut_off(prepared: Prepared | None, spec: RequestSpec, exc: ResponseTooLarge, elapsed_ms: float, secrets: list[str],
             attempts: int) -> Exchange:
    """Return the exchange of an answer past its cap: its status and headers, and no
    body at all (``truncated``), so that no part of it passes for the whole."""
    response = exc.response
    secrets = secrets + sent_secrets(response.request, secrets)
    headers: dict[str, str] = {}
    for key, value in header_pairs(response.headers):
        name = canonical_name(key)
        headers[name] = f"{headers[name]}, {value}" if name in headers else value
    received = ReceivedResponse(
        status=response.status_code, reason=response.reason_phrase, http_version=response.http_version,
        headers=masked_headers(headers), content_type=headers.get("Content-Type") or None, format="empty",
        elapsed_ms=round(elapsed_ms, 1), truncated=True,
    )
    if secrets:
        received = _redacted(received, secrets)
    return Exchange(
        request=capture_sent(prepared, response.request) if prepared is not None else SentRequest(
            method=spec.method, url=spec.url, headers=masked_headers(spec.headers), body_format=spec.body_format
        ),
        response=received,
        outcome=Outcome.RESPONSE_TOO_LARGE.value,
        ok=False,
        message=str(exc),
        elapsed_ms=round(elapsed_ms, 1),
        attempts=attempts,
    )


def request_of(exc: httpx2.HTTPError) -> httpx2.Request | None:
    try:
        return exc.request
    except RuntimeError:  # raised when the error is not tied to a request
        return None


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
    forms = [f for s in secrets for f in secret_forms(s)]
    places = [text, received.pretty, *received.headers.values()]
    if isinstance(received.body, str):
        places.append(received.body)
    return any(f in place for place in places for f in forms)


def _redacted(received: ReceivedResponse, secrets: list[str]) -> ReceivedResponse:
    """Return ``received`` with any of ``secrets`` an API echoed masked."""
    body, text, pretty, headers = redact_deep([received.body, received.text, received.pretty, received.headers], secrets)
    return received.model_copy(update={"body": body, "text": text, "pretty": pretty, "headers": headers})
