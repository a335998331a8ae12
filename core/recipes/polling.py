"""Polling triggers, one poll at a time: :func:`poll_once` is the whole of one poll
of one recipe, shared by the server's poller (:mod:`plugwire.core.server.poller`)
and by one-shot runs (``plugwire recipes poll --once``, from cron). It builds the
:class:`PollContext` (the connection's client under the network policy, the cursor
in the store, ``emit`` into the job store), runs the trigger's ``poll`` and records
the outcome in the store's ``poll_status`` table. A failing poll is logged,
recorded there (the error, how many polls in a row failed) and tried again at the
next interval.

Two polls of one recipe never overlap across processes: each poll holds its recipe's
lock (``ConfigStore.try_hold``: a lock file in the data folder, or a PostgreSQL
advisory lock across machines); a poll that finds it held is skipped.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any, Callable

import httpx2

from plugwire.core.base.clock import now_iso
from plugwire.core.base.errors import PluginError, PlugwireError
from plugwire.core.connections.model import Connections
from plugwire.core.http.netpolicy import NetworkPolicy
from plugwire.core.http.outcomes import classify_error, redact
from plugwire.core.http.send import open_client
from plugwire.core.http.stream import cap_responses
from plugwire.core.plugincore.triggers import PollCancelled, PollContext
from plugwire.core.recipes.model import POLL_CURSORS as CURSOR_TABLE
from plugwire.core.recipes.model import POLL_STATUS as STATUS_TABLE
from plugwire.core.recipes.model import Recipe, Recipes
from plugwire.core.storage.jobs import JobStore

if TYPE_CHECKING:
    from plugwire.core.storage.home import Home

__all__ = [
    "CURSOR_TABLE",
    "STATUS_TABLE",
    "PollReport",
    "StorePollContext",
    "dedupe_key",
    "poll_due",
    "poll_due_at",
    "poll_once",
    "poll_status",
]

log = logging.getLogger(__name__)



def dedupe_key(recipe: str, event_id: str) -> str:
    """Return the job store's dedupe key of the event ``event_id`` of ``recipe``'s polls."""
    return f"poll:{recipe}:{event_id}"


def poll_status(home: "Home", recipe: str) -> dict[str, Any] | None:
    """Return the recorded outcome of ``recipe``'s last poll, or None before the first:
    ``last_poll`` (ISO time), ``ok``, ``error`` (None when ok), ``failures`` (in a
    row), ``emitted`` (new jobs of that poll), ``last_success``."""
    return home.store.get(STATUS_TABLE, recipe)


def poll_due_at(status: dict[str, Any] | None, interval: float, started_at: str | None) -> datetime:
    """Return when the next poll is due: at once for a recipe never polled since it
    was (re)started, else ``interval`` seconds after the last poll."""
    now = datetime.now(timezone.utc)
    last = status.get("last_poll") if status else None
    if last is None or (started_at is not None and last < started_at):
        return now
    return datetime.fromisoformat(last) + timedelta(seconds=interval)


class StorePollContext(PollContext):
    """The :class:`PollContext` of one poll: the cursor in the store, events into ``jobs``.

    ``on_job(job_id)`` is told of every job created (the server hands it to its
    worker); ``cancelled`` set makes the next ``emit`` raise :class:`PollCancelled`.
    Given the recipe's ``token``, the cursor is saved only while that recipe is: one
    removed during the poll leaves no cursor for a new recipe of its name.
    """

    def __init__(
        self,
        home: "Home",
        jobs: JobStore,
        recipe: str,
        *,
        make_client: Callable[[], httpx2.Client],
        cancelled: threading.Event | None = None,
        on_job: Callable[[str], None] | None = None,
        token: str | None = None,
    ):
        self.recipe = recipe
        self._token = token
        self.home = home
        self.jobs = jobs
        self.created: list[str] = []
        self._make_client = make_client
        self._client: httpx2.Client | None = None
        self._cancelled = cancelled or threading.Event()
        self._on_job = on_job

    @property
    def client(self) -> httpx2.Client:
        if self._client is None:
            self._client = self._make_client()
        return self._client

    def close(self) -> None:
        """Close the client, if one was made."""
        if self._client is not None:
            self._client.close()
            self._client = None

    def load_cursor(self) -> Any:
        record = self.home.store.get(CURSOR_TABLE, self.recipe)
        return record.get("cursor") if record else None

    def save_cursor(self, cursor: Any) -> None:
        with self.home.store.transaction() as tx:
            if self._token is None or Recipes(self.home).is_saved(self.recipe, self._token):
                tx.put(CURSOR_TABLE, self.recipe, {"cursor": cursor, "saved_at": now_iso()})

    def emit(self, event: dict[str, Any], event_id: str) -> bool:
        if self._cancelled.is_set():
            raise PollCancelled(f"the recipe {self.recipe!r} stopped during the poll")
        if not isinstance(event, dict):
            raise PluginError(f"A poll emitted a {type(event).__name__}, not a dict.", field="event")
        if not isinstance(event_id, str) or not event_id:
            raise PluginError("A poll emitted an event without an event_id.", field="event_id", fix="give each event the id of its item")
        job_id, created = self.jobs.add(self.recipe, event, dedupe=dedupe_key(self.recipe, event_id))
        if created:
            self.created.append(job_id)
            if self._on_job is not None:
                self._on_job(job_id)
        return created


@dataclass
class PollReport:
    """What one poll did: ``ok``, or ``skipped`` (another poll of the recipe held its
    lock), or failed with ``error``; ``created`` the ids of the jobs it stored."""

    recipe: str
    ok: bool = True
    skipped: bool = False
    cancelled: bool = False
    error: str | None = None
    created: list[str] = field(default_factory=list)


def _make_client(home: "Home", connection: str | None, policy: NetworkPolicy) -> Callable[[], httpx2.Client]:
    def make() -> httpx2.Client:
        connections = Connections(home)
        conn = connections.get(connection) if connection is not None else None
        # Capped here: the trigger reads its answers with this client itself.
        return cap_responses(open_client(conn, connections, policy=policy), conn.options.max_response_bytes if conn else None)

    return make


def _describe(exc: BaseException) -> str:
    if isinstance(exc, PlugwireError):
        return str(exc)
    if isinstance(exc, httpx2.HTTPError):
        return classify_error(exc)[1]
    return f"the trigger's poll raised {type(exc).__name__}: {exc}"


def _secrets(home: "Home", connection: str | None) -> list[str]:
    if connection is None:
        return []
    try:
        return list(Connections(home).get(connection).secret_values())
    except PlugwireError:
        return []


def poll_once(
    home: "Home",
    jobs: JobStore,
    recipe: "Recipe",
    *,
    policy: NetworkPolicy,
    cancelled: threading.Event | None = None,
    on_job: Callable[[str], None] | None = None,
) -> PollReport:
    """Run one poll of ``recipe`` (its trigger must poll) and record its outcome in
    the store's ``poll_status`` table. Returns a :class:`PollReport`; never raises
    for what the trigger, the API or the network policy does (that is the report's
    ``error``), only for a broken data folder."""
    report = PollReport(recipe=recipe.name)
    # Across processes and, with a database, machines: a lock file in the data folder,
    # or a PostgreSQL advisory lock. A poll that finds it held is skipped.
    lock = home.store.try_hold(f"poll:{recipe.name}")
    if lock is None:
        report.skipped = True
        return report
    connection: str | None = None
    context: StorePollContext | None = None
    try:
        kind, config = recipe.trigger_type(), recipe.trigger_config()
        connection = kind.poll_connection(config)
        context = StorePollContext(home, jobs, recipe.name, make_client=_make_client(home, connection, policy),
                                   cancelled=cancelled, on_job=on_job, token=recipe.token)
        kind.poll(config, context)
    except PollCancelled:
        report.cancelled = True
    except Exception as exc:  # a plugin's poll may fail in any way: the next interval tries again
        report.ok, report.error = False, redact(_describe(exc), _secrets(home, connection))
        if not isinstance(exc, (PlugwireError, httpx2.HTTPError)):
            log.warning("the poll of recipe %r raised", recipe.name, exc_info=True)
    finally:
        if context is not None:
            report.created = list(context.created)
            context.close()
        try:
            if not report.cancelled:
                _record(home, report, recipe.token)
        finally:
            lock.release()
    if report.error:
        log.warning("poll of recipe %r failed: %s", recipe.name, report.error)
    return report


def _record(home: "Home", report: PollReport, token: str) -> None:
    at = now_iso()

    def change(old: dict[str, Any] | None) -> dict[str, Any]:
        old = old or {}
        return {
            "last_poll": at,
            "ok": report.ok,
            "error": report.error,
            "failures": 0 if report.ok else int(old.get("failures", 0)) + 1,
            "emitted": len(report.created),
            "last_success": at if report.ok else old.get("last_success"),
        }

    with home.store.transaction() as tx:
        # A recipe removed during the poll keeps no status (a new one of its name starts afresh).
        if Recipes(home).is_saved(report.recipe, token):
            tx.put(STATUS_TABLE, report.recipe, change(tx.get(STATUS_TABLE, report.recipe)))


def poll_due(home: Home, jobs: JobStore, *, policy: NetworkPolicy, force: bool = False) -> dict[str, PollReport | str]:
    """Poll every started recipe whose trigger polls and whose interval has passed
    since its last poll (every one of them with ``force``).

    Returns, per recipe polled, its :class:`PollReport`, or the message of an error
    that kept the poll from starting; one recipe's failure does not stop the others.
    """
    out: dict[str, PollReport | str] = {}
    now = datetime.now(timezone.utc)
    for recipe in Recipes(home).list():
        if recipe.status != "started":
            continue
        try:
            kind, config = recipe.trigger_type(), recipe.trigger_config()
            if not kind.polls:
                continue
            due = poll_due_at(poll_status(home, recipe.name), float(kind.poll_interval(config)), recipe.started_at)
            if force or due <= now:
                out[recipe.name] = poll_once(home, jobs, recipe, policy=policy)
        except PlugwireError as exc:  # the trigger's plugin is gone, or its config no longer validates
            out[recipe.name] = str(exc)
    return out
