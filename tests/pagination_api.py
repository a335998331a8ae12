"""A local list API that pages its seven items in every style plugwire follows, for
the pagination tests: each route checks the bearer token on every page and records
what it was asked.

Routes (three items a page unless the request asks otherwise):

- ``/link?page=N``: the next page in the ``Link`` header (RFC 8288)
- ``/next?after=N``: ``{"data": [...], "paging": {"next": "/next?after=3"}}`` (a relative URL)
- ``/cursor?cursor=C``: ``{"results": [...], "meta": {"next_token": C}}``
- ``/search`` (POST, the cursor in the body's ``cursor`` field): ``{"results": [...], "next_cursor": C}``
- ``/stripe?starting_after=ID``: ``{"data": [...], "has_more": bool}``
- ``/pages?page=N&per_page=K``: ``{"items": [...], "total": 7}``
- ``/offset?offset=N&limit=K``: ``{"results": [...]}``
- ``/loop``: a cursor that repeats on the second page
- ``/failing?page=N``: page 2 answers 500
- ``/throttled?page=N``: page 2 answers 429 with ``Retry-After: 0`` once, then its items
- ``/away``: a next link to another host
"""

from __future__ import annotations

from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

TOKEN = "pager-token-48213"
ITEMS = [{"id": f"it_{n}", "n": n} for n in range(1, 8)]
SIZE = 3


class PagingAPI:
    """The app and what it saw: ``seen`` is a list of ``(path, query dict, body)``."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, dict[str, str], Any]] = []
        self.throttled_once = False
        routes = [
            Route("/link", self.link), Route("/next", self.next_url), Route("/cursor", self.cursor),
            Route("/search", self.search, methods=["POST"]), Route("/stripe", self.stripe), Route("/pages", self.pages),
            Route("/offset", self.offset), Route("/loop", self.loop), Route("/failing", self.failing),
            Route("/throttled", self.throttled), Route("/away", self.away),
        ]
        self.app = Starlette(routes=routes)
        self.app.middleware_stack = None
        self.app.add_middleware(_Auth, api=self)

    def paths(self, path: str) -> list[dict[str, str]]:
        """Return the query of every request made to ``path``, in order."""
        return [q for p, q, _ in self.seen if p == path]

    @staticmethod
    def _int(request: Request, name: str, default: int) -> int:
        return int(request.query_params.get(name, default))

    async def link(self, request: Request) -> JSONResponse:
        page = self._int(request, "page", 1)
        chunk = ITEMS[(page - 1) * SIZE: page * SIZE]
        headers = {}
        if page * SIZE < len(ITEMS):
            base = str(request.url).split("?")[0]
            headers["Link"] = f'<{base}?page={page + 1}>; rel="next", <{base}?page=3>; rel="last"'
        return JSONResponse(chunk, headers=headers)

    async def next_url(self, request: Request) -> JSONResponse:
        after = self._int(request, "after", 0)
        nxt = f"/next?after={after + SIZE}" if after + SIZE < len(ITEMS) else None
        return JSONResponse({"data": ITEMS[after: after + SIZE], "paging": {"next": nxt}})

    async def cursor(self, request: Request) -> JSONResponse:
        start = int(request.query_params.get("cursor", "c0")[1:])
        end = start + SIZE
        return JSONResponse({"results": ITEMS[start:end], "meta": {"next_token": f"c{end}" if end < len(ITEMS) else None}})

    async def search(self, request: Request) -> JSONResponse:
        body = await request.json()
        start = int((body.get("cursor") or "c0")[1:])
        end = start + SIZE
        return JSONResponse({"results": ITEMS[start:end], "next_cursor": f"c{end}" if end < len(ITEMS) else ""})

    async def stripe(self, request: Request) -> JSONResponse:
        after = request.query_params.get("starting_after")
        start = next((i + 1 for i, it in enumerate(ITEMS) if it["id"] == after), 0)
        limit = self._int(request, "limit", SIZE)
        return JSONResponse({"object": "list", "data": ITEMS[start:start + limit], "has_more": start + limit < len(ITEMS)})

    async def pages(self, request: Request) -> JSONResponse:
        page, size = self._int(request, "page", 1), self._int(request, "per_page", SIZE)
        return JSONResponse({"items": ITEMS[(page - 1) * size: page * size], "total": len(ITEMS)})

    async def offset(self, request: Request) -> JSONResponse:
        offset, limit = self._int(request, "offset", 0), self._int(request, "limit", SIZE)
        return JSONResponse({"results": ITEMS[offset: offset + limit]})

    async def loop(self, request: Request) -> JSONResponse:
        cursor = request.query_params.get("cursor")
        return JSONResponse({"results": ITEMS[:SIZE] if cursor is None else ITEMS[SIZE:2 * SIZE], "next": "again"})

    async def failing(self, request: Request) -> JSONResponse:
        page = self._int(request, "page", 1)
        if page == 2:
            return JSONResponse({"error": "page store unavailable"}, status_code=500)
        return JSONResponse({"data": ITEMS[(page - 1) * SIZE: page * SIZE]})

    async def throttled(self, request: Request) -> JSONResponse:
        page = self._int(request, "page", 1)
        if page == 2 and not self.throttled_once:
            self.throttled_once = True
            return JSONResponse({"error": "slow down"}, status_code=429, headers={"Retry-After": "0"})
        return JSONResponse({"data": ITEMS[(page - 1) * SIZE: page * SIZE]})

    async def away(self, request: Request) -> JSONResponse:
        return JSONResponse(ITEMS[:SIZE], headers={"Link": '<http://elsewhere.invalid/away?page=2>; rel="next"'})


class _Auth:
    """Refuses a request without the bearer token (every page must carry the connection's auth); records each request."""

    def __init__(self, app, api: PagingAPI):
        self.app, self.api = app, api

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        request = Request(scope, receive)
        body = await request.body()
        import json

        self.api.seen.append((request.url.path, dict(request.query_params), json.loads(body) if body else None))
        if request.headers.get("authorization") != f"Bearer {TOKEN}":
            return await JSONResponse({"error": "no token"}, status_code=401)(scope, receive, send)

        async def replay():
            return {"type": "http.request", "body": body, "more_body": False}

        return await self.app(scope, replay, send)
