"""Tuning settings read from the environment (``PLUGWIRE_STALE_SECONDS``,
``PLUGWIRE_SESSION_IDLE_SECONDS`` ...): a bad value is refused naming the setting."""

from __future__ import annotations

import os

from plugwire.core.base.errors import UserInputError

__all__ = ["seconds_setting"]


def seconds_setting(name: str, default: float, *, low: float = 0.05, high: float = 86_400) -> float:
    """Return the environment setting ``name`` as seconds, or ``default`` when unset.
    Raises ``UserInputError`` naming it when it is not a number between ``low`` and ``high``."""
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        value = low - 1
    if not low <= value <= high:
        raise UserInputError(f"{name}={raw!r} is not a number of seconds.", field=name,
                             fix=f"give seconds between {low:g} and {high:g}, or unset it (default {default:g})")
    return value
