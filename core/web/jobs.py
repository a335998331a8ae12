"""Console pages for jobs: the list with each job's status, and a job's trigger event
and, per step, the input (what was sent) and output (what came back) tabs, or the
error with its status, headers and body. Credentials are masked in what is shown."""

from __future__ import annotations

from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from plugwire.core.base.errors import NotFoundError, PlugwireError
from plugwire.core.http.exchange import masked_headers
from plugwire.core.storage.jobs import JOB_STATUSES
from plugwire.core.web.access import page
from plugwire.core.web.render import render, render_error
from plugwire.core.web.session import Session

__all__ = ["routes"]


def _masked(part: dict[str, Any] | None) -> dict[str, Any] | None:
    # The runner masks what the connection added; a credential-like header the
    # action or a webhook sender set by hand is masked here as well.
    if not part:
        return part
    return {**part, "headers": masked_headers(part.get("headers") or {})}


async def list_page(request: Request, session: Session) -> Response:
    state = request.app.state.plugwire
    q = request.query_params
    recipe = q.get("recipe") or None
    status = q.get("status") if q.get("status") in JOB_STATUSES else None
    try:
        items = await run_in_threadpool(lambda: state.jobs.list(recipe=recipe, status=status, limit=100))
    except PlugwireError as exc:
        return render_error(request, session, 400, "Cannot list jobs", str(exc))
    busy = any(j["status"] in ("pending", "running") for j in items)
    ctx = {"items": items, "recipe": recipe or "", "status": status or "", "statuses": JOB_STATUSES, "busy": busy}
    return render(request, session, "jobs/list.html", ctx)


async def detail_page(request: Request, session: Session) -> Response:
    state = request.app.state.plugwire
    try:
        job = await run_in_threadpool(state.jobs.get, request.path_params["id"])
    except NotFoundError:
        return render_error(request, session, 404, "No such job", f"There is no job {request.path_params['id']!r}.")
    event = dict(job.get("event") or {})
    if isinstance(event.get("headers"), dict):
        event["headers"] = masked_headers(event["headers"])
    steps = [{**s, "input": _masked(s.get("input")), "output": _masked(s.get("output"))} for s in job.get("steps") or []]
    return render(request, session, "jobs/detail.html", {"job": {**job, "event": event, "steps": steps}})


async def rerun(request: Request, session: Session) -> Response:
    """Run the job again ("Run again"): a new pending job with the same event, run by
    this server's worker; the browser goes to the new job's page."""
    from plugwire.core.recipes.rerun import hand_over_rerun

    state = request.app.state.plugwire
    job_id = request.path_params["id"]
    try:
        job = await run_in_threadpool(hand_over_rerun, state, job_id)
    except PlugwireError as exc:
        session.flash(f"Cannot run job {job_id} again: {exc}", "error")
        return RedirectResponse(f"/console/jobs/{job_id}", status_code=303)
    session.flash(f"Job {job_id} runs again as {job['id']}.", "ok")
    return RedirectResponse(f"/console/jobs/{job['id']}", status_code=303)


routes = [
    Route("/console/jobs", page(list_page)),
    Route("/console/jobs/{id}", page(detail_page)),
    Route("/console/jobs/{id}/rerun", page(rerun), methods=["POST"]),
]
