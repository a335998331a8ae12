"""What a trigger type is: the contract every trigger plugin fulfils.

A trigger type has a name, a pydantic model of its configuration, and knows the
shape of the events it emits (their datatree), so that datapills can point into
them before any event has arrived.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, ClassVar

from pydantic import BaseModel

__all__ = ["TriggerType"]


class TriggerType(ABC):
    """Base class of trigger types; register instances from ``register_triggers``."""

    name: ClassVar[str]
    title: ClassVar[str]
    description: ClassVar[str] = ""
    #: The configuration fields (pydantic model).
    Config: ClassVar[type[BaseModel]]

    @abstractmethod
    def sample_event(self, config: BaseModel) -> dict[str, Any]:
        """Return an example event for ``config``; its datatree is what pills may use."""
