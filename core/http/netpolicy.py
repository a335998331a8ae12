"""The server's network policy: no requests into loopback, link-local or private
networks for connections that are not marked "private network".

A recipe's URL comes from its author and, through datapills, from whoever sends a
webhook; without this policy a server could be made to call its own admin ports
or a cloud metadata address. The host is resolved and every address it resolves
to is checked, for the first request and for every redirect (an httpx2 request
event hook sees each one). Connections marked ``private_network`` go through the
on-premise agent, which is where private traffic belongs, so they are exempt.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from typing import Any, Callable

import httpx2

from plugwire.core.base.errors import PlugwireError

__all__ = ["NetworkPolicy", "NetworkPolicyError", "blocked_reason"]

_CGNAT = ipaddress.ip_network("100.64.0.0/10")


class NetworkPolicyError(PlugwireError):
    """A request was refused because its host is in a network the policy forbids."""


def blocked_reason(address: str) -> str | None:
    """Return why ``address`` (an IP literal) is forbidden, or None when it is public."""
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return "is not an IP address"
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if ip.is_loopback:
        return "is a loopback address"
    if ip.is_link_local:
        return "is a link-local address"
    if ip.is_unspecified:
        return "is the unspecified address"
    if ip.is_multicast:
        return "is a multicast address"
    if ip.is_private or (isinstance(ip, ipaddress.IPv4Address) and ip in _CGNAT):
        return "is in a private network"
    if ip.is_reserved:
        return "is in a reserved range"
    return None


def _literal(host: str) -> bool:
    try:
        ipaddress.ip_address(host.strip("[]").split("%", 1)[0])
        return True
    except ValueError:
        return False


class NetworkPolicy:
    """Whether private destinations are refused (``enabled``), and the checks that do it.

    ``allow`` lists exceptions, each ``host`` or ``host:port`` (an internal service a
    server may call without an agent); a redirect elsewhere is still checked.
    """

    def __init__(self, enabled: bool = True, *, allow: list[str] | tuple[str, ...] = ()):
        self.enabled = enabled
        self.allow = frozenset(a.strip().lower() for a in allow if a.strip())

    def _allowed(self, host: str, port: int | None) -> bool:
        host = host.lower()
        return host in self.allow or (port is not None and f"{host}:{port}" in self.allow)

    def _error(self, host: str, address: str, reason: str, connection: str) -> NetworkPolicyError:
        where = host if host == address else f"{host} ({address})"
        return NetworkPolicyError(
            f"Refused by the network policy: {where} {reason}, and the connection {connection!r} "
            "is not marked as being in a private network.",
            field="url",
            fix="use a public host, or set private_network (with agent_url) on the connection; "
            "for local use run `plugwire serve --no-network-policy`",
        )

    def _check(self, host: str, addresses: list[str], connection: str) -> None:
        if not addresses:
            raise NetworkPolicyError(f"{host} did not resolve to any address.", field="url", fix="check the URL's host")
        for address in addresses:
            reason = blocked_reason(address)
            if reason:
                raise self._error(host, address, reason, connection)

    def check_host(self, host: str, *, port: int | None = None, connection: str = "?", exempt: bool = False) -> None:
        """Resolve ``host`` and check every address; raises ``NetworkPolicyError``."""
        if not self.enabled or exempt or self._allowed(host, port):
            return
        self._check(host, _resolve(host), connection)

    async def acheck_host(self, host: str, *, port: int | None = None, connection: str = "?", exempt: bool = False) -> None:
        """Async :meth:`check_host` (resolution off the event loop); raises ``NetworkPolicyError``."""
        if not self.enabled or exempt or self._allowed(host, port):
            return
        # getaddrinfo blocks; asyncio's own resolver runs it in a thread as well.
        addresses = _resolve(host) if _literal(host) else await asyncio.to_thread(_resolve, host)
        self._check(host, addresses, connection)

    def event_hooks(self, connection: Any, *, asynchronous: bool) -> dict[str, list[Callable]]:
        """Return httpx2 ``event_hooks`` that check every request (redirects too)
        made for ``connection``; empty when the policy is off or the connection is exempt."""
        exempt = bool(getattr(getattr(connection, "options", None), "private_network", False))
        if not self.enabled or exempt:
            return {}
        name = getattr(connection, "name", "?")
        if asynchronous:

            async def acheck(request: httpx2.Request) -> None:
                await self.acheck_host(request.url.host, port=request.url.port, connection=name)

            return {"request": [acheck]}

        def check(request: httpx2.Request) -> None:
            self.check_host(request.url.host, port=request.url.port, connection=name)

        return {"request": [check]}


def _resolve(host: str) -> list[str]:
    if _literal(host):
        return [host.strip("[]")]
    try:
        infos = socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)
    except socket.gaierror:
        raise NetworkPolicyError(
            f"The host {host} could not be resolved (DNS failure).", field="url", fix="check the URL's host"
        ) from None
    return sorted({info[4][0] for info in infos})
