"""Where plugwire keeps what it can always compute again (the pickled catalogue
index, the plugins' hook index): losing the folder costs speed, never data."""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["cache_dir"]


def cache_dir() -> Path | None:
    """Return the cache folder (``PLUGWIRE_CACHE_DIR``, else
    ``$XDG_CACHE_HOME/plugwire`` or ``~/.cache/plugwire``), or None when caching is off
    (plugwire's own tests, ``PLUGWIRE_TESTING=1``, unless they name a folder)."""
    env = os.environ.get("PLUGWIRE_CACHE_DIR")
    if env:
        return Path(env).expanduser()
    if os.environ.get("PLUGWIRE_TESTING") == "1":
        return None
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "plugwire"
