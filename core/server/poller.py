"""Polling triggers, driven by the server: one poll of one recipe, and the loop that
runs them at their intervals.

:func:`poll_once` is the whole of one poll, shared by the server's :class:`Poller`
and by one-shot commands (a cron job): it builds the :class:`PollContext` (the
connection's client under the network policy, the cursor in the store, ``emit``
into the job store), runs the trigger's ``poll`` and records the outcome in the
store's ``poll_status`` table. A failing poll is logged, recorded there (the error,
how many polls in a row failed) and tried again at the next interval.

Two polls of one recipe never overlap: within a server the loop starts a recipe's
poll only when its previous one has ended, and across processes each poll holds a
lock file of its recipe in the data folder (a poll that finds it held is skipped).
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import threading
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any, Callable

import httpx2

from plugwire.core.errors import PluginError, PlugwireError
from plugwire.core.http import classify_error, redact
from plugwire.core.jobs import JobStore, now_iso
from plugwire.core.netpolicy import NetworkPolicy
from plugwire.core.triggers import PollCancelled, PollContext

if TYPE_CHECKING:
    from plugwire.core.home import Home
    from plugwire.core.recipes import Recipe
    from plugwire.core.server.state import ServerState

__all__ = ["CURSOR_TABLE", "STATUS_TABLE", "PollReport", "Poller", "StorePollContext", "dedupe_key", "poll_due_at", "poll_once", "poll_status"]

log = logging.getLogger(__name__)

CURSOR_TABLE = "poll_cursors"
STATUS_TABLE = "poll_status"
_ANONYMOUS = SimpleNamespace(name="(none)", options=None)  # how the policy names a poll without a connection
_MIN_INTERVAL = 0.1  # seconds: an interval of 0 would poll on every tick


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
    ):
        self.recipe = recipe
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
        self.home.store.put(CURSOR_TABLE, self.recipe, {"cursor": cursor, "saved_at": now_iso()})

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
        from plugwire.core.connections import Connections
        from plugwire.core.send import open_client

        connections = Connections(home)
        conn = connections.get(connection) if connection is not None else None
        client = open_client(conn, connections)
        client.event_hooks = policy.event_hooks(conn or _ANONYMOUS, asynchronous=False)
        return client

    return make


def _lock_path(home: "Home", recipe: str) -> Path:
    folder = Path(home.path) / "poll-locks"
    folder.mkdir(mode=0o700, exist_ok=True)
    return folder / (hashlib.sha256(recipe.encode()).hexdigest()[:24] + ".lock")


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
        from plugwire.core.connections import Connections

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
    from filelock import FileLock, Timeout

    report = PollReport(recipe=recipe.name)
    lock = FileLock(str(_lock_path(home, recipe.name)), timeout=0)
    try:
        lock.acquire()
    except Timeout:
        report.skipped = True
        return report
    connection: str | None = None
    context: StorePollContext | None = None
    try:
        kind, config = recipe.trigger_type(), recipe.trigger_config()
        connection = kind.poll_connection(config)
        context = StorePollContext(home, jobs, recipe.name, make_client=_make_client(home, connection, policy),
                                   cancelled=cancelled, on_job=on_job)
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
                _record(home, report)
        finally:
            lock.release()
    if report.error:
        log.warning("poll of recipe %r failed: %s", recipe.name, report.error)
    return report


def _record(home: "Home", report: PollReport) -> None:
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

    home.store.update(STATUS_TABLE, report.recipe, change)


class Poller:
    """Runs the polls of the server's started recipes whose trigger polls, each at
    its interval, in a thread of its own (a poll does blocking I/O)."""

    def __init__(self, state: "ServerState", *, tick_seconds: float = 0.25):
        self.state = state
        self.tick_seconds = tick_seconds
        self._due: dict[tuple[str, str], datetime] = {}
        self._running: dict[tuple[str, str], tuple[asyncio.Future, threading.Event]] = {}
        self._task: asyncio.Task | None = None

    def start(self) -> None:
        """Start the loop (in the running event loop)."""
        self._task = asyncio.create_task(self._loop(), name="plugwire-poller")

    def running(self) -> set[str]:
        """Return the names of the recipes whose poll is under way."""
        return {name for name, _ in self._running}

    async def stop(self, *, wait_seconds: float = 10.0) -> None:
        """Stop the loop and cancel the polls under way; waits up to ``wait_seconds``
        for them to end (a poll blocked in a request ends at its client's timeout)."""
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None
        for _, cancelled in self._running.values():
            cancelled.set()
        futures = [f for f, _ in self._running.values()]
        if futures:
            await asyncio.wait(futures, timeout=wait_seconds)

    async def _loop(self) -> None:
        while True:
            try:
                self.tick(datetime.now(timezone.utc))
            except Exception:  # one bad recipe must not end the polling of the others
                log.exception("the poller's tick failed")
            await asyncio.sleep(self.tick_seconds)

    def tick(self, now: datetime) -> None:
        """Start the poll of every started polling recipe that is due at ``now`` and
        not polling already; cancel the polls of recipes that stopped."""
        live: set[tuple[str, str]] = set()
        for recipe, config in self.state.started_recipes():
            kind = recipe.trigger_type()
            if not kind.polls:
                continue
            key = (recipe.name, recipe.started_at or "")
            live.add(key)
            if key in self._running:
                continue
            try:
                interval = max(float(kind.poll_interval(config)), _MIN_INTERVAL)
                if key not in self._due:
                    self._due[key] = poll_due_at(poll_status(self.state.home, recipe.name), interval, recipe.started_at)
            except Exception:  # this recipe's plugin misbehaves; the others still poll
                log.exception("the poll interval of recipe %r could not be read", recipe.name)
                continue
            if self._due[key] <= now:
                self._launch(key, recipe)
                self._due[key] = now + timedelta(seconds=interval)
        for key in set(self._running) - live:
            self._running[key][1].set()  # the recipe stopped: its poll emits nothing more
        for key in set(self._due) - live:
            del self._due[key]

    def _launch(self, key: tuple[str, str], recipe: "Recipe") -> None:
        loop = asyncio.get_running_loop()
        future: asyncio.Future = loop.create_future()
        cancelled = threading.Event()
        worker = self.state.worker

        def notify(job_id: str) -> None:
            try:
                loop.call_soon_threadsafe(worker.notify, job_id)
            except RuntimeError:  # the loop has closed: the next server finds the job pending
                pass

        def run() -> None:
            try:
                result: Any = poll_once(self.state.home, self.state.jobs, recipe, policy=self.state.policy,
                                        cancelled=cancelled, on_job=notify)
            except BaseException as exc:  # a broken data folder: logged, the loop goes on
                log.error("the poll of recipe %r could not run: %s", recipe.name, exc)
                result = None
            try:
                loop.call_soon_threadsafe(_settle, future, result)
            except RuntimeError:  # the loop has closed; nobody waits any more
                pass

        def done(_: asyncio.Future) -> None:
            if self._running.get(key, (None,))[0] is future:
                del self._running[key]

        future.add_done_callback(done)
        self._running[key] = (future, cancelled)
        # A daemon thread, not the default executor: a poll stuck in a slow request must
        # not hold up the server's shutdown.
        threading.Thread(target=run, name=f"plugwire-poll-{recipe.name}", daemon=True).start()


def _settle(future: asyncio.Future, result: Any) -> None:
    if not future.done():
        future.set_result(result)
