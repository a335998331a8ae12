"""Test connection reports each outcome distinctly and plainly, against real servers on
127.0.0.1 (and a name under the reserved .invalid TLD, which never resolves)."""

from __future__ import annotations

import asyncio
import base64
import json
import threading
from urllib.parse import quote

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse
from starlette.routing import Route

from conftest import free_port
from plugwire.core.http.outcomes import Outcome
from plugwire.core.http.testconn import test_connection

USER, PW = "octo", "PW-planted-e41b9c"
API_KEY = "KEY-planted-5a7d20"
QUERY_KEY = "QK/planted+7f3&e=1"  # characters that get percent-encoded in a URL


def make_app(release: threading.Event) -> Starlette:
    expected = "Basic " + base64.b64encode(f"{USER}:{PW}".encode()).decode()

    async def private(request: Request):
        if request.headers.get("authorization") == expected:
            return JSONResponse({"login": USER})
        return JSONResponse({"message": "Bad credentials", "documentation_url": "https://docs.example/auth"}, 401)

    async def forbidden(request: Request):
        return JSONResponse({"error": {"message": "Resource not accessible by integration"}}, 403)

    async def missing(request: Request):
        return JSONResponse({"detail": "No item 42 here"}, 404)

    async def odd(request: Request):
        return JSONResponse({"message": "no route [/v1/items] here, try [bold]v2[/bold]"}, 404)

    async def boom(request: Request):
        return PlainTextResponse("internal failure in the widget store", 500)

    async def echo(request: Request):
        # A careless API that repeats what it was sent in its error message.
        sent = {k: v for k, v in request.headers.items()}
        return JSONResponse({"message": f"Rejected {request.url} with headers {sent}"}, 401)

    async def slow(request: Request):
        while not release.is_set():
            await asyncio.sleep(0.01)
        return JSONResponse({"late": True})

    async def ok(request: Request):
        return JSONResponse({"ok": True})

    return Starlette(routes=[
        Route("/ok", ok), Route("/private", private), Route("/forbidden", forbidden), Route("/missing", missing),
        Route("/boom", boom), Route("/odd", odd), Route("/echo", echo), Route("/slow", slow),
    ])


@pytest.fixture
def api(live_server):
    release = threading.Event()
    server = live_server(make_app(release))
    yield server
    release.set()  # lets a /slow handler finish so the server stops at once


def _basic(connections, password=PW, **options):
    return connections.create({
        "name": "api", "auth_type": "basic", "settings": {"username": USER, "password": password}, "timeout": 5, **options,
    })


def test_success_reports_status_and_time(api, connections):
    result = test_connection(_basic(connections), connections, api.url + "/private")
    assert result.outcome is Outcome.OK and result.ok
    assert result.status == 200 and result.elapsed_ms is not None and result.elapsed_ms >= 0
    assert "200 OK" in result.message and " ms" in result.message
    assert result.route == "direct"


def test_rejected_credentials_carry_the_apis_own_message(api, connections):
    result = test_connection(_basic(connections, password="wrong-password"), connections, api.url + "/private")
    assert result.outcome is Outcome.CREDENTIALS_REJECTED and not result.ok
    assert result.status == 401
    assert result.api_message == "Bad credentials"
    assert "rejected the credentials" in result.message and "Bad credentials" in result.message


def test_forbidden_is_a_credentials_outcome_with_the_nested_message(api, connections):
    result = test_connection(_basic(connections), connections, api.url + "/forbidden")
    assert result.outcome is Outcome.CREDENTIALS_REJECTED and result.status == 403
    assert "Resource not accessible by integration" in result.message


@pytest.mark.parametrize("path, status, said", [("/missing", 404, "No item 42 here"), ("/boom", 500, "internal failure in the widget store")])
def test_other_http_errors_say_status_and_message(api, connections, path, status, said):
    result = test_connection(_basic(connections), connections, api.url + path)
    assert result.outcome is Outcome.HTTP_ERROR and result.status == status
    assert result.api_message == said and said in result.message and str(status) in result.message


def test_dns_failure(connections):
    # .invalid is reserved (RFC 2606): it never resolves, and fails without any network.
    result = test_connection(_basic(connections), connections, "http://plugwire-test.invalid/")
    assert result.outcome is Outcome.DNS_ERROR and "could not be resolved" in result.message


def test_refused_connection(connections):
    result = test_connection(_basic(connections), connections, f"http://127.0.0.1:{free_port()}/")
    assert result.outcome is Outcome.CONNECTION_REFUSED and "refused" in result.message


def test_timeout(api, connections):
    result = test_connection(_basic(connections, timeout=0.2), connections, api.url + "/slow")
    assert result.outcome is Outcome.TIMEOUT
    assert "did not answer within 0.2 s" in result.message


def test_agent_down_is_a_proxy_outcome(connections):
    agent = f"http://127.0.0.1:{free_port()}"
    conn = _basic(connections, private_network=True, agent_url=agent)
    result = test_connection(conn, connections, f"http://127.0.0.1:{free_port()}/")
    assert result.outcome is Outcome.PROXY_ERROR
    assert f"on-premise agent at {agent} could not be reached" in result.message
    assert result.route == f"agent {agent}"


def test_a_bad_url_is_invalid_and_names_the_field(connections):
    result = test_connection(_basic(connections), connections, "not a url")
    assert result.outcome is Outcome.INVALID and result.field == "test_url"


@pytest.mark.parametrize(
    "auth, settings, planted",
    [
        ("basic", {"username": USER, "password": PW}, [PW, base64.b64encode(f"{USER}:{PW}".encode()).decode()]),
        ("header", {"headers": {"X-Api-Key": API_KEY}}, [API_KEY]),
        ("query", {"params": {"api_key": QUERY_KEY}}, [QUERY_KEY, quote(QUERY_KEY, safe="")]),
    ],
)
def test_a_server_echoing_credentials_does_not_leak_them(api, connections, auth, settings, planted):
    conn = connections.create({"name": "echo", "auth_type": auth, "settings": settings})
    result = test_connection(conn, connections, api.url + "/echo")
    assert result.outcome is Outcome.CREDENTIALS_REJECTED
    assert "Rejected" in result.api_message  # the API's message is kept, minus the secrets
    dumped = result.model_dump_json()
    for secret in planted:
        assert secret not in dumped


# -- the command line ------------------------------------------------------------------


@pytest.fixture
def cli(run_cli, monkeypatch):
    monkeypatch.setenv("API_PW", PW)
    return run_cli


@pytest.mark.parametrize(
    "url, outcome, code",
    [
        ("{api}/private", "ok", 0),
        ("{api}/forbidden", "credentials_rejected", 1),
        ("{api}/missing", "http_error", 1),
        ("{api}/echo", "credentials_rejected", 1),
        ("http://plugwire-test.invalid/", "dns_error", 1),
        ("http://127.0.0.1:{free}/", "connection_refused", 1),
    ],
)
def test_cli_test_reports_each_outcome(cli, api, url, outcome, code):
    assert cli("connections", "add", "api", "--auth", "basic", "--set", f"username={USER}", "--secret", "password=env:API_PW")[0] == 0
    target = url.format(api=api.url, free=free_port())
    got_code, out, err = cli("connections", "test", "api", "--url", target, "--json")
    assert got_code == code, out + err
    result = json.loads(out)
    assert result["outcome"] == outcome and result["message"]
    got_code, out, err = cli("connections", "test", "api", "--url", target)
    assert got_code == code and out.startswith(f"{outcome}: ")
    assert PW not in out + err and base64.b64encode(f"{USER}:{PW}".encode()).decode() not in out + err


def test_cli_prints_an_api_message_that_looks_like_markup_as_it_is(cli, api):
    cli("connections", "add", "odd", "--auth", "none", "--test-url", api.url + "/odd")
    code, out, _ = cli("connections", "test", "odd")
    assert code == 1 and "no route [/v1/items] here, try [bold]v2[/bold]" in out


def test_cli_test_timeout_from_the_connections_own_timeout(cli, api):
    cli("connections", "add", "slow", "--auth", "none", "--test-url", api.url + "/slow", "--timeout", "0.2")
    code, out, _ = cli("connections", "test", "slow", "--json")
    assert code == 1 and json.loads(out)["outcome"] == "timeout"
