"""The server's background work: running pending jobs, and firing schedules.

Jobs reach the worker in two ways: a webhook or a schedule stored a moment ago
notifies it directly, with the job as stored, and a periodic look at the store
picks up anything else that is pending (jobs added by another process, and those
found at start-up). A job runs only after its atomic take (a job handed over with
its event) or claim (a job read from the store) succeeds, so a job noticed twice
still runs once.

A write the store lost (the job store's writer process died with it, or the database
connection broke) must not leave a job 'running' with nobody running it: a lost
outcome is written again until it is recorded, for ``settle_within`` seconds, and
then the job is marked interrupted, saying so; a lost take or claim (which may have
been committed, its answer lost) puts the job back to pending, since it never ran.
"""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from plugwire.core.base.errors import PlugwireError
from plugwire.core.base.jsontext import dumps_json
from plugwire.core.server.periodic import Periodic
from plugwire.core.storage.jobs import FreshJob

if TYPE_CHECKING:
    from plugwire.core.server.state import SharedState

__all__ = ["Scheduler", "Worker"]

log = logging.getLogger(__name__)



class Worker:
    """Runs pending jobs with ``concurrency`` asyncio tasks."""

    def __init__(self, state: "SharedState", *, concurrency: int = 16, poll_seconds: float = 2.0,
                 settle_within: float = 15.0):
        self.state = state
        self.concurrency = concurrency
        self.poll_seconds = poll_seconds
        self.settle_within = settle_within
        # Jobs whose last write was lost: job id -> the outcome still to record (None:
        # the take or claim was lost, the job did not run), the first failure's time and
        # the last error. Nothing else in this worker touches them until they settle.
        self._lost: dict[str, tuple[tuple | None, float, str]] = {}
        self._lost_wake = asyncio.Event()
        self.queue: asyncio.Queue[str] = asyncio.Queue()
        # Jobs handed over and not claimed yet: the periodic look at the store skips
        # them (under load, most pending jobs are these, and claiming each twice
        # would cost a write for nothing).
        self._handed: set[str] = set()
        # Jobs this process stored a moment ago, with their stored event: taken
        # without reading the event back (the read cost the writer more than the
        # insert itself).
        self._fresh: dict[str, FreshJob] = {}
        self._tasks: list[asyncio.Task] = []

    def notify(self, job_id: str, fresh: FreshJob | None = None) -> None:
        """Hand a freshly stored job to the worker (with ``fresh``, the job as stored)."""
        if self.concurrency:
            if fresh is not None and job_id not in self._handed:
                self._fresh[job_id] = fresh
            self._hand(job_id)

    def _hand(self, job_id: str) -> None:
        if job_id not in self._handed and job_id not in self._lost:
            self._handed.add(job_id)
            self.queue.put_nowait(job_id)

    def start(self, pending: list[str]) -> None:
        """Start the tasks, with ``pending`` (found at start-up) first in line.

        With ``concurrency`` 0 the server only accepts events: its jobs stay pending
        for a server that runs them.
        """
        if self.concurrency == 0:
            return
        for job_id in pending:
            self._hand(job_id)
        self._tasks = [asyncio.create_task(self._work(), name=f"plugwire-worker-{n}") for n in range(self.concurrency)]
        self._tasks.append(asyncio.create_task(self._poll(), name="plugwire-worker-poll"))
        self._tasks.append(asyncio.create_task(self._settle_lost(), name="plugwire-worker-settle"))

    async def stop(self) -> None:
        """Cancel the tasks (a job cut short stays 'running' and is reported as interrupted at the next start)."""
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks = []

    async def _poll(self) -> None:
        while True:
            await asyncio.sleep(self.poll_seconds)
            if self.queue.empty():
                try:
                    for job in await asyncio.to_thread(self.state.jobs.list, status="pending", limit=500):
                        self._hand(job["id"])
                except Exception:  # a busy or broken store must not end the loop
                    log.exception("looking for pending jobs failed")

    async def _work(self) -> None:
        while True:
            job_id = await self.queue.get()
            try:
                await self.run(job_id)
            except Exception:  # one job's surprise must not stop the worker
                log.exception("job %s could not be run", job_id)

    async def run(self, job_id: str) -> None:
        """Claim and run one job; does nothing when it is not pending any more."""
        fresh = self._fresh.pop(job_id, None)
        try:
            if fresh is not None:
                job = {"recipe": fresh.recipe, "event": fresh.event()} if await self.state.jobs.atake(job_id) else None
            else:
                job = await self.state.jobs.aclaim(job_id)
        except Exception as exc:  # a StorageError, or the database's refusal
            # Committed or not, nobody knows: if it was, the job is 'running' and not run.
            self._lose(job_id, None, exc)
            return
        finally:
            self._handed.discard(job_id)
        if job is None:
            return
        t0 = time.perf_counter()
        try:
            recipe = self.state.recipe(job["recipe"])
            result = await self.state.runner.run(recipe, job["event"])
        except PlugwireError as exc:
            result = {"status": "failed", "error": str(exc), "steps": []}
        except Exception as exc:  # plugwire's own bug: the job still ends, saying so
            log.exception("job %s failed unexpectedly", job_id)
            result = {"status": "failed", "error": f"internal error: {type(exc).__name__}", "steps": []}

        outcome = (result["status"], dumps_json(result["steps"]), result["error"], (time.perf_counter() - t0) * 1000)
        try:
            await self._finish(job_id, outcome)
        except Exception as exc:  # a StorageError, or the database's refusal
            self._lose(job_id, outcome, exc)

    async def _finish(self, job_id: str, outcome: tuple) -> None:
        status, steps_json, error, duration_ms = outcome
        await self.state.jobs.afinish(job_id, status, steps_json, error=error, duration_ms=duration_ms)

    # -- writes the store lost -------------------------------------------------------------
    def _lose(self, job_id: str, outcome: tuple | None, exc: BaseException) -> None:
        first = self._lost.get(job_id, (None, time.monotonic(), ""))[1]
        self._lost[job_id] = (outcome, first, str(exc))
        self._lost_wake.set()
        log.warning("job %s: its %s was not recorded (%s); trying again", job_id, "outcome" if outcome else "start", exc)

    async def _settle_lost(self) -> None:
        """Write again what the store lost, every fraction of ``settle_within``, until
        each job is recorded (the next write starts a new writer process)."""
        pause = min(1.0, self.settle_within / 5)
        while True:
            await self._lost_wake.wait()
            self._lost_wake.clear()
            while self._lost:
                for job_id, (outcome, first, why) in list(self._lost.items()):
                    try:
                        await self._settle(job_id, outcome, first, why)
                    except Exception as exc:  # still refused: the next round tries again
                        self._lost[job_id] = (outcome, first, str(exc))
                    else:
                        del self._lost[job_id]
                        if outcome is None:
                            self._hand(job_id)
                if self._lost:
                    await asyncio.sleep(pause)

    async def _settle(self, job_id: str, outcome: tuple | None, first: float, why: str) -> None:
        jobs = self.state.jobs
        if outcome is None:  # it never ran here: pending again, to be run (if it ever was taken)
            await asyncio.to_thread(jobs.release, job_id)
        elif time.monotonic() - first < self.settle_within:
            await self._finish(job_id, outcome)
        else:
            # Past the bound, written apart from the writer process (a store connection of its own).
            status, _, error, _ = outcome
            ran = f"{status}: {error}" if error else status
            message = (f"interrupted: the job ran to its end ({ran}) but its outcome could not be recorded for "
                       f"{self.settle_within:g} s ({why}); it was not run again, to avoid sending twice")
            if await asyncio.to_thread(jobs.interrupt, job_id, message):  # False: a lost answer's write did land
                log.error("job %s marked interrupted: its outcome could not be recorded (%s)", job_id, why)


class Scheduler(Periodic):
    """Fires the events of started recipes whose trigger runs on a clock.

    A slot's event has the id ``recipe@started_at#due``: a restart that fires the same
    slot again adds nothing. Slots missed while the server was down are not caught up,
    except the first event of a recipe started while the server was down.
    """

    task_name = "plugwire-scheduler"

    def __init__(self, state: "SharedState", worker: Worker, *, tick_seconds: float = 0.25):
        super().__init__(tick_seconds)
        self.state = state
        self.worker = worker
        self._due: dict[tuple[str, str], datetime | None] = {}

    async def round(self) -> None:
        await self.tick(datetime.now(timezone.utc))

    async def tick(self, now: datetime) -> None:
        """Fire every event due at ``now``."""
        live: set[tuple[str, str]] = set()
        for recipe, config in self.state.started_recipes():
            kind = recipe.trigger_type()
            started = datetime.fromisoformat(recipe.started_at)
            key = (recipe.name, recipe.started_at)
            live.add(key)
            if key not in self._due:
                self._due[key] = kind.next_fire(config, started, None)
            due = self._due[key]
            while due is not None and due <= now:
                event: dict[str, Any] = kind.event_at(config, due, now)
                dedupe = f"{recipe.name}@{recipe.started_at}#{due.isoformat()}"
                job, created = await self.state.jobs.aadd_fresh(recipe.name, event, dedupe=dedupe)
                if created:
                    self.worker.notify(job.id, job)
                # Missed slots are skipped: the next one is the first after now.
                due = kind.next_fire(config, started, max(due, now))
            self._due[key] = due
        for key in set(self._due) - live:
            del self._due[key]
