"""Postman collections (format v2.0 and v2.1) -> catalogue files.

Every request of the collection, folders included, becomes an endpoint (one per
method and path shape): ``{{var}}`` placeholders are resolved from the collection's
and folders' variables (a whole path segment that is a variable, or Postman's
``:name``, becomes a ``{name}`` path parameter with the value as its example), auth
blocks become auth hints (never their values), bodies (raw JSON, XML or text,
urlencoded, form-data, GraphQL) the sample request, and a saved example response the
sample response.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from plugwire.core.base.errors import UserInputError
from plugwire.knowledge.importing import (
    Gatherer,
    ItemsReport,
    is_credential_name,
    looks_like_secret,
    read_file,
    scrub,
    templated_path,
)

__all__ = ["import_postman"]

_VAR = re.compile(r"\{\{\s*([^{}]+?)\s*\}\}")
_WHOLE_VAR = re.compile(r"^\{\{\s*([A-Za-z_][A-Za-z0-9_.\-]*)\s*\}\}$")
_METHODS = {"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"}


def _variables(node: dict, outer: dict[str, str]) -> dict[str, str]:
    found = dict(outer)
    for var in node.get("variable") or []:
        if isinstance(var, dict) and not var.get("disabled"):
            key = var.get("key") or var.get("id")  # v2.0 names some by id only
            if isinstance(key, str) and var.get("value") is not None:
                found[key] = var["value"] if isinstance(var["value"], str) else json.dumps(var["value"])
    return found


def _fill(text: str, variables: dict[str, str]) -> str:
    """Return ``text`` with the ``{{var}}`` placeholders the collection defines replaced."""
    return _VAR.sub(lambda m: variables.get(m.group(1), m.group(0)), text)


def _text(value: Any) -> str | None:
    if isinstance(value, dict):
        value = value.get("content")
    if isinstance(value, str) and value.strip():
        return " ".join(value.strip().split("\n\n")[0].split())[:300]
    return None


def _attributes(block: dict, kind: str) -> dict[str, Any]:
    """Return an auth block's attributes as a mapping (v2.1 lists key/value pairs, v2.0 a mapping)."""
    raw = block.get(kind)
    if isinstance(raw, list):
        return {a.get("key"): a.get("value") for a in raw if isinstance(a, dict)}
    return dict(raw) if isinstance(raw, dict) else {}


def auth_hint(block: Any, variables: dict[str, str]) -> dict | None:
    """Return the catalogue auth hint for a Postman auth block (its values never kept)."""
    if not isinstance(block, dict) or not isinstance(block.get("type"), str):
        return None
    kind = block["type"]
    attrs = _attributes(block, kind)
    notes = f"From the Postman collection's {kind} auth."
    if kind == "noauth":
        return {"type": "none"}
    if kind in ("basic", "digest"):
        return {"type": kind, "notes": notes}
    if kind == "bearer":
        return {"type": "header", "headers": ["Authorization"], "format": "Bearer {token}", "notes": notes}
    if kind == "apikey":
        name = _fill(str(attrs.get("key") or "X-API-Key"), variables)
        if attrs.get("in") == "query":
            return {"type": "query", "params": [name], "notes": notes}
        return {"type": "header", "headers": [name], "notes": notes}
    if kind == "oauth2":
        token_url = _fill(str(attrs.get("accessTokenUrl") or ""), variables)
        auth_url = _fill(str(attrs.get("authUrl") or ""), variables)
        scopes = _fill(str(attrs.get("scope") or ""), variables).split()
        grant = str(attrs.get("grant_type") or "authorization_code")
        if token_url.startswith("http") and "{{" not in token_url:
            if grant == "client_credentials":
                return {"type": "oauth2_client_credentials", "token_url": token_url, "scopes": scopes, "notes": notes}
            if auth_url.startswith("http") and "{{" not in auth_url:
                return {"type": "oauth2", "authorize_url": auth_url, "token_url": token_url, "scopes": scopes,
                        "pkce": grant == "authorization_code_with_pkce", "notes": notes}
    return {"type": "custom", "notes": f"{notes} Set it up with a custom or header auth."}


def _url(request: dict) -> tuple[str, list[dict], list[dict]]:
    """Return (raw URL without its query, query pairs, path variables) of a request."""
    url = request.get("url")
    if isinstance(url, str):
        raw, _, query = url.partition("?")
        return raw, [{"key": k, "value": v} for k, v in parse_qsl(query, keep_blank_values=True)], []
    if not isinstance(url, dict):
        return "", [], []
    raw = str(url.get("raw") or "").partition("?")[0].partition("#")[0]
    if not raw and url.get("host"):
        host = url["host"] if isinstance(url["host"], str) else ".".join(map(str, url["host"]))
        path = url.get("path") or []
        path = path if isinstance(path, str) else "/".join(p if isinstance(p, str) else str(p.get("value", "")) for p in path)
        raw = f"{url.get('protocol') or 'https'}://{host}/{path.lstrip('/')}"
    query = [q for q in url.get("query") or [] if isinstance(q, dict)]
    return raw, query, [v for v in url.get("variable") or [] if isinstance(v, dict)]


def _body(body: Any, variables: dict[str, str]) -> dict:
    """Return the sample request's body fields for a Postman body block."""
    if not isinstance(body, dict) or body.get("disabled"):
        return {}
    mode = body.get("mode")
    if mode == "raw" and isinstance(body.get("raw"), str) and body["raw"].strip():
        text = _fill(body["raw"], variables)
        language = str(((body.get("options") or {}).get("raw") or {}).get("language") or "")
        try:
            return {"body_format": "json", "body": scrub(json.loads(text))}
        except ValueError:
            fmt = "xml" if language == "xml" or text.lstrip().startswith("<") else "text"
            return {"body_format": fmt, "body": text}
    if mode in ("urlencoded", "formdata"):
        fields = {}
        for part in body.get(mode) or []:
            if isinstance(part, dict) and not part.get("disabled") and part.get("type", "text") == "text" and part.get("key"):
                value = _fill(str(part.get("value") or ""), variables)
                fields[str(part["key"])] = "" if is_credential_name(str(part["key"])) or looks_like_secret(value) else value
        return {"body_format": "form" if mode == "urlencoded" else "multipart", "body": fields} if fields else {}
    if mode == "graphql" and isinstance(body.get("graphql"), dict):
        query = body["graphql"].get("query")
        try:
            variables_json = json.loads(_fill(body["graphql"].get("variables") or "{}", variables))
        except ValueError:
            variables_json = {}
        return {"body_format": "json", "body": {"query": query, "variables": scrub(variables_json)}} if query else {}
    return {}


def _response(responses: Any) -> dict | None:
    """Return the sample response from a request's saved examples (a 2xx preferred)."""
    saved = [r for r in responses or [] if isinstance(r, dict)]
    saved.sort(key=lambda r: not (isinstance(r.get("code"), int) and 200 <= r["code"] < 300))
    for item in saved:
        headers = item.get("header") if isinstance(item.get("header"), list) else []
        ctype = next((str(h.get("value")) for h in headers if isinstance(h, dict) and str(h.get("key", "")).lower() == "content-type"), None)
        text = item.get("body")
        body: Any = None
        if isinstance(text, str) and text.strip():
            try:
                body = scrub(json.loads(text))
                ctype = ctype or "application/json"
            except ValueError:
                body = text
        status = item.get("code") if isinstance(item.get("code"), int) and 100 <= item["code"] <= 599 else 200
        return {"status": status, "content_type": ctype, "body": body}
    return None


class _Walker:
    def __init__(self, host: str | None):
        self.gather = Gatherer()
        self.hosts: list[str] = [host] if host else []
        self.host = host
        self.auth: list[dict] = []
        self.faults: list[str] = []

    def walk(self, items: Any, variables: dict[str, str], auth: Any, folders: list[str]) -> None:
        for i, item in enumerate(items if isinstance(items, list) else []):
            if not isinstance(item, dict):
                self.gather.skip(f"item {i + 1} of {'/'.join(folders) or 'the collection'}", "not a mapping")
                continue
            label = " / ".join([*folders, str(item.get("name") or f"item {i + 1}")])
            scope = _variables(item, variables)
            inner_auth = item.get("auth") if isinstance(item.get("auth"), dict) else auth
            if isinstance(item.get("item"), list):
                self.walk(item["item"], scope, inner_auth, [*folders, str(item.get("name") or "folder")])
            elif "request" in item:
                self.request(label, item, scope, inner_auth, folders)
            else:
                self.gather.skip(label, "neither a request nor a folder")

    def request(self, label: str, item: dict, variables: dict[str, str], auth: Any, folders: list[str]) -> None:
        request = item["request"]
        request = {"url": request, "method": "GET"} if isinstance(request, str) else request
        if not isinstance(request, dict):
            return self.gather.skip(label, "its request is not a mapping")
        method = str(request.get("method") or "GET").upper()
        if method not in _METHODS:
            return self.gather.skip(label, f"method {method} is not one the catalogue holds")
        raw, query, path_vars = _url(request)
        # The origin may come from a variable holding a whole base URL ({{baseUrl}}/users),
        # or a host variable: resolve it, and keep the path's own variables as they are.
        lead = re.match(r"^(\{\{[^{}]+\}\}|[A-Za-z][A-Za-z0-9+.-]*://[^/]*)", raw)
        prefix = lead.group(0) if lead else ""
        origin = _fill(prefix, variables) + raw[len(prefix):]
        parts = urlsplit(origin if "://" in origin else f"https://{origin}")
        host = (parts.hostname or "") if "{{" not in parts.netloc else ""
        if not host:
            if not self.host:
                return self.gather.skip(label, f"its host ({prefix or 'none'}) is a variable the collection does not "
                                               "define; pass --host api.example.com")
            host = self.host
        if host not in self.hosts:
            self.hosts.append(host)
        segments = [s for s in parts.path.split("/") if s]
        named: dict[int, str] = {}
        descriptions = {str(v.get("key")): v for v in path_vars}
        for n, seg in enumerate(segments):
            whole = _WHOLE_VAR.match(seg)
            if seg.startswith(":") and len(seg) > 1:
                named[n] = seg[1:]
                value = descriptions.get(seg[1:], {}).get("value")
                segments[n] = str(value) if value not in (None, "") else seg
            elif whole:
                named[n] = whole.group(1).replace(".", "_")
                segments[n] = variables.get(whole.group(1), f"{{{named[n]}}}")
            else:
                segments[n] = _fill(seg, variables)
        path, examples = templated_path(segments, named)
        data: dict[str, Any] = {"method": method, "path": path, "summary": str(item.get("name") or f"{method} {path}")}
        params = {}
        for name, example in examples.items():
            info = descriptions.get(name, {})
            params[name] = {k: v for k, v in {"description": _text(info.get("description")), "example": example or None}.items() if v}
        data["path_params"] = params
        if folders:
            data["tags"] = list(folders)
        if _text(request.get("description")):
            data["description"] = _text(request.get("description"))
        sample: dict[str, Any] = {"query": {}, "headers": {}}
        for q in query:
            key, value = str(q.get("key") or ""), _fill(str(q.get("value") or ""), variables)
            if key and not q.get("disabled") and "{{" not in value and value and not is_credential_name(key) and not looks_like_secret(value):
                sample["query"][key] = value
        for h in request.get("header") if isinstance(request.get("header"), list) else []:
            if not isinstance(h, dict) or h.get("disabled") or not h.get("key"):
                continue
            key, value = str(h["key"]), _fill(str(h.get("value") or ""), variables)
            if key.lower() == "content-type":
                sample["content_type"] = value
            elif "{{" not in value and not is_credential_name(key) and not looks_like_secret(value):
                sample["headers"][key] = value
        sample.update(_body(request.get("body"), variables))
        if sample.get("content_type") and "body_format" not in sample:
            sample.pop("content_type")
        data["request"] = sample
        data["response"] = _response(item.get("response"))
        hint = auth_hint(request.get("auth") if isinstance(request.get("auth"), dict) else auth, variables)
        if hint and hint not in self.auth:
            self.auth.append(hint)
        self.gather.add(label, data)


def import_postman(source: str | Path, *, provider: str | None = None, host: str | None = None, data: Any = None) -> ItemsReport:
    """Import the Postman collection (v2.0 or v2.1) at ``source`` into a catalogue file.

    ``provider`` overrides the id (otherwise taken from the collection's name);
    ``host`` is used for requests whose host is an undefined variable, and put first.
    ``data`` is the parsed file when the caller has read it. Returns an
    :class:`ItemsReport` (every request imported, merged or skipped with the reason).
    Raises UserInputError when the file is not a collection or nothing could be imported.
    """
    data, path = read_file(source, data)
    info = data.get("info") if isinstance(data, dict) else None
    if not isinstance(info, dict) or not isinstance(data.get("item"), list):
        raise UserInputError(f"{path} is not a Postman collection (no 'info' and 'item').", field="spec",
                             fix="export the collection from Postman as Collection v2.1 (or v2.0)")
    schema = str(info.get("schema") or "")
    if "/v1." in schema:
        raise UserInputError(f"{path} is a Postman collection v1.", field="spec",
                             fix="export it again from Postman as Collection v2.1")
    walker = _Walker(host.strip().lower() if host else None)
    walker.walk(data["item"], _variables(data, {}), data.get("auth"), [])
    name = str(info.get("name") or "").strip() or None
    slug = re.sub(r"[^a-z0-9_-]+", "-", (name or "").lower()).strip("-_")
    return walker.gather.report(source=path, provider=provider or slug or None, name=name, hosts=walker.hosts,
                                auth=walker.auth, faults=walker.faults)
