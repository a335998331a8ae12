"""What a trigger type is: the contract every trigger plugin fulfils.

A trigger type has a name, a pydantic model of its configuration, and knows the
shape of the events it emits (their datatree), so that datapills can point into
them before any event has arrived.

It also says how it delivers events, in one of two ways the server drives:

- over HTTP (``receives_http = True``): the server hands every request that arrives
  at the recipe's unguessable URL to :meth:`TriggerType.receive`, which returns the
  event and the response to give, or raises :class:`TriggerRefused`;
- on a clock: the server asks :meth:`TriggerType.next_fire` when the next event is
  due and builds it with :meth:`TriggerType.event_at`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar

from pydantic import BaseModel

from plugwire.core.errors import PluginError

__all__ = ["InboundRequest", "Received", "TriggerRefused", "TriggerType"]


@dataclass
class InboundRequest:
    """An HTTP request as a trigger sees it: header names lower-cased, the raw body."""

    method: str
    headers: dict[str, str]
    query: dict[str, Any]
    body: bytes
    received_at: datetime


@dataclass
class Received:
    """What :meth:`TriggerType.receive` made of a request: the event, an id that
    identifies a re-delivery of the same event (or None), and the response."""

    event: dict[str, Any]
    event_id: str | None = None
    status: int = 200
    body: bytes = b""
    content_type: str = "application/json"
    headers: dict[str, str] = field(default_factory=dict)


class TriggerRefused(Exception):
    """A request a trigger will not turn into an event; ``status`` is the answer to give."""

    def __init__(self, status: int, message: str):
        self.status = status
        self.message = message
        super().__init__(message)


class TriggerType(ABC):
    """Base class of trigger types; register instances from ``register_triggers``."""

    name: ClassVar[str]
    title: ClassVar[str]
    description: ClassVar[str] = ""
    #: The configuration fields (pydantic model).
    Config: ClassVar[type[BaseModel]]

    #: True for triggers whose events arrive as HTTP requests (see :meth:`receive`).
    receives_http: ClassVar[bool] = False

    @abstractmethod
    def sample_event(self, config: BaseModel) -> dict[str, Any]:
        """Return an example event for ``config``; its datatree is what pills may use."""

    def dynamic_paths(self, config: BaseModel) -> list[str]:
        """Return the event paths (dotted, e.g. ``headers``) under which any key may
        appear, so a pill such as ``trigger.headers.x-request-id`` is accepted even
        though the sample event lacks it. Default: none."""
        return []

    def receive(self, config: BaseModel, request: InboundRequest) -> Received:
        """Turn an HTTP request into an event (only when ``receives_http``).

        Returns a :class:`Received`; raises :class:`TriggerRefused` with the status
        to answer (a bad signature, an unreadable payload).
        """
        raise PluginError(f"The trigger {self.name!r} does not receive HTTP requests.", field="trigger.type")

    def next_fire(self, config: BaseModel, started_at: datetime, after: datetime | None) -> datetime | None:
        """Return when the next event is due for a recipe started at ``started_at``
        (timezone-aware), strictly after ``after`` (None: the first event), or None
        for a trigger that does not fire on a clock (the default)."""
        return None

    def event_at(self, config: BaseModel, due: datetime, fired: datetime) -> dict[str, Any]:
        """Return the event of a clock trigger that was due at ``due`` and fired at ``fired``."""
        return {"scheduled_at": due.isoformat(), "fired_at": fired.isoformat()}
