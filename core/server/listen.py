"""Where ``plugwire serve`` listens and what its network policy lets through: the
listening socket, bound before anything is announced (a busy port is a plain error
naming the port, not a traceback after a banner), the base URL other commands show,
and the ``--allow-host`` entries (``PLUGWIRE_ALLOW_HOSTS``) checked as the policy reads them.
"""

from __future__ import annotations

import errno
import ipaddress
import os
import re
import socket

from plugwire.core.base.errors import PlugwireError, UserInputError

__all__ = ["ALLOW_HOSTS_ENV", "allowed_hosts", "bind", "listen_url"]

ALLOW_HOSTS_ENV = "PLUGWIRE_ALLOW_HOSTS"
_HOST = re.compile(r"^(?=.{1,253}$)[a-z0-9_]([a-z0-9_-]{0,62})(\.[a-z0-9_]([a-z0-9_-]{0,62}))*\.?$")


def bind(host: str, port: int) -> socket.socket:
    """Return a socket bound to ``host``:``port`` (not listening yet: uvicorn does that).

    Raises ``PlugwireError`` naming the port when it is in use or needs privileges,
    and ``UserInputError`` naming ``--host`` when the address is not this machine's.
    """
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except (socket.gaierror, UnicodeError):
        raise UserInputError(f"--host {host!r} is not an address of this machine.", field="--host",
                             fix="use 127.0.0.1 (this machine only) or 0.0.0.0 (every interface)") from None
    family, kind, proto, _, address = infos[0]
    sock = socket.socket(family, kind, proto)
    # As uvicorn does: a restart may bind while the last server's connections linger.
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(address)
    except OSError as exc:
        sock.close()
        where = f"port {port} on {host}"
        if exc.errno == errno.EADDRINUSE:
            raise PlugwireError(f"{where} is already in use.", field="--port",
                                fix=f"stop what listens there, or choose another port: plugwire serve --port {port + 1}") from None
        if exc.errno == errno.EACCES:
            raise PlugwireError(f"{where} needs privileges this user lacks.", field="--port",
                                fix="choose a port above 1023, e.g. plugwire serve --port 8700") from None
        if exc.errno == errno.EADDRNOTAVAIL:
            raise UserInputError(f"--host {host!r} is not an address of this machine.", field="--host",
                                 fix="use 127.0.0.1 (this machine only) or 0.0.0.0 (every interface)") from None
        raise PlugwireError(f"cannot listen on {where}: {exc.strerror}.", field="--port", fix="choose another port or host") from None
    return sock


def listen_url(host: str, port: int) -> str:
    """Return the URL a server listening on ``host``:``port`` is reached at from this
    machine (a wildcard address is reached at loopback)."""
    if host in ("0.0.0.0", ""):
        host = "127.0.0.1"
    elif host == "::":
        host = "::1"
    if ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{port}"


def allowed_hosts(given: list[str] | tuple[str, ...] = ()) -> list[str]:
    """Return the hosts the network policy lets through: ``given`` (``--allow-host``)
    and those of ``PLUGWIRE_ALLOW_HOSTS`` (comma-separated), each a host, host:port,
    IP address or network (CIDR), lower-cased, without repeats.

    Raises ``UserInputError`` naming the option (or variable) and the entry at fault.
    """
    out: list[str] = []
    env = [(e, ALLOW_HOSTS_ENV) for e in os.environ.get(ALLOW_HOSTS_ENV, "").split(",") if e.strip()]
    for entry, where in [(g, "--allow-host") for g in given] + env:
        value = _check_entry(entry.strip().lower(), where)
        if value not in out:
            out.append(value)
    return out


def _check_entry(value: str, where: str) -> str:
    fix = "give a host (api.internal), host:port (api.internal:8443), an IP address (10.0.0.7) or a network (10.0.0.0/24)"
    if not value or "/" in value and not _network(value) or "://" in value:
        raise UserInputError(f"{where} {value!r} is not a host, host:port, IP address or network.", field=where, fix=fix)
    if "/" in value or _address(value.strip("[]")):
        return value
    host, _, port = value.rpartition(":") if value.count(":") == 1 or value.startswith("[") else (value, "", "")
    if port and (not port.isdigit() or not 1 <= int(port) <= 65535):
        raise UserInputError(f"{where} {value!r}: the port must be a number from 1 to 65535.", field=where, fix=fix)
    host = host.strip("[]")
    if not (_address(host) or _HOST.match(host)):
        raise UserInputError(f"{where} {value!r} is not a host, host:port, IP address or network.", field=where, fix=fix)
    return value


def _address(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def _network(text: str) -> bool:
    try:
        ipaddress.ip_network(text, strict=False)
    except ValueError:
        return False
    return True
