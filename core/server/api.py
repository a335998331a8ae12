"""The server's small JSON API (connections, actions, recipes, jobs) and the OAuth2
routes. Every ``/api`` route needs ``Authorization: Bearer <api token>``; secrets
are masked in every answer."""

from __future__ import annotations

import hmac
import html
import json
from typing import Any, Callable

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from plugwire.core.base.errors import AlreadyExistsError, NotFoundError, PlugwireError, UserInputError
from plugwire.core.connections.model import Connections
from plugwire.core.http.client import policed_transport
from plugwire.core.wizard.actions import Actions, build_action

__all__ = ["routes"]


def _error(exc: PlugwireError) -> JSONResponse:
    status = 404 if isinstance(exc, NotFoundError) else 409 if isinstance(exc, AlreadyExistsError) else 400
    return JSONResponse({"error": str(exc), "field": exc.field}, status_code=status)


def _api(handler: Callable) -> Callable:
    """Check the bearer token, run ``handler(state, request, body)`` off the event loop,
    and turn plugwire errors into JSON answers."""

    async def endpoint(request: Request) -> Response:
        state = request.app.state.plugwire
        given = request.headers.get("authorization", "")
        if not state.api_token or not hmac.compare_digest(given.encode(), f"Bearer {state.api_token}".encode()):
            return JSONResponse({"error": "Missing or wrong API token.", "field": "Authorization"}, status_code=401)
        body = None
        if request.method == "POST":
            raw = await request.body()
            try:
                body = json.loads(raw) if raw.strip() else {}
            except ValueError:
                return JSONResponse({"error": "The body is not JSON.", "field": "body"}, status_code=400)
            if not isinstance(body, dict):
                return JSONResponse({"error": "The body must be a JSON object.", "field": "body"}, status_code=400)
        try:
            result = await run_in_threadpool(handler, state, request, body)
        except PlugwireError as exc:
            return _error(exc)
        status = 201 if request.method == "POST" else 200
        return result if isinstance(result, Response) else JSONResponse(result, status_code=status)

    return endpoint


def _base(state, request: Request) -> str:
    return state.public_url or str(request.base_url).rstrip("/")


def list_connections(state, request, body) -> Any:
    return [c.public() for c in Connections(state.home).list()]


def create_connection(state, request, body) -> Any:
    return Connections(state.home).create(body).public()


def list_actions(state, request, body) -> Any:
    return [a.public() for a in Actions(state.home).list()]


def create_action(state, request, body) -> Any:
    return Actions(state.home).create(build_action(body)).public()


def get_action(state, request, body) -> Any:
    return Actions(state.home).get(request.path_params["name"]).public()


def list_recipes(state, request, body) -> Any:
    return [r.public(_base(state, request)) for r in state.recipes.list()]


def create_recipe(state, request, body) -> Any:
    recipe = state.recipes.create(body)
    state.invalidate()
    return recipe.public(_base(state, request))


def get_recipe(state, request, body) -> Any:
    from plugwire.core.recipes.polling import poll_status

    recipe = state.recipes.get(request.path_params["name"])
    out = recipe.public(_base(state, request))
    status = poll_status(state.home, recipe.name)
    if status is not None:
        out["poll_status"] = status  # a polling trigger's last outcome: ok, error, failures in a row
    return out


def start_recipe(state, request, body) -> Any:
    recipe = state.recipes.start(request.path_params["name"])
    state.invalidate()
    return recipe.public(_base(state, request))


def stop_recipe(state, request, body) -> Any:
    recipe = state.recipes.stop(request.path_params["name"])
    state.invalidate()
    return recipe.public(_base(state, request))


def list_jobs(state, request, body) -> Any:
    q = request.query_params
    try:
        limit = int(q.get("limit", "50"))
    except ValueError:
        raise UserInputError("limit must be a number.", field="limit", fix="e.g. ?limit=20") from None
    return state.jobs.list(recipe=q.get("recipe"), status=q.get("status"), limit=limit)


def get_job(state, request, body) -> Any:
    return state.jobs.get(request.path_params["id"])


def start_authorization(state, request, body) -> Any:
    """Begin the OAuth2 authorization of a connection with this server's callback URL."""
    from plugwire.core.connections import authorize

    conn = Connections(state.home).get(request.path_params["name"])
    pending = authorize.start(conn, f"{_base(state, request)}/oauth/callback")
    state.remember_authorization(conn.name, pending)
    return {"connection": conn.name, "authorize_url": pending.url}


def _page(title: str, text: str, status: int) -> HTMLResponse:
    body = f"<!doctype html><meta charset='utf-8'><title>plugwire</title><h1>{html.escape(title)}</h1><p>{html.escape(text)}</p>"
    return HTMLResponse(body, status_code=status)


async def oauth_callback(request: Request) -> Response:
    """Finish an authorization when the provider sends the browser back here."""
    from plugwire.core.connections import authorize

    state = request.app.state.plugwire
    found = state.take_authorization(request.query_params.get("state", ""))
    if found is None:
        return _page("Authorization failed", "This authorization is unknown or expired; start it again.", 400)
    name, pending = found
    connections = Connections(state.home)
    try:
        conn = await run_in_threadpool(connections.get, name)
        summary = await run_in_threadpool(
            lambda: authorize.finish_from_callback(conn, connections, pending, str(request.url),
                                                   transport=policed_transport(state.policy, conn)))
    except PlugwireError as exc:
        return _page("Authorization failed", str(exc), 400)
    return _page("Connected", f"{name}: {summary['message']}. You can close this window.", 200)


def server_status(state, request, body) -> Any:
    """This server: its network policy, its job counts, whether it leads (runs the
    schedules, polls and sweep) and who runs its jobs."""
    return state.describe()


async def health(request: Request) -> Response:
    return JSONResponse({"ok": True})


routes = [
    Route("/health", health),
    Route("/api/connections", _api(list_connections), methods=["GET"]),
    Route("/api/connections", _api(create_connection), methods=["POST"]),
    Route("/api/connections/{name}/authorize", _api(start_authorization), methods=["POST"]),
    Route("/api/actions", _api(list_actions), methods=["GET"]),
    Route("/api/actions", _api(create_action), methods=["POST"]),
    Route("/api/actions/{name}", _api(get_action), methods=["GET"]),
    Route("/api/recipes", _api(list_recipes), methods=["GET"]),
    Route("/api/recipes", _api(create_recipe), methods=["POST"]),
    Route("/api/recipes/{name}", _api(get_recipe), methods=["GET"]),
    Route("/api/recipes/{name}/start", _api(start_recipe), methods=["POST"]),
    Route("/api/recipes/{name}/stop", _api(stop_recipe), methods=["POST"]),
    Route("/api/status", _api(server_status), methods=["GET"]),
    Route("/api/jobs", _api(list_jobs), methods=["GET"]),
    Route("/api/jobs/{id}", _api(get_job), methods=["GET"]),
    Route("/oauth/callback", oauth_callback),
]
