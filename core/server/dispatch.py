"""With a broker, the server's jobs are published rather than run: :class:`Dispatcher`
is the outbox that publishes committed jobs in batches, off the request path, and
:class:`Sweeper` (run by the leader only) publishes again what was lost on the way
and reports the jobs of dead workers as interrupted.

Publishing one message per webhook from the request path caps intake near 700 events
a second on two cores (measured): the webhook only hands the committed job's id over,
and one thread publishes whatever has gathered as one message per batch.
"""

from __future__ import annotations

import asyncio
import collections
import logging
import threading
import time
from typing import TYPE_CHECKING, Any

from plugwire.core.server.broker import TASK, queue_name
from plugwire.core.server.periodic import Periodic

if TYPE_CHECKING:
    from plugwire.core.server.state import SharedState
    from plugwire.core.storage.jobs import FreshJob

__all__ = ["Dispatcher", "Sweeper"]

log = logging.getLogger(__name__)


class Dispatcher:
    """Publishes the ids of committed jobs to the broker, at most ``batch`` per message,
    from a thread of its own. Offers the in-process worker's ``notify``/``start``/``stop``,
    so the webhook route, the scheduler and the poller hand jobs over the same way."""

    def __init__(self, state: "SharedState", app: Any, *, batch: int = 64, linger: float = 0.05):
        self.state = state
        self.app = app
        self.batch = batch
        self.linger = linger  # seconds a short batch waits for more (each message costs the workers a claim)
        self.queue = queue_name()
        self._ids: collections.deque[str] = collections.deque()
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def notify(self, job_id: str, fresh: "FreshJob | None" = None) -> None:
        """Hand over a job committed a moment ago (published soon, with others)."""
        self._ids.append(job_id)
        self._wake.set()

    def start(self, pending: list[str]) -> None:
        """Start publishing. Jobs already pending are left to the leader's sweep: they
        may sit in the broker's queue already, and a second message for each would
        cost the workers a claim for nothing."""
        self._stopping.clear()
        self._thread = threading.Thread(target=self._drain, name="plugwire-dispatcher", daemon=True)
        self._thread.start()

    async def stop(self) -> None:
        """Publish what is waiting, then stop (what cannot be published is left to the sweep)."""
        self._stopping.set()
        self._wake.set()
        if self._thread is not None:
            await asyncio.to_thread(self._thread.join, 10.0)
            self._thread = None

    def publish(self, job_ids: list[str]) -> None:
        """Publish ``job_ids`` now, one message per ``batch``; raises when the broker refuses."""
        for i in range(0, len(job_ids), self.batch):
            self.app.send_task(TASK, args=[job_ids[i:i + self.batch]], queue=self.queue)

    def _drain(self) -> None:
        busy = False
        while True:
            self._wake.wait(0.5)
            self._wake.clear()
            # Under load (the last round found several jobs), a short batch waits a
            # moment for more; a lone job, at a quiet time, goes at once.
            if busy and 0 < len(self._ids) < self.batch and not self._stopping.is_set():
                time.sleep(self.linger)
            busy = len(self._ids) > 1
            while self._ids:
                ids: list[str] = []
                while self._ids and len(ids) < self.batch:
                    ids.append(self._ids.popleft())
                try:
                    self.publish(ids)
                    self.state.jobs.mark_published(ids)
                except Exception as exc:  # broker or database down: the sweep publishes them later
                    log.warning("publishing %d job(s) failed (%s); the sweep will publish them again", len(ids), exc)
                    self._stopping.wait(1.0)
            if self._stopping.is_set():
                return


class Sweeper(Periodic):
    """The leader's periodic look at the job store: jobs pending for longer than
    ``republish_after`` seconds are published again (with a broker), and running jobs of
    workers whose heartbeat is older than ``stale_after`` are reported as interrupted."""

    task_name = "plugwire-sweeper"

    def __init__(self, state: "SharedState", dispatcher: Dispatcher | None, *, every: float = 5.0,
                 republish_after: float = 15.0, stale_after: float = 15.0):
        super().__init__(every)
        self.state = state
        self.dispatcher = dispatcher
        self.republish_after = republish_after
        self.stale_after = stale_after

    async def round(self) -> None:
        await asyncio.to_thread(self.sweep)

    def sweep(self) -> tuple[int, int]:
        """Sweep once; returns ``(published again, interrupted)``."""
        jobs = self.state.jobs
        interrupted = jobs.interrupt_orphans(self.stale_after)
        again: list[str] = []
        if self.dispatcher is not None:
            again = jobs.republish_due(self.republish_after, 1000)
            if again:
                self.dispatcher.publish(again)
                log.warning("published %d pending job(s) again (their message was lost)", len(again))
        return len(again), interrupted
