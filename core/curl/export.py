"""Exporting a request or an action as a cURL command, credentials masked unless asked."""

from __future__ import annotations

import json
import shlex
from urllib.parse import quote_plus, urlencode

from plugwire.core.base.secrets import MASK
from plugwire.core.http.exchange import RequestSpec, is_sensitive_name, masked_headers

__all__ = ["action_to_curl", "to_curl"]


def to_curl(spec: RequestSpec, *, extra_headers: dict[str, str] | None = None, extra_query: dict[str, str] | None = None, show_secrets: bool = False) -> str:
    """Return a cURL command (lines continued with ``\\``) that sends ``spec``.

    ``extra_headers``/``extra_query`` are what a connection adds (its credentials);
    every credential-like value is masked unless ``show_secrets``.
    """
    headers = {**spec.headers, **(extra_headers or {})}
    if not show_secrets:
        headers = masked_headers(headers, {k.lower() for k in (extra_headers or {})})
    pairs: list[tuple[str, str]] = []
    for key, value in {**spec.query, **(extra_query or {})}.items():
        for item in value if isinstance(value, list) else [value]:
            secret = not show_secrets and (is_sensitive_name(key) or key in (extra_query or {}))
            pairs.append((key, MASK if secret else ("true" if item is True else "false" if item is False else str(item))))
    url = spec.url + ("?" + urlencode(pairs).replace(quote_plus(MASK), MASK) if pairs else "")
    parts = ["curl"]
    if spec.method != ("POST" if spec.body_format != "none" else "GET"):
        parts += ["-X", spec.method]
    parts.append(url)
    ctype = spec.effective_content_type()
    for name, value in headers.items():
        if name.lower() != "content-type":
            parts += ["-H", f"{name}: {value}"]
    fmt = spec.body_format
    if fmt in ("json", "xml", "text") and ctype:
        parts += ["-H", f"Content-Type: {ctype}"]
    if fmt == "json":
        parts += ["--data-raw", spec.body if isinstance(spec.body, str) else json.dumps(spec.body, ensure_ascii=False)]
    elif fmt == "form":
        if spec.content_type and spec.content_type != "application/x-www-form-urlencoded":
            parts += ["-H", f"Content-Type: {spec.content_type}"]
        if isinstance(spec.body, str):
            parts += ["--data-raw", spec.body]
        for key, value in (spec.body or {}).items() if isinstance(spec.body, dict) else []:
            for item in value if isinstance(value, list) else [value]:
                parts += ["--data-urlencode", f"{key}={item}"]
    elif fmt == "multipart":
        for key, value in (spec.body or {}).items():
            for item in value if isinstance(value, list) else [value]:
                text = str(item)
                parts += ["--form-string" if text[:1] in "@<" else "-F", f"{key}={text}"]
        for f in spec.files:
            where = f.path or f.filename or f.field
            extra = (f";type={f.content_type}" if f.content_type else "") + (f";filename={f.filename}" if f.filename and f.path else "")
            parts += ["-F", f"{f.field}=@{where}{extra}"]
    elif fmt in ("xml", "text"):
        parts += ["--data-raw", "" if spec.body is None else str(spec.body)]
    elif fmt == "binary":
        parts += ["-H", f"Content-Type: {ctype}", "--data-binary", "@-"]
        return f"echo {shlex.quote(str(spec.body or ''))} | base64 --decode | " + _lines(parts)
    return _lines(parts)


def _lines(parts: list[str]) -> str:
    out, line = [], [shlex.quote(parts[0])]
    i = 1
    while i < len(parts):
        token = parts[i]
        if token.startswith("-") and i + 1 < len(parts):
            out.append(" ".join(line))
            line = [token, shlex.quote(parts[i + 1])]
            i += 2
        else:
            line.append(shlex.quote(token))
            i += 1
    out.append(" ".join(line))
    return " \\\n  ".join(out)


def action_to_curl(action, connections=None, *, show_secrets: bool = False) -> str:
    """Return the cURL command that sends ``action`` (an
    :class:`~plugwire.core.wizard.actions.Action`) as its connection would: the auth's
    headers and query parameters included, masked unless ``show_secrets``.

    Raises ``NotFoundError`` when the action's connection is gone.
    """
    from plugwire.core.base.errors import AuthorizationRequired
    from plugwire.core.http.send import auth_additions

    extra_headers: dict[str, str] = {}
    extra_query: dict[str, str] = {}
    if action.connection and connections is not None:
        conn = connections.get(action.connection)
        try:
            extra_headers, extra_query = auth_additions(action.spec(), conn, connections)
        except AuthorizationRequired:
            # No token yet: show which headers the proven request carried, masked.
            sample = action.sample_request.headers if action.sample_request else {}
            extra_headers = {k: v for k, v in sample.items() if MASK in v and k not in action.headers}
    return to_curl(action.spec(), extra_headers=extra_headers, extra_query=extra_query, show_secrets=show_secrets)
