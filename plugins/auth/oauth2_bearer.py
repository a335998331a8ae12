"""The ``httpx2.Auth`` of the ``oauth2`` auth types: it sends the bearer token and
renews it through :class:`.oauth2_tokens.TokenEndpoint`.

:class:`BearerTokenAuth` follows authlib's httpx client design: renew when the token
is expired (with a leeway) or after a 401, under a lock so that concurrent requests
renew once, then hand the new token to the store. The lock is the token store's,
which spans processes: a connection renews once however many clients, threads and
processes use it, which a provider that rotates refresh tokens (each one good once)
needs. Imported when an auth is built, not when the plugin is loaded.
"""

from __future__ import annotations

import logging
import threading
import time
from contextlib import AbstractAsyncContextManager, AbstractContextManager, nullcontext
from typing import Any, AsyncGenerator, Callable, Generator

import anyio
import httpx2

# Loaded with the auth (a client is made outside any event loop) rather than at the
# first renewal, where TokenEndpoint imports authlib's clients: importing them
# (0.1 s) inside async_auth_flow would hold up the event loop.
import authlib.integrations.httpx_client  # noqa: F401
from authlib.oauth2.rfc6750 import add_bearer_token

from plugwire import AuthorizationRequired, PlugwireError, TokenStore
from plugwire.plugins.auth.oauth2_tokens import Grant, TokenEndpoint

__all__ = ["BearerTokenAuth"]

logger = logging.getLogger(__name__)


# For a token store without a lock of its own (written before TokenStore.lock): one
# lock per connection for every sync client of this process, as before.
_SYNC_LOCKS: dict[str, threading.Lock] = {}
_SYNC_LOCKS_GUARD = threading.Lock()


def _sync_lock(connection: str) -> threading.Lock:
    with _SYNC_LOCKS_GUARD:
        return _SYNC_LOCKS.setdefault(connection, threading.Lock())


class BearerTokenAuth(httpx2.Auth):
    """Sends ``Authorization: Bearer <access token>`` and keeps the token fresh.

    The token is renewed before it expires (``leeway`` seconds early) and at most once
    after a 401, under the store's renewal lock (``store.lock()``, which spans threads
    and processes; in :meth:`async_auth_flow` ``store.lock_async()``, waited for off
    the event loop, after an ``anyio.Lock`` that queues the tasks of one client). Under
    the lock the store is read again, so a token renewed meanwhile by another client,
    thread or process is used rather than renewed twice; a new token is saved before
    the lock is let go. A store without ``lock`` gets this process's lock of the
    connection (sync) and the client's ``anyio.Lock`` (async) only. ``grant_for(token)``
    says how to renew (it raises ``AuthorizationRequired`` when renewal is
    impossible); new tokens go to ``store``.
    """

    requires_request_body = True  # a request retried after a 401 must be sent again

    def __init__(
        self,
        *,
        endpoint: TokenEndpoint,
        store: TokenStore,
        grant_for: Callable[[dict[str, Any] | None], Grant],
        leeway: int,
        token: dict[str, Any] | None = None,
    ):
        self.endpoint = endpoint
        self._store = store
        self._grant_for = grant_for
        self._leeway = leeway
        self._token = token
        self._async_lock = anyio.Lock()

    def _renewal_lock(self) -> AbstractContextManager[Any]:
        lock = getattr(self._store, "lock", None)
        return lock() if lock is not None else _sync_lock(self.endpoint.context.connection_name)

    def _renewal_lock_async(self) -> AbstractAsyncContextManager[Any]:
        lock_async = getattr(self._store, "lock_async", None)
        return lock_async() if lock_async is not None else nullcontext()

    # -- the I/O-free parts shared by both flows ---------------------------------------
    def _expiring(self, token: dict[str, Any] | None) -> bool:
        if not token or not token.get("access_token"):
            return True
        expires_at = token.get("expires_at")
        if expires_at is None:
            return False  # no lifetime given: only a 401 says it is stale
        leeway = self._leeway
        if token.get("expires_in"):
            # A leeway as long as the token's life would renew on every request.
            leeway = min(leeway, int(token["expires_in"]) // 2)
        return int(expires_at) - leeway <= time.time()

    @staticmethod
    def _sign(request: httpx2.Request, token: dict[str, Any]) -> None:
        _, headers, _ = add_bearer_token(token["access_token"], str(request.url), {}, None)
        request.headers["Authorization"] = headers["Authorization"]

    def _settle(self, found: dict[str, Any] | None, used: dict[str, Any] | None) -> dict[str, Any] | None:
        """Return ``found`` (the stored token, or the client's own) when it can be used
        without renewing: fresh, and not the one that just failed (``used``); else None."""
        if found is None or self._expiring(found):
            return None
        if used is not None and found.get("access_token") == used.get("access_token"):
            return None
        return found

    def _renewal(self, used: dict[str, Any] | None) -> Generator[tuple[str, Any], Any, dict[str, Any]]:
        """The renewal under the lock, without I/O, for both flows: it yields the steps
        ``("load", None)``, ``("fetch", base)``, ``("save", token)`` and
        ``("failed", error)`` (before raising it), gets back what each returned (a
        refused fetch returns its ``AuthorizationRequired``), and returns the token to
        use. Raises ``AuthorizationRequired`` when the token cannot be renewed."""
        stored = yield "load", None
        token = self._settle(stored, used)
        if token is None:
            base = stored or self._token
            token = yield "fetch", base
            if isinstance(token, AuthorizationRequired):
                # Without a lock across processes, another process may have renewed
                # (and rotated the refresh token) just before us.
                refused, token = token, self._settle((yield "load", None), base)
                if token is None:
                    yield "failed", refused
                    raise refused
            else:
                yield "save", token
        self._token = token
        return token

    def auth_flow(self, request: httpx2.Request) -> Generator[httpx2.Request, httpx2.Response, None]:
        """Sign ``request`` with the current token, without renewing (no I/O here:
        clients run :meth:`sync_auth_flow` or :meth:`async_auth_flow`).

        Raises ``AuthorizationRequired`` when there is no token at all.
        """
        if self._token is None:
            self._grant_for(None)  # raises AuthorizationRequired for types that cannot fetch
            raise AuthorizationRequired(
                f"Connection {self.endpoint.context.connection_name!r} has no token yet.",
                field="connection",
                fix="send the request through a plugwire client, which fetches one",
            )
        self._sign(request, self._token)
        yield request

    def _note_failure(self, error: PlugwireError) -> None:
        """Tell the store that getting a token finally failed
        (``TokenStore.record_refresh_failure``; plugwire's store keeps it on the
        connection, so the console shows it). Looked up as ``lock`` is: a store that
        does not subclass TokenStore may not have it. Noting it must not hide the
        failure itself: a store error here is only logged."""
        note = getattr(self._store, "record_refresh_failure", None)
        if note is None:
            return
        try:
            note(error)
        except PlugwireError as exc:
            logger.warning("Could not note the failed token renewal of %r: %s", self.endpoint.context.connection_name, exc)

    # -- sync ---------------------------------------------------------------------------
    def _renew_sync(self, used: dict[str, Any] | None) -> dict[str, Any]:
        with self._renewal_lock():
            if self._settle(self._token, used) is not None:
                return self._token  # renewed by another thread of this client while we waited
            steps = self._renewal(used)
            try:
                step = next(steps)
                while True:
                    step = steps.send(self._step_sync(*step))
            except StopIteration as done:
                return done.value

    def _step_sync(self, step: str, value: Any) -> Any:
        if step == "load":
            return self._store.load()
        if step == "save":
            return self._store.save(value)
        if step == "failed":
            return self._note_failure(value)
        try:
            return self.endpoint.fetch(self._grant_for(value), value)
        except AuthorizationRequired as exc:
            return exc
        except PlugwireError as exc:
            self._note_failure(exc)
            raise

    def sync_auth_flow(self, request: httpx2.Request) -> Generator[httpx2.Request, httpx2.Response, None]:
        """The flow of sync clients: renew if expiring, send, renew once after a 401 and
        send again. Raises ``AuthorizationRequired`` when the token cannot be renewed."""
        request.read()
        token = self._token
        if self._expiring(token):
            token = self._renew_sync(None)
        self._sign(request, token)
        response = yield request
        if response.status_code != 401:
            return
        self._sign(request, self._renew_sync(token))
        yield request

    # -- async --------------------------------------------------------------------------
    async def _renew_async(self, used: dict[str, Any] | None) -> dict[str, Any]:
        async with self._async_lock:
            if self._settle(self._token, used) is not None:
                return self._token  # renewed by another task of this client while we waited
            async with self._renewal_lock_async():
                steps = self._renewal(used)
                try:
                    step = next(steps)
                    while True:
                        step = steps.send(await self._step_async(*step))
                except StopIteration as done:
                    return done.value

    async def _step_async(self, step: str, value: Any) -> Any:
        # The store is a file or a database: read and write it off the event loop.
        if step == "load":
            return await anyio.to_thread.run_sync(self._store.load)
        if step == "save":
            return await anyio.to_thread.run_sync(self._store.save, value)
        if step == "failed":
            return await anyio.to_thread.run_sync(self._note_failure, value)
        try:
            return await self.endpoint.fetch_async(self._grant_for(value), value)
        except AuthorizationRequired as exc:
            return exc
        except PlugwireError as exc:
            await anyio.to_thread.run_sync(self._note_failure, exc)
            raise

    async def async_auth_flow(self, request: httpx2.Request) -> AsyncGenerator[httpx2.Request, httpx2.Response]:
        """The flow of async clients; the same steps and errors as :meth:`sync_auth_flow`."""
        await request.aread()
        token = self._token
        if self._expiring(token):
            token = await self._renew_async(None)
        self._sign(request, token)
        response = yield request
        if response.status_code != 401:
            return
        self._sign(request, await self._renew_async(token))
        yield request
