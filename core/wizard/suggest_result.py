"""The merged answer of every suggester as a pydantic model (imported on first use
through :mod:`plugwire.core.wizard.suggest`)."""

from __future__ import annotations

from pydantic import BaseModel, Field

from plugwire.core.plugincore.suggesters import Suggestion

__all__ = ["SuggestionResult"]


class SuggestionResult(BaseModel):
    """Every suggestion above the cutoff, best first, and a message when there is none."""

    method: str
    url: str
    suggestions: list[Suggestion]
    message: str | None = None
    problems: list[str] = Field(default_factory=list)
    notes: list[str] = Field(default_factory=list)  # what was assumed about the input (a scheme)

    @property
    def best(self) -> Suggestion | None:
        """Return the top suggestion, or None."""
        return self.suggestions[0] if self.suggestions else None
