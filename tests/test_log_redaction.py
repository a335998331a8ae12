"""No secret reaches a log record: not from the HTTP client's loggers at DEBUG
(httpcore2 logs response headers), not in the INFO request line (a credential typed
into a URL is masked by its parameter name), not in an access log line; and, as a
property, not for any secret value, wherever in the exchange it travels."""

from __future__ import annotations

import logging

import httpx2
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from plugwire.core.base.secrets import MASK
from plugwire.core.http.exchange import RequestSpec
from plugwire.core.http.send import send

CONN_SECRET = "conn-header-secret-3141"
QUERY_SECRET = "action-query-secret-2718"
NEVER_TOLD = "typed-never-told-1618"


def echo_app() -> Starlette:
    """Answers with the request's query and headers, repeats the raw query string and
    the marked header in response headers, and sets a cookie."""

    async def echo(request: Request) -> JSONResponse:
        body = {"args": dict(request.query_params), "headers": dict(request.headers), "url": str(request.url)}
        headers = {"X-Echo-Query": request.url.query, "X-Echo-Tenant": request.headers.get("x-tenant", ""),
                   "Set-Cookie": "sid=cookie-secret-value-77; Path=/"}
        return JSONResponse(body, headers=headers)

    return Starlette(routes=[Route("/echo", echo, methods=["GET", "POST"])])


@pytest.fixture
def echo(live_server):
    return live_server(echo_app())


@pytest.fixture
def debug_logs(caplog):
    for name in ("httpx2", "httpcore2"):
        caplog.set_level(logging.DEBUG, logger=name)
    caplog.set_level(logging.DEBUG)
    return caplog


def _log_text(caplog) -> str:
    return "\n".join(r.getMessage() for r in caplog.records) + "\n" + caplog.text


def test_no_secret_reaches_the_http_loggers_at_debug(connections, echo, debug_logs):
    conn = connections.create({"name": "hdr", "auth_type": "header", "settings": {"headers": {"X-Api-Token": CONN_SECRET}}})
    spec = RequestSpec(method="GET", url=f"{echo.url}/echo", query={"region": QUERY_SECRET, "page": "1"},
                       headers={"X-Tenant": QUERY_SECRET}, secret_fields=["region", "X-Tenant"])
    ex = send(spec, connection=conn, connections=connections)
    assert ex.ok and ex.response.body["headers"]["x-api-token"] == MASK
    text = _log_text(debug_logs)
    assert "HTTP Request: GET" in text and "receive_response_headers.complete" in text  # the loggers did speak
    for secret in (CONN_SECRET, QUERY_SECRET, "cookie-secret-value-77"):
        assert secret not in text
    assert "page=1" in text  # an ordinary parameter stays readable


def test_the_info_request_line_masks_credential_parameters_by_name(echo, debug_logs):
    import plugwire.core.http.send  # noqa: F401  (any process that sends has loaded it)

    with httpx2.Client() as client:  # not through plugwire: nobody told the redactor this value
        client.get(f"{echo.url}/echo", params={"api_key": NEVER_TOLD, "access_token": NEVER_TOLD + "x", "q": "visible-value"})
    lines = [r.getMessage() for r in debug_logs.records if r.name == "httpx2"]
    assert any(line.startswith("HTTP Request: GET") for line in lines)
    text = _log_text(debug_logs)
    assert NEVER_TOLD not in text
    assert f"api_key={MASK}" in text and "q=visible-value" in text


def test_an_access_log_line_keeps_its_shape_with_the_query_credential_masked(caplog):
    import plugwire.core.http.send  # noqa: F401

    caplog.set_level(logging.INFO, logger="uvicorn.access")
    logging.getLogger("uvicorn.access").info('%s - "%s %s HTTP/%s" %d', "127.0.0.1:5000", "POST",
                                             f"/hooks/abc?token={NEVER_TOLD}&x=1", "1.1", 202)
    record = caplog.records[-1]
    assert isinstance(record.args, tuple) and len(record.args) == 5  # uvicorn's formatter unpacks them
    assert NEVER_TOLD not in record.getMessage() and f"token={MASK}&x=1" in record.getMessage()


def test_a_logged_traceback_masks_the_secret_its_exception_quotes(caplog):
    from plugwire.core.base.secrets import redact_in_logs

    redact_in_logs(["told-secret-value-77"])
    caplog.set_level(logging.ERROR, logger="plugwire.test")
    try:
        raise ValueError("could not reach https://api.test/x?api_key=told-secret-value-77")
    except ValueError:
        logging.getLogger("plugwire.test").exception("step failed")
    handler_text = logging.Formatter().format(caplog.records[-1])
    assert "told-secret-value-77" not in handler_text and "ValueError: could not reach" in handler_text


_ALPHABET = st.characters(blacklist_categories=("Cs", "Cc"), blacklist_characters="•")
_HEADER_SAFE = st.characters(min_codepoint=0x21, max_codepoint=0x7E)


@pytest.mark.fuzz
@given(
    secret=st.one_of(
        st.text(_ALPHABET, min_size=4, max_size=24),
        st.text(st.sampled_from(".*+?()[]{}|^$\\%&=#/ é€\"'"), min_size=4, max_size=16),
    ),
    header_secret=st.text(_HEADER_SAFE, min_size=4, max_size=24),
)
def test_no_secret_value_survives_in_the_exchange_or_the_logs(echo, debug_logs, secret, header_secret):
    secret, header_secret = secret.strip(), header_secret.strip()
    assume(len(secret) >= 4 and len(header_secret) >= 4)
    # A value that is also part of what plugwire writes on its own (a JSON key, a
    # header name) is not a leak of the secret; such values are skipped.
    assume(not any(s in _VOCABULARY for s in (secret, header_secret)))
    debug_logs.clear()
    spec = RequestSpec(method="POST", url=f"{echo.url}/echo", query={"api_key": secret, "note": secret},
                       headers={"X-Tenant": header_secret}, secret_fields=["X-Tenant"], body={"echo": secret}, body_format="json")
    ex = send(spec)
    assert ex.response is not None and ex.response.status == 200
    for value in _strings(ex.model_dump(exclude={"message"})):
        assert secret not in value and header_secret not in value
    text = "\n".join(r.getMessage() for r in debug_logs.records)
    assert secret not in text and header_secret not in text


_VOCABULARY = (
    "args headers url echo api_key note X-Tenant x-tenant host accept accept-encoding connection content-length "
    "content-type user-agent plugwire application/json gzip, deflate keep-alive POST json http://127.0.0.1 "
    "x-echo-query X-Echo-Query X-Echo-Tenant x-echo-tenant set-cookie Set-Cookie date server uvicorn OK"
)


def _strings(value):
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for k, v in value.items():
            yield from _strings(v)
    elif isinstance(value, (list, tuple)):
        for v in value:
            yield from _strings(v)
