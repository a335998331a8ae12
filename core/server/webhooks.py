"""The webhook route: a request to a recipe's URL becomes a stored job, then an answer.

The body is read as it arrives, within the recipe's size limit and the server's body
timeout (:mod:`plugwire.core.server.intake`); a body past either is refused (413, 408)
before it is held whole. The answer (2xx) is sent only after the job is committed to
the job store, so an acknowledged event survives a crash. A sender that repeats an event with the same
Standard Webhooks ``webhook-id`` gets the same job back, not a second one.
"""

from __future__ import annotations

import logging
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Awaitable, Callable

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from plugwire.core.base.errors import StorageError
from plugwire.core.plugincore.triggers import InboundRequest, TriggerRefused
from plugwire.core.server.intake import BodyDeadlines, BodyRefused, read_body

if TYPE_CHECKING:
    from plugwire.core.server.runtime import ServerState

__all__ = ["webhook_endpoint"]

log = logging.getLogger(__name__)


def _headers(request: Request) -> dict[str, str]:
    # Read from the ASGI scope as Starlette's Headers would (lower-case names, latin-1),
    # without building that object for every event.
    out: dict[str, str] = {}
    for raw_key, raw_value in request.scope["headers"]:
        key, value = raw_key.decode("latin-1").lower(), raw_value.decode("latin-1")
        out[key] = f"{out[key]}, {value}" if key in out else value
    return out


def _query(request: Request) -> dict[str, object]:
    out: dict[str, object] = {}
    if not request.scope.get("query_string"):  # most webhooks have none: skip the parser
        return out
    for key, value in request.query_params.multi_items():
        if key in out:
            prev = out[key]
            out[key] = [*prev, value] if isinstance(prev, list) else [prev, value]
        else:
            out[key] = value
    return out


def webhook_endpoint(state: "ServerState") -> Callable[[Request], Awaitable[Response]]:
    """Return the endpoint that turns a request to a recipe's URL into a pending job of
    that recipe and answers (``state`` bound once, not looked up per request)."""
    jobs, worker, intake = state.jobs, state.worker, state.intake
    deadlines = BodyDeadlines(intake.body_timeout)

    async def receive_webhook(request: Request) -> Response:
        found = state.by_token(request.path_params["token"])
        if found is None:
            return JSONResponse({"error": "No recipe listens at this URL."}, status_code=404)
        recipe, config, kind = found
        if kind is None or not kind.receives_http:
            return JSONResponse({"error": f"The recipe {recipe.name!r} does not take webhooks."}, status_code=404)
        if recipe.status != "started":
            return JSONResponse(
                {"error": f"The recipe {recipe.name!r} is stopped: events are refused until it is started."},
                status_code=409,
            )
        limit, source = intake.limit_for(kind, config)
        try:
            body = await read_body(request, limit, source, deadlines)
        except BodyRefused as exc:
            # The rest of the body stays unread: the connection goes with the answer.
            return JSONResponse({"error": exc.message}, status_code=exc.status, headers={"connection": "close"})
        inbound = InboundRequest(
            method=request.method,
            headers=_headers(request),
            query=_query(request),
            body=body,
            received_at=datetime.now(timezone.utc),
        )
        try:
            received = kind.receive(config, inbound)
        except TriggerRefused as exc:
            return JSONResponse({"error": exc.message}, status_code=exc.status)
        dedupe = f"{recipe.name}:{received.event_id}" if received.event_id else None
        try:
            job, created = await jobs.aadd_fresh(recipe.name, received.event, dedupe=dedupe)
        except StorageError as exc:  # not stored, so not acknowledged: the sender retries
            log.error("webhook for recipe %r not stored: %s", recipe.name, exc)
            return JSONResponse({"error": f"{exc} The event was not accepted; send it again."}, status_code=503)
        job_id = job.id
        if created:
            worker.notify(job_id, job)
        headers = {**received.headers, "X-Plugwire-Job": job_id}
        return Response(received.body, status_code=received.status, media_type=received.content_type, headers=headers)

    return receive_webhook
