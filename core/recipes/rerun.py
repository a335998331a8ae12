"""Running a job again: its recipe (as it is now) with the job's stored trigger event,
as a new job that records which job it reruns (``rerun_of``).

The new job is stored pending like any event's, so whoever runs jobs can run it: a
server's worker (the JSON API and the console hand it over with :func:`hand_over_rerun`,
as a webhook's event is, so it runs under the server's policy and limits), or the
command itself (:func:`run_stored`), which takes it at once and runs it in its own process.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from plugwire.core.base.errors import NotFoundError, PlugwireError, UserInputError
from plugwire.core.base.jsontext import dumps_json
from plugwire.core.http.netpolicy import NetworkPolicy
from plugwire.core.recipes.model import Recipe, Recipes
from plugwire.core.recipes.runner import Runner
from plugwire.core.storage.home import Home
from plugwire.core.storage.jobs import new_job_id, rerun_key

__all__ = ["hand_over_rerun", "run_stored", "store_rerun"]


def store_rerun(jobs: Any, recipes: Recipes, job_id: str) -> tuple[str, dict[str, Any], Recipe]:
    """Store a pending rerun of the job ``job_id`` (or the one its unique prefix names)
    and return ``(new job id, the job rerun, its recipe)``.

    Raises ``NotFoundError`` (no such job, or its recipe was removed) and
    ``UserInputError`` (an ambiguous prefix, or a job that has not finished yet).
    """
    job = jobs.get(job_id)
    if job["status"] in ("pending", "running"):
        raise UserInputError(f"Job {job['id']} is still {job['status']}: it can run again once it has finished.",
                             field="job", fix=f"wait for it: plugwire jobs show {job['id']}")
    try:
        recipe = recipes.get(job["recipe"])
    except NotFoundError:
        raise NotFoundError(f"Job {job['id']}'s recipe {job['recipe']!r} no longer exists, so it cannot run again.",
                            field="job", fix="recreate the recipe under that name, then run the job again") from None
    new_id = new_job_id()
    jobs.add(recipe.name, job["event"], dedupe=rerun_key(job["id"], new_id), job_id=new_id)
    return new_id, job, recipe


def run_stored(home: Home, jobs: Any, recipe: Recipe, job_id: str, *, policy: NetworkPolicy) -> bool:
    """Take the pending job ``job_id`` and run it here, under ``policy``, recording its
    outcome. Returns False (running nothing) when another worker took it first."""
    job = jobs.claim(job_id)
    if job is None:
        return False
    t0 = time.perf_counter()

    async def run() -> dict[str, Any]:
        runner = Runner(home, policy=policy)
        try:
            return await runner.run(recipe, job["event"])
        finally:
            await runner.aclose()

    try:
        result = asyncio.run(run())
    except PlugwireError as exc:  # as the server's worker records it
        result = {"status": "failed", "error": str(exc), "steps": []}
    except BaseException as exc:  # interrupted or our bug: the job must not stay 'running'
        jobs.finish(job_id, "failed", "[]", error=f"interrupted: {type(exc).__name__}",
                    duration_ms=(time.perf_counter() - t0) * 1000)
        raise
    jobs.finish(job_id, result["status"], dumps_json(result["steps"]), error=result["error"],
                duration_ms=(time.perf_counter() - t0) * 1000)
    return True


def hand_over_rerun(state: Any, job_id: str) -> dict[str, Any]:
    """Store a rerun of ``job_id`` (an id or a unique prefix) in a running server's job
    store and notify its worker; call it from one of the server's worker threads.
    Returns the new job (pending, with ``rerun_of``); raises what :func:`store_rerun` raises."""
    from anyio import from_thread

    new_id, _old, _recipe = store_rerun(state.jobs, state.recipes, job_id)
    # The worker's queue belongs to the event loop: the job is handed over there.
    from_thread.run_sync(state.worker.notify, new_id)
    return state.jobs.get(new_id)
