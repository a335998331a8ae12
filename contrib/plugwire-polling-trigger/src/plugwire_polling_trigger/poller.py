"""One poll of one recipe: read pages until the known items, emit the new ones
oldest first, then remember them.

It works through plugwire's :class:`~plugwire.core.plugincore.triggers.PollContext`: pages are
read with ``context.client`` (the recipe's connection, under the server's network
policy), the state (recent item ids, the ``since`` cursor) is the context's cursor
in the plugwire store, so it survives restarts, and items go to ``context.emit``.
Items are emitted *before* the state is saved, each with its id: a crash in between
means the next poll emits them again, and the job store drops what it already holds
(its dedupe key), so no item is lost and none runs twice.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any
from urllib.parse import urljoin

import httpx2

from plugwire import PlugwireError, PollContext
from plugwire_polling_trigger.trigger import PollingConfig

__all__ = ["PollError", "PollResult", "Poller", "dig"]

_LINK_NEXT = re.compile(r'<([^>]+)>\s*;\s*rel="?next"?')


class PollError(PlugwireError):
    """A poll that could not read the list (status, body or shape); nothing was emitted."""


def dig(data: Any, path: str) -> Any:
    """Return the value at dotted ``path`` in ``data`` ('' is ``data`` itself), or None."""
    for part in [p for p in path.split(".") if p]:
        if isinstance(data, dict):
            data = data.get(part)
        elif isinstance(data, list) and part.isdigit() and int(part) < len(data):
            data = data[int(part)]
        else:
            return None
    return data


@dataclass
class PollResult:
    """What one poll did: the ids emitted (oldest first), pages read, items seen."""

    emitted: list[str] = field(default_factory=list)
    pages: int = 0
    seen: int = 0
    first_poll: bool = False


class Poller:
    """One poll of one recipe, through ``context``."""

    def __init__(self, config: PollingConfig, context: PollContext):
        self.config = config
        self.context = context

    def state(self) -> dict[str, Any]:
        """Return the saved state: ``seen`` ids (oldest first), ``cursor``, ``polls``."""
        return self.context.load_cursor() or {"seen": [], "cursor": None, "polls": 0}

    def poll(self) -> PollResult:
        """Read the new items and hand each to ``context.emit(event, item_id)``, oldest
        first, then save the state; returns a :class:`PollResult`. Raises
        :class:`PollError` when a page cannot be read (the state is then unchanged,
        so the next poll tries again), and whatever the context raises
        (``NetworkPolicyError``, ``PollCancelled``)."""
        cfg = self.config
        state = self.state()
        seen = set(state["seen"])
        items = self._read(seen, state.get("cursor"))
        result = PollResult(pages=self._pages, seen=len(items), first_poll=state["polls"] == 0)
        ordered = list(reversed(items)) if cfg.order == "newest_first" else items
        new: list[tuple[str, Any]] = []
        for item in ordered:
            item_id = dig(item, cfg.id_field)
            if item_id is None:
                raise PollError(f"an item has no {cfg.id_field!r}.", field="trigger.config.id_field",
                                fix="name the field that identifies an item")
            item_id = str(item_id)
            if item_id not in seen:
                seen.add(item_id)
                new.append((item_id, item))
        if not result.first_poll or cfg.emit_existing:
            polled_at = datetime.now(timezone.utc).isoformat(timespec="seconds")
            for item_id, item in new:
                self.context.emit({"item": item, "item_id": item_id, "polled_at": polled_at, "source": cfg.url}, item_id)
                result.emitted.append(item_id)
        cursor = state.get("cursor")
        if cfg.since_field and ordered:
            values = [v for v in (dig(i, cfg.since_field) for i in ordered) if v is not None]
            cursor = max([*values, *([cursor] if cursor is not None else [])], key=str) if values else cursor
        remembered = (state["seen"] + [i for i, _ in new])[-cfg.remember:]
        self.context.save_cursor({"seen": remembered, "cursor": cursor, "polls": state["polls"] + 1,
                                  "last_poll": datetime.now(timezone.utc).isoformat(timespec="seconds")})
        return result

    def _read(self, seen: set[str], cursor: Any) -> list[Any]:
        cfg = self.config
        params = {cfg.since_param: str(cursor)} if cfg.since_param and cursor is not None else {}
        url: str | None = cfg.url
        out: list[Any] = []
        self._pages = 0
        while url is not None and self._pages < cfg.max_pages:
            # an empty params mapping would replace the query of a next-page URL
            response = self.context.client.get(url, params=params or None)
            self._pages += 1
            if response.status_code >= 400:
                raise PollError(f"GET {url} answered {response.status_code}: {response.text[:200]}", field="trigger.config.url",
                                fix="check the URL and the connection's credentials")
            try:
                page = response.json()
            except ValueError:
                raise PollError(f"GET {url} did not answer JSON.", field="trigger.config.url") from None
            items = dig(page, cfg.items_path)
            if not isinstance(items, list):
                raise PollError(f"the page has no list at {cfg.items_path or '(the top)'!r}.", field="trigger.config.items_path",
                                fix="give the dotted path of the items, e.g. data")
            out.extend(items)
            if cfg.order == "newest_first" and any(str(dig(i, cfg.id_field)) in seen for i in items):
                break  # everything further on is older than what was seen
            url, params = self._next(url, page, response, params)
        return out

    def _next(self, url: str, page: Any, response: httpx2.Response, params: dict) -> tuple[str | None, dict]:
        cfg = self.config
        if cfg.next_path is None:
            match = _LINK_NEXT.search(response.headers.get("link", ""))
            return (urljoin(url, match.group(1)), {}) if match else (None, params)
        token = dig(page, cfg.next_path)
        if token in (None, "", False):
            return None, params
        token = str(token)
        if cfg.next_param:
            return cfg.url, {**params, cfg.next_param: token}
        return urljoin(url, token), {}
