"""Connect to the address the network policy checked, not to a second answer.

A name is resolved once per new connection, inside the HTTP client's network
backend: every address is checked, and the socket is opened to one of those very
addresses. Checking in one lookup and connecting after another would let a name
that answers a public address first and 127.0.0.1 next (DNS rebinding) through.
Only the TCP target changes: the request keeps its URL, so the ``Host`` header,
the TLS server name (SNI) and the certificate check all still use the name.

Every request a client with this transport sends goes through it: redirects,
digest's second attempt, and an auth type's own requests (the OAuth2 token and
refresh requests) when it builds its client from ``AuthContext.client_options``.
"""

from __future__ import annotations

from typing import Any, Iterable, Protocol

import anyio.to_thread
import httpcore2
import httpx2

__all__ = ["pinned_transport"]


class _Policy(Protocol):
    """What the transport needs of :class:`~plugwire.core.http.netpolicy.NetworkPolicy`
    (named structurally: the policy imports this module)."""

    def addresses(self, host: str, *, port: int | None = None, connection: str = "?") -> list[str]: ...

_CONNECT_ERRORS = (httpcore2.ConnectError, httpcore2.ConnectTimeout)


class _PinnedBackend(httpcore2.NetworkBackend):
    """The blocking backend, resolving and checking through the policy first."""

    def __init__(self, policy: _Policy, connection: str):
        self._policy, self._connection = policy, connection
        self._inner = httpcore2.SyncBackend()

    def connect_tcp(self, host: str, port: int, timeout: float | None = None, local_address: str | None = None,
                    socket_options: Iterable[Any] | None = None) -> httpcore2.NetworkStream:
        addresses = self._policy.addresses(host, port=port, connection=self._connection)
        failure: Exception | None = None
        for address in addresses:  # in the resolver's order, as a plain connect would try them
            try:
                return self._inner.connect_tcp(address, port, timeout=timeout, local_address=local_address,
                                               socket_options=socket_options)
            except _CONNECT_ERRORS as exc:
                failure = exc
        assert failure is not None  # addresses() never returns an empty list
        raise failure

    def connect_unix_socket(self, path: str, timeout: float | None = None,
                            socket_options: Iterable[Any] | None = None) -> httpcore2.NetworkStream:
        return self._inner.connect_unix_socket(path, timeout=timeout, socket_options=socket_options)

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)


class _AsyncPinnedBackend(httpcore2.AsyncNetworkBackend):
    """The asynchronous twin of :class:`_PinnedBackend` (resolution in a thread)."""

    def __init__(self, policy: _Policy, connection: str):
        self._policy, self._connection = policy, connection
        self._inner = httpcore2.AnyIOBackend()

    async def connect_tcp(self, host: str, port: int, timeout: float | None = None, local_address: str | None = None,
                          socket_options: Iterable[Any] | None = None) -> httpcore2.AsyncNetworkStream:
        addresses = await anyio.to_thread.run_sync(
            lambda: self._policy.addresses(host, port=port, connection=self._connection))
        failure: Exception | None = None
        for address in addresses:
            try:
                return await self._inner.connect_tcp(address, port, timeout=timeout, local_address=local_address,
                                                     socket_options=socket_options)
            except _CONNECT_ERRORS as exc:
                failure = exc
        assert failure is not None
        raise failure

    async def connect_unix_socket(self, path: str, timeout: float | None = None,
                                  socket_options: Iterable[Any] | None = None) -> httpcore2.AsyncNetworkStream:
        return await self._inner.connect_unix_socket(path, timeout=timeout, socket_options=socket_options)

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


def pinned_transport(policy: _Policy, connection: str, *, asynchronous: bool, verify: Any = True):
    """Return an ``httpx2`` transport (``AsyncHTTPTransport`` when ``asynchronous``)
    whose every new connection is resolved, checked by ``policy`` on behalf of the
    connection named ``connection``, and opened to a checked address; ``verify`` is
    the TLS verification (a context, a CA bundle path or a bool).

    A refused destination raises ``NetworkPolicyError`` out of the request.
    """
    if asynchronous:
        transport: Any = httpx2.AsyncHTTPTransport(verify=verify, trust_env=False)
        backend: Any = _AsyncPinnedBackend(policy, connection)
    else:
        transport = httpx2.HTTPTransport(verify=verify, trust_env=False)
        backend = _PinnedBackend(policy, connection)
    # httpx2's transports take no network backend of their own; the pool hands this
    # attribute to every connection it opens (a test of the rebinding defence fails
    # if a new release renames it).
    pool = transport._pool
    if not hasattr(pool, "_network_backend"):
        raise RuntimeError("httpcore2's connection pool changed: the network policy cannot pin addresses")
    pool._network_backend = backend
    return transport
