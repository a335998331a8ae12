"""How an action declares that a list endpoint answers in pages: the
:class:`Pagination` block, shared by actions (:mod:`plugwire.core.http.pagination`
follows it), the catalogue format (an endpoint's ``pagination``) and suggestions.

Five styles: ``link_header`` (the ``Link`` header's ``rel="next"``, RFC 8288),
``next_url`` (a URL at a body path), ``cursor`` (a cursor at a body path, or a field
of the page's last item, sent back as a query parameter or body field),
``page_number`` and ``offset_limit`` (counted, with a stop rule: an empty page,
fewer items than the limit, a ``has_more`` flag or a total).
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

__all__ = ["STYLES", "Pagination"]

Style = Literal["link_header", "next_url", "cursor", "page_number", "offset_limit"]
STYLES: tuple[str, ...] = ("link_header", "next_url", "cursor", "page_number", "offset_limit")
StopRule = Literal["empty", "short", "has_more", "total"]


class Pagination(BaseModel):
    """How an action fetches the rest of a list: the style, its options, the records
    path and the bounds. Checked when the action is saved; a missing option is named."""

    model_config = ConfigDict(extra="forbid")

    style: Style
    records: str | None = Field(None, description="dotted path of the list in each page's body (data, results); none: the body is the list")
    next_path: str | None = Field(None, description="next_url and cursor: dotted path of the next URL or cursor in the body (paging.next, meta.next_token)")
    cursor_last_item: str | None = Field(None, description="cursor: the field of the page's last item sent as the cursor (Stripe's id)")
    cursor_param: str | None = Field(None, description="cursor: the query parameter or body field the cursor is sent as")
    cursor_in: Literal["query", "body"] = "query"
    page_param: str = Field("page", description="page_number: the query parameter of the page number")
    start_page: int = Field(1, ge=0, description="page_number: the first page's number")
    offset_param: str = Field("offset", description="offset_limit: the query parameter of the offset")
    limit_param: str = Field("limit", description="page_number (optional) and offset_limit: the query parameter of the page size")
    limit: int | None = Field(None, ge=1, le=100_000, description="the page size asked for (offset_limit: required)")
    stop: StopRule | None = Field(None, description="when counted pages stop besides an empty page: short, has_more or total")
    has_more_path: str | None = Field(None, description="dotted path of a flag that is false on the last page (has_more)")
    total_path: str | None = Field(None, description="dotted path of the total number of items")
    max_pages: int = Field(10, ge=1, le=10_000, description="at most this many pages (the first included)")
    max_items: int | None = Field(None, ge=1, le=10_000_000, description="at most this many items gathered")

    @model_validator(mode="after")
    def _complete(self) -> "Pagination":
        needs: list[tuple[bool, str, str]] = [
            (self.style == "next_url" and not self.next_path, "next_path", "the body path of the next page's URL (paging.next)"),
            (self.style == "cursor" and not (self.next_path or self.cursor_last_item), "next_path",
             "the body path of the next cursor (next_cursor), or cursor_last_item (id)"),
            (self.style == "cursor" and not self.cursor_param, "cursor_param", "the query parameter or body field the cursor goes in"),
            (self.style == "offset_limit" and self.limit is None, "limit", "the page size to ask for"),
            (self.stop == "short" and self.limit is None, "limit", "the page size a short page is shorter than"),
            (self.stop == "has_more" and not self.has_more_path, "has_more_path", "the body path of the has-more flag"),
            (self.stop == "total" and not self.total_path, "total_path", "the body path of the total"),
        ]
        for missing, field, what in needs:
            if missing:
                raise ValueError(f"pagination style {self.style}{' with stop ' + self.stop if self.stop else ''} needs {field}: {what}")
        return self

    def summary(self) -> str:
        """Return one line saying how the pages are fetched (for the wizard and ``actions show``)."""
        how = {
            "link_header": "the Link header's next link",
            "next_url": f"the next URL at {self.next_path}",
            "cursor": f"the cursor {'at ' + self.next_path if self.next_path else 'from the last item ' + str(self.cursor_last_item)} "
                      f"sent as {self.cursor_in} {self.cursor_param}",
            "page_number": f"{self.page_param}={self.start_page}, {self.start_page + 1}...",
            "offset_limit": f"{self.offset_param} and {self.limit_param}={self.limit}",
        }[self.style]
        bound = f"at most {self.max_pages} pages" + (f" and {self.max_items} items" if self.max_items else "")
        return f"{self.style}: {how}; items at {self.records or '(the body)'}; {bound}"
