"""What the last Test connection and the last token renewal of a connection found.

A connection that looked fine when it was saved can stop working: its credentials
get rejected, its refresh token gets revoked. The outcome of the last check of each
kind (``test``, ``refresh``) is kept on the connection's record, so that the
console's list and page say so rather than 'ready' or 'connected'. An entry holds
the outcome, a plain sentence with the connection's secrets taken out, the HTTP
status when there was one, and the time; never a token or a setting's value.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any, Callable

from plugwire.core.base.errors import PlugwireError
from plugwire.core.base.secrets import unseal
from plugwire.core.storage.home import Home

__all__ = ["CHECKS", "KINDS", "latest", "record_check"]

#: The key of the connection record that holds the last check of each kind.
CHECKS = "checks"
#: ``test``: the last Test connection; ``refresh``: the last token renewal.
KINDS = ("test", "refresh")
_TABLE = "connections"
_TOKENS = "tokens"
_MESSAGE_CHARS = 2000  # a sentence and the API's own words, not its whole error page


def record_check(
    home: Home,
    connection: str,
    kind: str,
    *,
    ok: bool,
    outcome: str,
    message: str,
    status: int | None = None,
    secrets_of: Callable[[dict[str, Any]], list[str]] = lambda record: [],
) -> dict[str, Any] | None:
    """Store ``kind``'s outcome on the record of ``connection``, in one transaction
    that reads the record, takes the connection's secrets out of ``message`` and
    writes it back (its other fields, ``updated_at`` included, untouched).
    ``secrets_of(record)`` returns the secrets of the connection's settings; the
    values of its stored token are taken out too.

    Returns the entry stored, or None when the connection is gone (nothing is
    recreated). Raises ``StorageError`` when the store cannot be written.
    """
    if kind not in KINDS:
        raise ValueError(f"unknown check kind {kind!r}")
    with home.store.transaction() as tx:
        record = tx.get(_TABLE, connection)
        if record is None:
            return None
        secrets = _secrets(home, record, tx.get(_TOKENS, connection), secrets_of)
        entry = {
            "ok": ok,
            "outcome": outcome,
            "message": _redact(message, secrets)[:_MESSAGE_CHARS],
            "status": status,
            "at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        }
        checks = dict(record.get(CHECKS) or {})
        checks[kind] = entry
        tx.put(_TABLE, connection, {**record, CHECKS: checks})
    return entry


def latest(checks: dict[str, Any] | None, updated_at: str | None = None) -> dict[str, Any] | None:
    """Return the most recent check in ``checks`` as a dict with its ``kind`` added and
    ``stale`` (True when the connection was edited after it), or None when there is none."""
    found = [{**entry, "kind": kind} for kind, entry in (checks or {}).items() if isinstance(entry, dict) and entry.get("at")]
    if not found:
        return None
    last = max(found, key=lambda e: e["at"])
    last["stale"] = bool(updated_at and updated_at > last["at"])
    return last


def _secrets(
    home: Home, record: dict[str, Any], token_record: dict[str, Any] | None, secrets_of: Callable[[dict[str, Any]], list[str]]
) -> list[str]:
    """Every secret of the connection: its settings' secrets and its token's values."""
    found: list[str] = []
    try:
        found += secrets_of(record)
    except PlugwireError:
        pass  # an auth type that is gone: the messages come redacted by their makers
    if token_record is not None:
        try:
            token = json.loads(unseal(token_record["token"], home.cipher))
        except (PlugwireError, ValueError, KeyError, TypeError):
            token = {}
        found += [v for k, v in token.items() if isinstance(v, str) and k.endswith("token")]
    return [s for s in found if len(s) >= 4]


def _redact(text: str, secrets: list[str]) -> str:
    for secret in sorted(set(secrets), key=len, reverse=True):
        text = text.replace(secret, "****")
    return text
