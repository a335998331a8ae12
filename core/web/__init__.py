"""The web console: connections, the request wizard, recipes and jobs in a browser.

Served by ``plugwire serve`` under ``/console/`` next to the JSON API: pages are
rendered on the server from Jinja2 templates, with a little plain CSS and
JavaScript shipped in the package, so nothing is built on the user's machine and
nothing is fetched from the internet. :func:`console_routes` returns the routes;
:func:`attach` adds what they share to the application.
"""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from plugwire.core.web.access import login_page, logout, page
from plugwire.core.web.render import HERE
from plugwire.core.web.session import ConsoleAccess

__all__ = ["attach", "console_routes"]


async def _home(request: Request) -> Response:
    return RedirectResponse("/console/", status_code=307)


async def overview(request: Request, session) -> Response:
    from starlette.concurrency import run_in_threadpool

    from plugwire.core.connections.model import Connections
    from plugwire.core.web.render import render
    from plugwire.core.wizard.actions import Actions

    state = request.app.state.plugwire

    def gather() -> dict:
        return {
            "connections": len(Connections(state.home).list()),
            "actions": len(Actions(state.home).list()),
            "recipes": state.recipes.list(),
            "jobs": state.jobs.list(limit=8),
            "counts": state.jobs.counts(),
        }

    return render(request, session, "overview.html", await run_in_threadpool(gather))


def console_routes() -> list[BaseRoute]:
    """Return every route of the console (pages, login, static files)."""
    from plugwire.core.web import connections, jobs, recipes, wizard

    return [
        Route("/", _home),
        Route("/console/", page(overview)),
        Route("/console", _home),
        Route("/console/login", page(login_page, login=False), methods=["GET", "POST"]),
        Route("/console/logout", page(logout, login=False), methods=["POST"]),
        Mount("/console/static", app=StaticFiles(directory=str(HERE / "static")), name="console-static"),
        *connections.routes,
        *wizard.routes,
        *recipes.routes,
        *jobs.routes,
    ]


def attach(app: Starlette, *, api_token: str | None, bind_host: str) -> None:
    """Give ``app`` what the console's routes share: the login rule and session key
    (from ``api_token`` and the address the server is bound to, ``bind_host``), the
    sessions and failed logins (in the store of ``app.state.plugwire``, shared by every
    server) and the wizards in progress. Raises ``UserInputError`` for a session setting
    that is not a number of seconds."""
    from plugwire.core.web.logins import Logins
    from plugwire.core.web.wizard import Drafts

    app.state.console_access = ConsoleAccess(api_token, bind_host, Logins(app.state.plugwire.home.store))
    app.state.console_drafts = Drafts()
