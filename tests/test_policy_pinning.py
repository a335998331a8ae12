"""Every request made on a connection's behalf goes through the network policy, and
it connects to the address the policy checked.

- The OAuth2 token requests (client credentials, a refresh, the code exchange at the
  server's callback) are refused when the token URL points at loopback, before any
  credential leaves: the provider below counts what reached it.
- A token URL on an allowed host that redirects into loopback is not followed.
- DNS rebinding: a name that answers a public address to the check and 127.0.0.1
  next is refused. The test controls the resolver (``socket.getaddrinfo``) and the
  network (``socket.connect`` refuses everything but loopback, so no packet leaves).
- The pinned connection keeps the name: TLS verifies a certificate issued only for
  that name (so SNI and the hostname check used it) and the server sees it as Host.
"""

from __future__ import annotations

import asyncio
import socket
import ssl

import httpx2
import pytest
import trustme
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse
from starlette.routing import Route

from plugwire.core.connections import authorize
from plugwire.core.http.client import policed_transport
from plugwire.core.http.netpolicy import NetworkPolicy, NetworkPolicyError
from plugwire.core.http.testconn import test_connection
from plugwire.core.recipes.model import Step
from plugwire.core.recipes.runner import Runner
from recipes_support import save_action
from plugwire.core.wizard.steps import Wizard
from test_oauth2 import add_oauth2, expire, provider  # noqa: F401 (a fixture)

CC_SECRET = "cc-secret-value-123"
REFUSED = "Refused by the network policy: 127.0.0.1 is a loopback address"


@pytest.fixture
def api(live_server):
    """The API a connection calls: allowed by the policy below (it stands for a
    public host), and one path that redirects to the provider's token URL."""
    seen: list[str] = []

    def me(request: Request):
        seen.append(request.headers.get("authorization", ""))
        return JSONResponse({"ok": True})

    server = live_server(Starlette(routes=[Route("/me", me)]))
    server.seen = seen
    return server


def _policy(*urls: str) -> NetworkPolicy:
    """The policy of a server, with the given test servers standing for public hosts."""
    return NetworkPolicy(allow=[httpx2.URL(u).netloc.decode() for u in urls])


def _run_step(runner: Runner, action: str) -> dict:
    async def run():
        try:
            return await runner.run_step(Step(name=action, action=action), {})
        finally:
            await runner.aclose()

    return asyncio.run(run())[0]


def _cc_connection(connections, token_url: str):
    return connections.create({
        "name": "backend", "auth_type": "oauth2_client_credentials",
        "settings": {"token_url": token_url, "client_id": "machine", "client_secret": CC_SECRET},
    })


def test_the_client_credentials_token_request_is_refused_before_the_secret_leaves(home, connections, provider, api):
    provider.add_client("machine", CC_SECRET, [])
    conn = _cc_connection(connections, f"{provider.url}/token")
    policy = _policy(api.url)  # the API is allowed; the provider (its token URL) is not

    wizard = Wizard(home, policy=policy)
    wizard.start("GET", f"{api.url}/me", connection=conn.name)
    ex = wizard.send().exchange
    assert ex.outcome == "refused" and not ex.ok and REFUSED in ex.message and "'backend'" in ex.message

    found = test_connection(conn, connections, f"{api.url}/me", policy=policy)
    assert found.outcome == "refused" and REFUSED in found.message

    assert provider.calls["client_credentials"] == 0 and provider.token_requests == [] and api.seen == []
    assert connections.tokens("backend").load() is None

    # The same connection under a policy that allows the provider gets its token.
    assert test_connection(conn, connections, f"{api.url}/me", policy=_policy(api.url, provider.url)).ok
    assert provider.calls["client_credentials"] == 1 and len(api.seen) == 1


def test_a_job_steps_token_request_is_refused(home, connections, provider, api):
    provider.add_client("machine", CC_SECRET, [])
    _cc_connection(connections, f"{provider.url}/token")
    save_action(home, "me", method="GET", url=f"{api.url}/me", connection="backend")  # proven as Apply saves it
    record = _run_step(Runner(home, policy=_policy(api.url)), "me")
    assert record["status"] == "failed" and REFUSED in record["error"]
    assert provider.token_requests == [] and api.seen == []


def test_a_refresh_is_refused_and_the_old_token_kept(home, connections, provider, api):
    conn = add_oauth2(connections, provider)
    connections.tokens(conn.name).save({"access_token": "old-access", "refresh_token": "old-refresh",
                                        "token_type": "Bearer", "expires_at": 1})
    expire(connections, conn.name)
    found = test_connection(conn, connections, f"{api.url}/me", policy=_policy(api.url))
    assert found.outcome == "refused" and REFUSED in found.message
    assert provider.calls["refresh_token"] == 0 and provider.token_requests == [] and api.seen == []
    assert connections.tokens(conn.name).load()["refresh_token"] == "old-refresh"


def test_the_code_exchange_at_the_callback_is_refused(connections, provider):
    conn = add_oauth2(connections, provider)
    pending = authorize.start(conn)
    callback = f"{pending.redirect_uri}?code=some-code&state={pending.state}"
    with pytest.raises(NetworkPolicyError) as refused:
        authorize.finish_from_callback(conn, connections, pending, callback,
                                       transport=policed_transport(NetworkPolicy(), conn))
    assert str(refused.value).startswith(REFUSED) and refused.value.field == "url"
    assert provider.token_requests == [] and connections.tokens(conn.name).load() is None


def test_a_token_url_that_redirects_into_loopback_is_not_followed(live_server, connections, provider, api):
    """A token endpoint has no business redirecting a POST that carries the client's
    secret: the redirect is reported, not followed, so it reaches nothing."""
    provider.add_client("machine", CC_SECRET, [])
    hop = live_server(Starlette(routes=[
        Route("/token", lambda r: RedirectResponse(f"{provider.url}/token", status_code=307), methods=["POST"]),
    ]))
    conn = _cc_connection(connections, f"{hop.url}/token")
    found = test_connection(conn, connections, f"{api.url}/me", policy=_policy(api.url, hop.url))
    assert not found.ok and found.field == "settings.token_url" and "answered 307" in found.message
    assert provider.token_requests == [] and api.seen == []


def test_the_digest_challenge_and_its_second_attempt_go_through_the_policy(live_server, connections, api):
    """The first attempt is allowed; its 401 sends the client on to answer the
    challenge, and a redirect from there into loopback is still refused."""
    hits: list[str] = []

    def guarded(request: Request):
        hits.append(request.headers.get("authorization", "")[:6])
        if "authorization" not in request.headers:
            return JSONResponse({}, status_code=401, headers={
                "WWW-Authenticate": 'Digest realm="r", nonce="abc", qop="auth", algorithm=MD5'})
        return RedirectResponse(f"{api.url}/me", status_code=302)

    gate = live_server(Starlette(routes=[Route("/x", guarded)]))
    conn = connections.create({"name": "dig", "auth_type": "digest", "settings": {"username": "u", "password": "pass-word-1"}})
    found = test_connection(conn, connections, f"{gate.url}/x", policy=_policy(gate.url))
    assert found.outcome == "refused" and REFUSED in found.message
    assert hits == ["", "Digest"] and api.seen == []


# --- DNS rebinding -------------------------------------------------------------------

PUBLIC = "93.184.215.14"


@pytest.fixture
def rebinding(monkeypatch):
    """``rebind.test`` answers a public address to the first lookup and 127.0.0.1 to
    every later one; connections anywhere but loopback are refused (and recorded)."""
    real_getaddrinfo, real_connect = socket.getaddrinfo, socket.socket.connect
    lookups: list[str] = []
    attempts: list[tuple] = []

    def getaddrinfo(host, port, *args, **kwargs):
        if host == "rebind.test":
            address = PUBLIC if not lookups else "127.0.0.1"
            lookups.append(address)
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port or 0))]
        return real_getaddrinfo(host, port, *args, **kwargs)

    def connect(self, address):
        if isinstance(address, tuple) and not str(address[0]).startswith("127."):
            attempts.append(address)
            raise ConnectionRefusedError(111, "test network: only loopback is reachable")
        return real_connect(self, address)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    monkeypatch.setattr(socket.socket, "connect", connect)
    return lookups, attempts


@pytest.fixture
def local_api(live_server):
    hits: list[str] = []

    def anything(request: Request):
        hits.append(request.url.path)
        return JSONResponse({"internal": "secret"})

    server = live_server(Starlette(routes=[Route("/{p:path}", anything)]))
    server.hits = hits
    return server


def test_a_name_rebound_to_loopback_after_the_check_is_not_reached(home, connections, rebinding, local_api):
    lookups, attempts = rebinding
    wizard = Wizard(home, policy=NetworkPolicy())
    wizard.start("GET", f"http://rebind.test:{local_api.port}/admin")
    ex = wizard.send().exchange
    assert not ex.ok and local_api.hits == []
    # One lookup, checked, and the connection went to that very address.
    assert lookups == [PUBLIC] and attempts and all(a[0] == PUBLIC for a in attempts)


def test_a_job_step_connects_to_the_checked_address(home, connections, rebinding, local_api):
    lookups, attempts = rebinding
    save_action(home, "admin", method="GET", url=f"http://rebind.test:{local_api.port}/admin")
    record = _run_step(Runner(home, policy=NetworkPolicy()), "admin")
    assert record["status"] == "failed" and local_api.hits == []
    assert lookups == [PUBLIC] and attempts and all(a[0] == PUBLIC for a in attempts)


def test_a_name_that_answers_loopback_to_the_check_is_refused(home, rebinding, local_api):
    lookups, _ = rebinding
    lookups.append("already looked up once")  # from now on the name answers 127.0.0.1
    wizard = Wizard(home, policy=NetworkPolicy())
    wizard.start("GET", f"http://rebind.test:{local_api.port}/admin")
    ex = wizard.send().exchange
    assert ex.outcome == "refused" and "rebind.test (127.0.0.1) is a loopback address" in ex.message
    assert local_api.hits == []


def test_the_pinned_connection_keeps_the_host_header_and_the_tls_server_name(home, connections, live_server, tmp_path):
    authority = trustme.CA()
    leaf = authority.issue_cert("api.pinned.test")  # valid for the name only, not for 127.0.0.1
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    leaf.cert_chain_pems[0].write_to_path(str(cert))
    leaf.private_key_pem.write_to_path(str(key))
    server_names: list[str | None] = []

    def hello(request: Request):
        return JSONResponse({"host": request.headers["host"]})

    server = live_server(Starlette(routes=[Route("/hello", hello)]),
                         ssl_options={"ssl_certfile": str(cert), "ssl_keyfile": str(key)})
    context = ssl.create_default_context(cafile=None)
    authority.configure_trust(context)
    conn = connections.create({"name": "pinned", "auth_type": "none",
                               "client_certificate": {"ca_bundle": authority.cert_pem.bytes().decode()}})

    def resolver(host: str) -> list[str]:
        server_names.append(host)
        return ["127.0.0.1"] if host == "api.pinned.test" else []

    # 127.0.0.1 is allowed as an address here: the name is what the request is for.
    policy = NetworkPolicy(allow=["127.0.0.1/32"], resolver=resolver)
    found = test_connection(conn, connections, f"https://api.pinned.test:{server.port}/hello", policy=policy)
    assert found.ok, found.message
    assert server_names == ["api.pinned.test"]
    wizard = Wizard(home, policy=policy)
    wizard.start("GET", f"https://api.pinned.test:{server.port}/hello", connection="pinned")
    ex = wizard.send().exchange
    assert ex.ok and ex.response.body == {"host": f"api.pinned.test:{server.port}"}


def test_addresses_are_checked_once_and_an_allowed_network_passes():
    calls: list[str] = []

    def resolver(host: str) -> list[str]:
        calls.append(host)
        return ["10.1.2.3", "8.8.8.8"]

    policy = NetworkPolicy(resolver=resolver)
    with pytest.raises(NetworkPolicyError, match=r"internal.test \(10.1.2.3\) is in a private network"):
        policy.addresses("internal.test", connection="crm")
    assert NetworkPolicy(allow=["10.1.2.0/24"], resolver=resolver).addresses("internal.test") == ["10.1.2.3", "8.8.8.8"]
    assert NetworkPolicy(allow=["internal.test"], resolver=resolver).addresses("internal.test") == ["internal.test"]
    assert NetworkPolicy(enabled=False, resolver=resolver).addresses("internal.test") == ["internal.test"]
    assert calls == ["internal.test", "internal.test"]
