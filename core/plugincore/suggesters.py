"""Request suggesters: the contract and the shapes they return.

A suggester gets a method, an absolute URL and (optionally) the connection the
request will go through, and proposes sample requests, each with a score in [0, 1]
and a reason a person can read. :func:`plugwire.core.wizard.suggest.suggest` asks
every registered suggester and merges the answers, best first.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, Field

__all__ = [
    "BodyFormat",
    "FieldConstraint",
    "SampleRequest",
    "Suggester",
    "Suggestion",
]

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
    pagination: dict[str, Any] | None = Field(
        None, description="how the endpoint's list is paged, as an action's pagination (style, records, ...); the wizard pre-fills it"
    )


class Suggester(ABC):
    """Base class of request suggesters; register instances from ``register_suggesters``."""

    name: ClassVar[str]
    description: ClassVar[str] = ""

    @abstractmethod
    def suggest(self, method: str, url: str, connection: Any = None, *, limit: int = 5) -> list[Suggestion]:
        """Return up to ``limit`` suggestions for ``method`` and ``url``, best first.

        ``connection`` is the :class:`plugwire.core.connections.model.Connection` the
        request will use, or None. Return an empty list when nothing fits; the
        suggester applies its own cutoff.
        """
