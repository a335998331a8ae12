"""The console's logins, kept in the configuration store so that every server sharing it
agrees (the embedded store's file, or PostgreSQL): the sessions and the failed logins.

A session is a random id in the (signed) cookie and a record in the store's
``console_sessions`` table under the id's SHA-256, never the id itself: someone who
reads the store cannot log in with what they read. A logout deletes the record, so a
cookie captured before it is refused at every server after it. A session ends after
``PLUGWIRE_SESSION_IDLE_SECONDS`` without a page (8 hours) and in any case
``PLUGWIRE_SESSION_MAX_SECONDS`` after the login (7 days). Its last-seen time is
written at most once a minute (a quarter of the idle time, when that is shorter), not
on every page.

Failed logins are counted per client address in ``console_login_failures``: after
:data:`FREE_FAILURES` of them, each try waits 1 s, then 2 s, 4 s ... up to
:data:`BACKOFF_CAP_SECONDS`, and a try during the wait is refused unchecked, the right
token included. A try is counted as failed in the same transaction that checks the
wait (concurrent tries cannot slip past the count); a login resets the count, and a
day without failures forgets it.
"""

from __future__ import annotations

import hashlib
import math
import secrets
import time
from typing import Any, Callable, Literal

from plugwire.core.base.settings import seconds_setting
from plugwire.core.storage.backend import ConfigStore

__all__ = ["BACKOFF_CAP_SECONDS", "FREE_FAILURES", "IDLE_ENV", "MAX_AGE_ENV", "Logins"]

SESSIONS = "console_sessions"
FAILURES = "console_login_failures"
IDLE_ENV = "PLUGWIRE_SESSION_IDLE_SECONDS"
MAX_AGE_ENV = "PLUGWIRE_SESSION_MAX_SECONDS"
#: Failed logins from one address before the back-off starts.
FREE_FAILURES = 5
#: The longest wait between two tries.
BACKOFF_CAP_SECONDS = 15 * 60
#: A count of failures this old is forgotten.
FORGET_SECONDS = 24 * 3600

Verdict = Literal["in", "out", "expired"]


def _key(session_id: str) -> str:
    return hashlib.sha256(session_id.encode()).hexdigest()


def _span(seconds: float) -> str:
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size:
            break
    else:
        unit, size = "second", 1
    count = round(seconds / size, 1)
    return f"{count:g} {unit}{'' if count == 1 else 's'}"


def now() -> float:
    """Return the time in seconds: the clock of every :class:`Logins` built without one
    (a test that runs a server replaces this function to move time on)."""
    return time.time()


class Logins:
    """The console's sessions and failed logins in ``store``. ``clock`` returns the time
    in seconds (default: :func:`now`, looked up at each use)."""

    def __init__(self, store: ConfigStore, *, idle: float | None = None, max_age: float | None = None,
                 clock: Callable[[], float] | None = None):
        self.store = store
        self.idle = idle if idle is not None else seconds_setting(IDLE_ENV, 8 * 3600, high=366 * 86400)
        self.max_age = max_age if max_age is not None else seconds_setting(MAX_AGE_ENV, 7 * 86400, high=366 * 86400)
        self.refresh = min(60.0, self.idle / 4)
        self._clock = clock

    def clock(self) -> float:
        """Return the time in seconds by this instance's clock."""
        return self._clock() if self._clock is not None else now()

    def describe(self) -> str:
        """Return when a session ends, in words (``8 hours without a page, or 7 days after its login``)."""
        return f"{_span(self.idle)} without a page, or {_span(self.max_age)} after its login"

    # -- sessions -----------------------------------------------------------------------
    def _ended(self, record: dict[str, Any], now: float) -> bool:
        return now - record.get("seen", 0) >= self.idle or now - record.get("started", 0) >= self.max_age

    def start(self) -> str:
        """Start a session; returns its id (for the cookie: the store keeps only its hash)."""
        session_id = secrets.token_urlsafe(32)
        now = self.clock()
        with self.store.transaction() as tx:
            for key, record in tx.all(SESSIONS).items():  # the ended ones go as a new one comes
                if self._ended(record, now):
                    tx.delete(SESSIONS, key)
            tx.put(SESSIONS, _key(session_id), {"started": now, "seen": now})
        return session_id

    def check(self, session_id: str) -> Verdict:
        """Return ``"in"`` for a live session (its last-seen time renewed when due),
        ``"expired"`` for one that ended by time (then forgotten), ``"out"`` otherwise
        (logged out, or never logged in)."""
        if not session_id:
            return "out"
        key, now = _key(session_id), self.clock()
        record = self.store.get(SESSIONS, key)
        if record is None:
            return "out"
        if self._ended(record, now):
            self.store.delete(SESSIONS, key)
            return "expired"
        if now - record.get("seen", 0) >= self.refresh:
            # Only an existing record is renewed: a logout at another server meanwhile stands.
            self.store.update(SESSIONS, key, lambda old: {**old, "seen": max(now, old.get("seen", 0))} if old else None)
        return "in"

    def end(self, session_id: str) -> None:
        """End the session ``session_id`` at every server (harmless when it is gone)."""
        if session_id:
            self.store.delete(SESSIONS, _key(session_id))

    # -- failed logins ------------------------------------------------------------------
    def attempt(self, address: str) -> int:
        """Count a try from ``address`` as failed until :meth:`succeeded` says otherwise.
        Returns 0 when the try may be checked, else the whole seconds it must wait
        (the try is then refused and not counted)."""
        now = self.clock()
        with self.store.transaction() as tx:
            old = tx.get(FAILURES, address) or {}
            if old.get("until", 0) > now:
                return max(1, math.ceil(old["until"] - now))
            count = (old.get("failures", 0) if now - old.get("last", 0) < FORGET_SECONDS else 0) + 1
            wait = min(BACKOFF_CAP_SECONDS, 2 ** min(count - FREE_FAILURES, 30)) if count >= FREE_FAILURES else 0
            tx.put(FAILURES, address, {"failures": count, "last": now, "until": now + wait if wait else 0})
            if count == 1:  # a new count: counts forgotten long ago go
                for other, record in tx.all(FAILURES).items():
                    if now - record.get("last", 0) >= FORGET_SECONDS:
                        tx.delete(FAILURES, other)
        return 0

    def succeeded(self, address: str) -> None:
        """Forget the failed logins of ``address`` (a login succeeded from it)."""
        self.store.delete(FAILURES, address)
