"""OAuth2 renewal is serialised per connection and reads the store again under its
lock (issue 17 item 4): two clients of one connection, each holding the same expired
token, renew it once between them, against a real provider on 127.0.0.1 that rotates
refresh tokens (each one good once) and counts every token request, refused ones included.

Both mutants named in the issue survive tests that count only the tokens issued:
the second client's renewal is refused (its refresh token was rotated away) and
its fallback reload then finds the first client's token. Counting every request to
the token endpoint catches them."""

from __future__ import annotations

import asyncio
import sys
import threading
from typing import Any

import anyio
import pytest

from oauth_provider import OAuthProvider
from plugwire.core.http.client import client_for
from recipes_support import wait_for
from test_oauth2 import add_oauth2, connect, expire


class GatedProvider(OAuthProvider):
    """The test provider, whose token endpoint holds each request while ``gate`` is
    closed; ``arrived`` counts the token requests that reached it."""

    def __init__(self) -> None:
        super().__init__()
        self.gate = threading.Event()
        self.gate.set()
        self.arrived = 0

    async def _token(self, request: Any) -> Any:
        self.arrived += 1
        await anyio.to_thread.run_sync(self.gate.wait)
        return await super()._token(request)


@pytest.fixture
def provider(live_server, monkeypatch):
    monkeypatch.setenv("AUTHLIB_INSECURE_TRANSPORT", "1")  # loopback only
    p = GatedProvider()
    p.url = live_server(p.app).url
    yield p
    p.gate.set()  # never leave a request held past the test


@pytest.fixture
def two_clients(connections, provider):
    """Two sync clients of the connection ``acme``, both built while its token is expired."""
    connect(add_oauth2(connections, provider), connections)
    expire(connections, "acme")
    conn = connections.get("acme")
    clients = [client_for(conn, connections) for _ in range(2)]
    assert provider.calls["refresh_token"] == 0
    provider.arrived = 0  # the connect's own code exchange is not counted
    yield clients
    for client in clients:
        client.close()


def test_a_client_uses_the_token_another_client_renewed_first(two_clients, provider):
    """Catches the removal of the reload under the lock (the client's own expired token
    taken as the stored one): the second client would renew again (a second token
    request, refused since its refresh token was rotated)."""
    first, second = two_clients
    assert first.get(f"{provider.url}/api/me").status_code == 200
    assert provider.calls["refresh_token"] == 1
    assert second.get(f"{provider.url}/api/me").status_code == 200
    assert provider.calls["refresh_token"] == 1


def _waiting_on_the_connection_lock() -> bool:
    """True when a thread is stopped inside the connection's renewal lock
    (``StoredTokens.lock``, entered in a worker thread by async clients), which
    another client holds."""
    return any(frame.f_code.co_name == "lock" and frame.f_code.co_filename.endswith("connections/model.py")
               for frame in sys._current_frames().values())


@pytest.mark.parametrize("asynchronous", [False, True], ids=["sync", "async"])
def test_two_clients_of_one_connection_renew_under_one_lock(connections, provider, asynchronous):
    """Catches a renewal lock per client instead of per connection (sync: the
    process's lock keyed by client; async: the client's own ``anyio.Lock`` only):
    while the first client's renewal is held at the provider, the second client must
    wait on the connection's lock (seen in a thread's stack), not send a renewal of
    its own; once the first one is let through, the second uses its token."""
    connect(add_oauth2(connections, provider), connections)
    expire(connections, "acme")
    conn = connections.get("acme")
    provider.arrived = 0  # the connect's own code exchange is not counted
    url = f"{provider.url}/api/me"
    answers: dict[str, int] = {}
    provider.gate.clear()

    def second_waits_or_renews() -> None:
        # Either way this ends: the second waits on the lock (right), or its own
        # renewal reaches the provider (a lock per client).
        wait_for(lambda: provider.arrived > 1 or _waiting_on_the_connection_lock(), 10, "the second client to wait or renew")

    if asynchronous:
        async def main() -> None:
            async with client_for(conn, connections, asynchronous=True) as first, \
                    client_for(conn, connections, asynchronous=True) as second:
                one = asyncio.create_task(first.get(url))
                while provider.arrived < 1:  # the loop runs on while the test thread looks
                    await asyncio.sleep(0.01)
                two = asyncio.create_task(second.get(url))
                await anyio.to_thread.run_sync(second_waits_or_renews)
                provider.gate.set()
                answers["first"], answers["second"] = [r.status_code for r in await asyncio.gather(one, two)]

        asyncio.run(asyncio.wait_for(main(), 30))
    else:
        clients = [client_for(conn, connections) for _ in range(2)]

        def call(name: str, client: Any) -> None:
            answers[name] = client.get(url).status_code

        try:
            one = threading.Thread(target=call, args=("first", clients[0]))
            one.start()
            wait_for(lambda: provider.arrived == 1, 10, "the first renewal to reach the provider")
            two = threading.Thread(target=call, args=("second", clients[1]))
            two.start()
            second_waits_or_renews()
            provider.gate.set()
            one.join(10)
            two.join(10)
        finally:
            provider.gate.set()
            for client in clients:
                client.close()
    assert answers == {"first": 200, "second": 200}
    assert provider.arrived == 1 and provider.calls["refresh_token"] == 1
