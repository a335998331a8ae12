"""What ``plugwire actions new`` reads from its flags and prompts: ``NAME:VALUE``
headers, ``NAME=VALUE`` query parameters, a body typed as text (JSON refused with
its line and column when it is not JSON), ``PATH=TEXT`` / ``PATH:=JSON`` field
edits (as httpie writes them), multipart files and a cURL command."""

from __future__ import annotations

import base64
import json
import sys
from pathlib import Path
from typing import Any

from plugwire.core.base.errors import UserInputError
from plugwire.core.http.exchange import BODY_FORMATS, FilePart, add_field, parse_body_text
from plugwire.core.wizard.steps import Wizard

__all__ = ["apply_flags", "body_from_text", "json_value", "pagination_flags", "read_curl", "set_field", "split_assignment"]

SET_FIX = 'write PATH=TEXT (the field keeps its type: owner.id=9) or PATH:=JSON (owner.id:=9, tags:=["a"])'


def json_value(text: str, field: str, what: str) -> Any:
    """Return ``text`` parsed as JSON; raises ``UserInputError`` naming ``field``
    and where the text goes wrong (line and column). ``what`` names the text in
    the message (``"the body"``)."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise UserInputError(
            f"{what} is not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}.",
            field=field,
            fix="correct the JSON there (or choose the text body format for a body that is not JSON)"
            if field.startswith("body") else f"correct the JSON there, or {SET_FIX}",
        ) from None
    except RecursionError:
        raise UserInputError(f"{what} nests too deeply.", field=field, fix="send a flatter document") from None


def _is_json_type(content_type: str | None) -> bool:
    media = (content_type or "").split(";", 1)[0].strip().lower()
    return media == "application/json" or media.endswith("+json")


def body_from_text(text: str, fmt: str | None, content_type: str | None = None, *, current: str | None = None,
                   field: str = "body") -> tuple[Any, str]:
    """Return ``(body, format)`` for a body typed or given as text; ``fmt`` is the
    format the user chose (None: none), ``current`` the request's format so far.

    A body meant as JSON (``fmt`` is json; or, without ``fmt``, the request's body
    is JSON, the content type is JSON or the text starts with ``{`` or ``[``) must
    parse: it is never turned into a text body. Otherwise the format is ``fmt``,
    else ``current``, else guessed from the text. Raises ``UserInputError`` naming
    ``field`` (with the line and column of a JSON mistake).
    """
    if fmt is not None and fmt not in BODY_FORMATS:
        raise UserInputError(f"--body-format {fmt!r} is unknown.", field="body_format", fix=f"use one of {', '.join(BODY_FORMATS)}")
    if fmt is None and (current == "json" or _is_json_type(content_type) or text.lstrip()[:1] in ("{", "[")):
        fmt = "json"
    if fmt == "json":
        return json_value(text, field, "The body" if field == "body" else f"{field} (the body)"), "json"
    return parse_body_text(text, fmt or (current if current != "none" else None))


def split_assignment(item: str) -> tuple[str, str, bool] | None:
    """Return ``(path, value, is_json)`` for ``PATH=TEXT`` or ``PATH:=JSON``, or None
    when ``item`` holds no ``=`` after a path."""
    path, found, value = item.partition("=")
    if not found or not path.strip().rstrip(":").strip():
        return None
    if path.endswith(":"):
        return path[:-1].strip(), value, True
    return path.strip(), value, False


def set_field(wiz: Wizard, path: str, value: str, is_json: bool) -> None:
    """Set one field of the request from ``PATH=TEXT`` (the field keeps its type) or
    ``PATH:=JSON``. Raises ``UserInputError`` naming the path."""
    if is_json:
        wiz.set(path, json_value(value, path, f"The value of {path}"))
    else:
        wiz.set_text(path, value)


def _pairs(items: list[str], sep: str, flag: str, example: str) -> list[tuple[str, str]]:
    out = []
    for item in items:
        key, found, value = item.partition(sep)
        if not found or not key.strip():
            raise UserInputError(f"{flag} {item!r} is not {example}.", field=flag.lstrip("-"), fix=f"write {flag} {example}")
        out.append((key.strip(), value.strip() if sep == ":" else value))
    return out


def read_curl(value: str) -> str:
    """Return the cURL command ``--curl`` names: the text, ``@FILE`` or ``-`` (stdin)."""
    if value == "-":
        return sys.stdin.read()
    if value.startswith("@"):
        try:
            return Path(value[1:]).expanduser().read_text(encoding="utf-8")
        except OSError as exc:
            raise UserInputError(f"--curl {value}: cannot read the file ({exc.strerror}).", field="curl", fix="give a readable file") from None
    return value


def _read_body_file(path: Path, fmt: str | None, content_type: str | None, current: str) -> tuple[Any, str]:
    try:
        raw = Path(path).expanduser().read_bytes()
    except OSError as exc:
        raise UserInputError(f"--body-file {path}: cannot read it ({exc.strerror}).", field="body_file", fix="give a readable file") from None
    if fmt == "binary":
        return base64.b64encode(raw).decode("ascii"), "binary"
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return base64.b64encode(raw).decode("ascii"), "binary"
    return body_from_text(text, fmt, content_type, current=current, field="body_file")


def _file_part(item: str) -> FilePart:
    field, found, rest = item.partition("=")
    if not found or not field or not rest:
        raise UserInputError(f"--file {item!r} is not FIELD=@PATH.", field="files", fix="write --file photo=@./hall.png;type=image/png")
    path, *params = rest.lstrip("@").split(";")
    opts = dict(p.split("=", 1) for p in params if "=" in p)
    return FilePart(field=field, path=str(Path(path).expanduser()), content_type=opts.get("type"), filename=opts.get("filename"))


def apply_flags(wiz: Wizard, *, headers, query, body, body_file, body_format, content_type, sets, files) -> None:
    """Apply the request flags of ``actions new`` to the wizard's request (step 2).

    Raises ``UserInputError`` naming the flag at fault; nothing has been sent.
    """
    if body_format is not None and body_format not in BODY_FORMATS:
        raise UserInputError(f"--body-format {body_format!r} is unknown.", field="body_format", fix=f"use one of {', '.join(BODY_FORMATS)}")
    changes: dict[str, Any] = {}
    if headers:
        merged = dict(wiz.request.headers)
        for k, v in _pairs(headers, ":", "--header", "NAME:VALUE"):
            merged = {name: val for name, val in merged.items() if name.lower() != k.lower()}
            if v:
                merged[k] = v
        changes["headers"] = merged
    if query:
        given = _pairs(query, "=", "--query", "NAME=VALUE")
        q: dict[str, Any] = {k: v for k, v in wiz.request.query.items() if k not in {p[0] for p in given}}
        for k, v in given:
            add_field(q, k, v)
        changes["query"] = q
    if body is not None and body_file is not None:
        raise UserInputError("--body and --body-file were both given.", field="body", fix="give one of them")
    ctype = content_type if content_type is not None else wiz.request.content_type
    if body_file is not None:
        value, fmt = _read_body_file(body_file, body_format, ctype, wiz.request.body_format)
        changes.update(body=value, body_format=fmt)
    elif body is not None:
        value, fmt = body_from_text(body, body_format, ctype, current=wiz.request.body_format)
        changes.update(body=value, body_format=fmt)
    elif body_format is not None:
        changes["body_format"] = body_format
    if content_type is not None:
        changes["content_type"] = content_type or None
    if files:
        changes["files"] = [_file_part(f) for f in files]
        changes.setdefault("body_format", "multipart")
    if changes:
        wiz.edit(**changes)
    for item in sets:
        parts = split_assignment(item)
        if parts is None:
            raise UserInputError(f"--set {item!r} is not PATH=VALUE.", field="set", fix=SET_FIX)
        set_field(wiz, *parts)


def pagination_flags(wiz: Wizard, *, style: str | None, records: str | None, options: list[str], max_pages: int | None,
                     max_items: int | None) -> None:
    """Apply ``--paginate STYLE`` and its options to the wizard. Without ``--paginate``,
    the options change the pagination the catalogue suggested; ``--paginate none``
    sends one request. Raises ``UserInputError`` naming the flag or option at fault."""
    if style is None and records is None and not options and max_pages is None and max_items is None:
        return
    if style is not None and style.strip().lower() == "none":
        wiz.set_pagination(None)
        return
    data: dict[str, Any] = wiz.pagination.model_dump(exclude_unset=True) if style is None and wiz.pagination else {}
    if style is not None:
        data["style"] = style.strip()
    elif not data:
        raise UserInputError("--records, --page-option, --max-pages and --max-items need a pagination style.",
                             field="paginate", fix="add --paginate STYLE (link_header, next_url, cursor, page_number, offset_limit)")
    for key, value in _pairs(options, "=", "--page-option", "KEY=VALUE"):
        data[key] = value
    for key, value in (("records", records), ("max_pages", max_pages), ("max_items", max_items)):
        if value is not None:
            data[key] = value or None if key == "records" else value
    wiz.set_pagination(data)
