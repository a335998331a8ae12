"""Sending every page of a paginated request: each page is a real request through
:func:`plugwire.core.http.send.send` (or its async twin), so auth, the network
policy, TLS, retries and the response cap apply to each as to a single request; a
``Retry-After`` on a page is honoured before the next one is asked for.

:func:`fetch_pages` serves the wizard (it may stop early at ``preview`` pages and say
whether more were left), :func:`fetch_pages_async` the recipe runner.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from plugwire.core.http.pagination import PageError, Pager, Pagination
from plugwire.core.http.retry import parse_retry_after

if TYPE_CHECKING:
    from plugwire.core.http.exchange import Exchange, RequestSpec
    from plugwire.core.http.retry import RetryPolicy

__all__ = ["Paged", "fetch_pages", "fetch_pages_async", "pause_before_next"]

_LONGEST_PAUSE = 120.0  # seconds; a page's Retry-After beyond this (or the retry policy's cap) is cut to it


@dataclass
class Paged:
    """What paging fetched: page 1's exchange, the :class:`Pager` (items, pages, why it
    stopped), the ``error`` of the page that failed (None when all went well), and
    ``more``: True when a ``preview`` bound stopped it with pages left."""

    first: "Exchange"
    pager: Pager
    error: PageError | None = None
    more: bool = False
    exchanges: list["Exchange"] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Return True when every page fetched answered 2xx with its records list."""
        return self.error is None and self.first.ok

    def report(self) -> dict[str, Any]:
        """Return the pager's report, with ``error`` and ``more`` (``at least`` when True)."""
        return {**self.pager.report(), "error": str(self.error) if self.error else None, "more": self.more}


def pause_before_next(exchange: "Exchange", retry: "RetryPolicy | None") -> float:
    """Return the seconds to wait before the next page: what a ``Retry-After`` header on
    this page asks (an API throttling a listing says so on a 2xx too), at most the retry
    policy's ``max_retry_after``; 0 without one."""
    r = exchange.response
    asked = parse_retry_after(next((v for k, v in r.headers.items() if k.lower() == "retry-after"), None)) if r is not None else None
    if not asked:
        return 0.0
    return min(asked, retry.max_retry_after if retry is not None else _LONGEST_PAUSE)


def _start(spec: "RequestSpec", pagination: Pagination) -> tuple[Pager, "RequestSpec"]:
    pager = Pager(pagination, spec)
    return pager, pager.first_request()


def _advance(paged: Paged, exchange: "Exchange", preview: int | None = None) -> "RequestSpec | None":
    """Record the page just fetched; return the next page's request, or None when paging
    ends (complete, a bound, ``preview`` pages with more left, or a page's error)."""
    paged.exchanges.append(exchange)
    try:
        paged.pager.take(exchange)
        request = paged.pager.next_request()
    except PageError as exc:
        paged.error = exc
        return None
    if request is not None and preview is not None and len(paged.pager.pages) >= preview:
        paged.more = True
        return None
    return request


def fetch_pages(spec: "RequestSpec", pagination: Pagination, *, preview: int | None = None, retry: "RetryPolicy | None" = None,
                **send_args: Any) -> Paged:
    """Send ``spec`` and its next pages as ``pagination`` says; returns the :class:`Paged`.

    ``preview`` stops after that many pages (``more`` says whether the list went on);
    ``send_args`` go to :func:`~plugwire.core.http.send.send` for every page. A page
    that fails, loops or has no records list is the result's ``error``, never raised.
    Raises what ``send`` raises for a request that cannot be built or is refused.
    """
    from plugwire.core.http.send import send

    pager, request = _start(spec, pagination)
    first = send(request, retry=retry, **send_args)
    paged = Paged(first, pager)
    exchange = first
    while (request := _advance(paged, exchange, preview)) is not None:
        time.sleep(pause_before_next(exchange, retry))
        exchange = send(request, retry=retry, **send_args)
    return paged


async def fetch_pages_async(spec: "RequestSpec", pagination: Pagination, *, retry: "RetryPolicy | None" = None,
                            **send_args: Any) -> Paged:
    """The asynchronous twin of :func:`fetch_pages` (no preview: a job fetches up to the bounds)."""
    from plugwire.core.http.send import send_async

    pager, request = _start(spec, pagination)
    first = await send_async(request, retry=retry, **send_args)
    paged = Paged(first, pager)
    exchange = first
    while (request := _advance(paged, exchange)) is not None:
        await asyncio.sleep(pause_before_next(exchange, retry))
        exchange = await send_async(request, retry=retry, **send_args)
    return paged
