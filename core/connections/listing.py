"""The saved connections as a list shows them, read from the stored records: no
setting is unsealed and no auth type is loaded (that would import every plugin, the
cipher and pydantic), so that ``plugwire connections list`` starts quickly. Anything
that shows a connection's settings goes through :mod:`.model`, which masks them."""

from __future__ import annotations

from typing import Any

__all__ = ["TABLE", "summaries"]

TABLE = "connections"


def summaries(home: Any) -> list[dict[str, Any]]:
    """Return, sorted by name, each connection's ``name``, ``auth_type``,
    ``test_url``, ``updated_at``, ``private_network`` and ``client_certificate``
    (whether it has one)."""
    out = []
    for name, rec in sorted(home.store.all(TABLE).items()):
        o = rec.get("options") or {}
        out.append({
            "name": name,
            "auth_type": o.get("auth_type", ""),
            "test_url": o.get("test_url") or "",
            "updated_at": str(rec.get("updated_at", "")),
            "private_network": bool(o.get("private_network")),
            "client_certificate": bool(o.get("client_certificate")),
        })
    return out
