"""PostgreSQL for the tests: a fresh database on the local server for each test that
asks, dropped afterwards.

``make_pg_database()`` is a context manager yielding the URL of a new database
``plugwire_t_<random>`` (made through the maintenance database ``test``) and dropping
it ``WITH (FORCE)`` on the way out; ``pg_url`` is the pytest fixture around it. Use
them from any test module with ``from pgutil import pg_url`` (the fixture is then
that module's) or ``pytest_plugins = ["pgutil"]``.

The server is ``PLUGWIRE_TEST_POSTGRES`` when set (a URL without a database), else
127.0.0.1:5432 as ``postgres`` or as the current user (trust authentication). When no
server answers, the test is skipped saying why, except with ``CI=true``, where it fails.
"""

from __future__ import annotations

import functools
import getpass
import os
import secrets
from contextlib import contextmanager
from typing import Iterator

import pytest

__all__ = ["PostgresUnavailable", "make_pg_database", "pg_url", "require_postgres", "server_url"]

MAINTENANCE_DB = "test"


class PostgresUnavailable(Exception):
    """No PostgreSQL server (or no psycopg) to test against; the message says why."""


def server_url() -> str:
    """Return the URL (without a database) of the first server that answers; raises
    ``PostgresUnavailable`` (the answer, either way, is looked for once per session)."""
    found = _find_server()
    if isinstance(found, PostgresUnavailable):
        raise found
    return found


@functools.lru_cache(maxsize=1)
def _find_server() -> str | PostgresUnavailable:
    try:
        import psycopg
    except ImportError:
        return PostgresUnavailable("psycopg is not installed (pip install 'plugwire[scale]')")
    env = os.environ.get("PLUGWIRE_TEST_POSTGRES", "").rstrip("/")
    candidates = [env] if env else [f"postgresql://{user}@127.0.0.1:5432" for user in dict.fromkeys(("postgres", getpass.getuser()))]
    reasons = []
    for base in candidates:
        try:
            psycopg.connect(f"{base}/{MAINTENANCE_DB}", connect_timeout=3).close()
            return base
        except psycopg.Error as exc:
            reasons.append(f"{base.split('@')[-1]} as {base.split('//')[1].split('@')[0].split(':')[0]}: {str(exc).strip().splitlines()[0]}")
    return PostgresUnavailable("no PostgreSQL server to test against (" + "; ".join(reasons) + ")")


@contextmanager
def make_pg_database(prefix: str = "plugwire_t_") -> Iterator[str]:
    """Create an empty database, yield its URL, drop it (closing whatever is still connected).
    Without a server, skips the test (fails it with ``CI=true``), as :func:`require_postgres`."""
    import psycopg

    base = require_postgres()
    name = f"{prefix}{secrets.token_hex(6)}"
    with psycopg.connect(f"{base}/{MAINTENANCE_DB}", autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"{base}/{name}"
    finally:
        with psycopg.connect(f"{base}/{MAINTENANCE_DB}", autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def require_postgres() -> str:
    """Return the server URL, or skip the test (fail it with ``CI=true``) saying why there is none."""
    try:
        return server_url()
    except PostgresUnavailable as exc:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"{exc} (CI=true: nothing may skip)")
        pytest.skip(str(exc))


@pytest.fixture
def pg_url() -> Iterator[str]:
    """The URL of a fresh, empty PostgreSQL database for this test, dropped after it."""
    with make_pg_database() as url:
        yield url
