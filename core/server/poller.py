"""The server's poller: runs the polls of its started recipes whose trigger polls,
each at its interval. One poll itself is :func:`plugwire.core.recipes.polling.poll_once`.

Two polls of one recipe never overlap: within a server the loop starts a recipe's
poll only when its previous one has ended, and across processes each poll holds a
lock of its recipe in the store (a poll that finds it held is skipped). Only the
leading server polls (:mod:`plugwire.core.server.leader`).
"""

from __future__ import annotations

import asyncio
import logging
import threading
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any

from plugwire.core.recipes.polling import poll_due_at, poll_once, poll_status

if TYPE_CHECKING:
    from plugwire.core.recipes.model import Recipe
    from plugwire.core.server.state import SharedState
    from plugwire.core.server.worker import Worker

__all__ = ["Poller"]

log = logging.getLogger(__name__)

_MIN_INTERVAL = 0.1  # seconds: an interval of 0 would poll on every tick


class Poller:
    """Runs the polls of the server's started recipes whose trigger polls, each at
    its interval, in a thread of its own (a poll does blocking I/O)."""

    def __init__(self, state: "SharedState", worker: "Worker", *, tick_seconds: float = 0.25):
        self.state = state
        self.worker = worker
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
        worker = self.worker

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
