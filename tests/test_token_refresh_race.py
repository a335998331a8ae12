"""Token renewal happens once per connection, whatever the number of clients, threads
or processes (issue 12): 50 callers in 5 OS processes, each with a client of its own,
against a real provider on 127.0.0.1 that rotates refresh tokens (each one good once)
and whose API takes only the access token it issued last; with the configuration in
each backend (the embedded store's lock files, PostgreSQL's advisory locks).

The callers run in processes started with ``spawn`` (no fork of the test process and
its server threads), released together by a barrier that the test itself joins, so
that the test decides when each round starts. Without the lock across processes,
each process (threads) or each client (async) renews: 5 or 50 token requests.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Iterator

import anyio
import httpx2
import pytest

from oauth_provider import OAuthProvider
from pgutil import make_pg_database, require_postgres
from plugwire.core.base.errors import NotFoundError
from plugwire.core.connections.model import Connections, StoredTokens
from plugwire.core.http.client import client_for
from plugwire.core.plugincore.auth import AuthContext, MemoryTokenStore
from plugwire.core.storage.home import Home
from test_oauth2 import add_oauth2, connect, expire

PROCESSES = 5
CALLERS = 10  # per process: threads (sync) or tasks (async), each with its own client
LIFETIME = 6  # seconds an access token lives at the provider
LEEWAY = 1  # the connection's refresh_leeway
WAIT = 60  # seconds any one step may take before the test gives up

BACKENDS = ["embedded", "postgresql"]


class RotatingProvider(OAuthProvider):
    """The test provider (which already rotates refresh tokens), stricter: its API
    takes only the access token issued last, as a provider does that revokes the
    previous token when it issues a new one. Its token endpoint takes a moment to
    answer, as real ones do, so that every process is renewing at once when the
    renewals are not serialised."""

    async def _token(self, request: Any) -> Any:
        await asyncio.sleep(0.3)
        return await super()._token(request)

    def _store(self, token: dict[str, Any], request: Any) -> None:
        self.revoke_access_tokens()
        super()._store(token, request)


@pytest.fixture
def provider(live_server, monkeypatch):
    # authlib's server refuses plain http unless told otherwise; this is loopback only.
    monkeypatch.setenv("AUTHLIB_INSECURE_TRANSPORT", "1")
    p = RotatingProvider(access_lifetime=LIFETIME)
    p.url = live_server(p.app).url
    return p


@pytest.fixture(params=BACKENDS)
def store_home(request, tmp_path) -> Iterator[Home]:
    """A data folder whose configuration lives in each backend in turn: the embedded
    store (lock files), or a fresh PostgreSQL database (advisory locks)."""
    if request.param == "embedded":
        yield Home(tmp_path / "plugwire-home")
        return
    require_postgres()
    with make_pg_database() as url:
        home = Home(tmp_path / "plugwire-home", database=url)
        yield home
        home.store.close()


@pytest.fixture
def connected(store_home, provider) -> Connections:
    """The connection ``acme``, authorized at the provider, in the store."""
    connections = Connections(store_home)
    conn = add_oauth2(connections, provider, refresh_leeway=LEEWAY)
    connect(conn, connections)
    return connections


# -- the callers, in other processes -------------------------------------------------
def _call(client: Any, url: str) -> tuple[int | None, str]:
    try:
        response = client.get(url)
    except Exception as exc:  # reported to the test, which names it
        return None, f"{type(exc).__name__}: {exc}"
    return response.status_code, response.text


async def _acall(client: Any, url: str) -> tuple[int | None, str]:
    try:
        response = await client.get(url)
    except Exception as exc:
        return None, f"{type(exc).__name__}: {exc}"
    return response.status_code, response.text


def _callers(home_path: str, database: str | None, url: str, asynchronous: bool, rounds: int, barrier: Any, results: Any) -> None:
    """One process: CALLERS clients of ``acme``, each calling ``url`` once a round."""
    home = Home(home_path, database=database)
    connections = Connections(home)
    conn = connections.get("acme")
    if asynchronous:
        asyncio.run(_async_callers(conn, connections, url, rounds, barrier, results))
        return
    clients = [client_for(conn, connections) for _ in range(CALLERS)]

    def caller(client: Any) -> None:
        for _ in range(rounds):
            barrier.wait(WAIT)
            results.put(_call(client, url))

    threads = [threading.Thread(target=caller, args=(c,)) for c in clients]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


async def _async_callers(conn: Any, connections: Connections, url: str, rounds: int, barrier: Any, results: Any) -> None:
    async def caller(client: Any) -> None:
        async with client:
            for _ in range(rounds):
                await anyio.to_thread.run_sync(barrier.wait, WAIT)
                results.put(await _acall(client, url))

    clients = [client_for(conn, connections, asynchronous=True) for _ in range(CALLERS)]
    async with anyio.create_task_group() as tg:
        for client in clients:
            tg.start_soon(caller, client)


class Callers:
    """PROCESSES processes of CALLERS callers each; :meth:`round` releases them all
    at once and returns their 50 answers as ``(status, body or error)``."""

    def __init__(self, connections: Connections, url: str, *, asynchronous: bool, rounds: int):
        ctx = multiprocessing.get_context("spawn")
        self._barrier = ctx.Barrier(PROCESSES * CALLERS + 1)  # and the test
        self._results = ctx.Queue()
        home = connections.home
        args = (str(home.path), home.database_url, url, asynchronous, rounds, self._barrier, self._results)
        self._processes = [ctx.Process(target=_callers, args=args, daemon=True) for _ in range(PROCESSES)]

    def __enter__(self) -> "Callers":
        for p in self._processes:
            p.start()
        return self

    def round(self) -> list[tuple[int | None, str]]:
        self._barrier.wait(WAIT)
        return [self._results.get(timeout=WAIT) for _ in range(PROCESSES * CALLERS)]

    def __exit__(self, exc_type: Any, *_: Any) -> None:
        for p in self._processes:
            p.join(timeout=WAIT if exc_type is None else 1)
            if p.is_alive():
                p.kill()
                p.join()
        if exc_type is None:
            assert [p.exitcode for p in self._processes] == [0] * PROCESSES


def _all_succeeded(answers: list[tuple[int | None, str]]) -> None:
    failed = [a for a in answers if a[0] != 200]
    assert not failed, f"{len(failed)} of {len(answers)} calls failed, the first: {failed[0]}"
    assert len(answers) == PROCESSES * CALLERS


@pytest.mark.parametrize("asynchronous", [False, True], ids=["threads", "async"])
def test_fifty_callers_in_five_processes_renew_an_expired_token_once(connected, provider, asynchronous):
    expire(connected, "acme")
    first = connected.tokens("acme").load()
    url = f"{provider.url}/api/me"
    with Callers(connected, url, asynchronous=asynchronous, rounds=2) as callers:
        _all_succeeded(callers.round())
        assert provider.calls["refresh_token"] == 1
        second = connected.tokens("acme").load()
        assert second["refresh_token"] != first["refresh_token"]  # rotated

        # The callers keep their clients; once the renewed token is due, they renew
        # again, once, with the refresh token that rotation left.
        time.sleep(max(0.0, second["expires_at"] - LEEWAY - time.time()) + 0.3)
        _all_succeeded(callers.round())
    assert provider.calls["refresh_token"] == 2
    third = connected.tokens("acme").load()
    assert third["refresh_token"] != second["refresh_token"] and third["expires_at"] > time.time()


@pytest.mark.parametrize("asynchronous", [False, True], ids=["threads", "async"])
def test_a_401_on_a_fresh_looking_token_renews_once_across_processes(connected, provider, asynchronous):
    token = connected.tokens("acme").load()
    token["expires_at"] = int(time.time()) + 3600
    connected.tokens("acme").save(token)
    provider.revoke_access_tokens()  # the API now answers 401 to the stored token
    with Callers(connected, f"{provider.url}/api/me", asynchronous=asynchronous, rounds=1) as callers:
        _all_succeeded(callers.round())
    assert provider.calls["refresh_token"] == 1
    assert connected.tokens("acme").load()["access_token"] != token["access_token"]


# -- the pieces, in this process -------------------------------------------------------
def test_a_token_renewed_after_its_connection_was_removed_is_not_stored(connected, provider):
    expire(connected, "acme")
    conn = connected.get("acme")
    with client_for(conn, connected) as client:
        connected.remove("acme")
        with pytest.raises(NotFoundError, match="'acme' was removed or renamed"):
            client.get(f"{provider.url}/api/me")
    assert connected.home.store.get("tokens", "acme") is None


class LegacyTokenStore:
    """A token store written before TokenStore.lock existed: load, save and clear."""

    def __init__(self, token: dict[str, Any]):
        self.token = token

    def load(self) -> dict[str, Any] | None:
        return dict(self.token)

    def save(self, token: dict[str, Any]) -> None:
        self.token = dict(token)

    def clear(self) -> None:
        self.token = None


@pytest.mark.parametrize("asynchronous", [False, True], ids=["sync", "async"])
def test_a_token_store_without_a_lock_still_renews_once_per_client(connected, provider, asynchronous):
    expire(connected, "acme")
    conn = connected.get("acme")
    store = LegacyTokenStore(connected.tokens("acme").load())
    auth = conn.auth_type_plugin().build_auth(conn.settings, AuthContext("acme", store))
    url = f"{provider.url}/api/me"

    async def gather() -> list[httpx2.Response]:
        async with httpx2.AsyncClient(auth=auth, trust_env=False) as client:
            return await asyncio.gather(*(client.get(url) for _ in range(20)))

    if asynchronous:
        responses = asyncio.run(gather())
    else:
        with httpx2.Client(auth=auth, trust_env=False) as client, ThreadPoolExecutor(20) as pool:
            responses = list(pool.map(lambda _: client.get(url), range(20)))
    assert [r.status_code for r in responses] == [200] * 20
    assert provider.calls["refresh_token"] == 1
    assert store.token["expires_at"] > time.time()


def _free(tokens: Any) -> bool:
    """Return whether ``tokens.lock()`` can be taken within 5 seconds (from a thread
    left waiting if not, so that the test fails instead of hanging)."""
    taken = threading.Event()

    def take() -> None:
        with tokens.lock():
            taken.set()

    threading.Thread(target=take, daemon=True).start()
    return taken.wait(5)


@pytest.mark.parametrize("kind", ["stored", "memory"])
def test_lock_async_waits_off_the_event_loop_and_a_cancelled_holder_lets_go(store_home, kind):
    tokens = StoredTokens(store_home, "acme") if kind == "stored" else MemoryTokenStore()
    held = tokens.lock()
    held.__enter__()
    got: list[str] = []

    async def waiter() -> None:
        async with tokens.lock_async():
            got.append("lock")
            await anyio.sleep(WAIT)  # cancelled here, holding the lock

    async def main() -> int:
        ticks = 0
        async with anyio.create_task_group() as tg:
            tg.start_soon(waiter)
            for _ in range(10):  # the loop runs on while the waiter waits
                await anyio.sleep(0.01)
                ticks += 1
            assert got == []
            held.__exit__(None, None, None)
            while not got:
                await anyio.sleep(0.01)
            tg.cancel_scope.cancel()
        return ticks

    assert asyncio.run(main()) == 10
    assert _free(tokens)
