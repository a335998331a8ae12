"""``plugwire actions``: the request wizard (``new``) and saved actions (``list``,
``show``, ``remove``, ``curl``).

``actions new`` walks the three steps at a terminal, and takes a flag for every
field so that it also runs unattended: with ``--yes`` it sends once and applies when
the API answered 2xx; ``--json`` prints the whole outcome for scripts.
"""

from __future__ import annotations

import base64
import json
import sys
from pathlib import Path
from typing import Any, Optional

import typer
from rich.table import Table

from plugwire.core.base.errors import UserInputError
from plugwire.core.cli.actions_view import (
    show_action,
    show_attempt,
    show_datatree,
    show_request,
    show_suggestions,
    suggestion_summary,
)
from plugwire.core.cli.common import JSON_OPTION, console, err_console, home, print_json, stdin_is_interactive
from plugwire.core.connections.model import Connections
from plugwire.core.http.exchange import BODY_FORMATS, FilePart, add_field, parse_body_text
from plugwire.core.wizard.actions import Actions, secret_fields_of
from plugwire.core.wizard.steps import Wizard

__all__ = ["app", "attach"]

app = typer.Typer(help="Make-request actions: build one with the wizard, list, show, export.", no_args_is_help=True)


def attach(root: typer.Typer) -> None:
    """Add the ``actions`` command group to the root CLI."""
    root.add_typer(app, name="actions")


def _wizard() -> Wizard:
    h = home()
    return Wizard(h, connections=Connections(h))


# -- flags to request changes ----------------------------------------------------------
def _pairs(items: list[str], sep: str, flag: str, example: str) -> list[tuple[str, str]]:
    out = []
    for item in items:
        key, found, value = item.partition(sep)
        if not found or not key.strip():
            raise UserInputError(f"{flag} {item!r} is not {example}.", field=flag.lstrip("-"), fix=f"write {flag} {example}")
        out.append((key.strip(), value.strip() if sep == ":" else value))
    return out


def _read_curl(value: str) -> str:
    if value == "-":
        return sys.stdin.read()
    if value.startswith("@"):
        try:
            return Path(value[1:]).expanduser().read_text(encoding="utf-8")
        except OSError as exc:
            raise UserInputError(f"--curl {value}: cannot read the file ({exc.strerror}).", field="curl", fix="give a readable file") from None
    return value


def _read_body_file(path: Path, fmt: str | None) -> tuple[Any, str]:
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
    return parse_body_text(text, fmt)


def _file_part(item: str) -> FilePart:
    field, found, rest = item.partition("=")
    if not found or not field or not rest:
        raise UserInputError(f"--file {item!r} is not FIELD=@PATH.", field="files", fix="write --file photo=@./hall.png;type=image/png")
    path, *params = rest.lstrip("@").split(";")
    opts = dict(p.split("=", 1) for p in params if "=" in p)
    return FilePart(field=field, path=str(Path(path).expanduser()), content_type=opts.get("type"), filename=opts.get("filename"))


def _apply_flags(wiz: Wizard, *, headers, query, body, body_file, body_format, content_type, sets, files) -> None:
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
    if body is not None or body_file is not None:
        value, fmt = _read_body_file(body_file, body_format) if body_file is not None else parse_body_text(body, body_format or _known_format(wiz))
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
        if ":=" in item.split("=", 1)[0] + "=":
            path, _, raw = item.partition(":=")
            try:
                value: Any = json.loads(raw)
            except ValueError as exc:
                raise UserInputError(f"--set {item!r}: the value after := is not JSON ({exc}).", field="set", fix='write PATH:=123 or PATH:=\'["a"]\'') from None
        else:
            path, found, value = item.partition("=")
            if not found:
                raise UserInputError(f"--set {item!r} is not PATH=VALUE.", field="set", fix="write --set venue.address.country=US (PATH:=JSON for numbers)")
        wiz.set(path.strip(), value)


def _known_format(wiz: Wizard) -> str | None:
    return wiz.request.body_format if wiz.request.body_format != "none" else None


# -- the wizard --------------------------------------------------------------------------
@app.command("new")
def new(
    name: Optional[str] = typer.Option(None, "--name", "-n", help="Unique action name (it names the step in recipes)."),
    connection: Optional[str] = typer.Option(None, "--connection", "-c", help="Connection to send through; none for a public API."),
    method: Optional[str] = typer.Option(None, "--method", "-X", help="HTTP method."),
    url: Optional[str] = typer.Option(None, "--url", help="Absolute URL (query parameters allowed)."),
    headers: list[str] = typer.Option([], "--header", "-H", help="NAME:VALUE; an empty value removes it. Repeatable."),
    query: list[str] = typer.Option([], "--query", "-q", help="NAME=VALUE query parameter. Repeatable."),
    body: Optional[str] = typer.Option(None, "--body", "-d", help="The whole body (JSON, form a=1&b=2, XML or text)."),
    body_file: Optional[Path] = typer.Option(None, "--body-file", help="Read the body from a file (binary for non-text)."),
    body_format: Optional[str] = typer.Option(None, "--body-format", help="json, form, multipart, xml, text, binary or none."),
    content_type: Optional[str] = typer.Option(None, "--content-type", help="Content-Type for the body."),
    sets: list[str] = typer.Option([], "--set", help="Set one body field: PATH=TEXT or PATH:=JSON (query.NAME, headers.NAME too). Repeatable."),
    files: list[str] = typer.Option([], "--file", help="Multipart file: FIELD=@PATH[;type=MIME][;filename=NAME]. Repeatable."),
    secret: list[str] = typer.Option([], "--secret", help="Mark a header or query parameter NAME secret: sealed at rest, masked when shown. Repeatable."),
    curl: Optional[str] = typer.Option(None, "--curl", help="Start from a cURL command (the text, @FILE or - for stdin)."),
    use_suggestion: Optional[int] = typer.Option(None, "--use-suggestion", help="Fill the request from suggestion N (1 is the best)."),
    no_suggestion: bool = typer.Option(False, "--no-suggestion", help="Start from a blank request."),
    response_format: str = typer.Option("auto", "--response-format", help="auto, json, xml, text or bytes."),
    timeout: Optional[float] = typer.Option(None, "--timeout", help="Seconds; default: the connection's."),
    description: str = typer.Option("", "--description"),
    no_learn: bool = typer.Option(False, "--no-learn", help="Do not record the proven configuration in your catalogue."),
    yes: bool = typer.Option(False, "--yes", "-y", help="Unattended: send once and apply when the API answers 2xx."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Build a make-request action: endpoint, sample request (suggested), send, review, apply."""
    if use_suggestion is not None and (no_suggestion or curl):
        raise UserInputError("--use-suggestion cannot go with --no-suggestion or --curl.", field="use_suggestion", fix="choose one way to start")
    if response_format not in ("auto", "json", "xml", "text", "bytes"):
        raise UserInputError(f"--response-format {response_format!r} is unknown.", field="response_format", fix="use auto, json, xml, text or bytes")
    interactive = not yes and not as_json and stdin_is_interactive()
    if not interactive and yes and not name:
        raise UserInputError("name is missing.", field="name", fix="pass --name NAME to apply without a prompt")
    wiz = _wizard()
    wiz.response_format = response_format  # type: ignore[assignment]
    wiz.timeout = timeout
    if curl:
        wiz.import_curl(_read_curl(curl), connection)
    else:
        if not (method and url) and interactive:
            from plugwire.core.cli.actions_prompt import ask_endpoint

            method, url = ask_endpoint(method, url)
        if not method or not url:
            missing = "method" if not method else "url"
            raise UserInputError(f"{missing} is missing.", field=missing, fix="pass --method METHOD --url URL (or --curl COMMAND)")
        wiz.start(method, url, connection)
        if no_suggestion:
            wiz.blank()
        elif use_suggestion is not None:
            wiz.use_suggestion(use_suggestion - 1)
    _apply_flags(wiz, headers=headers, query=query, body=body, body_file=body_file, body_format=body_format,
                 content_type=content_type, sets=sets, files=files)
    if secret:
        wiz.edit(secret_fields=secret_fields_of(wiz.request, secret))
    if interactive:
        from plugwire.core.cli.actions_prompt import run_interactive

        run_interactive(wiz, name=name, description=description, learn=not no_learn)
        return
    _unattended(wiz, name=name, description=description, learn=not no_learn, apply=yes, as_json=as_json)


def _unattended(wiz: Wizard, *, name: str | None, description: str, learn: bool, apply: bool, as_json: bool) -> None:
    if not as_json:
        show_suggestions(wiz.suggestions, wiz.chosen, wiz.result.message if wiz.result else None)
        if wiz.suggestion is not None:
            console.print(f"Using suggestion {wiz.chosen + 1}: ", end="")
            console.print(wiz.suggestion.reason, markup=False)
        for note in wiz.notes:
            console.print(f"Note: {note}", markup=False, style="yellow")
        show_request(wiz.request)
    attempt = wiz.send()
    if not as_json:
        show_attempt(attempt)
    review = wiz.review()
    out: dict[str, Any] = {
        "applied": False,
        "suggestions": [suggestion_summary(i, s) for i, s in enumerate(wiz.suggestions)],
        "chosen": wiz.chosen + 1 if wiz.chosen is not None else None,
        "notes": wiz.notes,
        "attempts": [a.public() for a in wiz.history],
    }
    if not review.can_apply or not apply:
        reason = review.reason or "Not applied: there is no terminal to confirm. Pass --yes to apply unattended."
        out["reason"] = reason
        if as_json:
            print_json(out)
        else:
            err_console.print(reason, markup=False, style="red" if review.reason else "yellow")
        raise typer.Exit(1 if review.reason else 0)
    result = wiz.apply(name or "", description=description, learn=learn)
    out.update(applied=True, action=result.action.public(), learned=result.learned)
    if as_json:
        print_json(out)
        return
    show_datatree(result.action.datatree)
    console.print(f"Saved action [bold]{result.action.name}[/].", highlight=False)
    if result.learned.get("learned"):
        console.print(f"Learned {result.learned['method']} {result.learned['path_template']} into your catalogue.", markup=False)


# -- saved actions -----------------------------------------------------------------------
@app.command("list")
def list_(as_json: bool = JSON_OPTION) -> None:
    """List the saved actions."""
    actions = Actions(home()).list()
    if as_json:
        print_json([a.public() for a in actions])
        return
    if not actions:
        console.print("No actions yet. Build one with [bold]plugwire actions new[/].")
        return
    table = Table("name", "method", "URL", "connection", "sample", "fields", "updated")
    for a in actions:
        status = str(a.sample_response.status) if a.sample_response else ""
        fields = str(len(a.datatree.fields())) if a.datatree else ""
        table.add_row(a.name, a.method, a.public()["url"], a.connection or "", status, fields, a.updated_at)
    console.print(table)


@app.command("show")
def show(name: str, as_json: bool = JSON_OPTION) -> None:
    """Show one action: request, settings, sample response and output fields."""
    action = Actions(home()).get(name)
    if as_json:
        print_json(action.public())
    else:
        show_action(action)


@app.command("remove")
def remove(name: str, yes: bool = typer.Option(False, "--yes", "-y", help="Do not ask."), as_json: bool = JSON_OPTION) -> None:
    """Remove a saved action."""
    actions = Actions(home())
    actions.get(name)
    if not yes and stdin_is_interactive():
        typer.confirm(f"Remove action {name!r}?", abort=True)
    actions.remove(name)
    if as_json:
        print_json({"removed": name})
    else:
        console.print(f"Removed action [bold]{name}[/].", highlight=False)


@app.command("curl")
def curl_(
    name: str,
    show_secrets: bool = typer.Option(False, "--show-secrets", help="Print the connection's credentials in clear."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Print the action as a cURL command (credentials masked unless --show-secrets)."""
    from plugwire.core.curl.parse import action_to_curl
    from plugwire.core.http.capture import masked_spec

    h = home()
    action = Actions(h).get(name)
    command = action_to_curl(action if show_secrets else masked_spec(action), Connections(h), show_secrets=show_secrets)
    if show_secrets:
        err_console.print("Warning: the command below holds credentials in clear text.", style="yellow")
    if as_json:
        print_json({"name": name, "curl": command})
    else:
        sys.stdout.write(command + "\n")
