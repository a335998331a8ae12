"""How a list endpoint's other pages are fetched: the :class:`Pagination` an action
declares, and the :class:`Pager` that reads each page and says what to request next.

Five styles: ``link_header`` (the ``Link`` header's ``rel="next"``, RFC 8288),
``next_url`` (a URL at a path in the body), ``cursor`` (a cursor at a path in the
body, or a field of the page's last item, sent back as a query parameter or a body
field), ``page_number`` and ``offset_limit`` (counted, with a stop rule). Items are
gathered from the ``records`` path of every page, up to ``max_pages`` and
``max_items``. Nothing here sends anything: :mod:`plugwire.core.http.pages` sends each
page through the connection, as a single request is sent.
"""

from __future__ import annotations

import copy
import re
from typing import Any
from urllib.parse import urljoin, urlsplit

from plugwire.core.base.errors import PlugwireError
from plugwire.core.plugincore.pagination import STYLES, Pagination

__all__ = ["STYLES", "PageError", "Pager", "Pagination", "next_link", "value_at_path"]


class PageError(PlugwireError):
    """A page beyond the first failed, repeated an earlier one, or held no records list."""


_PATH = re.compile(r"\[(\d+)\]")


def value_at_path(data: Any, path: str | None) -> Any:
    """Return the value at dotted ``path`` in ``data`` (``meta.next_token``,
    ``results[0].id`` or ``results.0.id``); ``data`` itself for an empty path; None when absent."""
    if not path:
        return data
    for key in _PATH.sub(r".\1", path).split("."):
        if isinstance(data, dict):
            data = data.get(key)
        elif isinstance(data, list) and key.isdigit() and int(key) < len(data):
            data = data[int(key)]
        else:
            return None
    return data


_LINK = re.compile(r"<([^>]*)>((?:\s*;\s*[^;,]*)*)")


def next_link(header: str | None) -> str | None:
    """Return the target of the ``rel="next"`` link of a ``Link`` header value (RFC 8288), or None."""
    for target, params in _LINK.findall(header or ""):
        for param in params.split(";"):
            name, _, value = param.strip().partition("=")
            if name.strip().lower() == "rel" and "next" in value.strip().strip('"').lower().split():
                return target.strip()
    return None


def _set_field(body: Any, path: str, value: Any) -> Any:
    """Return a copy of the mapping ``body`` with ``value`` at dotted ``path``."""
    out = copy.deepcopy(body) if isinstance(body, dict) else {}
    node = out
    keys = path.split(".")
    for key in keys[:-1]:
        if not isinstance(node.get(key), dict):
            node[key] = {}
        node = node[key]
    node[keys[-1]] = value
    return out


def _origin(url: str) -> tuple[str, str, int | None]:
    parts = urlsplit(url)
    return parts.scheme, (parts.hostname or "").lower(), parts.port


class Pager:
    """Reads the pages of one paginated request, in order, and says what to ask next.

    ``take(page, exchange)`` judges each page's exchange (raising ``PageError`` for a
    failing page or a body without the records list) and gathers its items;
    ``next_request()`` returns the next :class:`RequestSpec`, or None when a stop rule,
    the last page or a bound says the list is complete (``stopped`` says which).
    """

    def __init__(self, pagination: Pagination, first: Any):
        """``first``: the :class:`~plugwire.core.http.exchange.RequestSpec` of page 1."""
        self.p = pagination
        self.first = first
        self.current = first
        self.items: list[Any] = []
        self.pages: list[dict[str, Any]] = []  # per page: page, url, status, items
        self.stopped: str | None = None
        self.body: Any = None
        self.headers: dict[str, str] = {}
        self._last_count = 0
        self._last_found: list[Any] = []
        self._seen: dict[tuple, int] = {self._key(first): 1}

    @staticmethod
    def _key(spec: Any) -> tuple:
        return (spec.url, repr(sorted((str(k), repr(v)) for k, v in spec.query.items())), repr(spec.body))

    def take(self, exchange: Any) -> list[Any]:
        """Judge the exchange of the page just sent and gather its items; returns them.

        Raises ``PageError`` naming the page when it failed (an error status or a
        network failure) or its body has no list at the records path.
        """
        n = len(self.pages) + 1
        r = exchange.response
        self.pages.append({"page": n, "url": exchange.request.url, "status": r.status if r is not None else None, "items": 0})
        if not exchange.ok:
            raise PageError(f"Page {n} ({exchange.request.url}) failed: {exchange.message}", field="pagination",
                            fix="the pages before it were fetched; run the step again once the API answers")
        body = r.body if r.format in ("json", "xml") else None
        found = value_at_path(body, self.p.records)
        if found is None and body is not None and self.p.records and isinstance(body, dict):
            found = []  # a last page may leave the list out
        if not isinstance(found, list):
            where = f"at {self.p.records!r}" if self.p.records else "as its body"
            raise PageError(f"Page {n} ({exchange.request.url}) has no list of records {where}.", field="pagination.records",
                            fix="set pagination's records to the body path of the list (data, results, items)")
        room = None if self.p.max_items is None else self.p.max_items - len(self.items)
        taken = found if room is None else found[: max(room, 0)]
        self.items.extend(taken)
        self.pages[-1]["items"] = len(found)
        self.body, self.headers, self._last_count = body, dict(r.headers), len(found)
        self._last_found = found
        return taken

    def next_request(self) -> Any:
        """Return the next page's request, or None when the list is complete (see ``stopped``).

        Raises ``PageError`` when the next page would repeat one already fetched (a
        cursor or next URL that loops) or leave the first page's host.
        """
        spec = self._next()
        if spec is None:
            return None
        if len(self.pages) >= self.p.max_pages:
            self.stopped = f"max_pages ({self.p.max_pages}) reached"
            return None
        key = self._key(spec)
        if key in self._seen:
            raise PageError(
                f"Page {len(self.pages) + 1} would repeat page {self._seen[key]} ({spec.url}): the API sent the same "
                f"{'next URL' if self.p.style in ('link_header', 'next_url') else 'cursor'} again, so paging stopped "
                "instead of looping.", field="pagination", fix="check the pagination's style and next_path for this endpoint",
            )
        self._seen[key] = len(self.pages) + 1
        self.current = spec
        return spec

    def _stop(self, why: str) -> None:
        self.stopped = why

    def _next(self) -> Any:
        p = self.p
        if p.max_items is not None and len(self.items) >= p.max_items:
            return self._stop(f"max_items ({p.max_items}) reached")
        if self._last_count == 0:
            return self._stop("an empty page")
        if p.stop == "short" and p.limit is not None and self._last_count < p.limit:
            return self._stop(f"a page of fewer than {p.limit} items")
        if p.has_more_path and value_at_path(self.body, p.has_more_path) in (False, "false", 0, None):
            return self._stop(f"{p.has_more_path} is false")
        if p.stop == "total" or p.total_path:
            total = value_at_path(self.body, p.total_path)
            if isinstance(total, (int, float)) and not isinstance(total, bool) and self._gathered() >= total:
                return self._stop(f"all {int(total)} items ({p.total_path})")
        if p.style in ("link_header", "next_url"):
            if p.style == "link_header":
                target = next_link(next((v for k, v in self.headers.items() if k.lower() == "link"), None))
            else:
                target = value_at_path(self.body, p.next_path)
            if not target or not isinstance(target, str):
                return self._stop("no next link" if p.style == "link_header" else f"no next URL at {p.next_path}")
            url = urljoin(self.current.url, target)
            if _origin(url) != _origin(self.first.url):
                raise PageError(
                    f"Page {len(self.pages)}'s next URL goes to another host ({url}): the connection's credentials are "
                    "not sent there.", field="pagination", fix="page only within the API's own host",
                )
            return self.current.model_copy(update={"url": url, "query": {}})
        if p.style == "cursor":
            if p.next_path:
                cursor = value_at_path(self.body, p.next_path)
            else:
                last = self._last_found[-1] if self._last_found else None
                cursor = value_at_path(last, p.cursor_last_item) if last is not None else None
            if cursor in (None, "") or isinstance(cursor, (dict, list)):
                return self._stop("no next cursor")
            if p.cursor_in == "body":
                return self.current.model_copy(update={"body": _set_field(self.current.body, p.cursor_param, cursor)})
            return self.current.model_copy(update={"query": {**self.current.query, p.cursor_param: cursor}})
        if p.style == "page_number":
            query = {**self.current.query, p.page_param: p.start_page + len(self.pages)}
        else:
            query = {**self.current.query, p.offset_param: self._offset_start() + self._gathered(), p.limit_param: p.limit}
        return self.current.model_copy(update={"query": query})

    def _gathered(self) -> int:
        return sum(page["items"] for page in self.pages)

    def _offset_start(self) -> int:
        value = self.first.query.get(self.p.offset_param, 0)
        try:
            return int(value)
        except (TypeError, ValueError):
            return 0

    def first_request(self) -> Any:
        """Return page 1's request: the first request with the counted style's parameters
        filled in where it does not set them already."""
        p, query = self.p, dict(self.first.query)
        if p.style == "page_number":
            query.setdefault(p.page_param, p.start_page)
            if p.limit is not None:
                query.setdefault(p.limit_param, p.limit)
        elif p.style == "offset_limit":
            query.setdefault(p.offset_param, 0)
            query.setdefault(p.limit_param, p.limit)
        if query != self.first.query:
            self.first = self.current = self.first.model_copy(update={"query": query})
            self._seen = {self._key(self.first): 1}
        return self.first

    def report(self) -> dict[str, Any]:
        """Return what paging did: ``pages`` (count), ``items`` (count), ``stopped`` (why) and each page's summary."""
        return {"pages": len(self.pages), "items": len(self.items), "stopped": self.stopped, "summaries": list(self.pages)}
