"""A small real SOCKS5 proxy on 127.0.0.1, standing in for an on-premise agent that
speaks SOCKS (``agent_url: socks5://...``).

It implements what a SOCKS5 client needs for ``CONNECT`` (RFC 1928), with either no
authentication or a username and password (RFC 1929), on asyncio streams in a thread
of its own, and records every tunnel it opened so a test can tell which route a
connection took. No BIND or UDP ASSOCIATE: plugwire's agents only open TCP tunnels.
"""

from __future__ import annotations

import asyncio
import ipaddress
import struct
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Iterator

from proxy_server import ForwardProxy, _pipe

__all__ = ["SocksProxy", "SocksRecord"]

_VERSION = 5
_NO_AUTH, _USER_PASS, _NO_ACCEPTABLE = 0x00, 0x02, 0xFF
_CONNECT = 0x01
_IPV4, _DOMAIN, _IPV6 = 0x01, 0x03, 0x04
_SUCCEEDED, _FAILURE, _COMMAND_NOT_SUPPORTED, _REFUSED = 0x00, 0x01, 0x07, 0x05


@dataclass(frozen=True)
class SocksRecord:
    """One tunnel request: ``target`` as ``host:port``, the ``username`` the client
    authenticated with (``None`` without authentication) and the reply code sent."""

    target: str
    username: str | None
    reply: int


class SocksProxy(ForwardProxy):
    """Run with ``with SocksProxy() as proxy:``; ``proxy.url`` is its ``socks5://``
    address and ``proxy.records`` what went through it. With ``credentials=(user,
    password)`` it demands them (RFC 1929) and refuses any other pair. The thread,
    lifecycle and ``targets()`` are the HTTP forward proxy's."""

    def __init__(self, credentials: tuple[str, str] | None = None) -> None:
        super().__init__()
        self.credentials = credentials
        self.records: list[SocksRecord] = []  # type: ignore[assignment]

    def start(self) -> "SocksProxy":
        """Bind 127.0.0.1 on a free port and serve in a thread; returns self."""
        super().start()
        self.url = f"socks5://127.0.0.1:{self.port}"
        return self

    def __enter__(self) -> "SocksProxy":
        return self.start()

    # -- serving ----------------------------------------------------------------------
    def _note(self, target: str, username: str | None, reply: int) -> None:
        with self._lock:
            self.records.append(SocksRecord(target, username, reply))

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._writers.add(writer)
        try:
            username = await self._negotiate(reader, writer)
            if username is not False:
                await self._command(reader, writer, username)
        except (asyncio.IncompleteReadError, ConnectionError, ValueError):
            pass  # the client went away or spoke nonsense: nothing to answer
        finally:
            self._writers.discard(writer)
            writer.close()

    async def _negotiate(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> str | None | bool:
        """Agree on the method; return the username (``None`` without auth), or
        ``False`` when the client is refused."""
        version, count = await reader.readexactly(2)
        if version != _VERSION:
            raise ValueError("not SOCKS5")
        methods = await reader.readexactly(count)
        wanted = _USER_PASS if self.credentials else _NO_AUTH
        if wanted not in methods:
            writer.write(bytes([_VERSION, _NO_ACCEPTABLE]))
            await writer.drain()
            return False
        writer.write(bytes([_VERSION, wanted]))
        await writer.drain()
        if wanted == _NO_AUTH:
            return None
        _, ulen = await reader.readexactly(2)
        user = (await reader.readexactly(ulen)).decode()
        (plen,) = await reader.readexactly(1)
        password = (await reader.readexactly(plen)).decode()
        ok = (user, password) == self.credentials
        writer.write(bytes([1, 0 if ok else 1]))
        await writer.drain()
        return user if ok else False

    async def _command(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, username: str | None) -> None:
        version, command, _, kind = await reader.readexactly(4)
        if kind == _IPV4:
            host = str(ipaddress.IPv4Address(await reader.readexactly(4)))
        elif kind == _IPV6:
            host = str(ipaddress.IPv6Address(await reader.readexactly(16)))
        elif kind == _DOMAIN:
            (length,) = await reader.readexactly(1)
            host = (await reader.readexactly(length)).decode("idna")
        else:
            raise ValueError("unknown address type")
        (port,) = struct.unpack("!H", await reader.readexactly(2))
        target = f"{host}:{port}"
        if version != _VERSION or command != _CONNECT:
            return await self._reply(writer, target, username, _COMMAND_NOT_SUPPORTED)
        try:
            up_reader, up_writer = await asyncio.wait_for(asyncio.open_connection(host, port), timeout=5)
        except (OSError, asyncio.TimeoutError):
            return await self._reply(writer, target, username, _REFUSED)
        await self._reply(writer, target, username, _SUCCEEDED)
        with self._open(up_writer):
            await asyncio.gather(_pipe(reader, up_writer), _pipe(up_reader, writer))

    @contextmanager
    def _open(self, writer: asyncio.StreamWriter) -> Iterator[None]:
        """Keep ``writer`` among those ``stop()`` closes while the tunnel lasts."""
        self._writers.add(writer)
        try:
            yield
        finally:
            self._writers.discard(writer)
            writer.close()

    async def _reply(self, writer: asyncio.StreamWriter, target: str, username: str | None, code: int) -> None:
        self._note(target, username, code)
        # Bound address 0.0.0.0:0: clients of a CONNECT tunnel do not use it.
        writer.write(bytes([_VERSION, code, 0, _IPV4, 0, 0, 0, 0, 0, 0]))
        await writer.drain()

