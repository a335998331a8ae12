"""The shapes a request suggester returns, as pydantic models: a suggestion, its
sample request and the constraints of the request's fields.

Imported on first use through :mod:`plugwire.core.plugincore.suggesters` (pydantic
costs `plugwire suggest` a third of its start-up; the command reads the same
suggestions as plain data in these models' JSON form).
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from plugwire.core.plugincore.suggestion_form import BodyFormat

__all__ = ["FieldConstraint", "SampleRequest", "Suggestion"]


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
