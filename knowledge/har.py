"""HAR 1.2 files (a browser's recording of its requests) -> catalogue files.

One endpoint per distinct method and path shape on the API's host (the host with the
most API calls, or ``--host``): ids in paths (numbers, UUIDs, long hex or base64-ish
tokens, prefixed ids) become ``{name_id}`` parameters, query values are kept as
examples, JSON and form bodies as the sample request, and the answer as the sample
response. Cookies, Authorization and other credential headers, and credential-looking
query values and body fields are never kept: they only tell which auth hint applies.
Static assets, pages and other hosts' calls are skipped with the reason.
"""

from __future__ import annotations

import base64
import json
from collections import Counter
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from plugwire.core.base.errors import UserInputError
from plugwire.knowledge import importing
from plugwire.knowledge.importing import (
    Gatherer,
    ItemsReport,
    is_credential_name,
    looks_like_secret,
    scrub,
)
from plugwire.knowledge.openapi.importer import provider_id

__all__ = ["import_har"]

_METHODS = {"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"}
_ASSET_EXTENSIONS = (".js", ".mjs", ".css", ".png", ".jpg", ".jpeg", ".gif", ".svg", ".ico", ".webp", ".avif", ".woff",
                     ".woff2", ".ttf", ".otf", ".eot", ".map", ".mp4", ".webm", ".mp3", ".wasm", ".html", ".htm")
_ASSET_TYPES = ("image/", "font/", "text/css", "javascript", "video/", "audio/", "application/wasm", "text/html")
_BROWSER_RESOURCES = {"script", "stylesheet", "image", "font", "media", "document", "manifest", "texttrack", "websocket"}
# Headers every browser sends on its own: noise in a sample request.
_BROWSER_HEADERS = {"accept", "accept-encoding", "accept-language", "user-agent", "referer", "origin", "connection", "host",
                    "content-length", "cache-control", "pragma", "dnt", "upgrade-insecure-requests", "if-none-match",
                    "if-modified-since", "priority", "te", "content-type"}


def _pairs(items: Any) -> list[tuple[str, str]]:
    return [(str(i.get("name", "")), str(i.get("value", ""))) for i in items or [] if isinstance(i, dict)]


def _why_not_api(entry: dict, url: str, method: str) -> str | None:
    """Return why an entry is not an API call (an asset, a page), or None when it is one."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        return f"not an HTTP(S) request ({parts.scheme or 'no'} scheme)"
    if method not in _METHODS:
        return f"method {method} is not one the catalogue holds"
    resource = str(entry.get("_resourceType") or "").lower()
    if resource in _BROWSER_RESOURCES:
        return f"a static asset or page ({resource}), not an API call"
    if parts.path.lower().endswith(_ASSET_EXTENSIONS):
        return f"a static asset ({parts.path.rsplit('.', 1)[-1]} file), not an API call"
    content = (entry.get("response") or {}).get("content") or {}
    mime = str(content.get("mimeType") or "").lower()
    if any(mime.startswith(t) or t in mime for t in _ASSET_TYPES):
        return f"a static asset or page ({mime.split(';')[0]}), not an API call"
    return None


def _auth_hints(headers: list[tuple[str, str]], query: list[tuple[str, str]], hints: list[dict]) -> None:
    def add(hint: dict) -> None:
        if hint not in hints:
            hints.append(hint)

    notes = "Seen in the recorded requests (the values are not kept)."
    for name, value in headers:
        low = name.lower()
        if low.startswith(":"):
            continue  # HTTP/2 pseudo-headers (:authority, :path)
        if low == "authorization":
            scheme = value.split(" ", 1)[0].lower()
            if scheme == "basic":
                add({"type": "basic", "notes": notes})
            else:
                add({"type": "header", "headers": ["Authorization"], "format": f"{value.split(' ', 1)[0]} {{token}}", "notes": notes})
        elif low == "cookie":
            add({"type": "custom", "notes": "The browser's session cookies were sent; an API key or token is needed instead."})
        elif is_credential_name(name) and not low.startswith(("x-csrf", "x-xsrf")):
            add({"type": "header", "headers": [name], "notes": notes})
    for name, _value in query:
        if is_credential_name(name):
            add({"type": "query", "params": [name], "notes": notes})


def _body(post: Any) -> dict:
    if not isinstance(post, dict):
        return {}
    mime = str(post.get("mimeType") or "").split(";")[0].strip().lower()
    text = post.get("text")
    if "json" in mime and isinstance(text, str):
        try:
            return {"body_format": "json", "body": scrub(json.loads(text)), "content_type": None if mime == "application/json" else mime}
        except ValueError:
            return {}
    if mime in ("application/x-www-form-urlencoded", "multipart/form-data"):
        pairs = _pairs(post.get("params")) or (parse_qsl(text, keep_blank_values=True) if isinstance(text, str) else [])
        fields = {k: "" if is_credential_name(k) or looks_like_secret(v) else v for k, v in pairs if k}
        return {"body_format": "form" if mime.startswith("application") else "multipart", "body": fields}
    if isinstance(text, str) and text and (mime.endswith("xml") or mime.startswith("text/")):
        return {"body_format": "xml" if mime.endswith("xml") else "text", "body": text, "content_type": mime}
    return {}


def _response(response: Any) -> dict | None:
    if not isinstance(response, dict) or not isinstance(response.get("status"), int) or not 100 <= response["status"] <= 599:
        return None
    content = response.get("content") or {}
    mime = str(content.get("mimeType") or "").split(";")[0].strip() or None
    text = content.get("text")
    if isinstance(text, str) and content.get("encoding") == "base64":
        try:
            text = base64.b64decode(text).decode("utf-8")
        except ValueError:
            text = None
    body: Any = None
    if isinstance(text, str) and text.strip() and mime and "json" in mime:
        try:
            body = scrub(json.loads(text))
        except ValueError:
            body = None
    return {"status": response["status"], "content_type": mime, "body": body}


def import_har(source: str | Path, *, provider: str | None = None, host: str | None = None, data: Any = None) -> ItemsReport:
    """Import the HAR 1.2 file at ``source`` into a catalogue file.

    ``host`` chooses the API's host (default: the host with the most API calls);
    ``provider`` overrides the id (default: from the host). ``data`` is the parsed file
    when the caller has read it. Returns an :class:`ItemsReport` (every entry imported,
    merged or skipped with the reason). Raises UserInputError when the file is not a
    HAR file or none of its entries is an API call on the chosen host.
    """
    data, path = importing.read_file(source, data)
    log = data.get("log") if isinstance(data, dict) else None
    if not isinstance(log, dict) or not isinstance(log.get("entries"), list):
        raise UserInputError(f"{path} is not a HAR file (no 'log.entries').", field="spec",
                             fix="save the recording from the browser's network panel (Save all as HAR)")
    gather = Gatherer()
    calls: list[tuple[str, dict, str]] = []
    for n, entry in enumerate(log["entries"], 1):
        request = entry.get("request") if isinstance(entry, dict) else None
        if not isinstance(request, dict) or not isinstance(request.get("url"), str):
            gather.skip(f"entry {n}", "has no request URL")
            continue
        method = str(request.get("method") or "GET").upper()
        label = f"entry {n}: {method} {request['url'].partition('?')[0]}"
        reason = _why_not_api(entry, request["url"], method)
        if reason:
            gather.skip(label, reason)
        else:
            calls.append((label, entry, method))
    counts = Counter(urlsplit(entry["request"]["url"]).hostname for _label, entry, _m in calls)
    chosen = host.strip().lower() if host else (counts.most_common(1)[0][0] if counts else None)
    hints: list[dict] = []
    for label, entry, method in calls:
        request = entry["request"]
        parts = urlsplit(request["url"])
        if parts.hostname != chosen:
            gather.skip(label, f"another host ({parts.hostname}) than the API's ({chosen}); import it with --host {parts.hostname}")
            continue
        headers = _pairs(request.get("headers"))
        query = _pairs(request.get("queryString")) or parse_qsl(parts.query, keep_blank_values=True)
        _auth_hints(headers, query, hints)
        endpoint_path, examples = importing.templated_path([s for s in parts.path.split("/") if s])
        sample: dict[str, Any] = {
            "headers": {k: v for k, v in headers if not k.startswith(":") and k.lower() not in _BROWSER_HEADERS
                        and not k.lower().startswith("sec-") and not is_credential_name(k) and not looks_like_secret(v)},
            "query": {k: v for k, v in query if v and not is_credential_name(k) and not looks_like_secret(v)},
        }
        sample.update({k: v for k, v in _body(request.get("postData")).items() if v is not None})
        gather.add(label, {
            "method": method, "path": endpoint_path, "summary": f"{method} {endpoint_path}",
            "path_params": {name: {"example": value} for name, value in examples.items()},
            "request": sample, "response": _response(entry.get("response")),
        })
    if chosen is None:
        first = f" (first: {gather.skipped[0][0]}: {gather.skipped[0][1]})" if gather.skipped else ""
        raise UserInputError(f"{path}: none of its {gather.items} entries is an API call{first}.", field="spec",
                             fix="record the API calls (Fetch/XHR) in the browser's network panel and save them as HAR")
    # A recording's file name says nothing about the API: the id comes from its host.
    provider = provider or provider_id(Path("api"), [chosen])
    return gather.report(source=path, provider=provider, name=None, hosts=[chosen], auth=hints, faults=[])
