"""A real HTTP server on 127.0.0.1 that a test programs: routes, replies, and a
record of every request it received.

:class:`ProgrammableAPI` is a Starlette app served by uvicorn in a thread. A test
adds routes (``api.route("GET", "/items", json=[...])``), points a client at
``api.url`` and afterwards reads ``api.requests``: method, raw path, query,
headers and body exactly as they arrived on the socket. Handlers run in a worker
thread, so one that waits does not stop the server from answering others.
"""

from __future__ import annotations

import json as _json
import re
import socket
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable
from urllib.parse import parse_qsl, unquote

__all__ = ["ProgrammableAPI", "RecordedRequest", "Reply", "ServerThread"]

_UNSET: Any = object()


@dataclass
class Reply:
    """What a route answers: a status, a JSON value or a raw body, and headers."""

    status: int = 200
    json: Any = _UNSET
    body: bytes | str = b""
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str | None = None

    def encode(self) -> tuple[bytes, str]:
        """Return the body bytes and their content type."""
        if self.json is not _UNSET:
            return _json.dumps(self.json).encode(), self.content_type or "application/json"
        raw = self.body.encode() if isinstance(self.body, str) else self.body
        return raw, self.content_type or ("text/plain; charset=utf-8" if isinstance(self.body, str) else "application/octet-stream")


@dataclass
class RecordedRequest:
    """A request as the server received it. Header names are lower-case; ``raw_path``
    is the path still percent-encoded as sent; ``query_string`` is the raw query."""

    method: str
    path: str
    raw_path: str
    query_string: str
    headers: dict[str, str]
    body: bytes
    base_url: str
    path_params: dict[str, str] = field(default_factory=dict)

    @property
    def query_list(self) -> list[tuple[str, str]]:
        """Return the query parameters in order, decoded, repeated keys kept."""
        return parse_qsl(self.query_string, keep_blank_values=True)

    @property
    def query(self) -> dict[str, str]:
        """Return the query parameters decoded (the last value of a repeated key)."""
        return dict(self.query_list)

    @property
    def url(self) -> str:
        """Return the URL as received, still encoded."""
        return f"{self.base_url}{self.raw_path}" + (f"?{self.query_string}" if self.query_string else "")

    @property
    def text(self) -> str:
        """Return the body decoded as UTF-8."""
        return self.body.decode("utf-8")

    def json(self) -> Any:
        """Return the body parsed as JSON; raises ``ValueError`` when it is not JSON."""
        return _json.loads(self.body)


Handler = Callable[[RecordedRequest], Any]


@dataclass
class _Route:
    method: str
    template: str
    pattern: re.Pattern
    handler: Handler | None
    replies: list[Reply]


def _compile(template: str) -> re.Pattern:
    """``{name}`` matches one path segment, ``{name:path}`` the rest of the path."""
    parts = re.split(r"(\{[A-Za-z_][A-Za-z0-9_]*(?::path)?\})", template)
    regex = ""
    for p in parts:
        if p.startswith("{"):
            name, _, kind = p[1:-1].partition(":")
            regex += f"(?P<{name}>.*)" if kind == "path" else f"(?P<{name}>[^/]+)"
        else:
            regex += re.escape(p)
    return re.compile(f"^{regex}$")


class ServerThread:
    """uvicorn serving an ASGI app on 127.0.0.1 in a daemon thread (``ssl_options``
    are uvicorn's ``ssl_*`` settings, for an https server)."""

    def __init__(self, app: Any, *, ssl_options: dict[str, Any] | None = None):
        import uvicorn  # a plugwire dependency; imported here so pytest start-up stays light

        self.app = app
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.url = f"{'https' if ssl_options else 'http'}://127.0.0.1:{self.port}"
        config = uvicorn.Config(app, log_level="warning", lifespan="off", **(ssl_options or {}))
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.sock]}, daemon=True)

    def start(self) -> "ServerThread":
        """Start serving; returns self. Raises ``RuntimeError`` when it does not start."""
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("the test API server did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        """Stop serving and wait for the thread."""
        self.server.should_exit = True
        self.thread.join(timeout=10)
        self.sock.close()


class ProgrammableAPI:
    """An HTTP API on 127.0.0.1 whose routes the test defines. See the module docstring."""

    def __init__(self) -> None:
        self._routes: list[_Route] = []
        self._lock = threading.Lock()
        self.requests: list[RecordedRequest] = []
        self._thread: ServerThread | None = None

    # -- programming -----------------------------------------------------------------
    def route(
        self,
        method: str,
        path: str,
        *,
        json: Any = _UNSET,
        body: bytes | str = b"",
        status: int = 200,
        headers: dict[str, str] | None = None,
        content_type: str | None = None,
        handler: Handler | None = None,
        replies: list[Reply] | None = None,
    ) -> "ProgrammableAPI":
        """Answer ``method`` (``"*"`` for any) on ``path`` (``{name}`` matches one
        segment, ``{name:path}`` the rest of the path).

        Give a fixed reply (``json``/``body``, ``status``, ``headers``), a list of
        ``replies`` used in turn (the last one repeats), or a ``handler`` called with
        the :class:`RecordedRequest` that returns a :class:`Reply`, a ``(status,
        json)`` tuple, or a JSON value (status 200). A later route for the same
        request wins. Returns self, so routes chain.
        """
        if handler is None and not replies:
            replies = [Reply(status=status, json=json, body=body, headers=dict(headers or {}), content_type=content_type)]
        with self._lock:
            self._routes.append(_Route(method.upper(), path, _compile(path), handler, list(replies or [])))
        return self

    def reset(self) -> None:
        """Forget every route and recorded request."""
        with self._lock:
            self._routes.clear()
            self.requests.clear()

    def requests_to(self, method: str, path: str) -> list[RecordedRequest]:
        """Return the recorded requests with this method and decoded path."""
        return [r for r in self.requests if r.method == method.upper() and r.path == path]

    # -- serving ---------------------------------------------------------------------
    @property
    def url(self) -> str:
        """Return the base URL (``http://127.0.0.1:PORT``), starting the server if needed."""
        return self.start().url

    def start(self) -> ServerThread:
        """Start the server (once); returns its thread wrapper."""
        if self._thread is None:
            self._thread = ServerThread(self._app()).start()
        return self._thread

    def stop(self) -> None:
        """Stop the server, if it runs."""
        if self._thread is not None:
            self._thread.stop()
            self._thread = None

    def _match(self, method: str, path: str) -> tuple[_Route, dict[str, str]] | None:
        with self._lock:
            routes = list(reversed(self._routes))
        for r in routes:
            if r.method not in ("*", method):
                continue
            m = r.pattern.match(path)
            if m:
                return r, m.groupdict()
        return None

    def _next_reply(self, route: _Route) -> Reply:
        with self._lock:
            return route.replies.pop(0) if len(route.replies) > 1 else route.replies[0]

    def _app(self) -> Any:
        from starlette.applications import Starlette
        from starlette.concurrency import run_in_threadpool
        from starlette.responses import Response
        from starlette.routing import Route

        async def endpoint(request):
            raw_path = request.scope.get("raw_path") or request.url.path.encode()
            rec = RecordedRequest(
                method=request.method,
                path=request.url.path,
                raw_path=raw_path.decode("latin-1").split("?", 1)[0],
                query_string=request.scope.get("query_string", b"").decode("latin-1"),
                headers={k.decode("latin-1"): v.decode("latin-1") for k, v in request.scope["headers"]},
                body=await request.body(),
                base_url=self.start().url,
            )
            with self._lock:
                self.requests.append(rec)
            found = self._match(rec.method, unquote(rec.raw_path))
            if found is None:
                reply = Reply(404, json={"error": "no route", "method": rec.method, "path": rec.path,
                                         "routes": [f"{r.method} {r.template}" for r in self._routes]})
            else:
                route, rec.path_params = found
                if route.handler is not None:
                    reply = _as_reply(await run_in_threadpool(route.handler, rec))
                else:
                    reply = self._next_reply(route)
            content, ctype = reply.encode()
            headers = {"content-type": ctype, **reply.headers}
            return Response(content, status_code=reply.status, headers=headers)

        methods = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]
        return Starlette(routes=[Route("/{path:path}", endpoint, methods=methods)])


def _as_reply(value: Any) -> Reply:
    if isinstance(value, Reply):
        return value
    if isinstance(value, tuple) and len(value) == 2 and isinstance(value[0], int):
        return Reply(status=value[0], json=value[1])
    return Reply(json=value)
