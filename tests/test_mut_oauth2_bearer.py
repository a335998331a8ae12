"""Survivors of the mutation run over plugins/auth/oauth2_bearer.py (issue 17,
bench/README.md): the renewal of OAuth2 tokens as a client sends requests.

The OAuth2 tests' provider gives every token a lifetime; a token without one (an
answer without ``expires_in``, which RFC 6749 allows) is used until the API
answers 401, not renewed before every request. And their tokens live long past the
leeway, so its cap (half the token's lifetime) was never reached. Nor did a test
drive ``auth_flow`` (httpx2's clients run the sync and async flows instead) or give
it a store that fails to note a failed renewal.
"""

from __future__ import annotations

import asyncio
import logging

import httpx2
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from conftest import free_port
from plugwire.core.base.errors import AuthorizationRequired, PlugwireError
from plugwire.core.http.client import client_for
from plugwire.core.plugincore.auth import AuthContext, MemoryTokenStore
from plugwire.plugins.auth.oauth2_bearer import BearerTokenAuth
from plugwire.plugins.auth.oauth2_tokens import TokenEndpoint
from test_oauth2 import expire


class _Provider:
    """A token endpoint issuing ``at-1``, ``at-2``... (with ``expires_in`` when
    ``lifetime`` is set) and an API accepting the tokens in ``accepted``."""

    def __init__(self, live_server, lifetime: int | None = None):
        self.issued: list[str] = []
        self.accepted: set[str] = set()

        async def token(request: Request) -> JSONResponse:
            self.issued.append(f"at-{len(self.issued) + 1}")
            self.accepted.add(self.issued[-1])
            return JSONResponse({"access_token": self.issued[-1], "token_type": "Bearer"}
                                | ({"expires_in": lifetime} if lifetime else {}))

        async def api(request: Request) -> JSONResponse:
            given = request.headers.get("authorization", "").removeprefix("Bearer ")
            body = (await request.body()).decode()
            return JSONResponse({"token": given, "body": body}, status_code=200 if given in self.accepted else 401)

        self.server = live_server(Starlette(routes=[Route("/token", token, methods=["POST"]),
                                                    Route("/api", api, methods=["GET", "POST"])]))

    def connection(self, connections, **settings):
        return connections.create({"name": "backend", "auth_type": "oauth2_client_credentials", "settings": {
            "token_url": f"{self.server.url}/token", "client_id": "machine", "client_secret": "cc-secret-5512",
            **settings}})

    def token_sent(self, client) -> str:
        return client.get(f"{self.server.url}/api").json()["token"]


def test_a_token_without_a_lifetime_is_renewed_only_after_a_401(connections, live_server):
    provider = _Provider(live_server)  # no expires_in
    conn = provider.connection(connections)
    with client_for(conn, connections) as client:
        assert [provider.token_sent(client) for _ in range(3)] == ["at-1"] * 3
        assert provider.issued == ["at-1"]
        provider.accepted.clear()  # revoked: the next request gets a 401, renews once and is sent again
        assert provider.token_sent(client) == "at-2" and provider.token_sent(client) == "at-2"
    assert provider.issued == ["at-1", "at-2"]
    assert "expires_at" not in connections.tokens("backend").load()


@pytest.mark.parametrize(("seconds_left", "renewed"), [(60, False), (40, True)])
def test_the_leeway_is_at_most_half_the_tokens_lifetime(connections, live_server, seconds_left, renewed):
    """A token living 100 s, with the default leeway of 60 s, is renewed 50 s before
    it expires (not 60: it would be renewed after 40 s of its life; not 33)."""
    provider = _Provider(live_server, lifetime=100)
    conn = provider.connection(connections, refresh_leeway=60)
    with client_for(conn, connections) as client:
        assert provider.token_sent(client) == "at-1"
    expire(connections, "backend", seconds_left=seconds_left)
    with client_for(conn, connections) as client:
        assert provider.token_sent(client) == ("at-2" if renewed else "at-1")


def _bearer(store: MemoryTokenStore, token_url: str = "http://127.0.0.1:9/token", *, grant_for=None,
            token: dict | None = None) -> BearerTokenAuth:
    """The bearer auth as the oauth2 types build it, on ``store``."""
    context = AuthContext(connection_name="backend", tokens=store)
    endpoint = TokenEndpoint(token_url=token_url, client_id="machine", client_secret="cc-secret-5512",
                             auth_method="client_secret_post", extra_params={}, context=context)
    return BearerTokenAuth(endpoint=endpoint, store=store, grant_for=grant_for or (lambda t: ("client_credentials", {})),
                           leeway=60, token=token)


def test_auth_flow_signs_with_the_token_it_holds_and_never_fetches_one():
    request = httpx2.Request("GET", "https://api.test/me")
    signed = next(_bearer(MemoryTokenStore(), token={"access_token": "at-9"}).auth_flow(request))
    assert signed.headers["Authorization"] == "Bearer at-9"

    def must_connect(token):
        raise AuthorizationRequired("Connection 'backend' is not connected.", field="connection", fix="connect it")

    # Without a token: the type's own reason when it cannot fetch one, else "no token yet".
    with pytest.raises(AuthorizationRequired, match="is not connected"):
        next(_bearer(MemoryTokenStore(), grant_for=must_connect).auth_flow(request))
    with pytest.raises(AuthorizationRequired, match="has no token yet"):
        next(_bearer(MemoryTokenStore()).auth_flow(request))


class _StoreThatCannotNote(MemoryTokenStore):
    def record_refresh_failure(self, error: PlugwireError) -> None:
        raise PlugwireError("the connections file is read-only", field="home", fix="make it writable")


def test_a_store_that_cannot_note_a_failed_renewal_is_logged_and_the_failure_raised(caplog):
    port = free_port()  # nothing listens there: the token request fails
    auth = _bearer(_StoreThatCannotNote(), f"http://127.0.0.1:{port}/token")
    with caplog.at_level(logging.WARNING, logger="plugwire.plugins.auth.oauth2_bearer"), \
            httpx2.Client(auth=auth, trust_env=False) as client, pytest.raises(PlugwireError) as info:
        client.get(f"http://127.0.0.1:{port}/api")
    assert "Could not reach the token endpoint" in str(info.value)
    noted = [r.getMessage() for r in caplog.records]
    assert len(noted) == 1 and noted[0].startswith(
        "Could not note the failed token renewal of 'backend': the connections file is read-only")


class _NotingStore(MemoryTokenStore):
    def __init__(self) -> None:
        super().__init__()
        self.noted: list[str] = []

    def record_refresh_failure(self, error: PlugwireError) -> None:
        self.noted.append(str(error))


@pytest.mark.parametrize("asynchronous", [False, True], ids=["sync", "async"])
def test_a_failed_renewal_is_noted_on_the_store(asynchronous):
    """The console shows the connection's last renewal failure: both flows tell the store."""
    port = free_port()
    store = _NotingStore()
    auth = _bearer(store, f"http://127.0.0.1:{port}/token")
    with pytest.raises(PlugwireError) as info:
        if asynchronous:
            async def get() -> None:
                async with httpx2.AsyncClient(auth=auth, trust_env=False) as client:
                    await client.get(f"http://127.0.0.1:{port}/api")

            asyncio.run(get())
        else:
            with httpx2.Client(auth=auth, trust_env=False) as client:
                client.get(f"http://127.0.0.1:{port}/api")
    assert store.noted == [str(info.value)] and "Could not reach the token endpoint" in store.noted[0]


@pytest.mark.parametrize("asynchronous", [False, True], ids=["sync", "async"])
def test_a_streamed_body_is_sent_again_whole_after_a_401(connections, live_server, asynchronous):
    """The renewal after a 401 sends the request again: a body given as a stream
    was read in full before the first send, so the second one carries it too."""
    provider = _Provider(live_server)
    conn = provider.connection(connections)
    with client_for(conn, connections) as client:
        assert provider.token_sent(client) == "at-1"
    provider.accepted.clear()  # at-1 is refused from now on

    def parts():
        yield b"first part, "
        yield b"second part"

    async def aparts():
        for part in parts():
            yield part

    url = f"{provider.server.url}/api"
    if asynchronous:
        async def post() -> httpx2.Response:
            async with client_for(conn, connections, asynchronous=True) as client:
                return await client.post(url, content=aparts())

        answer = asyncio.run(post())
    else:
        with client_for(conn, connections) as client:
            answer = client.post(url, content=parts())
    assert answer.status_code == 200 and answer.json() == {"token": "at-2", "body": "first part, second part"}
