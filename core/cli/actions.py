"""``plugwire actions``: the request wizard (``new``) and saved actions (``list``,
``show``, ``remove``, ``curl``; ``prove`` and ``edit`` in :mod:`.actions_prove`).

``actions new`` walks the three steps at a terminal, and takes a flag for every
field so that it also runs unattended: with ``--yes`` it sends once and applies when
the API answered 2xx; ``--json`` prints the whole outcome for scripts.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, Optional

import typer

from plugwire.core.base.errors import UserInputError
from plugwire.core.cli.common import JSON_OPTION, KEY, SHORT, TEXT, console, err_console, home, print_json, print_table, stdin_is_interactive

if TYPE_CHECKING:
    from plugwire.core.wizard.steps import Wizard

__all__ = ["app", "attach"]

app = typer.Typer(help="Make-request actions: build one with the wizard, list, show, prove, edit, export.", no_args_is_help=True)


def attach(root: typer.Typer) -> None:
    """Add the ``actions`` command group (with ``export``) to the root CLI."""
    from plugwire.core.cli.actions_export import attach as attach_export
    from plugwire.core.cli.actions_prove import attach as attach_prove

    if "export" not in {c.name for c in app.registered_commands}:  # attached once per process
        attach_export(app)
        attach_prove(app)
    root.add_typer(app, name="actions")


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
    sets: list[str] = typer.Option([], "--set", help="Set one body field: PATH=TEXT keeps the field's type (owner.id=9), PATH:=JSON sets JSON (tags:='[\"a\"]'); query.NAME, headers.NAME too. Repeatable."),
    files: list[str] = typer.Option([], "--file", help="Multipart file: FIELD=@PATH[;type=MIME][;filename=NAME]. Repeatable."),
    secret: list[str] = typer.Option([], "--secret", help="Mark a header or query parameter NAME secret: sealed at rest, masked when shown. Repeatable."),
    curl: Optional[str] = typer.Option(None, "--curl", help="Start from a cURL command (the text, @FILE or - for stdin)."),
    use_suggestion: Optional[int] = typer.Option(None, "--use-suggestion", help="Fill the request from suggestion N (1 is the best)."),
    no_suggestion: bool = typer.Option(False, "--no-suggestion", help="Start from a blank request."),
    response_format: str = typer.Option("auto", "--response-format", help="auto, json, xml, text or bytes."),
    timeout: Optional[float] = typer.Option(None, "--timeout", help="Seconds; default: the connection's."),
    description: str = typer.Option("", "--description", help="A line saying what the action does."),
    paginate: Optional[str] = typer.Option(None, "--paginate", help="Fetch every page: link_header, next_url, cursor, page_number or offset_limit; none for one request (default: the catalogue's suggestion, if any)."),
    records: Optional[str] = typer.Option(None, "--records", help="With --paginate: the body path of each page's list (data, results); none: the body is the list."),
    page_options: list[str] = typer.Option([], "--page-option", help="With --paginate: KEY=VALUE, one of next_path, cursor_param, cursor_in (query|body), cursor_last_item, page_param, start_page, offset_param, limit_param, limit, stop (empty|short|has_more|total), has_more_path, total_path. Repeatable."),
    max_pages: Optional[int] = typer.Option(None, "--max-pages", help="With --paginate: at most this many pages per run (default 10)."),
    max_items: Optional[int] = typer.Option(None, "--max-items", help="With --paginate: at most this many items per run."),
    no_learn: bool = typer.Option(False, "--no-learn", help="Do not record the proven configuration in your catalogue."),
    yes: bool = typer.Option(False, "--yes", "-y", help="Unattended: send once and apply when the API answers 2xx."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Build a make-request action: endpoint, sample request (suggested), send, review, apply."""
    from plugwire.core.cli.actions_input import apply_flags, pagination_flags, read_curl
    from plugwire.core.connections.model import Connections
    from plugwire.core.wizard.actions import Actions, secret_fields_of
    from plugwire.core.wizard.steps import Wizard

    if use_suggestion is not None and (no_suggestion or curl):
        raise UserInputError("--use-suggestion cannot go with --no-suggestion or --curl.", field="use_suggestion", fix="choose one way to start")
    if response_format not in ("auto", "json", "xml", "text", "bytes"):
        raise UserInputError(f"--response-format {response_format!r} is unknown.", field="response_format", fix="use auto, json, xml, text or bytes")
    interactive = not yes and not as_json and stdin_is_interactive()
    if not interactive and yes and not name:
        raise UserInputError("name is missing.", field="name", fix="pass --name NAME to apply without a prompt")
    h = home()
    if name is not None and not interactive:
        _name_free(Actions(h), name)  # before anything is sent
    wiz = Wizard(h, connections=Connections(h))
    wiz.response_format = response_format  # type: ignore[assignment]
    wiz.timeout = timeout
    if curl:
        wiz.import_curl(read_curl(curl), connection)
    elif interactive:
        from plugwire.core.cli.actions_prompt import ask_endpoint

        ask_endpoint(wiz, method, url, connection)
    else:
        if not method or not url:
            missing = "method" if not method else "url"
            raise UserInputError(f"{missing} is missing.", field=missing, fix="pass --method METHOD --url URL (or --curl COMMAND)")
        wiz.start(method, url, connection)
    if not curl:
        if no_suggestion:
            wiz.blank()
        elif use_suggestion is not None:
            wiz.use_suggestion(use_suggestion - 1)
    apply_flags(wiz, headers=headers, query=query, body=body, body_file=body_file, body_format=body_format,
                content_type=content_type, sets=sets, files=files)
    if secret:
        wiz.edit(secret_fields=secret_fields_of(wiz.request, secret))
    pagination_flags(wiz, style=paginate, records=records, options=page_options, max_pages=max_pages, max_items=max_items)
    if interactive:
        from plugwire.core.cli.actions_prompt import run_interactive

        run_interactive(wiz, name=name, description=description, learn=not no_learn, connection=connection)
        return
    _unattended(wiz, name=name, description=description, learn=not no_learn, apply=yes, as_json=as_json)


def _name_free(actions: Any, name: str) -> None:
    """Refuse a taken or bad name as bad input (exit 2), before any request is sent."""
    from plugwire.core.base.errors import AlreadyExistsError

    try:
        actions.check_free(name)
    except AlreadyExistsError as exc:
        raise UserInputError(exc.message, field="name", fix=exc.fix) from None


def _unattended(wiz: "Wizard", *, name: str | None, description: str, learn: bool, apply: bool, as_json: bool) -> None:
    from plugwire.core.cli.actions_view import show_attempt, show_datatree, show_request, show_suggestions, suggestion_summary
    from plugwire.core.wizard.apply import policy_warning

    if not as_json:
        show_suggestions(wiz.suggestions, wiz.chosen, wiz.result.message if wiz.result else None)
        if wiz.suggestion is not None:
            console.print(f"Using suggestion {wiz.chosen + 1}: ", end="")
            console.print(wiz.suggestion.reason, markup=False)
        for note in wiz.notes:
            console.print(f"Note: {note}", markup=False, style="yellow")
        show_request(wiz.request)
        if wiz.pagination is not None:
            console.print(f"Pagination: {wiz.pagination.summary()}", markup=False)
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
        fit = [c.name for c in wiz.fitting_connections()] if wiz.connection is None and review.reason else []
        if fit and attempt.exchange.outcome == "credentials_rejected":
            out["fitting_connections"] = fit
            reason += f" Fix: pass --connection {_quoted(fit[0])}."
        out["reason"] = reason
        if as_json:
            print_json(out)
        else:
            err_console.print(reason, markup=False, style="red" if review.reason else "yellow")
        raise typer.Exit(1 if review.reason else 0)
    result = wiz.apply(name or "", description=description, learn=learn)
    warning = policy_warning(wiz.home, result.action.url, wiz.connection)
    out.update(applied=True, action=result.action.public(), learned=result.learned, warnings=[warning] if warning else [])
    if as_json:
        print_json(out)
        return
    show_datatree(result.action.datatree)
    console.print(f"Saved action {result.action.name}.", markup=False)
    if result.learned.get("learned"):
        console.print(f"Learned {result.learned['method']} {result.learned['path_template']} into your catalogue.", markup=False)
    if warning:
        err_console.print(f"Warning: {warning}", markup=False, style="yellow")


def _quoted(name: str) -> str:
    import shlex

    return shlex.quote(name)


# -- saved actions -----------------------------------------------------------------------
@app.command("list")
def list_(as_json: bool = JSON_OPTION) -> None:
    """List the saved actions."""
    from plugwire.core.wizard.actions import Actions

    actions = Actions(home()).list()
    if as_json:
        print_json([a.public() for a in actions])
        return
    if not actions:
        console.print("No actions yet. Build one with [bold]plugwire actions new[/].")
        return
    rows = []
    for a in actions:
        status = str(a.sample_response.status) if a.sample_response else ""
        fields = str(len(a.datatree.fields())) if a.datatree else ""
        rows.append([a.name, "proven" if a.proven else "DRAFT", a.method, a.public()["url"], a.connection or "", status, fields, a.updated_at])
    print_table([("name", KEY), ("proof", SHORT), ("method", SHORT), ("URL", TEXT), ("connection", KEY), ("sample", SHORT),
                 ("fields", SHORT), ("updated", SHORT)], rows)
    drafts = [a.name for a in actions if not a.proven]
    if drafts:
        err_console.print(f"{len(drafts)} unproven draft(s): no recipe runs them until `plugwire actions prove NAME` gets a 2xx.",
                          markup=False, style="yellow")


@app.command("show")
def show(name: str = typer.Argument(..., help="The action's name."), as_json: bool = JSON_OPTION) -> None:
    """Show one action: request, settings, sample response and output fields."""
    from plugwire.core.cli.actions_view import show_action
    from plugwire.core.wizard.actions import Actions

    action = Actions(home()).get(name)
    if as_json:
        print_json(action.public())
    else:
        show_action(action)


@app.command("remove")
def remove(name: str = typer.Argument(..., help="The action's name."), yes: bool = typer.Option(False, "--yes", "-y", help="Do not ask."), as_json: bool = JSON_OPTION) -> None:
    """Remove a saved action."""
    from plugwire.core.wizard.actions import Actions

    actions = Actions(home())
    actions.get(name)
    if not yes and stdin_is_interactive():
        typer.confirm(f"Remove action {name!r}?", abort=True)
    actions.remove(name)
    if as_json:
        print_json({"removed": name})
    else:
        console.print(f"Removed action {name}.", markup=False)


@app.command("curl")
def curl_(
    name: str = typer.Argument(..., help="The action's name."),
    show_secrets: bool = typer.Option(False, "--show-secrets", help="Print the connection's credentials in clear."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Print the action as a cURL command (credentials masked unless --show-secrets)."""
    from plugwire.core.connections.model import Connections
    from plugwire.core.curl.parse import action_to_curl
    from plugwire.core.http.capture import masked_spec
    from plugwire.core.wizard.actions import Actions

    h = home()
    action = Actions(h).get(name)
    command = action_to_curl(action if show_secrets else masked_spec(action), Connections(h), show_secrets=show_secrets)
    if show_secrets:
        err_console.print("Warning: the command below holds credentials in clear text.", style="yellow")
    if as_json:
        print_json({"name": name, "curl": command})
    else:
        sys.stdout.write(command + "\n")
