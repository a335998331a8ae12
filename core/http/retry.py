"""When a failed request is tried again, and after how long: :class:`RetryPolicy`
(kept by each action, applied by :mod:`plugwire.core.http.send`) and the reading of
a ``Retry-After`` header."""

from __future__ import annotations

import email.utils
from datetime import datetime, timezone

from pydantic import BaseModel, Field

__all__ = ["IDEMPOTENT_METHODS", "RetryPolicy", "parse_retry_after"]

IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Return the seconds a ``Retry-After`` value asks to wait (delta-seconds or an
    HTTP date), or None when it is absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when is None:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return max(0.0, (when - (now or datetime.now(timezone.utc))).total_seconds())


class RetryPolicy(BaseModel):
    """When a failed attempt is tried again, and after how long.

    A 429 waits what ``Retry-After`` says (at most ``max_retry_after``), else the
    backoff; a 5xx (except 501 and 505), a timeout and a dropped connection wait
    ``backoff * 2**(attempt-1)`` seconds, at most ``max_backoff``. Only idempotent
    methods are retried unless ``retry_non_idempotent`` is set, because a POST that
    timed out may already have created something.
    """

    max_attempts: int = Field(3, ge=1, le=10, description="attempts in all, the first included")
    backoff: float = Field(0.5, ge=0, le=60, description="seconds before the first retry; doubles each time")
    max_backoff: float = Field(30.0, ge=0, le=3600)
    retry_on_429: bool = True
    retry_on_5xx: bool = True
    retry_on_timeout: bool = True
    retry_on_connection_error: bool = True
    retry_non_idempotent: bool = False
    max_retry_after: float = Field(120.0, ge=0, le=86400, description="longest Retry-After honoured, seconds")

    def next_delay(
        self,
        attempt: int,
        method: str,
        *,
        status: int | None = None,
        outcome: str | None = None,
        retry_after: str | float | None = None,
    ) -> float | None:
        """Return the seconds to wait before attempt ``attempt + 1``, or None when the
        result of attempt ``attempt`` (a ``status``, or a network ``outcome``) is final."""
        if attempt >= self.max_attempts:
            return None
        if method.upper() not in IDEMPOTENT_METHODS and not self.retry_non_idempotent:
            return None
        backoff = min(self.max_backoff, self.backoff * (2 ** (attempt - 1)))
        if status is not None:
            if status == 429 and self.retry_on_429 or status == 503 and self.retry_on_5xx:
                asked = retry_after if isinstance(retry_after, (int, float)) else parse_retry_after(retry_after)
                if asked is not None:
                    return min(float(asked), self.max_retry_after)
                return backoff
            if status >= 500 and status not in (501, 505) and self.retry_on_5xx:
                return backoff
            return None
        if outcome == "timeout" and self.retry_on_timeout:
            return backoff
        if outcome == "network_error" and self.retry_on_connection_error:
            return backoff
        return None
