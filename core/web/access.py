"""The console's endpoint wrapper (:func:`page`: session, login, CSRF, then the
handler) and the login and logout pages. What they check is in
:mod:`plugwire.core.web.session`."""

from __future__ import annotations

import secrets
from typing import Awaitable, Callable
from urllib.parse import quote

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from plugwire.core.web.logins import Logins
from plugwire.core.web.render import render, render_error
from plugwire.core.web.session import CSRF_HEADER, ConsoleAccess, Session, csrf_ok, safe_next

__all__ = ["login_page", "logout", "page"]


Handler = Callable[[Request, Session], Awaitable[Response]]


def page(handler: Handler, *, login: bool = True) -> Callable[[Request], Awaitable[Response]]:
    """Wrap a console endpoint: load the session, ask for a login where one is
    needed, refuse a POST without the session's CSRF token (403), call
    ``handler(request, session)`` and write the session back."""

    async def endpoint(request: Request) -> Response:
        access: ConsoleAccess = request.app.state.console_access
        session = access.load(request)
        if "sid" in session:  # the store is asked off the event loop, once per request
            await run_in_threadpool(access.login_verdict, session)
        if login and access.login_needed(request) and not access.logged_in(session):
            back = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            if request.method != "GET":
                back = request.url.path
            expired = "&expired=1" if access.login_verdict(session) == "expired" else ""
            response = RedirectResponse(f"/console/login?next={quote(back)}{expired}", status_code=303)
            session.drop("sid")
            access.store(request, response, session)
            return response
        if request.method == "POST":
            form = None
            if request.headers.get(CSRF_HEADER) is None:
                form = await request.form(max_part_size=4 * 1024 * 1024)
            if not csrf_ok(session, request, form):
                response = render_error(
                    request, session, 403, "Form expired or sent from elsewhere",
                    "This form did not carry this console's security token, so nothing was done. "
                    "Reload the page and submit it again.",
                )
                access.store(request, response, session)
                return response
        response = await handler(request, session)
        access.store(request, response, session)
        return response

    return endpoint


async def login_page(request: Request, session: Session) -> Response:
    """GET shows the login form; POST checks the API token and starts a session. Tries
    from an address with too many failed logins wait (429 with ``Retry-After``)."""
    access: ConsoleAccess = request.app.state.console_access
    target = safe_next(request.query_params.get("next"))
    error = None
    if request.method == "POST":
        form = await request.form()
        target = safe_next(str(form.get("next") or target))
        address = request.client.host if request.client else "unknown"
        logins = access.logins
        wait = await run_in_threadpool(logins.attempt, address) if logins is not None else 0
        if wait:
            response = render(request, session, "login.html", {"next": target, "error": (
                f"Too many failed logins from your address ({address}): try again in {wait} s. "
                "The API token is the value of $PLUGWIRE_API_TOKEN, or the api-token file in the data folder.")},
                status=429)
            response.headers["Retry-After"] = str(wait)
            return response
        if logins is not None and access.check_token(str(form.get("token") or "")):
            await run_in_threadpool(logins.succeeded, address)
            old = session.get("sid")
            if isinstance(old, str):  # a new session id per login, never one chosen before it
                await run_in_threadpool(logins.end, old)
            session.clear()
            session.set("sid", await run_in_threadpool(logins.start))
            session.set("csrf", secrets.token_urlsafe(24))  # a new token after a login
            session.verdict = "in"
            return RedirectResponse(target, status_code=303)
        error = "That is not this server's API token."
    elif not access.login_needed(request):
        return RedirectResponse(target, status_code=303)
    status = 401 if error else 200
    expired = request.method == "GET" and request.query_params.get("expired") == "1"
    return render(request, session, "login.html", {"next": target, "error": error, "expired": expired and access.logins is not None,
                                                   "logins": access.logins}, status=status)


async def logout(request: Request, session: Session) -> Response:
    """End the login: the store forgets the session, so its cookie is refused at every
    server from now on."""
    logins: Logins | None = request.app.state.console_access.logins
    sid = session.get("sid")
    if isinstance(sid, str) and logins is not None:
        await run_in_threadpool(logins.end, sid)
    session.clear()
    session.changed = True
    session.verdict = "out"
    return RedirectResponse("/console/login", status_code=303)
