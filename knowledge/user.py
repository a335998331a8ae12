"""The user's own catalogue, and learning proven configurations into it.

The wizard calls :func:`learn` after a request succeeded against the live API; the
configuration (secrets and personal values already stripped by the caller) goes to
``$PLUGWIRE_HOME/catalogue/learned.yaml``, one YAML document per provider. Learned
endpoints win over every other source (the user tier) and are suggested with
``learned=True, proven=True``.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import yaml
from filelock import FileLock
from pydantic import ValidationError

from plugwire.core.base.errors import StorageError, UserInputError
from plugwire.knowledge.loader import format_loc, read_catalogue
from plugwire.knowledge.models import CatalogueFile
from plugwire.knowledge.sources import LEARNED_FILE, LEARNED_PREFIX, user_catalogue_dir

__all__ = ["learn", "learned_path"]

_ALLOWED_RESPONSE_KEYS = {"status", "content_type", "body"}


def learned_path(home: Any) -> Path:
    """Return the path of ``learned.yaml`` in the data folder ``home`` (a Home or a path)."""
    return user_catalogue_dir(home) / LEARNED_FILE


def _provider_id(provider: str | None, host: str) -> str:
    if provider:
        return provider
    return LEARNED_PREFIX + re.sub(r"[^a-z0-9]+", "-", host).strip("-")


def _known_name(home: Any, provider: str) -> str | None:
    from plugwire.knowledge.base import get_knowledge

    try:
        index = get_knowledge(home).catalogue().index
    except Exception:  # learning must not fail because another catalogue file is broken
        return None
    pi = index.by_id.get(provider)
    return index.providers[pi].name if pi is not None else None


def _response(sample: Any) -> dict[str, Any] | None:
    if sample is None:
        return None
    if isinstance(sample, dict) and sample and set(sample) <= _ALLOWED_RESPONSE_KEYS:
        return {k: v for k, v in sample.items() if v is not None}
    return {"status": 200, "body": sample}


def learn(
    home: Any,
    *,
    provider: str | None,
    host: str,
    method: str,
    path_template: str,
    headers: dict[str, str] | None,
    query: dict[str, Any] | None,
    body: Any,
    body_format: str,
    content_type: str | None,
    response_sample: Any = None,
) -> Path:
    """Record a proven request configuration in the user's ``learned.yaml``.

    ``provider`` is the catalogue provider id, or None for a host the catalogue
    does not know (a provider ``learned-<host>`` is made). The host is added to the
    provider's hosts; an earlier learn of the same (method, path) is replaced.
    ``response_sample`` is ``{"status", "content_type", "body"}`` or a body alone.
    Returns the path written. Raises ``UserInputError`` naming the field when the
    values do not make a valid catalogue entry, and ``StorageError`` when the
    existing file is broken or cannot be written.
    """
    host = (host or "").strip().lower().split(":")[0].rstrip(".")
    if not host:
        raise UserInputError("host is empty.", field="host", fix="pass the host of the proven request, e.g. api.example.com")
    pid = _provider_id(provider, host)
    path = learned_path(home)
    path.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(path) + ".lock", timeout=30):
        docs = _read_docs(path)
        doc = next((d for d in docs if d.get("provider") == pid), None)
        if doc is None:
            doc = {"format": 1, "provider": pid, "name": _known_name(home, pid) or host, "hosts": [], "endpoints": []}
            docs.append(doc)
        if host not in doc["hosts"]:
            doc["hosts"].append(host)
        endpoint: dict[str, Any] = {
            "method": method.upper(),
            "path": path_template,
            "summary": f"Learned from a proven {method.upper()} request",
            "request": {
                "body_format": body_format,
                **({"content_type": content_type} if content_type else {}),
                "headers": dict(headers or {}),
                "query": dict(query or {}),
                **({"body": body} if body is not None else {}),
            },
        }
        response = _response(response_sample)
        if response is not None:
            endpoint["response"] = response
        doc["endpoints"] = [e for e in doc["endpoints"] if (e.get("method"), e.get("path")) != (endpoint["method"], path_template)]
        doc["endpoints"].append(endpoint)
        try:
            CatalogueFile.model_validate(doc)
        except ValidationError as exc:
            err = exc.errors(include_input=False, include_url=False)[0]
            loc = format_loc(tuple(err["loc"]))
            field = _field_for(loc)
            raise UserInputError(
                f"{field}: {err['msg'].removeprefix('Value error, ')} (learned entry {loc}).",
                field=field,
                fix="learn a request whose path is a template starting with '/' and whose body fits its body_format",
            ) from None
        _write_docs(path, docs)
    return path


def _field_for(loc: str) -> str:
    mapping = {".path": "path_template", ".method": "method", "request.body_format": "body_format", "request.body": "body",
               "request.headers": "headers", "request.query": "query", "request.content_type": "content_type",
               "response": "response_sample", "hosts": "host", "provider": "provider"}
    for key, field in mapping.items():
        if key in loc:
            return field
    return loc


def _read_docs(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    _, problems = read_catalogue(path)
    if problems:
        raise StorageError(
            f"{path} has errors, so nothing more can be learned into it: {problems[0]}",
            fix=f"fix or remove {path} (`plugwire knowledge validate {path}` lists every problem)",
        )
    with path.open(encoding="utf-8") as fh:
        return [d for d in yaml.safe_load_all(fh) if d is not None]


def _write_docs(path: Path, docs: list[dict[str, Any]]) -> None:
    text = "# Learned by plugwire from requests that succeeded against the live API.\n" + yaml.safe_dump_all(
        docs, sort_keys=False, allow_unicode=True, explicit_start=True
    )
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, path)
    except OSError as exc:
        raise StorageError(f"cannot write {path} ({exc.strerror}).", fix="check the data folder's permissions") from None
