"""Private network: a connection marked private_network sends every request through
its agent (a real forward proxy on 127.0.0.1, tests/proxy_server.py, or a real SOCKS5
proxy, tests/socks_proxy.py), while a normal connection goes direct, whatever the
environment's proxy variables say."""

from __future__ import annotations

import asyncio
import base64
import sys

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from conftest import free_port
from plugwire.core.http.client import client_for
from plugwire.core.http.outcomes import Outcome
from plugwire.core.http.testconn import test_connection
from proxy_server import ForwardProxy
from socks_proxy import SocksProxy
from tls_pki import Pki, hello_app

PW = "PW-planted-0c5e88"


async def _whoami(request: Request) -> JSONResponse:
    expected = "Basic " + base64.b64encode(f"ops:{PW}".encode()).decode()
    if request.headers.get("authorization") != expected:
        return JSONResponse({"message": "Bad credentials"}, 401)
    return JSONResponse({"user": "ops", "via": request.headers.get("via")})


@pytest.fixture
def api(live_server):
    return live_server(Starlette(routes=[Route("/whoami", _whoami)]))


@pytest.fixture
def agent():
    with ForwardProxy() as proxy:
        yield proxy


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    return Pki(tmp_path_factory.mktemp("pki"))


def _conn(connections, name, *, agent_url=None, **options):
    route = {"private_network": True, "agent_url": agent_url} if agent_url else {}
    return connections.create({
        "name": name, "auth_type": "basic", "settings": {"username": "ops", "password": PW}, "timeout": 5,
        **route, **options,
    })


def test_private_network_requests_go_through_the_agent(api, agent, connections):
    conn = _conn(connections, "inside", agent_url=agent.url)
    result = test_connection(conn, connections, api.url + "/whoami")
    assert result.outcome is Outcome.OK, result.message
    assert result.route == f"agent {agent.url}" and "through the on-premise agent" in result.message
    with client_for(conn, connections) as client:
        answer = client.get(api.url + "/whoami").json()
    # The API saw the request arrive from the proxy, with the connection's credentials.
    assert answer == {"user": "ops", "via": "1.1 plugwire-test-proxy"}
    assert agent.targets() == [api.url + "/whoami"] * 2
    assert {r.method for r in agent.records} == {"GET"}


@pytest.mark.parametrize("kind", ["http", "socks5"])
def test_the_async_client_takes_the_same_route(api, connections, kind):
    async def fetch(conn):
        async with client_for(conn, connections, asynchronous=True) as client:
            return (await client.get(api.url + "/whoami")).status_code

    with ForwardProxy() if kind == "http" else SocksProxy() as proxy:
        assert asyncio.run(fetch(_conn(connections, "inside", agent_url=proxy.url))) == 200
    # An HTTP agent sees the absolute URL; a SOCKS agent only the host and port it tunnels to.
    assert proxy.targets() == [api.url + "/whoami" if kind == "http" else api.url.removeprefix("http://")]


def test_a_normal_connection_goes_direct_even_with_proxy_variables_set(api, agent, connections, monkeypatch):
    for var in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy"):
        monkeypatch.setenv(var, agent.url)
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    conn = _conn(connections, "outside")
    result = test_connection(conn, connections, api.url + "/whoami")
    assert result.outcome is Outcome.OK and result.route == "direct"
    with client_for(conn, connections) as client:
        assert client.get(api.url + "/whoami").json()["via"] is None
    assert agent.records == []


def test_the_agent_being_down_is_a_proxy_outcome(api, connections):
    down = f"http://127.0.0.1:{free_port()}"
    for url in (api.url + "/whoami", f"https://127.0.0.1:{free_port()}/"):
        result = test_connection(_conn(connections, f"inside-{len(url)}", agent_url=down), connections, url)
        assert result.outcome is Outcome.PROXY_ERROR
        assert "could not be reached" in result.message and "start the agent or fix agent_url" in result.message


@pytest.mark.parametrize("scheme", ["http", "https"])
def test_an_agent_that_cannot_reach_the_api_is_a_proxy_outcome(agent, connections, scheme):
    nowhere = f"{scheme}://127.0.0.1:{free_port()}/"
    result = test_connection(_conn(connections, "inside", agent_url=agent.url), connections, nowhere)
    assert result.outcome is Outcome.PROXY_ERROR, result.message
    assert "agent" in result.message and "502" in result.message
    assert [r.status for r in agent.records] == [502]


def test_client_certificate_through_a_connect_tunnel(live_server, agent, pki, connections):
    server = live_server(hello_app(), ssl_options=pki.server_options())
    cert = {"certificate": pki.client.cert_pem, "private_key": pki.client.key_pem, "ca_bundle": pki.ca_pem}
    conn = _conn(connections, "mtls-inside", agent_url=agent.url, client_certificate=cert)
    result = test_connection(conn, connections, server.url + "/ping")
    assert result.outcome is Outcome.OK, result.message
    host_port = server.url.removeprefix("https://")
    assert agent.records[0].method == "CONNECT" and agent.targets() == [host_port]


def test_missing_client_certificate_is_diagnosed_through_the_tunnel(live_server, agent, pki, connections):
    server = live_server(hello_app(), ssl_options=pki.server_options())
    conn = _conn(connections, "ca-only-inside", agent_url=agent.url, client_certificate={"ca_bundle": pki.ca_pem})
    result = test_connection(conn, connections, server.url + "/ping")
    assert result.outcome is Outcome.TLS_ERROR
    assert "demands a client certificate" in result.message
    # The request and the handshake probe both went through the agent, never direct.
    assert agent.records and all(r.method == "CONNECT" for r in agent.records)


@pytest.fixture
def socks_agent():
    with SocksProxy() as proxy:
        yield proxy


def test_private_network_requests_go_through_a_socks_agent(api, socks_agent, connections):
    conn = _conn(connections, "socks-inside", agent_url=socks_agent.url)
    result = test_connection(conn, connections, api.url + "/whoami")
    assert result.outcome is Outcome.OK, result.message
    assert result.route == f"agent {socks_agent.url}"
    with client_for(conn, connections) as client:
        answer = client.get(api.url + "/whoami").json()
    # A SOCKS tunnel carries the request unchanged: the credentials arrive, no Via is added.
    assert answer == {"user": "ops", "via": None}
    host_port = api.url.removeprefix("http://")
    assert socks_agent.targets() == [host_port] * 2
    assert {r.reply for r in socks_agent.records} == {0}


def test_a_socks_agent_with_credentials_gets_them_and_they_stay_secret(api, connections):
    secret = "socks-pw-5e1f"
    with SocksProxy(credentials=("agent", secret)) as proxy:
        url = f"socks5://agent:{secret}@127.0.0.1:{proxy.port}"
        conn = _conn(connections, "socks-auth", agent_url=url)
        result = test_connection(conn, connections, api.url + "/whoami")
        assert result.outcome is Outcome.OK, result.message
        assert [r.username for r in proxy.records] == ["agent"]
    assert secret not in result.message and secret not in (result.route or "")


def test_a_socks_agent_without_socks_support_names_agent_url(connections, monkeypatch):
    # socksio is part of the test extra; a None entry in sys.modules makes its import
    # fail as it does where it is not installed.
    monkeypatch.setitem(sys.modules, "socksio", None)
    conn = _conn(connections, "socks-inside", agent_url=f"socks5://127.0.0.1:{free_port()}")
    result = test_connection(conn, connections, "http://127.0.0.1:1/")
    assert result.outcome is Outcome.INVALID and result.field == "agent_url"
    assert "pip install socksio" in result.message
