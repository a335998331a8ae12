"""One leader among the servers that share a store: the scheduler, the poller and the
sweep run only in the server that holds the leader lock (a lock file in the embedded
store, a PostgreSQL advisory lock held by a session in the server backend). A leader
that dies loses the lock with its process or its database session; another server
takes it at its next look, within ``interval`` seconds."""

from __future__ import annotations

import asyncio
import logging
from typing import Any, Protocol

from plugwire.core.storage.backend import ConfigStore, Held

__all__ = ["Leadership"]

log = logging.getLogger(__name__)

LEADER_LOCK = "plugwire-leader"


class _Task(Protocol):
    def start(self) -> Any: ...
    async def stop(self) -> Any: ...


class Leadership:
    """Runs ``tasks`` (each with ``start()`` and ``async stop()``) while this server leads."""

    def __init__(self, store: ConfigStore, tasks: list[_Task], *, interval: float = 1.0, name: str = LEADER_LOCK):
        self.store = store
        self.tasks = tasks
        self.interval = interval
        self.name = name
        self._held: Held | None = None
        self._loop_task: asyncio.Task | None = None

    @property
    def leading(self) -> bool:
        """Whether this server holds the leader lock (and runs the tasks)."""
        return self._held is not None

    def start(self) -> None:
        """Try to lead at once (so a lone server schedules from its first second), then keep looking."""
        try:
            self._take(self.store.try_hold(self.name))
        except Exception as exc:
            log.warning("could not try the leader lock: %s", exc)
        self._loop_task = asyncio.create_task(self._loop(), name="plugwire-leadership")

    def _take(self, held: Held | None) -> None:
        if held is not None:
            self._held = held
            log.info("this server leads: it runs the schedules, the polls and the job sweep")
            for task in self.tasks:
                task.start()

    async def _give_up(self) -> None:
        held, self._held = self._held, None
        for task in self.tasks:
            await task.stop()
        if held is not None:
            await asyncio.to_thread(held.release)

    async def _loop(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            try:
                if self._held is None:
                    self._take(await asyncio.to_thread(self.store.try_hold, self.name))
                elif not await asyncio.to_thread(self._alive):
                    log.warning("this server lost the leader lock; another server takes over")
                    await self._give_up()
            except Exception as exc:  # the database is away: look again
                log.warning("the leader lock could not be checked: %s", exc)

    def _alive(self) -> bool:
        try:
            return self._held is not None and bool(self._held.alive())
        except Exception:  # a check that fails is a lock that may be gone: step down
            return False

    async def stop(self) -> None:
        """Stop looking, stop the tasks and let the lock go."""
        if self._loop_task is not None:
            self._loop_task.cancel()
            await asyncio.gather(self._loop_task, return_exceptions=True)
            self._loop_task = None
        if self._held is not None:
            await self._give_up()
