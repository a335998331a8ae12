"""Request suggesters: the contract and the shapes they return.

A suggester gets a method, an absolute URL and (optionally) the connection the
request will go through, and proposes sample requests, each with a score in [0, 1]
and a reason a person can read. :func:`plugwire.core.wizard.suggest.suggest` asks
every registered suggester and merges the answers, best first.

A suggestion is a :class:`Suggestion` (pydantic); the same suggestion in the model's
JSON form (``Suggestion.model_dump(mode="json")``) is its *data*. A suggester may
answer in data too (:meth:`Suggester.suggest_data`), which lets ``plugwire suggest``
answer without importing pydantic: :func:`data_problem` checks, in plain Python, that
an answer is exactly that JSON form, and whatever it does not vouch for is validated
by the model. The models are imported from :mod:`.suggestion_models` on first use.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import TYPE_CHECKING, Any, ClassVar

from plugwire.core.plugincore.suggestion_form import (
    BODY_FORMATS,
    CONSTRAINT_FIELDS,
    REQUEST_FIELDS,
    SUGGESTION_FIELDS,
    BodyFormat,
    constraint_data,
    data_problem,
)

if TYPE_CHECKING:
    from plugwire.core.plugincore.suggestion_models import FieldConstraint, SampleRequest, Suggestion

__all__ = [
    "BODY_FORMATS",
    "BodyFormat",
    "CONSTRAINT_FIELDS",
    "FieldConstraint",
    "REQUEST_FIELDS",
    "SUGGESTION_FIELDS",
    "SampleRequest",
    "Suggester",
    "Suggestion",
    "constraint_data",
    "data_problem",
]


_MODELS = frozenset(("FieldConstraint", "SampleRequest", "Suggestion"))


def __getattr__(name: str) -> Any:
    # The pydantic models, imported when first asked for (PEP 562).
    if name in _MODELS:
        from plugwire.core.plugincore import suggestion_models

        value = getattr(suggestion_models, name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


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

    def suggest_data(self, method: str, url: str, connection: Any = None, *, limit: int = 5) -> list[dict[str, Any]]:
        """Return what :meth:`suggest` returns, each suggestion in its JSON form
        (``Suggestion.model_dump(mode="json")``: every field, in the model's order).

        Override it when the suggester can answer without building the models (the
        built-in knowledge suggester does): ``plugwire suggest`` then never imports
        pydantic. Data that :func:`data_problem` finds fault with is validated by the
        model (and refused with pydantic's message if it does not fit).
        """
        return [s.model_dump(mode="json") for s in self.suggest(method, url, connection, limit=limit)]
