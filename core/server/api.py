"""The server's small JSON API (connections, actions, recipes, jobs) and the OAuth2
routes. Every ``/api`` route needs ``Authorization: Bearer <api token>``; secrets
are masked in every answer.

A request body is read only up to :data:`MAX_BODY_BYTES`, must be UTF-8 JSON nested
at most :data:`MAX_DEPTH` deep, and is validated with the route's model from
:mod:`plugwire.core.server.openapi` (the document at ``/api/openapi.json`` is built
from the same models): unreadable is 400, too large 413, a value that does not fit
422 naming the field, an unknown name 404, a taken one 409, a data store out of
reach 503, all as ``{"error", "field", "fix"}``. Parsing and validating run off
the event loop, like the handlers.
"""

from __future__ import annotations

import hmac
import html
import json
import math
import re
from dataclasses import replace
from itertools import accumulate
from typing import Any, Callable

from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from plugwire.core.base.errors import (
    AlreadyExistsError,
    NotFoundError,
    PlugwireError,
    StorageError,
    UserInputError,
    format_validation_error,
)
from plugwire.core.connections.model import Connections
from plugwire.core.http.client import policed_transport
from plugwire.core.server.openapi import NewAction, NewConnection, NewRecipe, Operation, document
from plugwire.core.wizard.actions import Actions, build_action

__all__ = ["MAX_BODY_BYTES", "MAX_DEPTH", "routes"]

#: The largest request body the API reads (an action with its sample response fits).
MAX_BODY_BYTES = 4 * 1024 * 1024
#: How deep a request body may nest arrays and objects (configuration is shallow;
#: hostile nesting would exhaust the parser's and the validators' recursion).
MAX_DEPTH = 100
_STRING = re.compile(r'"(?:[^"\\]|\\.)*"')
_BRACKET = re.compile(r"[\[\]{}]")


def _answer(status: int, error: str, field: str | None, fix: str | None = None) -> JSONResponse:
    return JSONResponse({"error": error, "field": field, "fix": fix}, status_code=status)


def _error(exc: PlugwireError) -> JSONResponse:
    status = (404 if isinstance(exc, NotFoundError) else 409 if isinstance(exc, AlreadyExistsError)
              else 422 if isinstance(exc, UserInputError) else 503 if isinstance(exc, StorageError) else 400)
    return _answer(status, str(exc), exc.field, exc.fix)


def _invalid(exc: ValidationError, what: str) -> JSONResponse:
    first = exc.errors(include_input=False)[0]
    field = ".".join(str(p) for p in first["loc"] if p != "[key]") or "body"  # as format_validation_error names it
    return _answer(422, f"Invalid {what}: " + format_validation_error(exc), field, "correct the field named above")


class _Unreadable(Exception):
    """The body cannot be read as a JSON object: answered with ``status``, naming ``body``."""

    def __init__(self, status: int, message: str, fix: str):
        super().__init__(message)
        self.status, self.fix = status, fix


def _finite(text: str) -> float:
    value = float(text)
    if math.isinf(value):
        raise ValueError(f"the number {text[:20]} is too large for a float")
    return value


def _constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _parse(raw: bytes) -> dict[str, Any]:
    """Return ``raw`` read as a JSON object ({} when empty). Raises ``_Unreadable``."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise _Unreadable(400, f"The body is not UTF-8 text (byte {exc.start}).", "send JSON encoded as UTF-8") from None
    if not text.strip():
        return {}
    # Depth is measured on the text, before parsing: the parser itself recurses.
    if text.count("[") + text.count("{") > MAX_DEPTH:
        depth = max(accumulate(1 if b in "[{" else -1 for b in _BRACKET.findall(_STRING.sub("", text))), default=0)
        if depth > MAX_DEPTH:
            raise _Unreadable(400, f"The body nests arrays and objects {depth} deep; at most {MAX_DEPTH} are read.",
                              f"send JSON nested at most {MAX_DEPTH} levels deep")
    try:
        body = json.loads(text, parse_float=_finite, parse_constant=_constant)
    except ValueError as exc:
        raise _Unreadable(400, f"The body is not JSON ({exc}).", "send a JSON object, e.g. {\"name\": \"...\"}") from None
    if not isinstance(body, dict):
        raise _Unreadable(422, f"The body must be a JSON object, not {type(body).__name__}.", "send a JSON object, e.g. {\"name\": \"...\"}")
    try:
        json.dumps(body, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        raise _Unreadable(400, "The body holds a lone surrogate escape (\\ud800-\\udfff without its pair).",
                          "send text that is valid Unicode") from None
    return body


async def _read(request: Request) -> bytes:
    size = int(request.headers.get("content-length") or 0) if (request.headers.get("content-length") or "").isdigit() else 0
    too_large = _Unreadable(413, f"The body is larger than {MAX_BODY_BYTES} bytes.", "send a smaller body")
    if size > MAX_BODY_BYTES:
        raise too_large
    chunks, total = [], 0
    async for chunk in request.stream():
        total += len(chunk)
        if total > MAX_BODY_BYTES:
            raise too_large
        chunks.append(chunk)
    return b"".join(chunks)


def _run(handler: Callable, op: Operation, state: Any, request: Request, raw: bytes) -> Any:
    """Parse and validate the body (off the event loop: a large one takes a while), then
    run the handler; returns its result, or the 422 answer of a body that does not fit.
    Raises ``_Unreadable`` or a plugwire error."""
    body = None
    if op.body is not None:
        body = _parse(raw)
        try:
            op.body.model_validate(body)
        except ValidationError as exc:
            return _invalid(exc, op.body.__name__.removeprefix("New").lower())
    return handler(state, request, body)


def _api(handler: Callable, op: Operation) -> Callable:
    """Return the endpoint of ``handler(state, request, body)``: check the bearer token,
    read and validate the body with ``op.body``, run the handler off the event loop,
    and turn plugwire errors into JSON answers. The endpoint carries ``op`` for the
    OpenAPI document."""

    async def endpoint(request: Request) -> Response:
        state = request.app.state.plugwire
        given = request.headers.get("authorization", "")
        if not state.api_token or not hmac.compare_digest(given.encode(), f"Bearer {state.api_token}".encode()):
            return _answer(401, "Missing or wrong API token.", "Authorization", "send Authorization: Bearer <the server's API token>")
        try:
            raw = await _read(request) if op.body is not None else b""
            result = await run_in_threadpool(_run, handler, op, state, request, raw)
        except _Unreadable as exc:
            return _answer(exc.status, str(exc), "body", exc.fix)
        except PlugwireError as exc:
            return _error(exc)
        return result if isinstance(result, Response) else JSONResponse(result, status_code=op.status)

    endpoint.operation = replace(op, op_id=op.op_id or handler.__name__)  # type: ignore[attr-defined]
    return endpoint


def _base(state, request: Request) -> str:
    return state.public_url or str(request.base_url).rstrip("/")


def list_connections(state, request, body) -> Any:
    return [c.public() for c in Connections(state.home).list()]


def create_connection(state, request, body) -> Any:
    return Connections(state.home).create(body).public()


def list_actions(state, request, body) -> Any:
    return [a.public() for a in Actions(state.home).list()]


def _wants_proof(request: Request) -> bool:
    value = request.query_params.get("prove", "false").strip().lower()
    if value not in ("true", "false", "1", "0", ""):
        raise UserInputError(f"prove must be true or false, not {value[:20]!r}.", field="prove", fix="e.g. ?prove=true")
    return value in ("true", "1")


def create_action(state, request, body) -> Any:
    """Save an action: with ``?prove=true`` its request is sent first and it is saved
    proven after a 2xx (nothing is saved otherwise: a 422 says what came back);
    without, it is saved as an unproven draft (``proven: false``) that no recipe runs."""
    from plugwire.core.wizard.prove import try_action

    for key in ("proof", "draft_reason"):
        if key in body:
            raise UserInputError(f"{key} is recorded by a live 2xx answer, not sent.", field=key,
                                 fix="leave it out, and post with ?prove=true to send the request and record its proof")
    prove = _wants_proof(request)
    action = build_action(body)
    actions = Actions(state.home)
    actions.check_free(action.name)  # before anything is sent
    if action.connection is not None:
        try:
            Connections(state.home).get(action.connection)
        except NotFoundError:
            raise UserInputError(f"connection: there is no connection named {action.connection!r}.", field="connection",
                                 fix="create it first (POST /api/connections), or leave connection out for a public API") from None
    if prove:
        trial = try_action(state.home, action, policy=state.policy)
        if not trial.ok:
            return _answer(422, f"Not saved: {trial.reason}", "request",
                           "correct the request and post it again, or post it without ?prove=true to keep it as a draft")
        action = trial.proved
    return actions.create(action).public()


def get_action(state, request, body) -> Any:
    return Actions(state.home).get(request.path_params["name"]).public()


def prove_action(state, request, body) -> Any:
    """Send a saved action's request once under the server's network policy: after a
    2xx it is proven (sample, datatree and proof recorded); otherwise a 422 says what
    came back and a draft stays a draft."""
    from plugwire.core.wizard.prove import prove

    name = request.path_params["name"]
    action, trial = prove(state.home, name, policy=state.policy)
    if not trial.ok:
        kept = " It keeps its earlier proof." if action.proven else " It stays an unproven draft."
        return _answer(422, f"Not proven: {trial.reason}{kept}", "request",
                       f"correct the action's request, then prove it again (POST /api/actions/{name}/prove)")
    return {**action.public(), "trial": trial.summary()}


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
        limit = 0
    if not 1 <= limit <= 1000:
        raise UserInputError("limit must be a whole number from 1 to 1000.", field="limit", fix="e.g. ?limit=20")
    return state.jobs.list(recipe=q.get("recipe"), status=q.get("status"), limit=limit)


def get_job(state, request, body) -> Any:
    return state.jobs.get(request.path_params["id"])


def rerun_job(state, request, body) -> Any:
    """Store a rerun of the job (same event, the recipe as it is now) and hand it to the worker."""
    from plugwire.core.recipes.rerun import hand_over_rerun

    return hand_over_rerun(state, request.path_params["id"])


def start_authorization(state, request, body) -> Any:
    """Begin the OAuth2 or OAuth 1.0a authorization of a connection with this server's
    callback URL (OAuth 1.0a's request token goes through the network policy)."""
    from plugwire.core.connections import authorize

    connections = Connections(state.home)
    conn = connections.get(request.path_params["name"])
    pending = authorize.start(conn, f"{_base(state, request)}/oauth/callback", connections=connections,
                              transport=policed_transport(state.policy, conn))
    state.remember_authorization(conn.name, pending)
    return {"connection": conn.name, "authorize_url": pending.url}


def _page(title: str, text: str, status: int) -> HTMLResponse:
    body = f"<!doctype html><meta charset='utf-8'><title>plugwire</title><h1>{html.escape(title)}</h1><p>{html.escape(text)}</p>"
    return HTMLResponse(body, status_code=status)


async def oauth_callback(request: Request) -> Response:
    """Finish an authorization when the provider sends the browser back here."""
    from plugwire.core.connections import authorize

    state = request.app.state.plugwire
    # OAuth 1.0a's callback has no state: its request token (oauth_token) names it.
    query = request.query_params
    found = state.take_authorization(query.get("state") or query.get("oauth_token", ""))
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


def openapi_document(state, request, body) -> Any:
    """This API described as OpenAPI 3.1, built from the routes and their models."""
    global _DOCUMENT
    if _DOCUMENT is None:
        _DOCUMENT = document(routes)
    return _DOCUMENT


_DOCUMENT: dict[str, Any] | None = None
_OBJECT = {"type": "object"}
_LIST = {"type": "array", "items": _OBJECT}
_NAMED = {"type": "object", "required": ["name"], "properties": {"name": {"type": "string"}}}
health.operations = {"GET": Operation(  # type: ignore[attr-defined]
    "Is the server up (no token needed)", auth=False, op_id="health", returns={"type": "object", "properties": {"ok": {"const": True}}})}
oauth_callback.operations = {"GET": Operation(  # type: ignore[attr-defined]
    "Where the OAuth2 or OAuth 1.0a provider sends the browser back (an HTML page)", auth=False, errors=(400,), media="text/html", op_id="oauth_callback",
    returns={"type": "string"})}
def _links(field: str, *operations: str) -> dict[str, dict[str, Any]]:
    """Return OpenAPI links from a created thing to the operations that take its ``field`` as ``{name}``."""
    return {op: {"operationId": op, "parameters": {"name": f"$response.body#/{field}"}} for op in operations}


_JOB_QUERY = (
    ("limit", {"type": "integer", "minimum": 1, "maximum": 1000, "default": 50}, "at most this many, newest first"),
    ("recipe", {"type": "string"}, "only this recipe's jobs"),
    ("status", {"type": "string", "enum": ["pending", "running", "succeeded", "failed"]}, "only jobs in this status"),
)


def _route(path: str, **methods: tuple[Callable, Operation]) -> Route:
    """Return the route of ``path`` with an endpoint per method (``GET=(handler, op)``):
    one route per path, so that a method it lacks is a 405 whose Allow lists them all."""
    endpoints = {method: _api(handler, op) for method, (handler, op) in methods.items()}

    async def endpoint(request: Request) -> Response:
        return await endpoints["GET" if request.method == "HEAD" else request.method](request)

    endpoint.operations = {method: e.operation for method, e in endpoints.items()}  # type: ignore[attr-defined]
    return Route(path, endpoint, methods=list(endpoints))


_PROVE_QUERY = (("prove", {"type": "boolean", "default": False},
                 "send the request first and save the action proven after a 2xx (nothing is saved otherwise)"),)
_NEW = {"status": 201, "returns": _NAMED, "errors": (409,)}
routes = [
    Route("/health", health),
    _route("/api/openapi.json", GET=(openapi_document, Operation("This document", returns=_OBJECT))),
    _route("/api/connections", GET=(list_connections, Operation("List connections, secrets masked", returns=_LIST)),
           POST=(create_connection, Operation("Create a connection", body=NewConnection, links=_links("name", "start_authorization"), **_NEW))),
    _route("/api/connections/{name}/authorize", POST=(start_authorization, Operation(
        "Start a connection's OAuth2 or OAuth 1.0a authorization; open authorize_url in a browser", status=201,
        returns={"type": "object", "required": ["connection", "authorize_url"]}, errors=(400, 404, 422)))),
    _route("/api/actions", GET=(list_actions, Operation("List actions, secrets masked; proven: false marks an unproven draft", returns=_LIST)),
           POST=(create_action, Operation(
               "Create an action: an unproven draft (proven: false) that no recipe runs, or with ?prove=true sent first and saved proven after a 2xx",
               body=NewAction, links=_links("name", "get_action", "prove_action"), query=_PROVE_QUERY, **_NEW))),
    _route("/api/actions/{name}", GET=(get_action, Operation("One action, secrets masked", returns=_NAMED, errors=(404,)))),
    _route("/api/actions/{name}/prove", POST=(prove_action, Operation(
        "Send an action's request once; after a 2xx it is proven (sample, datatree, proof), otherwise 422 says what came back",
        returns=_NAMED, errors=(404, 422)))),
    _route("/api/recipes", GET=(list_recipes, Operation("List recipes", returns=_LIST)),
           POST=(create_recipe, Operation("Create a recipe (stopped); every datapill is checked", body=NewRecipe,
                                          links=_links("name", "get_recipe", "start_recipe", "stop_recipe"), **_NEW))),
    _route("/api/recipes/{name}", GET=(get_recipe, Operation("One recipe, with its poll status", returns=_NAMED, errors=(404,)))),
    _route("/api/recipes/{name}/start", POST=(start_recipe, Operation("Start a recipe", status=201, returns=_NAMED, errors=(400, 404, 422)))),
    _route("/api/recipes/{name}/stop", POST=(stop_recipe, Operation("Stop a recipe", status=201, returns=_NAMED, errors=(400, 404, 422)))),
    _route("/api/status", GET=(server_status, Operation("This server: network policy, job counts, leadership", returns=_OBJECT))),
    _route("/api/jobs", GET=(list_jobs, Operation("List jobs, newest first", returns=_LIST, errors=(422,), query=_JOB_QUERY))),
    _route("/api/jobs/{id}", GET=(get_job, Operation("One job with its event and steps", returns=_OBJECT, errors=(404,)))),
    _route("/api/jobs/{id}/rerun", POST=(rerun_job, Operation(
        "Run a finished job's recipe again with the same event, as a new pending job that records rerun_of", status=202,
        returns=_OBJECT, errors=(404, 422)))),
    Route("/oauth/callback", oauth_callback),
]
