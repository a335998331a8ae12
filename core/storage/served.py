"""What ``plugwire serve`` was started with, kept in the store so that every other
command agrees with the running server: the base URL it is reached at (webhook and
OAuth2 callback URLs are printed with it) and its network policy (the wizard warns at
apply time when that policy would refuse an action's host).

``PLUGWIRE_BASE_URL`` overrides the recorded base URL (a server behind a proxy, or a
command run before any server started). With neither, the base URL is the one
``plugwire serve`` listens on by default.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from plugwire.core.base.clock import now_iso
from plugwire.core.base.errors import UserInputError

__all__ = ["BASE_URL_ENV", "DEFAULT_BASE_URL", "ServedSettings", "check_base_url", "load_served", "record_served"]

BASE_URL_ENV = "PLUGWIRE_BASE_URL"
DEFAULT_PORT = 8000
DEFAULT_BASE_URL = f"http://127.0.0.1:{DEFAULT_PORT}"
_TABLE = "settings"
_KEY = "serve"


@dataclass(frozen=True)
class ServedSettings:
    """The server's settings as the other commands see them.

    ``base_url`` has no trailing slash; ``base_url_from`` says where it came from
    (``"PLUGWIRE_BASE_URL"``, ``"plugwire serve"`` or ``"default"``).
    ``network_policy`` and ``allow`` are the last server's (a policy that is on, with
    nothing allowed, when no server ever ran: what ``plugwire serve`` starts with).
    ``recorded_at`` is when a server recorded them (None: never).
    """

    base_url: str = DEFAULT_BASE_URL
    base_url_from: str = "default"
    network_policy: bool = True
    allow: tuple[str, ...] = field(default_factory=tuple)
    recorded_at: str | None = None


def check_base_url(value: str, field_name: str = BASE_URL_ENV) -> str:
    """Return ``value`` without a trailing slash when it is an absolute http(s) URL;
    otherwise raise ``UserInputError`` naming ``field_name``."""
    text = (value or "").strip()
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UserInputError(
            f"{field_name} must be an absolute http:// or https:// URL (got {text!r}).",
            field=field_name,
            fix="write it as https://plugwire.example.com or http://127.0.0.1:8700",
        )
    return text.rstrip("/")


def record_served(home: Any, *, base_url: str, network_policy: bool, allow: list[str] | tuple[str, ...] = ()) -> None:
    """Record what ``plugwire serve`` was started with (one transaction)."""
    doc = {
        "base_url": check_base_url(base_url, "--public-url"),
        "network_policy": bool(network_policy),
        "allow": list(allow),
        "recorded_at": now_iso(),
    }
    with home.store.transaction() as tx:
        tx.put(_TABLE, _KEY, doc)


def load_served(home: Any) -> ServedSettings:
    """Return the server's settings: ``PLUGWIRE_BASE_URL`` first for the base URL,
    then what the last ``plugwire serve`` recorded, then the defaults.
    Raises ``UserInputError`` when ``PLUGWIRE_BASE_URL`` is not an http(s) URL."""
    with home.store.transaction() as tx:
        doc = tx.get(_TABLE, _KEY) or {}
    env = os.environ.get(BASE_URL_ENV, "").strip()
    if env:
        base, origin = check_base_url(env), BASE_URL_ENV
    elif doc.get("base_url"):
        base, origin = str(doc["base_url"]), "plugwire serve"
    else:
        base, origin = DEFAULT_BASE_URL, "default"
    return ServedSettings(
        base_url=base,
        base_url_from=origin,
        network_policy=bool(doc.get("network_policy", True)),
        allow=tuple(str(a) for a in doc.get("allow") or ()),
        recorded_at=doc.get("recorded_at"),
    )
