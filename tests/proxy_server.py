"""A small real HTTP forward proxy on 127.0.0.1, standing in for the on-premise agent.

It forwards absolute-form requests (``GET http://host:port/path HTTP/1.1``) and
tunnels ``CONNECT host:port`` for https, on asyncio streams in a thread of its own,
and records every request that passed through it so a test can tell which route a
connection took. Only what the tests need: one request per client connection for
plain HTTP (the upstream is asked to close), bodies by Content-Length.
"""

from __future__ import annotations

import asyncio
import threading
from dataclasses import dataclass

__all__ = ["ForwardProxy", "ProxyRecord"]

# Hop-by-hop headers (RFC 9110 7.6.1) are for the proxy, not the origin server.
_HOP_BY_HOP = {
    "connection", "keep-alive", "proxy-authenticate", "proxy-authorization",
    "proxy-connection", "te", "trailer", "transfer-encoding", "upgrade",
}


@dataclass(frozen=True)
class ProxyRecord:
    """One request the proxy handled: ``method`` and ``target`` as the client sent
    them (``CONNECT`` with ``host:port``, or a method with an absolute URL) and the
    status the proxy itself answered (200 for a tunnel or a forwarded request)."""

    method: str
    target: str
    status: int


class ForwardProxy:
    """Run with ``with ForwardProxy() as proxy:``; ``proxy.url`` is its address and
    ``proxy.records`` what went through it."""

    def __init__(self) -> None:
        self.records: list[ProxyRecord] = []
        self.url = ""
        self.port = 0
        self._loop = asyncio.new_event_loop()
        self._server: asyncio.base_events.Server | None = None
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._lock = threading.Lock()
        self._writers: set[asyncio.StreamWriter] = set()

    # -- lifecycle ------------------------------------------------------------------
    def start(self) -> "ForwardProxy":
        """Bind 127.0.0.1 on a free port and serve in a thread; returns self."""
        self._thread.start()
        fut = asyncio.run_coroutine_threadsafe(
            asyncio.start_server(self._handle, "127.0.0.1", 0), self._loop
        )
        self._server = fut.result(timeout=10)
        self.port = self._server.sockets[0].getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        return self

    def stop(self) -> None:
        """Close the listener and every open connection, then end the thread."""

        async def shutdown() -> None:
            assert self._server is not None
            self._server.close()
            for w in list(self._writers):
                w.close()
            await self._server.wait_closed()

        if self._server is not None:
            asyncio.run_coroutine_threadsafe(shutdown(), self._loop).result(timeout=10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
        self._loop.close()

    def __enter__(self) -> "ForwardProxy":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def targets(self) -> list[str]:
        """Return the targets seen so far (``host:port`` or absolute URLs), in order."""
        with self._lock:
            return [r.target for r in self.records]

    # -- serving ----------------------------------------------------------------------
    def _record(self, method: str, target: str, status: int) -> None:
        with self._lock:
            self.records.append(ProxyRecord(method, target, status))

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._writers.add(writer)
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            request_line, *header_lines = head.decode("latin-1").split("\r\n")
            method, target, version = request_line.split(" ", 2)
            headers = [tuple(h.split(":", 1)) for h in header_lines if ":" in h]
            if method == "CONNECT":
                await self._tunnel(target, reader, writer)
            else:
                await self._forward(method, target, version, headers, reader, writer)
        except (asyncio.IncompleteReadError, ConnectionError, ValueError):
            pass  # the client went away or spoke nonsense: nothing to answer
        finally:
            self._writers.discard(writer)
            writer.close()

    async def _open_upstream(self, host: str, port: int, method: str, target: str, writer: asyncio.StreamWriter):
        try:
            return await asyncio.wait_for(asyncio.open_connection(host, port), timeout=5)
        except (OSError, asyncio.TimeoutError) as exc:
            self._record(method, target, 502)
            body = f"proxy could not reach {host}:{port}: {exc}".encode()
            writer.write(
                b"HTTP/1.1 502 Bad Gateway\r\nContent-Type: text/plain\r\nConnection: close\r\n"
                + f"Content-Length: {len(body)}\r\n\r\n".encode() + body
            )
            await writer.drain()
            return None

    async def _tunnel(self, target: str, reader, writer) -> None:
        host, _, port = target.rpartition(":")
        upstream = await self._open_upstream(host.strip("[]"), int(port), "CONNECT", target, writer)
        if upstream is None:
            return
        up_reader, up_writer = upstream
        self._record("CONNECT", target, 200)
        writer.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
        await writer.drain()
        self._writers.add(up_writer)
        try:
            await asyncio.gather(_pipe(reader, up_writer), _pipe(up_reader, writer))
        finally:
            self._writers.discard(up_writer)
            up_writer.close()

    async def _forward(self, method, target, version, headers, reader, writer) -> None:
        if not target.startswith("http://"):
            self._record(method, target, 400)
            writer.write(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
            await writer.drain()
            return
        rest = target[len("http://"):]
        authority, slash, path = rest.partition("/")
        host, _, port = authority.rpartition(":") if ":" in authority else (authority, "", "80")
        upstream = await self._open_upstream(host, int(port or 80), method, target, writer)
        if upstream is None:
            return
        up_reader, up_writer = upstream
        self._record(method, target, 200)
        length = 0
        lines = [f"{method} /{path if slash else ''} {version}"]
        for name, value in headers:
            if name.strip().lower() == "content-length":
                length = int(value.strip())
            if name.strip().lower() not in _HOP_BY_HOP:
                lines.append(f"{name}:{value}")
        lines += ["Via: 1.1 plugwire-test-proxy", "Connection: close", "", ""]
        up_writer.write("\r\n".join(lines).encode("latin-1"))
        if length:
            up_writer.write(await reader.readexactly(length))
        await up_writer.drain()
        self._writers.add(up_writer)
        try:
            # The upstream closes after its answer (we asked it to), which ends the pipe.
            await _pipe(up_reader, writer)
        finally:
            self._writers.discard(up_writer)
            up_writer.close()


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except (ConnectionError, OSError):
        pass
    finally:
        if writer.can_write_eof():
            try:
                writer.write_eof()
            except OSError:
                pass
