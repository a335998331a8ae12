"""The server's state with its background tasks: what runs jobs (the in-process worker,
or with ``PLUGWIRE_BROKER_URL`` the dispatcher that publishes them to Celery workers),
and, in the one server that leads, the scheduler of clock triggers, the poller of
polling triggers and the job sweep; built around the shared state
(:class:`plugwire.core.server.state.SharedState`) they read from."""

from __future__ import annotations

from typing import Any

from plugwire.core.base.settings import seconds_setting
from plugwire.core.server.broker import broker_url, celery_app
from plugwire.core.server.dispatch import Dispatcher, Sweeper
from plugwire.core.server.leader import Leadership
from plugwire.core.server.poller import Poller
from plugwire.core.server.state import SharedState
from plugwire.core.server.worker import Scheduler, Worker

__all__ = ["ServerState"]


class ServerState(SharedState):
    """Everything the routes and background tasks share, and the tasks themselves:
    ``worker`` (a :class:`Worker`, or a :class:`Dispatcher` with a broker), and
    ``scheduler``, ``poller`` and ``sweeper``, run by ``leadership`` while this server
    leads (started and stopped by the app's lifespan)."""

    def __init__(self, *args: Any, workers: int = 16, broker: str | None = None, **kwargs: Any):
        super().__init__(*args, **kwargs)
        url = broker if broker is not None else broker_url(database_url=self.home.database_url)
        self.broker_url = url
        dispatcher = Dispatcher(self, celery_app(url)) if url else None
        # The bound on a job left 'running' by a lost write: a dead worker's, or this
        # server's own job whose outcome the store lost (see Worker).
        stale = seconds_setting("PLUGWIRE_STALE_SECONDS", 15.0)
        self.worker: Worker | Dispatcher = dispatcher or Worker(self, concurrency=workers, settle_within=stale)
        self.scheduler = Scheduler(self, self.worker)
        self.poller = Poller(self, self.worker)
        self.sweeper = Sweeper(self, dispatcher, every=seconds_setting("PLUGWIRE_SWEEP_SECONDS", 5.0),
                               republish_after=seconds_setting("PLUGWIRE_REPUBLISH_SECONDS", 15.0), stale_after=stale)
        self.leadership = Leadership(self.home.store, [self.scheduler, self.poller, self.sweeper])

    def describe(self) -> dict[str, Any]:
        out = super().describe()
        out.update(leader=self.leadership.leading, jobs_run_by="celery workers" if self.broker_url else "this server")
        return out

