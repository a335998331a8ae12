"""Saved actions -> a Postman collection (format v2.1).

Credentials never leave as values: the connection's auth becomes a Postman auth block
(basic, digest, bearer, apikey, oauth2) whose secret attributes are ``{{variables}}``,
and a request's own secret headers and query parameters (credential-like names and
``secret_fields``) become ``{{variables}}`` too. Every variable is declared at the
collection's level with an empty value, for the user to fill in Postman.
"""

from __future__ import annotations

import json
import re
import uuid
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from plugwire.core.http.capture import is_secret_field, marked_names

__all__ = ["SCHEMA_URL", "actions_to_postman"]

#: The ``info.schema`` of a Postman collection v2.1.
SCHEMA_URL = "https://schema.getpostman.com/json/collection/v2.1.0/collection.json"
_LANGUAGE = {"json": "json", "xml": "xml", "text": "text"}


def _slug(*parts: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", "_".join(p for p in parts if p).lower()).strip("_") or "secret"


class _Collection:
    def __init__(self) -> None:
        self.variables: dict[str, None] = {}
        self.notes: list[str] = []

    def var(self, *parts: str) -> str:
        """Declare a collection variable for a secret and return its ``{{placeholder}}``."""
        name = _slug(*parts)
        self.variables.setdefault(name, None)
        return "{{" + name + "}}"

    def auth(self, connection: Any) -> dict | None:
        """Return the Postman auth block for ``connection``'s auth (secrets as variables)."""
        kind = connection.auth_type
        settings = connection.settings
        prefix = _slug(connection.name)

        def attrs(**values: Any) -> list[dict]:
            return [{"key": k, "value": v, "type": "boolean" if isinstance(v, bool) else "string"} for k, v in values.items()]

        if kind == "none":
            return {"type": "noauth"}
        if kind in ("basic", "digest"):
            return {"type": kind, kind: attrs(username=self.var(prefix, "username"), password=self.var(prefix, "password"))}
        names = dict(getattr(settings, "headers", None) or {})
        params = dict(getattr(settings, "params", None) or {})
        if kind in ("header", "query") and len(names) + len(params) == 1:
            (name, secret), where = (next(iter(names.items())), "header") if names else (next(iter(params.items())), "query")
            if name.lower() == "authorization" and secret.get_secret_value().startswith("Bearer "):
                return {"type": "bearer", "bearer": attrs(token=self.var(prefix, "token"))}
            return {"type": "apikey", "apikey": attrs(key=name, value=self.var(prefix, name), **{"in": where})}
        if kind in ("oauth2", "oauth2_client_credentials"):
            grant = "client_credentials" if kind == "oauth2_client_credentials" else (
                "authorization_code_with_pkce" if getattr(settings, "use_pkce", False) else "authorization_code")
            values: dict[str, Any] = {
                "grant_type": grant, "accessTokenUrl": str(settings.token_url), "clientId": self.var(prefix, "client_id"),
                "clientSecret": self.var(prefix, "client_secret"), "scope": str(getattr(settings, "scope", "") or ""),
                "addTokenTo": "header",
            }
            if kind == "oauth2":
                values.update(authUrl=str(settings.authorize_url), redirect_uri=str(settings.redirect_uri))
            return {"type": "oauth2", "oauth2": attrs(**values)}
        self.notes.append(f"connection {connection.name!r}: its {kind} auth has no Postman auth block; "
                          "its headers and query parameters are request variables")
        return None

    def request(self, action: Any, connection: Any) -> dict:
        """Return the Postman request of ``action`` (sent through ``connection``, or None)."""
        marked = marked_names(action)
        parts = urlsplit(action.url)
        query = [*parse_qsl(parts.query, keep_blank_values=True)]
        for key, value in action.query.items():
            query += [(key, v) for v in (value if isinstance(value, list) else [value])]
        query = [(k, self.var(action.name, k) if is_secret_field(k, marked) else _text(v)) for k, v in query]
        headers = [{"key": k, "value": self.var(action.name, k) if is_secret_field(k, marked) else v}
                   for k, v in action.headers.items()]
        block = self.auth(connection) if connection is not None else None
        if connection is not None and block is None:
            settings = connection.settings
            for name in getattr(settings, "headers", None) or {}:
                headers.append({"key": name, "value": self.var(connection.name, name)})
            for name in getattr(settings, "params", None) or {}:
                query.append((name, self.var(connection.name, name)))
        ctype = action.effective_content_type()
        if action.body_format != "none" and ctype and not any(h["key"].lower() == "content-type" for h in headers):
            headers.append({"key": "Content-Type", "value": ctype})
        raw_query = "&".join(f"{k}={v}" for k, v in query)
        url = {
            "raw": f"{parts.scheme}://{parts.netloc}{parts.path}" + (f"?{raw_query}" if raw_query else ""),
            "protocol": parts.scheme, "host": (parts.hostname or "").split("."),
            "path": [s for s in parts.path.split("/") if s],
        }
        if parts.port:
            url["port"] = str(parts.port)
        if query:
            url["query"] = [{"key": k, "value": v} for k, v in query]
        out: dict[str, Any] = {"method": action.method, "header": headers, "url": url}
        if action.description:
            out["description"] = action.description
        body = _body(action)
        if body:
            out["body"] = body
        out["auth"] = block or {"type": "noauth"}
        return out


def _text(value: Any) -> str:
    return "true" if value is True else "false" if value is False else "" if value is None else str(value)


def _body(action: Any) -> dict | None:
    fmt, body = action.body_format, action.body
    if fmt == "json":
        text = body if isinstance(body, str) else json.dumps(body, indent=2, ensure_ascii=False)
        return {"mode": "raw", "raw": text, "options": {"raw": {"language": "json"}}}
    if fmt in ("xml", "text"):
        return {"mode": "raw", "raw": "" if body is None else str(body), "options": {"raw": {"language": _LANGUAGE[fmt]}}}
    if fmt in ("form", "multipart"):
        pairs = [(k, v) for k, value in (body or {}).items() for v in (value if isinstance(value, list) else [value])]
        if fmt == "form":
            return {"mode": "urlencoded", "urlencoded": [{"key": k, "value": _text(v)} for k, v in pairs]}
        parts = [{"key": k, "value": _text(v), "type": "text"} for k, v in pairs]
        parts += [{"key": f.field, "src": f.filename or f.path or f.field, "type": "file"} for f in action.files]
        return {"mode": "formdata", "formdata": parts}
    if fmt == "binary":
        return {"mode": "file", "file": {"src": None}}
    return None


def actions_to_postman(actions: list, connections: Any = None, *, name: str = "plugwire actions") -> tuple[dict, list[str]]:
    """Return ``(collection, notes)``: ``actions`` (saved
    :class:`~plugwire.core.wizard.actions.Action` objects) as a Postman collection v2.1,
    each with its connection's auth as a Postman auth block, credentials as collection
    variables with empty values; ``notes`` says what could not be mapped, and which
    actions are unproven drafts (their requests' descriptions say so too).

    ``connections`` (a :class:`~plugwire.core.connections.model.Connections`) is asked
    for each action's connection; a connection that is gone is noted, not raised.
    """
    from plugwire.core.base.errors import NotFoundError

    out = _Collection()
    items = []
    for action in actions:
        connection = None
        if action.connection and connections is not None:
            try:
                connection = connections.get(action.connection)
            except NotFoundError:
                out.notes.append(f"action {action.name!r}: connection {action.connection!r} is gone; exported without auth")
        request = out.request(action, connection)
        if not action.proven:  # exported all the same: Postman is where one may get it to work
            request["description"] = f"Draft, not proven: {action.draft_reason}." + (f"\n\n{action.description}" if action.description else "")
            out.notes.append(f"action {action.name!r} is an unproven draft ({action.draft_reason})")
        items.append({"name": action.name, "request": request})
    collection = {
        "info": {"_postman_id": str(uuid.uuid4()), "name": name, "schema": SCHEMA_URL,
                 "description": "Exported by plugwire actions export --postman. Fill in the collection variables."},
        "item": items,
        "variable": [{"key": key, "value": "", "type": "string"} for key in out.variables],
    }
    return collection, out.notes
