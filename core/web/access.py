"""The console's endpoint wrapper (:func:`page`: session, login, CSRF, then the
handler) and the login and logout pages. What they check is in
:mod:`plugwire.core.web.session`."""

from __future__ import annotations

import secrets
import time
from typing import Awaitable, Callable
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

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
        if login and access.login_needed(request) and not access.logged_in(session):
            back = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            if request.method != "GET":
                back = request.url.path
            return RedirectResponse(f"/console/login?next={quote(back)}", status_code=303)
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
    """GET shows the login form; POST checks the API token and starts the login."""
    access: ConsoleAccess = request.app.state.console_access
    target = safe_next(request.query_params.get("next"))
    error = None
    if request.method == "POST":
        form = await request.form()
        target = safe_next(str(form.get("next") or target))
        if access.check_token(str(form.get("token") or "")):
            session.clear()
            session.set("login_at", time.time())
            session.set("csrf", secrets.token_urlsafe(24))  # a new token after a login
            return RedirectResponse(target, status_code=303)
        error = "That is not this server's API token."
    elif not access.login_needed(request):
        return RedirectResponse(target, status_code=303)
    status = 401 if error else 200
    return render(request, session, "login.html", {"next": target, "error": error}, status=status)


async def logout(request: Request, session: Session) -> Response:
    """End the login (and the session)."""
    session.clear()
    session.changed = True
    return RedirectResponse("/console/login", status_code=303)
