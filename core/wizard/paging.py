"""The wizard's side of pagination: a choice read from plain data (the CLI's flags,
the console's form), and the catalogue's suggestion turned into one."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from plugwire.core.base.errors import UserInputError, format_validation_error
from plugwire.core.http.pagination import Pagination
from plugwire.core.plugincore.suggesters import Suggestion

__all__ = ["pages_line", "pagination_from", "suggested_pagination"]


def pagination_from(data: "dict[str, Any] | Pagination | None") -> Pagination | None:
    """Return ``data`` as a :class:`Pagination` (None stays None).

    Raises ``UserInputError`` (field ``pagination``) naming the option missing or wrong.
    """
    if data is None or isinstance(data, Pagination):
        return data
    try:
        return Pagination.model_validate(data)
    except ValidationError as exc:
        raise UserInputError("Invalid pagination: " + format_validation_error(exc), field="pagination",
                             fix="give the style's options (see `plugwire actions new --help`)") from None


def suggested_pagination(s: Suggestion | None, method: str) -> tuple[Pagination | None, str | None]:
    """Return the pagination ``s`` knows for a ``method`` request and a note saying so,
    or ``(None, None)``. Only a GET lists; a hint that does not fit the format is skipped
    (a catalogue's mistake is no reason to stop the wizard)."""
    if s is None or not s.pagination or method != "GET":
        return None, None
    try:
        found = Pagination.model_validate(s.pagination)
    except ValidationError:
        return None, None
    return found, f"The catalogue says how this list is paged: {found.summary()}."


def pages_line(pages: dict[str, Any]) -> str:
    """Return one line saying what paging fetched: pages, items, why it stopped, or the
    error of the page that failed; "at least" when the wizard's preview stopped early."""
    if pages.get("error"):
        return f"Paging stopped after {pages['pages']} page(s), {pages['items']} item(s): {pages['error']}"
    if pages.get("more"):
        return (f"The action would fetch at least {pages['pages'] + 1} pages: the wizard fetched {pages['pages']} "
                f"({pages['items']} items) and stopped with more to come.")
    return f"The action would fetch {pages['pages']} page(s), {pages['items']} item(s) (stopped: {pages['stopped']})."
