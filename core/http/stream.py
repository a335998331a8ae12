"""Upstream answers read with a cap: a response past ``max_response_bytes`` is cut
off while it streams, never held whole.

:func:`cap_responses` puts a response hook on a client, so every answer it reads
is capped: the final one, and those the client reads on its own (the body of a
redirect it follows, an auth challenge it answers, whatever a polling trigger
reads through its :class:`~plugwire.core.plugincore.triggers.PollContext`). The
cap counts the body as the reader gets it, decompressed: a small gzip body that
inflates past the cap is stopped as it inflates. A Content-Length past the cap is
refused before a byte of the body is read. Reading past the cap raises
:class:`ResponseTooLarge`, and the response is closed, which drops its connection
(one half-read cannot be reused). :func:`limit_request` gives one request a cap of
its own (an action's), which the redirects it leads to keep.
"""

from __future__ import annotations

import functools
import importlib.util
import zlib
from typing import Any, AsyncIterator, Iterator

import httpx2

from plugwire.core.connections.options import DEFAULT_MAX_RESPONSE_BYTES, MAX_RESPONSE_BYTES_CEILING

__all__ = [
    "DEFAULT_MAX_RESPONSE_BYTES",
    "MAX_RESPONSE_BYTES_CEILING",
    "ResponseTooLarge",
    "cap_responses",
    "capped_transport",
    "limit_request",
    "size_text",
]

_EXTENSION = "plugwire.max_response_bytes"  # request extensions travel with redirects
_STEP = 1 << 20  # inflate in pieces of at most this much, counted and dropped


def size_text(size: int) -> str:
    """Return ``size`` (bytes) as people say it: ``10 MB``, ``64 KB``, ``1500 bytes``."""
    for unit, scale in (("GB", 1 << 30), ("MB", 1 << 20), ("KB", 1 << 10)):
        if size >= scale and size % scale == 0:
            return f"{size // scale} {unit}"
    return f"{size} bytes"


class ResponseTooLarge(httpx2.RequestError):
    """A response body (decompressed) longer than its cap. ``response`` is the
    answer that was cut off (status and headers; closed, its body dropped)."""

    def __init__(self, limit: int, response: httpx2.Response):
        self.limit = limit
        self.response = response
        super().__init__(
            f"The response was larger than {size_text(limit)} (max_response_bytes); raise max_response_bytes "
            "on the action or the connection, or ask the API for less.",
            request=response.request,
        )


def limit_request(request: httpx2.Request, limit: int) -> httpx2.Request:
    """Give ``request`` (and the redirects it leads to) the cap ``limit``, over the
    client's; returns ``request``."""
    request.extensions[_EXTENSION] = limit
    return request


class _Counter:
    """Counts a body as it arrives, raw and decompressed, and raises past the limit."""

    def __init__(self, response: httpx2.Response, limit: int):
        self.response = response
        self.limit = limit
        self.raw = 0
        self.decoded = 0
        names = [v.strip().lower() for v in response.headers.get_list("content-encoding", split_commas=True)]
        names = [n for n in names if n in _undone_by_client()]
        # The client undoes gzip and deflate, and brotli and zstd when their modules
        # are installed: those two are not inflated here, so such a body is counted
        # as it comes, compressed.
        self.layers: list[Any] | None = [_Inflater(n) for n in reversed(names)] if set(names) <= {"gzip", "deflate"} else None

    def start(self) -> None:
        """Refuse a body announced longer than the limit before reading any of it."""
        response = self.response
        if response.request.method == "HEAD" or response.status_code in (204, 304):
            return
        length = response.headers.get("content-length", "")
        if length.isdigit() and int(length) > self.limit:
            raise ResponseTooLarge(self.limit, response)

    def add(self, chunk: bytes) -> None:
        """Count ``chunk`` (raw bytes as received); raises ``ResponseTooLarge`` when
        the body, raw or decompressed, passes the limit."""
        self.raw += len(chunk)
        if self.layers:
            self._inflate(0, chunk)
        else:
            self.decoded = self.raw
        if max(self.raw, self.decoded) > self.limit:
            raise ResponseTooLarge(self.limit, self.response)

    def _inflate(self, layer: int, data: bytes) -> None:
        if layer == len(self.layers):
            self.decoded += len(data)
            if self.decoded > self.limit:
                raise ResponseTooLarge(self.limit, self.response)
            return
        for piece in self.layers[layer].pieces(data):
            self._inflate(layer + 1, piece)


@functools.lru_cache(maxsize=1)
def _undone_by_client() -> frozenset[str]:
    """Return the content encodings httpx2 undoes (it leaves any other as it came)."""
    found = {"gzip", "deflate"}
    for name, modules in (("br", ("brotli", "brotlicffi")), ("zstd", ("compression.zstd", "backports.zstd"))):
        for module in modules:
            try:
                if importlib.util.find_spec(module) is not None:
                    found.add(name)
            except ImportError:  # a missing parent package
                pass
    return frozenset(found)


class _Inflater:
    """One gzip or deflate layer, inflated in bounded pieces as the client does."""

    def __init__(self, name: str):
        self.gzip = name == "gzip"
        self.first = True
        self.inflater = zlib.decompressobj(zlib.MAX_WBITS | 16 if self.gzip else zlib.MAX_WBITS)
        self.broken = False

    def pieces(self, data: bytes) -> Iterator[bytes]:
        if self.broken:
            return  # the client raises its own decoding error for these bytes
        first, self.first = self.first, False
        try:
            piece = self.inflater.decompress(data, _STEP)
        except zlib.error:
            if first and not self.gzip:  # deflate without its zlib wrapper, as the client accepts it
                self.inflater = zlib.decompressobj(-zlib.MAX_WBITS)
                yield from self.pieces(data)
            else:
                self.broken = True
            return
        while piece:
            yield piece
            piece = self.inflater.decompress(self.inflater.unconsumed_tail, _STEP)


class _CappedStream(httpx2.SyncByteStream):
    def __init__(self, inner: httpx2.SyncByteStream, counter: _Counter):
        self.inner, self.counter = inner, counter

    def __iter__(self) -> Iterator[bytes]:
        self.counter.start()
        for chunk in self.inner:
            self.counter.add(chunk)
            yield chunk

    def close(self) -> None:
        self.inner.close()


class _CappedAsyncStream(httpx2.AsyncByteStream):
    def __init__(self, inner: httpx2.AsyncByteStream, counter: _Counter):
        self.inner, self.counter = inner, counter

    async def __aiter__(self) -> AsyncIterator[bytes]:
        self.counter.start()
        async for chunk in self.inner:
            self.counter.add(chunk)
            yield chunk

    async def aclose(self) -> None:
        await self.inner.aclose()


def _cap(response: httpx2.Response, limit: int) -> None:
    stream = response.stream
    if isinstance(stream, (_CappedStream, _CappedAsyncStream)):
        return
    limit = response.request.extensions.get(_EXTENSION, limit)
    counter = _Counter(response, limit)
    if isinstance(stream, httpx2.SyncByteStream):
        response.stream = _CappedStream(stream, counter)
    elif isinstance(stream, httpx2.AsyncByteStream):
        response.stream = _CappedAsyncStream(stream, counter)


def cap_responses(client: httpx2.Client | httpx2.AsyncClient, limit: int | None = None):
    """Make every response ``client`` reads stop at ``limit`` bytes (default
    :data:`DEFAULT_MAX_RESPONSE_BYTES`; a request's own cap, see
    :func:`limit_request`, wins). Returns ``client``.

    A client capped already keeps its cap. Reading past it raises
    :class:`ResponseTooLarge` (an ``httpx2.RequestError``).
    """
    hooks = client.event_hooks
    if any(getattr(hook, "plugwire_cap", False) for hook in hooks["response"]):
        return client
    limit = DEFAULT_MAX_RESPONSE_BYTES if limit is None else limit
    if isinstance(client, httpx2.AsyncClient):
        async def hook(response: httpx2.Response) -> None:
            _cap(response, limit)
    else:
        def hook(response: httpx2.Response) -> None:
            _cap(response, limit)
    hook.plugwire_cap = True  # type: ignore[attr-defined]
    client.event_hooks = {**hooks, "response": [*hooks["response"], hook]}
    return client


class _CappedTransport(httpx2.BaseTransport):
    def __init__(self, inner: httpx2.BaseTransport, limit: int):
        self.inner, self.limit = inner, limit

    def handle_request(self, request: httpx2.Request) -> httpx2.Response:
        response = self.inner.handle_request(request)
        response.request = request  # the client sets it later; the cap reads it now
        _cap(response, self.limit)
        return response

    def close(self) -> None:
        self.inner.close()


class _CappedAsyncTransport(httpx2.AsyncBaseTransport):
    def __init__(self, inner: httpx2.AsyncBaseTransport, limit: int):
        self.inner, self.limit = inner, limit

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        response = await self.inner.handle_async_request(request)
        response.request = request  # the client sets it later; the cap reads it now
        _cap(response, self.limit)
        return response

    async def aclose(self) -> None:
        await self.inner.aclose()


def capped_transport(inner: httpx2.BaseTransport | httpx2.AsyncBaseTransport, limit: int):
    """Return ``inner`` wrapped so that every response it carries stops at ``limit``
    bytes (as :func:`cap_responses` does for a client): for clients that plugwire
    does not build itself, such as an auth type's token client."""
    if isinstance(inner, httpx2.AsyncBaseTransport):
        return _CappedAsyncTransport(inner, limit)
    return _CappedTransport(inner, limit)
