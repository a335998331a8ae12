"""A background task of the server that does one round every few seconds while it is
started (the scheduler, the job sweep): started and stopped as the server starts,
stops, or wins and loses the leadership."""

from __future__ import annotations

import asyncio
import logging

__all__ = ["Periodic"]

log = logging.getLogger(__name__)


class Periodic:
    """Runs :meth:`round` every ``every`` seconds between :meth:`start` and :meth:`stop`;
    a round that fails is logged and the next one comes as usual."""

    task_name = "plugwire-periodic"

    def __init__(self, every: float):
        self.every = every
        self._task: asyncio.Task | None = None

    async def round(self) -> None:
        raise NotImplementedError

    def start(self) -> None:
        """Start the rounds (in the running event loop)."""
        self._task = asyncio.create_task(self._loop(), name=self.task_name)

    async def stop(self) -> None:
        """Cancel the rounds; waits for the one under way to end."""
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None

    async def _loop(self) -> None:
        while True:
            try:
                await self.round()
            except Exception:  # a broken round must not end the task
                log.exception("%s: a round failed", self.task_name)
            await asyncio.sleep(self.every)
