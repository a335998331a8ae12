"""Jobs run by Celery workers (``PLUGWIRE_BROKER_URL``): the Celery application, the
task a worker runs, and what a worker process keeps between tasks.

How a job flows with a broker: a server commits the job to the database (the webhook
is answered only then), the server's :class:`plugwire.core.server.dispatch.Dispatcher`
publishes the ids of committed jobs in batches, off the request path, as one
``plugwire.run_jobs`` message per batch; a worker claims the batch's jobs in the
database (``pending`` -> ``running``, one statement: a job published twice still runs
once), runs them concurrently on its event loop and records their outcomes in one
transaction. A message lost on the way (a broker restart, a failed publish, a server
killed between commit and publish) leaves its jobs pending, and the leader's sweep
publishes them again. A worker killed mid-job leaves the job ``running`` under its
name; once its heartbeat is stale the sweep reports the job as interrupted, never
sending its requests again.
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
import time
from typing import Any

from plugwire.core.base.errors import PlugwireError, UserInputError
from plugwire.core.base.jsontext import dumps_json

__all__ = [
    "BROKER_PREFIX_ENV", "BROKER_URL_ENV", "QUEUE_ENV", "TASK", "WorkerRuntime", "broker_url", "celery_app",
    "queue_name",
]

log = logging.getLogger(__name__)

BROKER_URL_ENV = "PLUGWIRE_BROKER_URL"
BROKER_PREFIX_ENV = "PLUGWIRE_BROKER_PREFIX"
QUEUE_ENV = "PLUGWIRE_QUEUE"
TASK = "plugwire.run_jobs"

_SCHEMES = ("redis", "rediss", "amqp", "amqps", "pyamqp")


def broker_url(*, database_url: str | None) -> str | None:
    """Return ``PLUGWIRE_BROKER_URL`` (None when unset: the server runs its own jobs).

    Raises ``UserInputError`` for a URL Celery does not take here, or for a broker
    without a shared database (workers read jobs from the database, not from a folder).
    """
    url = (os.environ.get(BROKER_URL_ENV) or "").strip()
    if not url:
        return None
    scheme = url.split("://", 1)[0].lower() if "://" in url else ""
    if scheme not in _SCHEMES:
        raise UserInputError(
            f"{BROKER_URL_ENV} must be a redis:// or amqp:// URL (got {scheme or 'no scheme'!r}).",
            field=BROKER_URL_ENV,
            fix="use redis://HOST:6379/0 or amqp://USER:PASSWORD@HOST:5672/VHOST, or unset it to run jobs in the server",
        )
    if not database_url:
        raise UserInputError(
            f"{BROKER_URL_ENV} is set but PLUGWIRE_DATABASE_URL is not: workers need the shared database.",
            field="PLUGWIRE_DATABASE_URL",
            fix="set PLUGWIRE_DATABASE_URL=postgresql://... for the servers and the workers, or unset the broker URL",
        )
    return url


def queue_name() -> str:
    """Return the queue jobs are published to (``PLUGWIRE_QUEUE``, default ``plugwire``)."""
    name = (os.environ.get(QUEUE_ENV) or "plugwire").strip()
    if not re.fullmatch(r"[A-Za-z0-9_.:-]{1,100}", name):
        raise UserInputError(f"{QUEUE_ENV}={name!r} is not a queue name.", field=QUEUE_ENV,
                             fix="use letters, digits, '_', '.', ':' or '-'")
    return name


def celery_app(url: str) -> Any:
    """Return the Celery application for the broker at ``url`` with plugwire's task.

    Messages are JSON; no result backend (outcomes go to the job store); with Redis,
    ``PLUGWIRE_BROKER_PREFIX`` prefixes every key (several deployments on one Redis).
    """
    try:
        from celery import Celery
    except ImportError:
        raise UserInputError(
            "Celery is not installed.", field=BROKER_URL_ENV, fix="pip install 'plugwire[scale]'"
        ) from None
    app = Celery("plugwire", broker=url, set_as_current=False)
    transport: dict[str, Any] = {}
    prefix = (os.environ.get(BROKER_PREFIX_ENV) or "").strip()
    if prefix and url.startswith(("redis", "rediss")):
        transport["global_keyprefix"] = prefix
    app.conf.update(
        task_serializer="json", accept_content=["json"], task_ignore_result=True, task_store_errors_even_if_ignored=False,
        task_default_queue=queue_name(), broker_transport_options=transport,
        broker_connection_retry_on_startup=True, broker_connection_max_retries=None,
        worker_prefetch_multiplier=4, worker_hijack_root_logger=False, worker_redirect_stdouts=False,
        # A message is acknowledged when a worker takes it: a job is claimed in the
        # database at once, and one lost on the way is published again by the sweep.
        task_acks_late=False, broker_pool_limit=4,
    )

    @app.task(name=TASK, ignore_result=True)
    def run_jobs(job_ids: list[str]) -> int:
        return WorkerRuntime.current().run(list(job_ids))

    return app


class WorkerRuntime:
    """What one worker process keeps between tasks: the data folder (database), the
    job store (with its heartbeat), the step runner with its HTTP clients, and an
    event loop that the batch's jobs run on concurrently."""

    _current: "WorkerRuntime | None" = None
    _pid = 0
    network_policy = True  # set by ``plugwire worker --no-network-policy`` before the children fork

    @classmethod
    def current(cls) -> "WorkerRuntime":
        """Return this process's runtime (made on first use, after the fork)."""
        if cls._current is None or cls._pid != os.getpid():
            cls._current, cls._pid = cls(network_policy=cls.network_policy), os.getpid()
        return cls._current

    concurrency = 16  # jobs of one batch run at the same time

    def __init__(self, *, network_policy: bool = True, home: Any = None):
        from plugwire.core.http.netpolicy import NetworkPolicy
        from plugwire.core.recipes.model import Recipes
        from plugwire.core.recipes.runner import Runner
        from plugwire.core.storage.home import Home

        self.home = home if home is not None else Home()
        self.jobs = self.home.jobs()
        self.recipes = Recipes(self.home)
        self.runner = Runner(self.home, policy=NetworkPolicy(enabled=network_policy))
        self.loop = asyncio.new_event_loop()
        self._unrecorded: list[tuple[str, str, str, str | None, float]] = []
        self.loop.run_until_complete(self.jobs.astart())  # its heartbeat says this worker is alive

    def run(self, job_ids: list[str]) -> int:
        """Claim the jobs still pending among ``job_ids``, run them, record them; returns how many ran."""
        self._record_unrecorded()
        jobs = self.jobs.claim_many(job_ids)
        if not jobs:
            return 0
        results = self.loop.run_until_complete(self._run_all(jobs))
        self._unrecorded.extend(results)
        self._record_unrecorded(attempts=5)
        return len(results)

    async def _run_all(self, jobs: list[dict[str, Any]]) -> list[tuple[str, str, str, str | None, float]]:
        # At most ``concurrency`` at once, as the in-process worker: more would open
        # connections beyond the HTTP clients' keep-alive pools, one per job.
        gate = asyncio.Semaphore(self.concurrency)

        async def gated(job: dict[str, Any]) -> tuple[str, str, str, str | None, float]:
            async with gate:
                return await self._run_one(job)

        return list(await asyncio.gather(*(gated(job) for job in jobs)))

    def _record_unrecorded(self, attempts: int = 1) -> None:
        """Record the outcomes not recorded yet (the database was away): retried here and
        before the next batch, so a job that ran is never left 'running' by a live worker."""
        for attempt in range(attempts):
            if not self._unrecorded:
                return
            try:
                self.jobs.finish_many(self._unrecorded)
            except Exception as exc:
                log.warning("recording %d job outcome(s) failed (%s); retrying", len(self._unrecorded), exc)
                time.sleep(min(0.2 * 2 ** attempt, 3.0))
            else:
                self._unrecorded = []

    async def _run_one(self, job: dict[str, Any]) -> tuple[str, str, str, str | None, float]:
        t0 = time.perf_counter()
        try:
            recipe = self.runner.cache.get("recipe", job["recipe"], self.recipes.get)
            result = await self.runner.run(recipe, job["event"])
        except PlugwireError as exc:
            result = {"status": "failed", "error": str(exc), "steps": []}
        except Exception as exc:  # plugwire's own bug: the job still ends, saying so
            log.exception("job %s failed unexpectedly", job["id"])
            result = {"status": "failed", "error": f"internal error: {type(exc).__name__}", "steps": []}
        duration = (time.perf_counter() - t0) * 1000
        return job["id"], result["status"], dumps_json(result["steps"]), result["error"], duration

    def close(self) -> None:
        """Close the HTTP clients and the job store."""
        try:
            self.loop.run_until_complete(self.runner.aclose())
        finally:
            self.jobs.close()
            self.loop.close()
