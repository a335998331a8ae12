"""Small catalogues written by tests, and a knowledge base over just them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from plugwire.knowledge.base import KnowledgeBase
from plugwire.knowledge.sources import Source


def provider_doc(provider: str, hosts: list[str], endpoints: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    """Return a catalogue document with the given endpoints."""
    return {"format": 1, "provider": provider, "name": extra.pop("name", provider.title()), "hosts": hosts, "endpoints": endpoints, **extra}


def ep(method: str, path: str, summary: str | None = None, **extra: Any) -> dict[str, Any]:
    """Return one endpoint entry."""
    return {"method": method, "path": path, "summary": summary or f"{method} {path}", **extra}


def write_docs(folder: Path, **docs: dict[str, Any]) -> Path:
    """Write each document to ``folder/<name>.yaml``; return the folder."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, doc in docs.items():
        (folder / f"{name}.yaml").write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    return folder


def kb_over(*sources: Source) -> KnowledgeBase:
    """Return a knowledge base reading only ``sources`` (no disk cache)."""
    return KnowledgeBase(sources=lambda: list(sources), use_cache=False)


TOY = provider_doc(
    "toy",
    ["api.toy.test", "{tenant}.toy.example"],
    [
        ep("GET", "/v2/widgets", "List widgets"),
        ep(
            "POST",
            "/v2/accounts/{account_id}/widgets",
            "Create a widget",
            path_params={"account_id": {"description": "Account id", "example": "42"}},
            request={"body_format": "json", "body": {"widget": {"name": "Gear", "size": 3}}},
            constraints=[{"path": "widget.name", "type": "string", "required": True}],
        ),
        ep("GET", "/v2/widgets/{widget_id}", "Get a widget"),
        ep("PATCH", "/v2/widgets/{widget_id}", "Update a widget", request={"body_format": "form", "body": {"name": "Gear"}}),
        ep("GET", "/v2/widgets/{widget_id}/parts/{part_id}.json", "Get a part"),
        ep("GET", "/v2/users/me", "The caller"),
        ep("GET", "/v2/users/{user_id}", "A user"),
    ],
    docs_url="https://docs.toy.test",
)
