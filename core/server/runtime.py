"""The server's state with its background tasks: the worker that runs jobs, the
scheduler of clock triggers and the poller of polling triggers, built around the
shared state (:class:`plugwire.core.server.state.SharedState`) they read from."""

from __future__ import annotations

from typing import Any

from plugwire.core.server.poller import Poller
from plugwire.core.server.state import SharedState
from plugwire.core.server.worker import Scheduler, Worker

__all__ = ["ServerState"]


class ServerState(SharedState):
    """Everything the routes and background tasks share, and the tasks themselves
    (``worker``, ``scheduler``, ``poller``; started and stopped by the app's lifespan)."""

    def __init__(self, *args: Any, workers: int = 16, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.worker = Worker(self, concurrency=workers)
        self.scheduler = Scheduler(self, self.worker)
        self.poller = Poller(self, self.worker)
