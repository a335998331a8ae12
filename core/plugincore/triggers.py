"""What a trigger type is: the contract every trigger plugin fulfils.

A trigger type has a name, a pydantic model of its configuration, and knows the
shape of the events it emits (their datatree), so that datapills can point into
them before any event has arrived.

It also says how it delivers events, in one of three ways the server drives:

- over HTTP (``receives_http = True``): the server hands every request that arrives
  at the recipe's unguessable URL to :meth:`TriggerType.receive`, which returns the
  event and the response to give, or raises :class:`TriggerRefused`; the body is
  read first, within :meth:`TriggerType.max_body_bytes` and the server's body timeout;
- on a clock: the server asks :meth:`TriggerType.next_fire` when the next event is
  due and builds it with :meth:`TriggerType.event_at` (no I/O, one event per slot);
- by polling (``polls = True``): every :meth:`TriggerType.poll_interval` seconds the
  server calls :meth:`TriggerType.poll` in a worker thread with a
  :class:`PollContext`: an HTTP client that sends as the recipe's connection (under
  the server's network policy), a cursor kept in the store, and ``emit``, which
  stores each new event as a pending job, deduplicated by its id. A poll emits
  first and saves its cursor last, so a crash in between repeats nothing (the
  job store drops what it already holds) and misses nothing (the cursor was not
  moved). Two polls of one recipe never overlap.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, ClassVar, Literal, Union, get_args, get_origin

from pydantic import BaseModel, SecretStr

from plugwire.core.base.errors import PluginError

if TYPE_CHECKING:  # only for annotations: a trigger module need not import httpx2 or the store
    import httpx2

    from plugwire.core.storage.home import Home

__all__ = ["InboundRequest", "PollCancelled", "PollContext", "Received", "TriggerRefused", "TriggerType", "describe_model"]


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


class PollCancelled(Exception):
    """Raised by :meth:`PollContext.emit` once the recipe was stopped (or the server
    is shutting down) during the poll. Let it propagate: the poll ends without
    saving its cursor, so the next poll after a restart offers the same items again."""


class PollContext(ABC):
    """What a polling trigger's :meth:`TriggerType.poll` works with, for one poll of
    one recipe. plugwire builds it (the server's poller, or a one-shot command)."""

    #: The recipe being polled for.
    recipe: str
    #: The data folder (its store is where the cursor lives).
    home: "Home"

    @property
    @abstractmethod
    def client(self) -> "httpx2.Client":
        """Return the HTTP client to poll with: it sends as the connection that
        :meth:`TriggerType.poll_connection` names (its auth, TLS, agent route), or
        anonymously, and it carries the server's network policy, so a request (or a
        redirect) into loopback, link-local or private ranges raises
        ``NetworkPolicyError`` unless the connection is marked private-network.
        Built on first use and closed after the poll; raises ``AuthorizationRequired``
        when the connection's interactive auth has no token yet."""

    @abstractmethod
    def load_cursor(self) -> Any:
        """Return the cursor the last successful poll saved (JSON data), or None before the first."""

    @abstractmethod
    def save_cursor(self, cursor: Any) -> None:
        """Keep ``cursor`` (JSON-able data) in the store for the next poll, across restarts.

        Call it after the poll's last :meth:`emit`, never before."""

    @abstractmethod
    def emit(self, event: dict[str, Any], event_id: str) -> bool:
        """Store ``event`` durably as a pending job of the recipe, once per ``event_id``
        (the id of the item it reports: an event emitted again with the same id adds
        nothing). Returns True when a job was created, False for a repeat.

        Raises :class:`PollCancelled` when the recipe stopped during the poll, and
        ``PluginError`` for an event that is not a dict or an empty ``event_id``."""


class TriggerType(ABC):
    """Base class of trigger types; register instances from ``register_triggers``."""

    name: ClassVar[str]
    title: ClassVar[str]
    description: ClassVar[str] = ""
    #: The configuration fields (pydantic model).
    Config: ClassVar[type[BaseModel]]

    #: True for triggers whose events arrive as HTTP requests (see :meth:`receive`).
    receives_http: ClassVar[bool] = False
    #: True for triggers that find their events by polling an API (see :meth:`poll`).
    polls: ClassVar[bool] = False

    def describe_settings(self) -> list[dict[str, Any]]:
        """Return the settings of :attr:`Config`, one dict per field: ``name`` (dotted
        inside a section such as ``signature.secret``), ``type``, ``required``,
        ``default``, ``secret``, ``choices`` (for a field of fixed values, else None),
        ``section`` (True for a field holding other settings) and ``when`` (the
        choice of the section's kind this field belongs to, or None), with the
        field's ``description``. The default reads them from :attr:`Config`'s fields
        and their ``Field(description=...)``; a trigger may override it."""
        return describe_model(self.Config)

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

    def max_body_bytes(self, config: BaseModel) -> int | None:
        """Return the largest request body, in bytes, a recipe with ``config`` accepts
        (only when ``receives_http``), or None for the server's limit (the default;
        ``plugwire serve --max-body-bytes``, 1 MiB).

        Asked before the body is read: the server reads it as it arrives and answers
        413 once it passes the limit (or announces more), so :meth:`receive` never
        sees a larger one. A limit above the server's hard maximum (50 MiB) is
        lowered to it. Raises nothing.
        """
        return None

    def next_fire(self, config: BaseModel, started_at: datetime, after: datetime | None) -> datetime | None:
        """Return when the next event is due for a recipe started at ``started_at``
        (timezone-aware), strictly after ``after`` (None: the first event), or None
        for a trigger that does not fire on a clock (the default)."""
        return None

    def event_at(self, config: BaseModel, due: datetime, fired: datetime) -> dict[str, Any]:
        """Return the event of a clock trigger that was due at ``due`` and fired at ``fired``."""
        return {"scheduled_at": due.isoformat(), "fired_at": fired.isoformat()}

    def poll_interval(self, config: BaseModel) -> float:
        """Return the seconds between two polls of a recipe (only when ``polls``);
        the first poll of a started recipe is due at once."""
        raise PluginError(f"The trigger {self.name!r} does not poll.", field="trigger.type")

    def poll_connection(self, config: BaseModel) -> str | None:
        """Return the name of the connection the poll's client sends as, or None for
        an anonymous client. Default: the config's ``connection`` field, if any."""
        name = getattr(config, "connection", None)
        return name if isinstance(name, str) and name else None

    def poll(self, config: BaseModel, context: PollContext) -> None:
        """Look for new events and hand each to ``context.emit(event, event_id)``,
        then save the cursor with ``context.save_cursor`` (only when ``polls``).

        Runs in a worker thread, so blocking I/O through ``context.client`` is fine.
        Returns nothing. Any exception fails this poll: it is logged and recorded as
        the recipe's poll status, and the next poll is tried at the next interval.
        """
        raise PluginError(f"The trigger {self.name!r} does not poll.", field="trigger.type")


def describe_model(model: type[BaseModel], prefix: str = "", when: str | None = None) -> list[dict[str, Any]]:
    """Return the settings of ``model`` as :meth:`TriggerType.describe_settings` does,
    names prefixed with ``prefix``; fields of a nested model follow the field that holds it."""
    out: list[dict[str, Any]] = []
    for fname, info in model.model_fields.items():
        name, annotation = prefix + fname, info.annotation
        models = [a for a in _members(annotation) if isinstance(a, type) and issubclass(a, BaseModel)]
        default = None if info.is_required() else info.get_default(call_default_factory=True)
        entry = {"name": name, "type": _label(annotation), "required": info.is_required(), "secret": _secret(annotation),
                 "default": None if isinstance(default, (BaseModel, SecretStr)) else default, "choices": _choices(annotation),
                 "section": bool(models), "when": when, "description": info.description or ""}
        kinds = {m: _kind(m) for m in models}
        if len(models) > 1 and all(kinds.values()):
            entry.update(type="one of: " + ", ".join(kinds.values()), choices=list(kinds.values()))
        out.append(entry)
        for m in models:
            out.extend(f for f in describe_model(m, name + ".", kinds[m] if len(models) > 1 else when)
                       if not (len(models) > 1 and f["name"] == f"{name}.{_tag(m)}"))
    return out


def _members(annotation: Any) -> tuple[Any, ...]:
    if get_origin(annotation) is Union or type(annotation).__name__ == "UnionType":
        return tuple(a for a in get_args(annotation) if a is not type(None))
    return (annotation,)


def _tag(model: type[BaseModel]) -> str | None:
    """The field whose one fixed value tells a nested model apart (e.g. ``scheme``)."""
    for fname, info in model.model_fields.items():
        if get_origin(info.annotation) is Literal and len(get_args(info.annotation)) == 1:
            return fname
    return None


def _kind(model: type[BaseModel]) -> str | None:
    tag = _tag(model)
    return str(get_args(model.model_fields[tag].annotation)[0]) if tag else None


def _choices(annotation: Any) -> list[Any] | None:
    members = _members(annotation)
    if len(members) == 1 and get_origin(members[0]) is Literal:
        return list(get_args(members[0]))
    return None


def _secret(annotation: Any) -> bool:
    return any(a is SecretStr for a in _members(annotation))


_LABELS = {bool: "boolean", int: "integer", float: "number", str: "text", SecretStr: "secret text", dict: "mapping", list: "list"}


def _label(annotation: Any) -> str:
    labels = []
    for a in _members(annotation):
        if get_origin(a) is Literal:
            labels.append("one of: " + ", ".join(map(str, get_args(a))))
        elif isinstance(a, type) and issubclass(a, BaseModel):
            labels.append("section")
        else:
            labels.append(_LABELS.get(get_origin(a) or a, "JSON value"))
    return " or ".join(dict.fromkeys(labels))
