"""The storage seam: what every configuration store offers (:class:`ConfigStore`), and
the choice of backends by configuration (:func:`open_store`, :func:`open_jobs`).

With nothing configured, configuration lives in the embedded TinyDB store and the job
history in SQLite, both in the data folder. ``PLUGWIRE_DATABASE_URL=postgresql://...``
puts both in PostgreSQL instead. Nothing above the storage room knows which one runs:
it asks :class:`ConfigStore` for records, locks and a change watch, and the job store
for jobs.
"""

from __future__ import annotations

import os
import re
from abc import ABC, abstractmethod
from contextlib import AbstractContextManager
from typing import Any, Callable, Protocol

from plugwire.core.base.errors import NotFoundError, UserInputError

__all__ = [
    "DATABASE_URL_ENV", "ConfigStore", "Held", "RecordTransaction", "StoreWatcher", "database_url", "lock_file_name",
]

DATABASE_URL_ENV = "PLUGWIRE_DATABASE_URL"


def database_url() -> str | None:
    """Return ``PLUGWIRE_DATABASE_URL`` (None when unset: the embedded default).
    Raises ``UserInputError`` for a URL no backend takes."""
    url = (os.environ.get(DATABASE_URL_ENV) or "").strip()
    if not url:
        return None
    if not re.match(r"^postgres(ql)?://", url):
        raise UserInputError(
            f"{DATABASE_URL_ENV} must be a postgresql:// URL (got a {url.split(':', 1)[0]!r} URL).",
            field=DATABASE_URL_ENV,
            fix="use postgresql://USER@HOST:PORT/DATABASE, or unset it for the embedded store",
        )
    return url


def lock_file_name(name: str) -> str:
    """Return a file name for the lock ``name`` (readable, and safe whatever ``name`` holds)."""
    import hashlib  # (not at import: ``connections list`` takes no lock)

    readable = re.sub(r"[^A-Za-z0-9_.-]+", "_", name)[:60]
    return f"{readable}-{hashlib.sha256(name.encode()).hexdigest()[:12]}.lock"


class RecordTransaction(Protocol):
    """Reads and writes inside one transaction of a :class:`ConfigStore`."""

    def get(self, table: str, key: str) -> dict[str, Any] | None: ...
    def all(self, table: str) -> dict[str, dict[str, Any]]: ...
    def put(self, table: str, key: str, record: dict[str, Any]) -> None: ...
    def insert(self, table: str, key: str, record: dict[str, Any]) -> None: ...
    def delete(self, table: str, key: str) -> bool: ...


class StoreWatcher(Protocol):
    """Tells cheaply whether the store changed since the last look (for caches)."""

    def changed(self) -> bool: ...
    def forget(self) -> None: ...


class Held(Protocol):
    """A lock held until released or until its holder dies (process killed, database
    connection lost): what elects one scheduler among several servers."""

    def alive(self) -> bool:
        """Return whether the lock is still held (a lost database connection lost it)."""

    def release(self) -> None:
        """Let the lock go (harmless when it is gone already)."""


class ConfigStore(ABC):
    """Records (JSON documents by ``(table, key)``), read and written in transactions
    that exclude every other writer, in any process; named cross-process locks; a
    change watch. The single-operation methods below are each one transaction."""

    @abstractmethod
    def transaction(self) -> AbstractContextManager[RecordTransaction]:
        """Hold the store's write lock for a group of operations, committed together
        when the block ends; an exception inside the block writes nothing. A
        transaction opened inside another in the same thread joins it."""

    @abstractmethod
    def lock(self, name: str, *, timeout: float | None = None) -> AbstractContextManager[None]:
        """Hold the lock ``name`` across threads, processes and (with a database)
        machines; raises ``StorageError`` after ``timeout`` seconds."""

    @abstractmethod
    def try_hold(self, name: str) -> Held | None:
        """Take the lock ``name`` without waiting and keep it until released or until
        this process dies; None when another holder has it."""

    @abstractmethod
    def watch(self, refresh_seconds: float = 0.25) -> StoreWatcher:
        """Return a watch that says when the store changed (looking at most every ``refresh_seconds``)."""

    def close(self) -> None:
        """Release what the store holds (connections); the embedded store holds nothing."""

    # Single-operation conveniences, each its own transaction.
    def get(self, table: str, key: str) -> dict[str, Any] | None:
        """Return the record or None."""
        with self.transaction() as tx:
            return tx.get(table, key)

    def require(self, table: str, key: str, what: str) -> dict[str, Any]:
        """Return the record or raise ``NotFoundError`` naming ``what``."""
        rec = self.get(table, key)
        if rec is None:
            raise NotFoundError(
                f"No {what} named {key!r}.", field="name", fix=f"list them with `plugwire {table} list`"
            )
        return rec

    def all(self, table: str) -> dict[str, dict[str, Any]]:
        """Return every record of ``table`` by key."""
        with self.transaction() as tx:
            return tx.all(table)

    def put(self, table: str, key: str, record: dict[str, Any]) -> None:
        """Insert or replace a record."""
        with self.transaction() as tx:
            tx.put(table, key, record)

    def insert(self, table: str, key: str, record: dict[str, Any]) -> None:
        """Insert a new record; raises ``AlreadyExistsError`` when the key is taken."""
        with self.transaction() as tx:
            tx.insert(table, key, record)

    def delete(self, table: str, key: str) -> bool:
        """Delete a record; returns whether it existed."""
        with self.transaction() as tx:
            return tx.delete(table, key)

    def update(self, table: str, key: str, change: Callable[[dict[str, Any] | None], dict[str, Any] | None]) -> dict[str, Any] | None:
        """Read-modify-write one record in one transaction: ``change(old)`` returns the
        new record, or None to delete it (``change`` may raise to write nothing).
        Returns what was written (None: deleted or absent)."""
        with self.transaction() as tx:
            new = change(tx.get(table, key))
            if new is None:
                tx.delete(table, key)
            else:
                tx.put(table, key, new)
            return new
