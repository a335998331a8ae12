"""The server's network policy: no requests into loopback, link-local or private
networks for connections that are not marked "private network".

A recipe's URL comes from its author and, through datapills, from whoever sends a
webhook; without this policy a server could be made to call its own admin ports
or a cloud metadata address. The policy lives in the HTTP client's transport
(:mod:`plugwire.core.http.pinning`): each new connection resolves the host once,
checks every address, and connects to a checked address, so the first request,
every redirect, digest's retry and an auth type's token requests are all checked,
and a name cannot answer one address to the check and another to the connect.
Connections marked ``private_network`` go through the on-premise agent, which is
where private traffic belongs, so they are exempt.
"""

from __future__ import annotations

import ipaddress
import socket
from typing import Any, Callable

from plugwire.core.base.errors import PlugwireError
from plugwire.core.http.pinning import pinned_transport

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

    ``allow`` lists exceptions, each ``host``, ``host:port``, an IP address or a
    network (``10.1.2.0/24``): an internal service a server may call without an
    agent; a redirect elsewhere is still checked. ``resolver`` turns a name into its
    addresses (default: the system's ``getaddrinfo``).
    """

    def __init__(self, enabled: bool = True, *, allow: list[str] | tuple[str, ...] = (),
                 resolver: Callable[[str], list[str]] | None = None):
        self.enabled = enabled
        entries = [a.strip().lower() for a in allow if a.strip()]
        self.allow = frozenset(entries)
        self._networks = tuple(n for n in map(_network, entries) if n is not None)
        self._resolver = resolver or _resolve

    def _allowed(self, host: str, port: int | None) -> bool:
        host = host.lower()
        return host in self.allow or (port is not None and f"{host}:{port}" in self.allow)

    def _allowed_address(self, address: str) -> bool:
        if not self._networks:
            return False
        ip = ipaddress.ip_address(address.split("%", 1)[0])
        return any(ip.version == net.version and ip in net for net in self._networks)

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
            if reason and not self._allowed_address(address):
                raise self._error(host, address, reason, connection)

    def applies(self, connection: Any) -> bool:
        """Return True when requests for ``connection`` (None: no connection) are
        checked: the policy is on and the connection is not a private-network one."""
        return self.enabled and not bool(getattr(getattr(connection, "options", None), "private_network", False))

    def addresses(self, host: str, *, port: int | None = None, connection: str = "?") -> list[str]:
        """Resolve ``host`` once and return the addresses to connect to, every one of
        them checked (``host`` itself when the policy is off or the host is allowed
        by name). Raises ``NetworkPolicyError``. Blocking: call it off an event loop."""
        host = host.strip("[]")
        if not self.enabled or self._allowed(host, port):
            return [host]
        found = self._resolver(host)
        self._check(host, found, connection)
        return found

    def transport(self, connection: str, *, asynchronous: bool, verify: Any = True):
        """Return an ``httpx2`` transport that checks and pins every connection it
        opens for the connection named ``connection`` (see
        :mod:`plugwire.core.http.pinning`); ``verify`` is the TLS verification."""
        return pinned_transport(self, connection, asynchronous=asynchronous, verify=verify)


def _resolve(host: str) -> list[str]:
    if _literal(host):
        return [host.strip("[]")]
    try:
        infos = socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError):
        raise NetworkPolicyError(
            f"The host {host} could not be resolved (DNS failure).", field="url", fix="check the URL's host"
        ) from None
    # The resolver's order is the order a plain connect would try them in.
    return list(dict.fromkeys(info[4][0] for info in infos))


def _network(entry: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network | None:
    """Return the network an ``allow`` entry names (an address is a one-address
    network), or None for a host name or ``host:port``."""
    try:
        return ipaddress.ip_network(entry.strip("[]"), strict=False)
    except ValueError:
        return None
