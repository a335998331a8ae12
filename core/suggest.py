"""Request suggesters: the contract, the shapes they return, and the merge.

A suggester gets a method, an absolute URL and (optionally) the connection the
request will go through, and proposes sample requests, each with a score in [0, 1]
and a reason a person can read. :func:`suggest` asks every registered suggester and
merges the answers, best first.
"""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, Field

__all__ = [
    "BodyFormat",
    "FieldConstraint",
    "SampleRequest",
    "Suggester",
    "Suggestion",
    "SuggestionResult",
    "suggest",
]

log = logging.getLogger(__name__)

BodyFormat = Literal["none", "json", "form", "multipart", "xml", "text", "binary"]


class FieldConstraint(BaseModel):
    """What an API accepts for one field of a request body or query.

    ``path`` is dotted (``venue.address.country``); list items use ``[]``.
    """

    path: str
    type: str | None = None
    required: bool = False
    pattern: str | None = None
    enum: list[Any] | None = None
    min_length: int | None = None
    max_length: int | None = None
    minimum: float | None = None
    maximum: float | None = None
    format: str | None = None
    description: str | None = None


class SampleRequest(BaseModel):
    """A request as the wizard pre-fills it: everything but the auth."""

    method: str
    url: str
    headers: dict[str, str] = Field(default_factory=dict)
    query: dict[str, Any] = Field(default_factory=dict)
    body: Any = None
    body_format: BodyFormat = "none"
    content_type: str | None = None


class Suggestion(BaseModel):
    """One proposal: which endpoint it believes the URL is, the sample, and why."""

    suggester: str
    score: float = Field(ge=0.0, le=1.0)
    reason: str
    request: SampleRequest
    provider: str | None = None
    provider_name: str | None = None
    endpoint: str | None = None  # "METHOD /path/{template}"
    summary: str | None = None
    docs_url: str | None = None
    constraints: list[FieldConstraint] = Field(default_factory=list)
    sample_response: Any = None
    learned: bool = False
    proven: bool = False


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


class Suggester(ABC):
    """Base class of request suggesters; register instances from ``register_suggesters``."""

    name: ClassVar[str]
    description: ClassVar[str] = ""

    @abstractmethod
    def suggest(self, method: str, url: str, connection: Any = None, *, limit: int = 5) -> list[Suggestion]:
        """Return up to ``limit`` suggestions for ``method`` and ``url``, best first.

        ``connection`` is the :class:`plugwire.core.connections.Connection` the
        request will use, or None. Return an empty list when nothing fits; the
        suggester applies its own cutoff.
        """


def suggest(method: str, url: str, connection: Any = None, *, limit: int = 5) -> SuggestionResult:
    """Ask every registered suggester and merge their answers, best score first.

    Returns a :class:`SuggestionResult`; a suggester that raises is reported in
    ``problems`` (naming it) and the others still answer.
    """
    from plugwire.core.plugins import suggesters

    merged: list[Suggestion] = []
    problems: list[str] = []
    for name, suggester in suggesters.items().items():
        try:
            found = suggester.suggest(method.upper(), url, connection, limit=limit)
        except Exception as exc:  # one broken suggester must not hide the others
            problems.append(f"suggester {name!r} failed: {type(exc).__name__}: {exc}")
            log.warning("suggester %s failed: %s", name, exc)
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
