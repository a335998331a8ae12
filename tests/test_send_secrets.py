"""The send path against an API that echoes the request: no credential the request
carried (a Basic blob, a bearer token) reaches what the wizard shows or a job record,
and a failure names the on-premise agent and the timeout it is about."""

from __future__ import annotations

import asyncio
import base64
import json
import threading
import time

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse
from starlette.routing import Route

from conftest import free_port
from plugwire.core.http.exchange import RequestSpec
from plugwire.core.http.netpolicy import NetworkPolicy
from plugwire.core.http.send import send
from plugwire.core.recipes.model import Recipe, Step
from plugwire.core.recipes.runner import Runner
from plugwire.core.wizard.actions import Actions, build_action
from recipes_support import prove_saved, save_action
from plugwire.core.wizard.steps import Wizard

USER, PASSWORD = "ops@example.com", "echo-planted-password-91"
BLOB = base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()  # what Basic auth puts on the wire
TOKEN = "echo-planted-bearer-7c1e55a0"


def _echo_app(release: threading.Event) -> Starlette:
    """An API that repeats the request's headers back, as some do in their errors."""

    async def json_error(request: Request) -> JSONResponse:
        # The explanation itself quotes the credential, so it is what api_message picks.
        said = f"bad request from {request.headers.get('authorization')}"
        return JSONResponse({"message": said, "echo": dict(request.headers)}, status_code=400)

    async def text_error(request: Request) -> PlainTextResponse:
        return PlainTextResponse(f"upstream refused Authorization: {request.headers.get('authorization')}", status_code=502)

    async def ok(request: Request) -> JSONResponse:
        return JSONResponse({"id": "v1", "seen": dict(request.headers)}, headers={"X-Echo-Auth": request.headers.get("authorization", "")})

    async def cors(request: Request) -> JSONResponse:
        # Harmless names that look like credentials to a careless rule, next to a real echo.
        return JSONResponse(
            {"auth": "bearer", "token_type": "bearer", "access_token": "issued-token-0f3a9c", "seen": request.headers.get("authorization")},
            headers={"Access-Control-Allow-Credentials": "true", "Set-Cookie": "sid=cookie-value-55aa; HttpOnly"},
        )

    async def slow(request: Request) -> JSONResponse:
        # Held until the test ends (past any client timeout), then let go at once so
        # that the server stops without waiting on it.
        while not release.is_set():
            await asyncio.sleep(0.01)
        return JSONResponse({})

    return Starlette(routes=[
        Route("/json-error", json_error, methods=["GET", "POST"]),
        Route("/text-error", text_error, methods=["GET", "POST"]),
        Route("/ok", ok, methods=["GET", "POST"]),
        Route("/slow", slow, methods=["GET"]),
        Route("/cors", cors, methods=["GET"]),
    ])


@pytest.fixture
def echo(live_server):
    release = threading.Event()
    yield live_server(_echo_app(release))
    release.set()  # the /slow handler ends, so the server stops at once


@pytest.fixture
def basic(connections):
    return connections.create({"name": "echo-basic", "auth_type": "basic", "settings": {"username": USER, "password": PASSWORD}})


@pytest.fixture
def bearer(connections):
    return connections.create({"name": "echo-bearer", "auth_type": "header", "settings": {"headers": {"Authorization": f"Bearer {TOKEN}"}}})


def _clean(text: str) -> None:
    for secret in (BLOB, PASSWORD, TOKEN):
        assert secret not in text


@pytest.mark.parametrize("path", ["/json-error", "/text-error", "/ok"])
@pytest.mark.parametrize("conn_name", ["echo-basic", "echo-bearer"])
def test_the_wizard_shows_no_credential_an_api_echoes(home, connections, basic, bearer, echo, path, conn_name):
    wiz = Wizard(home, connections=connections)
    wiz.start("POST", echo.url + path, conn_name)
    wiz.edit(body={"venue": {"name": "Hall"}}, body_format="json")
    attempt = wiz.send()
    ex = attempt.exchange
    assert ex.response is not None and ex.response.status == {"/json-error": 400, "/text-error": 502, "/ok": 200}[path]
    if path != "/ok":
        assert ex.api_message and "••••••" in ex.api_message  # the API's words are kept, the credential masked
        assert "••••••" in ex.message
    else:
        assert ex.response.body["seen"]["authorization"].endswith("••••••")
        assert ex.response.headers["X-Echo-Auth"].endswith("••••••")
    _clean(ex.model_dump_json())
    _clean(attempt.model_dump_json())
    _clean(ex.response.pretty)
    assert ex.request.headers["Authorization"].endswith("••••••")


def test_a_job_record_keeps_no_credential_an_api_echoes(home, connections, basic, echo):
    actions = Actions(home)
    for name, path in (("create", "/ok"), ("refused", "/json-error")):
        actions.create(build_action({"name": name, "connection": "echo-basic", "method": "POST", "url": echo.url + path,
                                     "body_format": "json", "body": {"venue": {"name": "x"}}}))
    prove_saved(home, "create")  # its stored proof keeps the echoed credential out too
    # /json-error never answers 2xx: it stands for an API that worked when proven and fails now.
    actions.remove("refused")
    save_action(home, "refused", connection="echo-basic", method="POST", url=echo.url + "/json-error", body_format="json",
                body={"venue": {"name": "x"}})
    runner = Runner(home, policy=NetworkPolicy(enabled=False))
    recipe = Recipe(name="r", trigger={"type": "webhook"}, steps=[Step(name="a", action="create"), Step(name="b", action="refused")])

    async def main():
        try:
            return await runner.run(recipe, {"payload": {}})
        finally:
            await runner.aclose()

    result = asyncio.run(main())
    assert [s["status"] for s in result["steps"]] == ["succeeded", "failed"]
    assert result["steps"][0]["output"]["body"]["seen"]["authorization"].endswith("••••••")
    assert "••••••" in result["steps"][1]["error"] and "bad request from" in result["steps"][1]["error"]
    _clean(json.dumps(result))


def test_a_down_agent_is_named_not_reported_as_a_refused_api(connections, echo):
    down = f"http://127.0.0.1:{free_port()}"
    conn = connections.create({"name": "inside", "auth_type": "basic", "settings": {"username": USER, "password": PASSWORD},
                               "private_network": True, "agent_url": down, "timeout": 5})
    ex = send(RequestSpec(method="GET", url=echo.url + "/ok"), connection=conn, connections=connections)
    assert ex.outcome == "proxy_error" and not ex.ok
    assert f"on-premise agent at {down} could not be reached" in ex.message and "start the agent or fix agent_url" in ex.message
    _clean(ex.model_dump_json())


def test_a_timeout_says_how_long_was_waited(connections, echo):
    conn = connections.create({"name": "slowpoke", "auth_type": "basic", "settings": {"username": USER, "password": PASSWORD}})
    t0 = time.monotonic()
    ex = send(RequestSpec(method="GET", url=echo.url + "/slow"), connection=conn, connections=connections, timeout=0.3)
    assert time.monotonic() - t0 < 1.9  # gave up before the answer came
    assert ex.outcome == "timeout" and "did not answer within 0.3 s" in ex.message


def test_harmless_names_are_shown_and_credentials_masked_by_name_and_value(connections, bearer, echo):
    """Issue 14, item 12: a field named ``auth`` ("bearer") and
    Access-Control-Allow-Credentials ("true") are shown as they are; credential-shaped
    names (Authorization, access_token, Set-Cookie) and the connection's token, under
    any name, are masked."""
    from plugwire.core.http.capture import masked_spec
    from plugwire.core.wizard.datatree import infer_response

    spec = RequestSpec(method="GET", url=echo.url + "/cors", headers={"auth": "bearer", "X-Relay": f"for {TOKEN}"})
    ex = send(spec, connection=bearer, connections=connections)
    assert ex.ok, ex.message
    assert ex.request.headers["auth"] == "bearer"
    assert ex.request.headers["X-Relay"] == "for ••••••"  # the connection's token, masked by value
    assert ex.request.headers["Authorization"] == "Bearer ••••••"
    assert ex.response.headers["Access-Control-Allow-Credentials"] == "true"
    assert ex.response.headers["Set-Cookie"] == "••••••"
    assert ex.response.body["auth"] == "bearer" and ex.response.body["token_type"] == "bearer"
    assert TOKEN not in ex.response.body["seen"] and "••••••" in ex.response.body["seen"]
    tree = infer_response(ex.response)
    assert tree.find("auth").example == "bearer" and tree.find("token_type").example == "bearer"
    assert tree.find("access_token").example == "••••••"
    assert masked_spec(spec).headers["auth"] == "bearer"
    _clean(ex.model_dump_json())


@pytest.mark.parametrize("name", [
    "Authorization", "Proxy-Authorization", "X-Api-Key", "api_key", "token", "access_token", "refresh_token",
    "client_secret", "password", "Cookie", "Set-Cookie", "session", "PHPSESSID", "X-Hub-Signature-256",
    "x-auth-token", "X-Auth-Key", "private_key", "sig",
])
def test_credential_shaped_names_are_sensitive(name):
    from plugwire.core.http.exchange import is_sensitive_name

    assert is_sensitive_name(name)


@pytest.mark.parametrize("name", [
    "auth", "Access-Control-Allow-Credentials", "author", "authority", "token_type", "token_url", "Content-Type",
])
def test_names_that_only_mention_auth_or_credentials_are_not(name):
    from plugwire.core.http.exchange import is_sensitive_name

    assert not is_sensitive_name(name)
