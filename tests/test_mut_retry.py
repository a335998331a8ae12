"""Survivors of the mutation run over core/http/retry.py (issue 17, bench/README.md):
a 503's ``Retry-After``, a 505, a dropped connection, and ``Retry-After`` dates
written with a time-zone offset (or none), which no test decided before.
"""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from plugwire.core.http.retry import RetryPolicy, parse_retry_after

NOW = datetime(2026, 12, 2, 17, 0, 0, tzinfo=timezone.utc)


@pytest.mark.parametrize("value", [
    "Wed, 02 Dec 2026 17:01:30 GMT",
    "Wed, 02 Dec 2026 18:01:30 +0100",    # the same moment, an hour east
    "Wed, 02 Dec 2026 17:01:30 -0000",    # RFC 5322's "no zone known": read as UTC
])
def test_a_retry_after_date_is_read_in_its_own_time_zone(value):
    assert parse_retry_after(value, now=NOW) == 90.0


def test_a_503_waits_what_retry_after_asks_as_a_429_does():
    policy = RetryPolicy(max_attempts=3, backoff=0.5)
    assert policy.next_delay(1, "GET", status=503, retry_after="7") == 7.0
    assert policy.next_delay(1, "GET", status=503) == 0.5
    # Other 5xx answers wait the backoff: RFC 9110 (10.2.3) gives Retry-After a meaning with 503 and 3xx only.
    assert policy.next_delay(1, "GET", status=504, retry_after="7") == 0.5
    assert RetryPolicy(retry_on_5xx=False).next_delay(1, "GET", status=503, retry_after="7") is None


@pytest.mark.parametrize("status", [501, 505])
def test_a_501_or_505_is_final(status):
    """Not Implemented and HTTP Version Not Supported will not change on a retry."""
    assert RetryPolicy().next_delay(1, "GET", status=status) is None
    assert RetryPolicy().next_delay(1, "GET", status=status + 1) == 0.5


def test_a_dropped_connection_is_retried_with_the_backoff_unless_turned_off():
    policy = RetryPolicy(max_attempts=3, backoff=0.5)
    assert policy.next_delay(1, "GET", outcome="network_error") == 0.5
    assert policy.next_delay(2, "GET", outcome="network_error") == 1.0
    assert policy.next_delay(3, "GET", outcome="network_error") is None  # the last attempt
    assert RetryPolicy(retry_on_connection_error=False).next_delay(1, "GET", outcome="network_error") is None
    assert policy.next_delay(1, "POST", outcome="network_error") is None  # may have been received
