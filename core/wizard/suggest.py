"""Asking every registered suggester for a sample request, and merging the answers
into one ranked list (:func:`suggest`)."""

from __future__ import annotations

import logging
from typing import Any

from pydantic import BaseModel, Field

from plugwire.core.base.errors import PlugwireError
from plugwire.core.plugincore.manager import suggesters
from plugwire.core.plugincore.suggesters import Suggestion

__all__ = ["SuggestionResult", "suggest"]

log = logging.getLogger(__name__)


class SuggestionResult(BaseModel):
    """Every suggestion above the cutoff, best first, and a message when there is none."""

    method: str
    url: str
    suggestions: list[Suggestion]
    message: str | None = None
    problems: list[str] = Field(default_factory=list)

    @property
    def best(self) -> Suggestion | None:
        """Return the top suggestion, or None."""
        return self.suggestions[0] if self.suggestions else None



def suggest(method: str, url: str, connection: Any = None, *, limit: int = 5) -> SuggestionResult:
    """Ask every registered suggester and merge their answers, best score first.

    Returns a :class:`SuggestionResult`; a suggester that raises is reported in
    ``problems`` (naming it) and the others still answer.
    """
    merged: list[Suggestion] = []
    problems: list[str] = []
    for name, suggester in suggesters.items().items():
        try:
            found = suggester.suggest(method.upper(), url, connection, limit=limit)
        except Exception as exc:  # one broken suggester must not hide the others
            problems.append(f"suggester {name!r} failed: {type(exc).__name__}: {exc}")
            # A PlugwireError is the input's fault; anything else is a bug whose traceback the log keeps.
            log.warning("suggester %s failed: %s", name, exc, exc_info=not isinstance(exc, PlugwireError))
            continue
        for s in found:
            if not isinstance(s, Suggestion):
                problems.append(f"suggester {name!r} returned {type(s).__name__}, not a Suggestion")
                continue
            merged.append(s)
    merged.sort(key=lambda s: (-s.score, s.suggester, s.endpoint or ""))
    merged = _dedupe(merged)[:limit]
    message = None
    if not merged:
        message = (
            f"No suggestion for {method.upper()} {url}: no known endpoint matched well enough. "
            "Start from a blank request, or import a cURL command or an OpenAPI document."
        )
    return SuggestionResult(method=method.upper(), url=url, suggestions=merged, message=message, problems=problems)


def _dedupe(items: list[Suggestion]) -> list[Suggestion]:
    """Keep the best-scored suggestion per (provider, endpoint, learned)."""
    seen: set[tuple] = set()
    out = []
    for s in items:
        key = (s.suggester, s.provider, s.endpoint, s.learned) if s.endpoint else (id(s),)
        if key in seen:
            continue
        seen.add(key)
        out.append(s)
    return out
