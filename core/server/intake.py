"""Reading a webhook's body under the server's limits: a size limit checked while the
body arrives (a body past it is never held whole), and a time limit on receiving it.

The limit for a recipe is its trigger's own (:meth:`TriggerType.max_body_bytes`), or
else the server's (``--max-body-bytes``, ``PLUGWIRE_MAX_BODY_BYTES``, 1 MiB); never
more than :data:`HARD_MAX_BODY_BYTES`. A body announced larger (``Content-Length``)
is refused before any of it is read. Both refusals close the connection, so the
rest of an upload is not read either.
"""

from __future__ import annotations

import asyncio
import os
from dataclasses import dataclass

from pydantic import BaseModel
from starlette.requests import ClientDisconnect, Request

from plugwire.core.base.errors import UserInputError
from plugwire.core.plugincore.triggers import TriggerType

__all__ = [
    "BODY_TIMEOUT_ENV", "DEFAULT_BODY_TIMEOUT", "DEFAULT_MAX_BODY_BYTES", "HARD_MAX_BODY_BYTES", "MAX_BODY_BYTES_ENV",
    "BodyDeadlines", "BodyRefused", "IntakeLimits", "read_body",
]

MAX_BODY_BYTES_ENV = "PLUGWIRE_MAX_BODY_BYTES"
BODY_TIMEOUT_ENV = "PLUGWIRE_BODY_TIMEOUT"
DEFAULT_MAX_BODY_BYTES = 1_048_576
#: No recipe and no server setting goes past this: a body is held in memory whole.
HARD_MAX_BODY_BYTES = 50 * 1_048_576
#: Seconds a sender has to deliver the whole body once its headers arrived: time
#: enough for a 50 MiB body over a slow link, not for a connection held open for hours.
DEFAULT_BODY_TIMEOUT = 30.0
_MAX_BODY_TIMEOUT = 3600.0


class BodyRefused(Exception):
    """A body the server will not read to the end; ``status`` is the answer (413, 408, 400)."""

    def __init__(self, status: int, message: str):
        self.status = status
        self.message = message
        super().__init__(message)


@dataclass(frozen=True)
class IntakeLimits:
    """The server's limits on a webhook's body: ``max_body_bytes`` for a recipe whose
    trigger sets none, and ``body_timeout`` seconds to receive any body."""

    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    body_timeout: float = DEFAULT_BODY_TIMEOUT

    @classmethod
    def from_settings(cls, max_body_bytes: int | None = None, body_timeout: float | None = None) -> "IntakeLimits":
        """Return the limits given (``plugwire serve`` options), else from ``PLUGWIRE_MAX_BODY_BYTES``
        and ``PLUGWIRE_BODY_TIMEOUT``, else the defaults; raises ``UserInputError`` naming a
        setting out of range."""
        size, field = ((max_body_bytes, "--max-body-bytes") if max_body_bytes is not None
                       else (_env(MAX_BODY_BYTES_ENV, int, DEFAULT_MAX_BODY_BYTES), MAX_BODY_BYTES_ENV))
        if not 1 <= size <= HARD_MAX_BODY_BYTES:
            raise UserInputError(f"{_given(field, size)} is out of range for the server's body limit.", field=field,
                                 fix=f"give bytes between 1 and {HARD_MAX_BODY_BYTES} (default {DEFAULT_MAX_BODY_BYTES})")
        timeout, field = ((body_timeout, "--body-timeout") if body_timeout is not None
                          else (_env(BODY_TIMEOUT_ENV, float, DEFAULT_BODY_TIMEOUT), BODY_TIMEOUT_ENV))
        if not 0.05 <= timeout <= _MAX_BODY_TIMEOUT:
            raise UserInputError(f"{_given(field, timeout)} is out of range for the body timeout.", field=field,
                                 fix=f"give seconds between 0.05 and {_MAX_BODY_TIMEOUT:g} (default {DEFAULT_BODY_TIMEOUT:g})")
        return cls(max_body_bytes=size, body_timeout=timeout)

    def limit_for(self, kind: TriggerType, config: BaseModel) -> tuple[int, str]:
        """Return the largest body a recipe with this trigger accepts, and where that
        limit comes from (for the refusal's message)."""
        own = kind.max_body_bytes(config)
        if own is None:
            return self.max_body_bytes, f"the server's limit (--max-body-bytes or {MAX_BODY_BYTES_ENV})"
        return min(own, HARD_MAX_BODY_BYTES), "the recipe's limit (its trigger's max_body_bytes)"


def _given(field: str, value: float) -> str:
    shown = f"{value:g}" if isinstance(value, float) else str(value)
    return f"{field} {shown}" if field.startswith("--") else f"{field}={shown}"


def _env(name: str, kind: type, default: float) -> float:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        return kind(raw)
    except ValueError:
        raise UserInputError(f"{name}={raw!r} is not a number.", field=name,
                             fix=f"give a number, or unset it (default {default:g})") from None


class BodyDeadlines:
    """The body timeout of every webhook being read, kept by one watcher task instead of
    a timer per request (``asyncio.timeout`` cost a webhook 4 us, a fifth of its own
    handling). The watcher wakes every ``timeout / 4`` (at most every second) while any
    body is being read, and cancels the reads past their deadline: a body is cut off
    between ``timeout`` and ``timeout`` plus that tick."""

    def __init__(self, timeout: float):
        self.timeout = timeout
        self._tick = min(1.0, timeout / 4)
        self._due: dict[asyncio.Task, float] = {}
        self._expired: set[asyncio.Task] = set()
        self._watcher: asyncio.Task | None = None

    def watch(self) -> asyncio.Task:
        """Start the current task's deadline; returns the task."""
        task = asyncio.current_task()
        assert task is not None
        loop = asyncio.get_running_loop()
        self._due[task] = loop.time() + self.timeout
        if self._watcher is None or self._watcher.done():
            self._watcher = loop.create_task(self._watch(loop))
        return task

    def release(self, task: asyncio.Task) -> bool:
        """End ``task``'s deadline; returns True when it had expired (the read was cancelled for it)."""
        self._due.pop(task, None)
        if task in self._expired:
            self._expired.discard(task)
            task.uncancel()
            return True
        return False

    async def _watch(self, loop: asyncio.AbstractEventLoop) -> None:
        while self._due:  # ends when nothing is being read; the next read starts it again
            await asyncio.sleep(self._tick)
            now = loop.time()
            for task, due in list(self._due.items()):
                if due <= now:
                    del self._due[task]
                    self._expired.add(task)
                    task.cancel()


async def read_body(request: Request, limit: int, source: str, deadlines: BodyDeadlines) -> bytes:
    """Return the request's body, read as it arrives. Raises :class:`BodyRefused`: 413
    as soon as it passes ``limit`` bytes (or announces more), 408 when it takes longer
    than ``deadlines.timeout`` seconds, 400 for a sender that hung up or a bad
    Content-Length."""
    # From the scope itself (ASGI names are lower-case): the route builds no Headers object per event.
    declared = next((value for name, value in request.scope["headers"] if name == b"content-length"), None)
    if declared is not None:
        if not declared.strip().isdigit():
            raise BodyRefused(400, "The Content-Length header is not a number of bytes.")
        if int(declared) > limit:
            raise BodyRefused(413, _too_large(limit, source))
    parts: list[bytes] = []
    size = 0
    task = deadlines.watch()
    try:
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise BodyRefused(413, _too_large(limit, source))
            parts.append(chunk)
    except asyncio.CancelledError:
        if not deadlines.release(task):
            raise  # cancelled for another reason (the server is stopping)
        raise BodyRefused(408, f"The body did not arrive within {deadlines.timeout:g} s (the server's body timeout, "
                               f"--body-timeout or {BODY_TIMEOUT_ENV}); send it again, at once.") from None
    except ClientDisconnect:
        raise BodyRefused(400, "The sender hung up before the whole body arrived.") from None
    finally:
        deadlines.release(task)
    return b"".join(parts)


def _too_large(limit: int, source: str) -> str:
    return f"The body is larger than {limit} bytes, {source}; send less, or raise that limit."
