"""The interactive authorization of a connection (OAuth2 authorization code, OAuth 1.0a).

:func:`run_authorization` is what ``plugwire connections connect`` runs: it listens
once on 127.0.0.1 at the port and path of the connection's redirect URI, shows (and
may open) the authorize URL, and finishes when the provider redirects the browser
back. A web server that receives the callback itself uses :func:`start` and
:func:`finish_from_callback` instead.
"""

from __future__ import annotations

import html
import shlex
import threading
import webbrowser
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable

import httpx2

from plugwire.core.base.errors import PlugwireError, UserInputError
from plugwire.core.connections.model import Connection, Connections
from plugwire.core.plugincore.auth import AuthType, PendingAuthorization

__all__ = [
    "callback_address",
    "finish_from_callback",
    "run_authorization",
    "start",
    "token_summary",
]

_LOOPBACK = {"127.0.0.1", "localhost", "::1"}


def _interactive(conn: Connection) -> AuthType:
    auth = conn.auth_type_plugin()
    if not auth.interactive:
        raise UserInputError(
            f"Connection {conn.name!r} uses the auth type {auth.name!r}, which needs no browser authorization.",
            field="auth_type",
            fix="`connect` is for interactive auth types such as oauth2; try `plugwire connections test` instead",
        )
    return auth


def callback_address(redirect_uri: str) -> tuple[str, int, str]:
    """Return ``(host, port, path)`` to listen on for ``redirect_uri``.

    Raises ``UserInputError`` (field ``settings.redirect_uri``) unless it is a plain
    http URL on this machine (127.0.0.1, localhost or ::1).
    """
    url = httpx2.URL(redirect_uri)
    if url.scheme != "http" or url.host not in _LOOPBACK:
        raise UserInputError(
            f"settings.redirect_uri {redirect_uri!r} is not a plain http address on this machine, so "
            "`plugwire connections connect` cannot receive the callback there.",
            field="settings.redirect_uri",
            fix="set settings.redirect_uri to http://127.0.0.1:8765/callback (a free port) and register that "
            "URL at the provider, or finish the authorization through the plugwire web server",
        )
    host = "::1" if url.host == "::1" else "127.0.0.1"
    return host, url.port or 80, url.path or "/"


def start(
    conn: Connection, redirect_uri: str | None = None, *,
    connections: Connections | None = None, transport: Callable[[bool, Any], Any] | None = None,
) -> PendingAuthorization:
    """Return a new pending authorization of ``conn`` (the URL to send the user to).

    ``redirect_uri`` replaces the connection's (a web server's own callback URL).
    A type whose start makes a request (OAuth 1.0a's request token) makes it with
    the connection's TLS and route from ``connections`` and the server's network
    policy from ``transport`` (see ``Connections.auth_context``).
    Keep the result private: its ``secret_state`` holds the PKCE verifier or the
    request token's secret. Raises ``UserInputError`` when the auth type is not
    interactive, ``PlugwireError`` when the provider refuses to start.
    """
    auth = _interactive(conn)
    if connections is not None:
        context = connections.auth_context(conn, transport=transport)
    else:  # nothing is stored at the start: an unsaved connection's context will do
        from plugwire.core.connections.tls import tls_context
        from plugwire.core.plugincore.auth import AuthContext, MemoryTokenStore

        verify = tls_context(conn)
        context = AuthContext(
            connection_name=conn.name, tokens=MemoryTokenStore(), verify=verify, timeout=conn.options.timeout,
            proxy=conn.options.agent_url if conn.options.private_network else None,
            transport=(lambda asynchronous: transport(asynchronous, verify)) if transport is not None else None,
        )
    return auth.begin_authorization(conn.settings, redirect_uri, context)


def token_summary(conn: Connection, token: dict[str, Any]) -> dict[str, Any]:
    """Return what may be shown of a new token: a message, its scope and expiry
    (ISO 8601, or None). Never a token value."""
    expires_at = token.get("expires_at")
    when = datetime.fromtimestamp(int(expires_at), timezone.utc).isoformat(timespec="seconds") if expires_at else None
    renew = "it is renewed automatically" if token.get("refresh_token") else "reconnect when it expires"
    expiry = f"the access token expires at {when}" if when else "the provider gave no expiry"
    return {
        "connection": conn.name,
        "message": f"token stored encrypted; {expiry}; {renew}",
        "scope": token.get("scope") or "",
        "expires_at": when,
        "renewable": bool(token.get("refresh_token")),
    }


def finish_from_callback(
    conn: Connection, connections: Connections, pending: PendingAuthorization, callback_url: str,
    *, transport: Callable[[bool, Any], Any] | None = None,
) -> dict[str, Any]:
    """Finish ``pending`` with the URL the provider redirected the browser to: check
    the state, exchange the code, store the token. ``transport`` brings the
    server's network policy to the code exchange (see ``Connections.auth_context``).

    Returns :func:`token_summary`. Raises ``PlugwireError`` for a state mismatch, a
    denied access or a provider error (nothing is stored then).
    """
    auth = _interactive(conn)
    token = auth.finish_authorization(conn.settings, pending, callback_url, connections.auth_context(conn, transport=transport))
    return token_summary(conn, token)


class _Outcome:
    """What the callback handler found, handed to the waiting thread."""

    def __init__(self) -> None:
        self.done = threading.Event()
        self.claimed = threading.Lock()
        self.result: dict[str, Any] | None = None
        self.error: BaseException | None = None


def _page(title: str, text: str) -> bytes:
    return (
        "<!doctype html><meta charset='utf-8'><title>plugwire</title>"
        f"<h1>{html.escape(title)}</h1><p>{html.escape(text)}</p>"
    ).encode()


def _handler(path: str, finish: Callable[[str], dict[str, Any]], outcome: _Outcome, base: str) -> type:
    class CallbackHandler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
            target = httpx2.URL(base + self.path)
            if target.path != path:
                self._reply(404, "Not found", "This is plugwire's one-time OAuth callback; nothing else is here.")
                return
            if not outcome.claimed.acquire(blocking=False):
                self._reply(409, "Already done", "This authorization was already handled; you can close this window.")
                return
            try:
                outcome.result = finish(str(target))
            except PlugwireError as exc:
                outcome.error = exc
                self._reply(400, "Authorization failed", str(exc))
            except Exception as exc:  # a bug: hand it to the waiting thread, show a plain page
                outcome.error = exc
                self._reply(500, "Authorization failed", "plugwire hit an internal error; see the terminal.")
            else:
                self._reply(200, "Connected", "plugwire stored the token. You can close this window.")
            finally:
                outcome.done.set()

        def _reply(self, status: int, title: str, text: str) -> None:
            body = _page(title, text)
            self.send_response(status)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            # The request line holds the authorization code: never log it.
            return

    return CallbackHandler


def _listen(host: str, port: int, handler: type) -> ThreadingHTTPServer:
    server_cls = type("CallbackServer", (ThreadingHTTPServer,), {"daemon_threads": True})
    if ":" in host:
        import socket

        server_cls.address_family = socket.AF_INET6
    try:
        return server_cls((host, port), handler)
    except OSError as exc:
        raise PlugwireError(
            f"Cannot listen on {host}:{port} for the OAuth callback ({exc.strerror or exc}).",
            field="settings.redirect_uri",
            fix="free that port, or change settings.redirect_uri to another free port (and register it at the provider)",
        ) from None


def run_authorization(
    conn: Connection,
    connections: Connections,
    *,
    show_url: Callable[[str], None],
    open_browser: bool = True,
    timeout: float = 300.0,
) -> dict[str, Any]:
    """Authorize ``conn`` interactively and store its token.

    Listens once on the loopback address of the redirect URI, calls
    ``show_url(authorize_url)``, opens a browser when ``open_browser``, and waits up to
    ``timeout`` seconds for the provider's redirect. Returns :func:`token_summary`
    (no secrets). Raises ``UserInputError`` for a redirect URI not on this machine or
    a non-interactive auth type, ``PlugwireError`` on timeout, state mismatch, denial
    or a provider error.
    """
    _interactive(conn)
    pending = start(conn, connections=connections)
    host, port, path = callback_address(pending.redirect_uri)
    outcome = _Outcome()
    base = f"http://{'[::1]' if ':' in host else host}:{port}"

    def finish(callback_url: str) -> dict[str, Any]:
        return finish_from_callback(conn, connections, pending, callback_url)

    server = _listen(host, port, _handler(path, finish, outcome, base))
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        show_url(pending.url)
        if open_browser:
            try:
                webbrowser.open(pending.url)
            except Exception:  # no browser here: the URL was shown, the user can open it
                pass
        if not outcome.done.wait(timeout):
            raise PlugwireError(
                f"No callback from the provider arrived within {timeout:g} seconds; nothing was stored.",
                field="timeout",
                fix=f"run `plugwire connections connect {shlex.quote(conn.name)}` again and finish in the browser in time "
                "(or give a longer --timeout)",
            )
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
    if outcome.error is not None:
        raise outcome.error
    return outcome.result or {}
