"""Who may use the console: the signed session cookie, the login check and the CSRF
check. The endpoint wrapper that applies them is :mod:`plugwire.core.web.access`.

The session lives in one cookie, signed with a key derived from the server's API
token (so a new token ends every session). It holds the CSRF token and, after a
login, the session's id, which counts only while the store keeps the session
(:mod:`plugwire.core.web.logins`: a logout, an idle time or an age ends it at every
server); never a secret of a connection.

On a server bound to the loopback address, reached by a loopback name, no login is
needed: only programs on this machine can reach it. Anywhere else (``--host
0.0.0.0``, or a loopback server reached through a tunnel under another name) every
page asks for the API token first. The Host check also defeats DNS rebinding,
where a web page gets its own domain to resolve to 127.0.0.1. Every POST, logged
in or not, must carry the session's CSRF token (a hidden ``csrf`` field, or the
``X-CSRF-Token`` header for scripts), so another site cannot submit a form here.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import ipaddress
import json
import secrets
from typing import Any
from urllib.parse import urlsplit

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response

from plugwire.core.web.logins import Logins, Verdict

__all__ = [
    "COOKIE",
    "CSRF_FIELD",
    "CSRF_HEADER",
    "ConsoleAccess",
    "Session",
    "csrf_ok",
    "is_loopback_host",
    "safe_next",
]

COOKIE = "plugwire_console"
CSRF_FIELD = "csrf"
CSRF_HEADER = "x-csrf-token"


def is_loopback_host(host: str) -> bool:
    """Return True for ``localhost``, ``127.x.x.x`` and ``::1`` (brackets and port allowed)."""
    name = (host or "").strip().lower()
    if name.startswith("["):
        name = name[1 : name.find("]")] if "]" in name else name[1:]
    elif name.count(":") == 1:
        name = name.split(":", 1)[0]
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


class Session(dict):
    """The console's session data; ``changed`` says whether the cookie must be rewritten,
    ``verdict`` what the store said of its login during this request (asked once)."""

    changed = False
    verdict: Verdict | None = None

    def set(self, key: str, value: Any) -> None:
        self[key] = value
        self.changed = True

    def drop(self, key: str) -> None:
        if key in self:
            del self[key]
            self.changed = True

    @property
    def csrf(self) -> str:
        """Return the session's CSRF token, creating it on first use."""
        if not self.get("csrf"):
            self.set("csrf", secrets.token_urlsafe(24))
        return self["csrf"]

    def flash(self, message: str, kind: str = "info") -> None:
        """Keep a message to show on the next page."""
        self.set("flash", [*self.get("flash", []), [kind, message]][-5:])

    def take_flashes(self) -> list[tuple[str, str]]:
        """Return and forget the kept messages."""
        found = [(k, m) for k, m in self.get("flash", [])]
        self.drop("flash")
        return found


class ConsoleAccess:
    """The session key and the login rule of one server.

    ``bind_host`` is the address the server listens on; ``api_token`` is what the
    login page asks for (and what the session key is derived from); ``logins`` keeps
    the sessions and failed logins (in the store every server shares; without it
    nobody can log in).
    """

    def __init__(self, api_token: str | None, bind_host: str, logins: Logins | None = None):
        self.api_token = api_token
        self.bind_host = bind_host
        self.logins = logins
        seed = (api_token or secrets.token_urlsafe(32)).encode()
        self._key = hmac.new(seed, b"plugwire console session v1", hashlib.sha256).digest()

    # -- the cookie ---------------------------------------------------------------------
    def _sign(self, payload: bytes) -> str:
        return base64.urlsafe_b64encode(hmac.new(self._key, payload, hashlib.sha256).digest()).decode().rstrip("=")

    def load(self, request: Request) -> Session:
        """Return the request's session (empty when the cookie is absent, forged or unreadable)."""
        raw = request.cookies.get(COOKIE, "")
        data, _, signature = raw.rpartition(".")
        if data and hmac.compare_digest(self._sign(data.encode()), signature):
            try:
                found = json.loads(base64.urlsafe_b64decode(data + "=" * (-len(data) % 4)))
            except ValueError:
                found = None
            if isinstance(found, dict):
                return Session(found)
        return Session()

    def store(self, request: Request, response: Response, session: Session) -> None:
        """Write ``session`` into ``response``'s cookie when it changed."""
        if not session.changed:
            return
        data = base64.urlsafe_b64encode(json.dumps(dict(session), separators=(",", ":")).encode()).decode().rstrip("=")
        response.set_cookie(
            COOKIE, f"{data}.{self._sign(data.encode())}", httponly=True, samesite="lax", path="/",
            secure=request.url.scheme == "https",
        )

    # -- the rules ----------------------------------------------------------------------
    def login_needed(self, request: Request) -> bool:
        """Return True unless the server is bound to loopback and reached by a loopback name."""
        return not (is_loopback_host(self.bind_host) and is_loopback_host(request.headers.get("host", "")))

    def login_verdict(self, session: Session) -> Verdict:
        """Return ``"in"`` while the session's login lasts, ``"expired"`` when it ended by
        time, ``"out"`` otherwise; asks the store once per request."""
        if session.verdict is None:
            sid = session.get("sid")
            session.verdict = self.logins.check(sid) if self.logins is not None and isinstance(sid, str) else "out"
        return session.verdict

    def logged_in(self, session: Session) -> bool:
        """Return True for a session whose login is still valid."""
        return self.login_verdict(session) == "in"

    def check_token(self, given: str) -> bool:
        """Return True when ``given`` is the API token."""
        return bool(self.api_token) and hmac.compare_digest((given or "").strip().encode(), self.api_token.encode())


def csrf_ok(session: Session, request: Request, form: FormData | None) -> bool:
    expected = session.get("csrf")
    given = request.headers.get(CSRF_HEADER) or (form.get(CSRF_FIELD) if form is not None else None)
    return bool(expected) and isinstance(given, str) and hmac.compare_digest(given.encode(), expected.encode())


def safe_next(target: str | None) -> str:
    """Return ``target`` when it is a path on this server, else the console's home."""
    if target and target.startswith("/") and not target.startswith("//") and not urlsplit(target).netloc:
        return target
    return "/console/"
