"""The data folder: where the store and the secret key live.

``PLUGWIRE_HOME`` names it; otherwise ``$XDG_DATA_HOME/plugwire`` or
``~/.local/share/plugwire``. ``PLUGWIRE_DATABASE_URL`` moves the configuration and the
job history into PostgreSQL (the folder still holds the key file and lock files).
"""

from __future__ import annotations

import os
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from plugwire.core.storage.backend import ConfigStore, database_url

# The store (tinydb, filelock) is imported when a Home is made: the knowledge base
# only asks default_home_path() where the user's catalogue folder is (plugwire suggest).
if TYPE_CHECKING:
    from plugwire.core.base.secrets import Cipher

__all__ = ["HOME_ENV", "Home", "default_home_path", "get_home"]

HOME_ENV = "PLUGWIRE_HOME"


def default_home_path() -> Path:
    """Return the data folder from the environment or the per-user default."""
    env = os.environ.get(HOME_ENV)
    if env:
        return Path(env).expanduser()
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "plugwire"


class Home:
    """One data folder: its store (embedded, or PostgreSQL when a database URL is
    configured), its job history and its cipher."""

    def __init__(self, path: Path | str | None = None, *, database: str | None = None):
        self.path = Path(path) if path is not None else default_home_path()
        self.database_url = database if database is not None else database_url()
        self.store: ConfigStore
        from plugwire.core.storage.store import Store, make_data_folder

        if self.database_url:
            from plugwire.core.storage.pgstore import PgStore

            make_data_folder(self.path)  # the key file and the lock files still live there
            self.store = PgStore(self.database_url)
        else:
            self.store = Store(self.path)

    def jobs(self, *, synchronous: str = "FULL") -> Any:
        """Return a new job store of this home: SQLite in the folder, or PostgreSQL.
        (Both offer the methods of :class:`plugwire.core.storage.jobs.JobStore`.)"""
        if self.database_url:
            from plugwire.core.storage.pgjobs import PgJobStore

            return PgJobStore(self.database_url)
        from plugwire.core.storage.jobs import JobStore

        return JobStore(self.path, synchronous=synchronous)

    @cached_property
    def cipher(self) -> Cipher:
        """Return the cipher for secrets at rest (key created on first use)."""
        # Imported on first use: cryptography and pydantic are not needed to list things.
        from plugwire.core.base.secrets import load_cipher

        return load_cipher(self.path)


def get_home(path: Path | str | None = None) -> Home:
    """Return a :class:`Home` for ``path`` or the default data folder."""
    return Home(path)
