"""Rendering the console's pages, and the small pieces of form handling every page shares.

Pages are Jinja2 templates shipped in the package (``core/web/templates``), with
autoescaping on; the CSS and JavaScript are plain files in ``core/web/static``.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import jinja2
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.templating import Jinja2Templates

from plugwire.core.base.errors import UserInputError
from plugwire.core.base.secrets import MASK
from plugwire.core.http.exchange import is_sensitive_name
from plugwire.core.web.session import Session
from plugwire.core.wizard.paging import pages_line

__all__ = [
    "HERE",
    "KEEP",
    "ago",
    "form_rows",
    "json_lines",
    "json_value",
    "pretty",
    "render",
    "render_error",
    "templates",
]

HERE = Path(__file__).parent
#: What a secret field shows instead of its value on an edit form.
KEEP = "(keep current)"

# Autoescaping everywhere: every value on a page may come from an API or a webhook.
templates = Jinja2Templates(
    env=jinja2.Environment(loader=jinja2.FileSystemLoader(str(HERE / "templates")), autoescape=True, trim_blocks=True, lstrip_blocks=True)
)


def pretty(value: Any) -> str:
    """Return ``value`` as indented JSON text (strings as they are)."""
    if isinstance(value, str):
        return value
    return json.dumps(value, indent=2, ensure_ascii=False)


def json_value(value: Any) -> str:
    """Return ``value`` as a page shows it: a string as it is, anything else as JSON
    (``true``, ``null``, ``{"a": 1}``), with non-ASCII characters (a mask's bullets)
    as themselves rather than ``\\u`` escapes. Autoescaping still applies."""
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, default=str)


def ago(when: str | None, now: datetime | None = None) -> str:
    """Return an ISO time as 'just now', '5 min ago', '3 h ago' or '2 days ago'
    ('' for none); a time that cannot be read is shown as it is."""
    if not when:
        return ""
    try:
        then = datetime.fromisoformat(when)
    except ValueError:
        return when
    if then.tzinfo is None:
        then = then.replace(tzinfo=timezone.utc)
    seconds = ((now or datetime.now(timezone.utc)) - then).total_seconds()
    if seconds < 60:
        return "just now"
    if seconds < 3600:
        return f"{int(seconds // 60)} min ago"
    if seconds < 86400:
        return f"{int(seconds // 3600)} h ago"
    days = int(seconds // 86400)
    return f"{days} day{'s' if days > 1 else ''} ago"


templates.env.filters["pretty"] = pretty
templates.env.filters["json_value"] = json_value
templates.env.filters["ago"] = ago
templates.env.filters["pages_line"] = pages_line
templates.env.globals["MASK"] = MASK
templates.env.globals["KEEP"] = KEEP
templates.env.tests["sensitive"] = is_sensitive_name


def render(request: Request, session: Session, name: str, context: dict[str, Any] | None = None, *, status: int = 200) -> Response:
    """Return the template ``name`` rendered with ``context`` plus what every page uses
    (the CSRF token, the flashed messages, whether a logout button is shown)."""
    access = request.app.state.console_access
    ctx = {
        "csrf": session.csrf,
        "flashes": session.take_flashes(),
        "logged_in": access.logged_in(session),
        "section": name.split("/", 1)[0].split(".", 1)[0],
        **(context or {}),
    }
    response = templates.TemplateResponse(request, name, ctx, status_code=status)
    response.headers["Cache-Control"] = "no-store"
    return response


def render_error(request: Request, session: Session, status: int, title: str, text: str) -> HTMLResponse:
    """Return a plain error page (404, 403...) in the console's layout."""
    return render(request, session, "error.html", {"title": title, "text": text, "status": status}, status=status)


def json_lines(value: Any) -> tuple[str, dict[str, int]]:
    """Return ``value`` as ``json.dumps(value, indent=2, ensure_ascii=False)`` text and
    the line (1-based) on which each dotted field path (``venue.address.country``,
    ``items[0].sku``) starts, so that a field can be pointed at in the editor."""
    lines: list[str] = []
    where: dict[str, int] = {}

    def emit(val: Any, path: str, indent: int, prefix: str, suffix: str) -> None:
        pad = "  " * indent
        if path:
            where[path] = len(lines) + 1
        if isinstance(val, dict) and val:
            lines.append(f"{pad}{prefix}{{")
            items = list(val.items())
            for n, (k, v) in enumerate(items):
                child = f"{path}.{k}" if path else str(k)
                emit(v, child, indent + 1, json.dumps(str(k), ensure_ascii=False) + ": ", "," if n < len(items) - 1 else "")
            lines.append(f"{pad}}}{suffix}")
        elif isinstance(val, list) and val:
            lines.append(f"{pad}{prefix}[")
            for n, v in enumerate(val):
                emit(v, f"{path}[{n}]", indent + 1, "", "," if n < len(val) - 1 else "")
            lines.append(f"{pad}]{suffix}")
        else:
            lines.append(f"{pad}{prefix}{json.dumps(val, ensure_ascii=False)}{suffix}")

    emit(value, "", 0, "", "")
    return "\n".join(lines), where


def form_rows(form: FormData, prefix: str) -> list[tuple[str, str]]:
    """Return the ``(name, value)`` rows of a key/value table in ``form``: fields
    ``PREFIX.key`` and ``PREFIX.value`` repeated in order. Rows without a name are
    skipped; a value without a name raises ``UserInputError`` naming the table."""
    keys = form.getlist(f"{prefix}.key")
    values = form.getlist(f"{prefix}.value")
    rows = []
    for key, value in zip(keys, values):
        key, value = str(key).strip(), str(value)
        if not key:
            if value.strip():
                raise UserInputError(f"{prefix}: a row has a value but no name.", field=prefix, fix="give the row a name, or clear it")
            continue
        rows.append((key, value))
    return rows


def field(form: FormData, name: str, default: str = "") -> str:
    """Return the text field ``name`` of ``form``, stripped ('' when absent)."""
    value = form.get(name)
    return default if value is None or not isinstance(value, str) else value.strip()


templates.env.globals["json_lines"] = json_lines
