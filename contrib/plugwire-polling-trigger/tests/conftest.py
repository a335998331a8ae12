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
