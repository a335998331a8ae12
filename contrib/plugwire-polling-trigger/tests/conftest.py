"""A paginated list API on 127.0.0.1 (plugwire's programmable test server): items
newest first, a page at a time, each page naming the next."""

from __future__ import annotations

import threading

import pytest

import plugwire_polling_trigger


class ItemsAPI:
    """The items (oldest first) and how the API pages them."""

    def __init__(self, api, per_page: int = 3):
        self.api = api
        self.items: list[dict] = []
        self.per_page = per_page
        self.hold_page: int | None = None  # a page that waits until `release` is set
        self.release = threading.Event()
        api.route("GET", "/v1/items", handler=self.page)

    @property
    def url(self) -> str:
        return f"{self.api.url}/v1/items"

    def add(self, count: int) -> list[str]:
        start = len(self.items)
        new = [{"id": f"it-{n:04d}", "title": f"Item {n}", "created_at": f"2024-01-01T00:{n // 60:02d}:{n % 60:02d}Z"}
               for n in range(start, start + count)]
        self.items.extend(new)
        return [i["id"] for i in new]

    def page(self, req):
        number = int(req.query.get("page", "1"))
        if number == self.hold_page:
            self.release.wait(30)
        newest_first = list(reversed(self.items))
        chunk = newest_first[(number - 1) * self.per_page : number * self.per_page]
        more = number * self.per_page < len(newest_first)
        return {"data": chunk, "next_page": f"/v1/items?page={number + 1}" if more else None}


@pytest.fixture
def items_api(plugwire_api):
    return ItemsAPI(plugwire_api)


@pytest.fixture
def polling(plugwire_plugin):
    return plugwire_plugin(plugwire_polling_trigger)


class Agent:
    """A small forward proxy on 127.0.0.1 standing in for the on-premise agent of a
    private-network connection: it relays absolute-form GETs and records their URLs."""

    def __init__(self):
        import http.server

        import httpx2

        seen = self.seen = []

        class Relay(http.server.BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 (the stdlib's naming)
                seen.append(self.path)
                with httpx2.Client(trust_env=False, timeout=30) as client:
                    upstream = client.get(self.path)
                self.send_response(upstream.status_code)
                self.send_header("Content-Type", upstream.headers.get("content-type", "application/json"))
                self.send_header("Content-Length", str(len(upstream.content)))
                self.end_headers()
                self.wfile.write(upstream.content)

            def log_message(self, *args):  # keep pytest output clean
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Relay)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def agent():
    relay = Agent()
    yield relay
    relay.close()
