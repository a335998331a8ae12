"""Console pages for connections: the list, the "link your account" dialog, the
edit form, *Test connection* (under the server's network policy, redirects
included) and *Connect* (OAuth2 or OAuth 1.0a through the provider's page)."""

from __future__ import annotations

from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from plugwire.core.base.errors import NotFoundError, PlugwireError, UserInputError
from plugwire.core.connections.checks import KINDS, latest
from plugwire.core.connections.model import Connection, Connections
from plugwire.core.plugincore.manager import auth_types
from plugwire.core.web.access import page
from plugwire.core.web.connection_form import auth_fields, connection_input, current_values, form_values
from plugwire.core.web.render import render, render_error
from plugwire.core.web.session import Session

__all__ = ["base_url", "check_view", "routes"]


def base_url(request: Request) -> str:
    """Return the URL this server is reached at (``--public-url``, else the request's)."""
    state = request.app.state.plugwire
    return state.public_url or str(request.base_url).rstrip("/")


def _service(request: Request) -> Connections:
    return Connections(request.app.state.plugwire.home)


def _providers(request: Request) -> list[tuple[str, str]]:
    from plugwire.knowledge.base import get_knowledge

    index = get_knowledge(request.app.state.plugwire.home).catalogue().index
    return sorted(((p.provider, p.name) for p in index.providers), key=lambda p: p[1].lower())


def _status(conn: Connection, service: Connections) -> dict[str, Any]:
    interactive = conn.auth_type_plugin().interactive
    token = service.tokens(conn.name).load() if interactive else None
    expires = None
    if token and token.get("expires_at"):
        from plugwire.core.connections.authorize import token_summary

        expires = token_summary(conn, token)["expires_at"]
    return {"interactive": interactive, "connected": bool(token) if interactive else None, "expires_at": expires}


def _checks(conn: Connection) -> dict[str, Any]:
    """The connection's last checks as its pages show them: the latest (``last``) and
    one per kind (``checks``), each marked ``stale`` when the connection was edited since."""
    return {
        "last": check_view(latest(conn.checks, conn.updated_at)),
        "checks": [
            check_view({**conn.checks[k], "kind": k, "stale": conn.updated_at > conn.checks[k].get("at", "")})
            for k in KINDS if k in conn.checks
        ],
    }


_LABELS = {
    ("test", "ok"): "tested OK",
    ("refresh", "ok"): "token renewed",
    ("refresh", "not_connected"): "must reconnect",
    ("refresh", "refresh_failed"): "token renewal failed",
    ("test", "refused"): "refused by the network policy",
}


def check_view(entry: dict[str, Any] | None) -> dict[str, Any] | None:
    """Return a recorded check (``connections.checks``) with the words a page shows
    for it (``label``: 'credentials rejected', 'tested OK'...), or None."""
    if not entry:
        return None
    kind, outcome = entry.get("kind", "test"), str(entry.get("outcome") or "")
    label = _LABELS.get((kind, outcome)) or outcome.replace("_", " ")
    return {**entry, "label": label, "what": "Test connection" if kind == "test" else "Token renewal"}


async def list_page(request: Request, session: Session) -> Response:
    service = _service(request)
    items = []
    for conn in await run_in_threadpool(service.list):
        items.append({"conn": conn.public(), **_status(conn, service), **_checks(conn)})
    return render(request, session, "connections/list.html", {"items": items})


def _form_context(request: Request, values: dict[str, Any], auth_name: str | None, *, editing: Connection | None = None) -> dict[str, Any]:
    auth = auth_types.get(auth_name) if auth_name else None
    return {
        "auth_types": [(n, a.title) for n, a in sorted(auth_types.items().items())],
        "auth": auth,
        "fields": auth_fields(auth) if auth else [],
        "values": values,
        "editing": editing.public() if editing else None,
        "callback_url": f"{base_url(request)}/oauth/callback",
    }


async def new_page(request: Request, session: Session) -> Response:
    """GET: the dialog, pre-filled from the catalogue when a known API is picked; POST: create."""
    q = request.query_params
    values: dict[str, Any] = {"name": q.get("name", ""), "settings": {}, "verify_tls": True}
    hints: dict[str, Any] = {}
    auth_name = q.get("auth_type") or None
    provider = q.get("provider") or None
    error: PlugwireError | None = None
    if request.method == "POST":
        form = await request.form()
        auth_name = str(form.get("auth_type") or "")
        done, error, values = await _save(request, session, form, None)
        if done is not None:
            return done
    elif provider:
        from plugwire.knowledge.prefill import connection_defaults

        try:
            found = await run_in_threadpool(connection_defaults, provider, request.app.state.plugwire.home)
        except PlugwireError as exc:
            error = exc
        else:
            values.update(provider=found["provider"], base_url=found["base_url"] or "")
            hints = found
            auth_name = auth_name or (found["auth_type"] if auth_types.get(found["auth_type"]) else None)
            if auth_name == found["auth_type"]:
                values["settings"] = dict(found["settings"])
    if auth_name == "oauth2" and not values["settings"].get("redirect_uri"):
        values["settings"]["redirect_uri"] = f"{base_url(request)}/oauth/callback"
    ctx = _form_context(request, values, auth_name)
    ctx.update(providers=await run_in_threadpool(_providers, request), provider=provider or values.get("provider"), hints=hints, error=error)
    return render(request, session, "connections/form.html", ctx, status=400 if error and request.method == "POST" else 200)


async def _save(request: Request, session: Session, form: Any, current: Connection | None) -> tuple[Response | None, Any, Any]:
    """Create (``current`` None) or edit the connection the form describes. Returns
    ``(redirect, None, None)`` when saved, else ``(None, error, values to show again)``."""
    auth = auth_types.get(str(form.get("auth_type") or (current.auth_type if current else "")))
    service = _service(request)
    try:
        if auth is None:
            raise UserInputError("Choose an auth type.", field="auth_type", fix="pick one from the list")
        data, unset = await connection_input(form, auth, current)
        if current is None:
            conn = await run_in_threadpool(service.create, data)
        else:
            conn = await run_in_threadpool(lambda: service.edit(current.name, data, unset=unset))
    except PlugwireError as exc:
        return None, exc, form_values(form, auth)
    session.flash(f"Connection {conn.name} {'updated' if current else 'saved'}.", "ok")
    return RedirectResponse(f"/console/connections/{conn.name}", status_code=303), None, None


async def _get(request: Request) -> Connection | None:
    try:
        return await run_in_threadpool(_service(request).get, request.path_params["name"])
    except NotFoundError:
        return None


def _missing(request: Request, session: Session) -> Response:
    return render_error(request, session, 404, "No such connection", f"There is no connection named {request.path_params['name']!r}.")


async def detail_page(request: Request, session: Session, *, test: Any = None) -> Response:
    conn = await _get(request)
    if conn is None:
        return _missing(request, session)
    service = _service(request)
    ctx = {"conn": conn.public(), "auth": conn.auth_type_plugin(), "test": test, **_status(conn, service), **_checks(conn)}
    return render(request, session, "connections/detail.html", ctx)


async def edit_page(request: Request, session: Session) -> Response:
    conn = await _get(request)
    if conn is None:
        return _missing(request, session)
    auth_name = request.query_params.get("auth_type") or conn.auth_type
    error = None
    values = current_values(conn)
    if request.method == "POST":
        form = await request.form()
        auth_name = str(form.get("auth_type") or conn.auth_type)
        done, error, values = await _save(request, session, form, conn)
        if done is not None:
            return done
    elif auth_name != conn.auth_type:
        values["settings"] = {}
    ctx = _form_context(request, values, auth_name, editing=conn)
    ctx.update(providers=[], provider=None, hints={}, error=error)
    return render(request, session, "connections/form.html", ctx, status=400 if error else 200)


async def test_action(request: Request, session: Session) -> Response:
    """Send the test GET and show what happened on the connection's page."""
    from plugwire.core.http.testconn import test_connection

    conn = await _get(request)
    if conn is None:
        return _missing(request, session)
    form = await request.form()
    url = str(form.get("url") or "").strip() or conn.options.test_url
    # The server's network policy checks the GET and every redirect it follows: the
    # console sends only what the server itself could.
    policy = request.app.state.plugwire.policy
    found = await run_in_threadpool(lambda: test_connection(conn, _service(request), url, policy=policy))
    return await detail_page(request, session, test=found.model_dump(mode="json"))


async def connect_action(request: Request, session: Session) -> Response:
    """Start the OAuth2 or OAuth 1.0a authorization and send the browser to the
    provider's page; the provider sends it back to ``/oauth/callback``, which stores
    the token. OAuth 1.0a's request token goes through the server's network policy."""
    from plugwire.core.connections import authorize
    from plugwire.core.http.client import policed_transport

    conn = await _get(request)
    if conn is None:
        return _missing(request, session)
    transport = policed_transport(request.app.state.plugwire.policy, conn)
    try:
        pending = await run_in_threadpool(lambda: authorize.start(
            conn, f"{base_url(request)}/oauth/callback", connections=_service(request), transport=transport))
    except PlugwireError as exc:
        session.flash(str(exc), "error")
        return RedirectResponse(f"/console/connections/{conn.name}", status_code=303)
    request.app.state.plugwire.remember_authorization(conn.name, pending)
    return RedirectResponse(pending.url, status_code=303)


async def status_json(request: Request, session: Session) -> Response:
    conn = await _get(request)
    if conn is None:
        return JSONResponse({"error": "no such connection"}, status_code=404)
    return JSONResponse(await run_in_threadpool(_status, conn, _service(request)), headers={"Cache-Control": "no-store"})


async def remove_action(request: Request, session: Session) -> Response:
    try:
        await run_in_threadpool(_service(request).remove, request.path_params["name"])
    except NotFoundError:
        return _missing(request, session)
    session.flash(f"Connection {request.path_params['name']} removed.", "ok")
    return RedirectResponse("/console/connections", status_code=303)


routes = [
    Route("/console/connections", page(list_page)),
    Route("/console/connections/new", page(new_page), methods=["GET", "POST"]),
    Route("/console/connections/{name}", page(detail_page)),
    Route("/console/connections/{name}/edit", page(edit_page), methods=["GET", "POST"]),
    Route("/console/connections/{name}/test", page(test_action), methods=["POST"]),
    Route("/console/connections/{name}/connect", page(connect_action), methods=["POST"]),
    Route("/console/connections/{name}/status", page(status_json)),
    Route("/console/connections/{name}/remove", page(remove_action), methods=["POST"]),
]
