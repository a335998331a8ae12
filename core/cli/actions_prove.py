"""``plugwire actions prove NAME`` and ``plugwire actions edit NAME``: proving a saved
action against the live API, and changing it.

A recipe runs only a proven action (its request got a 2xx from the live API). ``prove``
sends the request once, as the wizard's *Send* does, and records the 2xx (sample,
datatree, proof); otherwise it says what came back and exits 1. ``edit`` changes
fields with the wizard's flags; a change to what is sent makes a proven action a
draft again, unless ``--prove`` proves the edited request.

``attach(app)`` adds both commands to a given typer app (the ``actions`` group).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer
from plugwire.core.cli.common import JSON_OPTION, console, err_console, home, print_json

__all__ = ["attach", "edit", "prove"]


def _prove_and_report(name: str, as_json: bool, out: dict[str, Any] | None = None) -> None:
    """Prove the saved action ``name``, print what came back; exit 1 when not proven."""
    from plugwire.core.connections.model import Connections
    from plugwire.core.wizard.apply import policy_warning
    from plugwire.core.wizard.prove import prove as prove_action

    h = home()
    connections = Connections(h)
    # No policy, as the terminal wizard sends; the one `plugwire serve` keeps is warned about.
    action, trial = prove_action(h, name, connections=connections)
    warning = None
    if trial.ok:
        warning = policy_warning(h, action.url, connections.get(action.connection) if action.connection else None)
    if as_json:
        print_json({**(out or {}), "action": action.public(), "trial": trial.summary(), "warnings": [warning] if warning else []})
    elif trial.ok:
        console.print(f"Action {name} proven: the API answered {action.proof.status}. Recipes may run it.", markup=False, highlight=False)
        if warning:
            err_console.print(f"Warning: {warning}", markup=False, style="yellow")
    else:
        kept = "It keeps its earlier proof." if action.proven else "It stays an unproven draft: no recipe runs it."
        err_console.print(f"Not proven: {trial.reason} {kept}", markup=False, style="red")
    if not trial.ok:
        raise typer.Exit(1)


def prove(name: str = typer.Argument(..., help="The action's name."), as_json: bool = JSON_OPTION) -> None:
    """Send a saved action's request once; a 2xx proves it (recipes run only proven actions)."""
    _prove_and_report(name, as_json)


def edit(
    name: str = typer.Argument(..., help="The action's name."),
    method: str | None = typer.Option(None, "--method", "-X", help="HTTP method."),
    url: str | None = typer.Option(None, "--url", help="Absolute URL."),
    connection: str | None = typer.Option(None, "--connection", "-c", help="Connection to send through; none for a public API."),
    headers: list[str] = typer.Option([], "--header", "-H", help="NAME:VALUE; an empty value removes it. Repeatable."),
    query: list[str] = typer.Option([], "--query", "-q", help="NAME=VALUE query parameter. Repeatable."),
    body: str | None = typer.Option(None, "--body", "-d", help="The whole body (JSON, form a=1&b=2, XML or text)."),
    body_file: Path | None = typer.Option(None, "--body-file", help="Read the body from a file."),
    body_format: str | None = typer.Option(None, "--body-format", help="json, form, multipart, xml, text, binary or none."),
    content_type: str | None = typer.Option(None, "--content-type", help="Content-Type for the body."),
    sets: list[str] = typer.Option([], "--set", help="Set one body field: PATH=TEXT or PATH:=JSON; query.NAME, headers.NAME too. Repeatable."),
    description: str | None = typer.Option(None, "--description", help="A line saying what the action does."),
    timeout: float | None = typer.Option(None, "--timeout", help="Seconds."),
    prove_it: bool = typer.Option(False, "--prove", help="Then send the edited request once: a 2xx proves it."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Change a saved action. Changing what is sent (method, URL, headers, query, body,
    files, connection, pagination, response format) makes it an unproven draft, unless --prove proves it."""
    from plugwire.core.base.errors import UserInputError
    from plugwire.core.cli.actions_input import apply_flags
    from plugwire.core.wizard.actions import Actions
    from plugwire.core.wizard.prove import wizard_for

    h = home()
    actions = Actions(h)
    before = actions.get(name)
    changes: dict[str, Any] = {}
    if connection is not None:
        changes["connection"] = None if connection.strip().lower() in ("", "none") else connection.strip()
    wiz = wizard_for(h, before.model_copy(update={"connection": changes.get("connection", before.connection)}))
    if method is not None or url is not None:
        wiz.edit(**{k: v.strip().upper() if k == "method" else v for k, v in (("method", method), ("url", url)) if v is not None})
    apply_flags(wiz, headers=headers, query=query, body=body, body_file=body_file, body_format=body_format,
                content_type=content_type, sets=sets, files=[])
    request = wiz.request.model_dump(mode="json")
    was = before.spec().model_dump(mode="json")
    changes.update({k: v for k, v in request.items() if v != was[k]})
    unset = [f"{part}.{k}" for part in ("headers", "query") for k in was[part] if k not in request[part]]
    if description is not None:
        changes["description"] = description
    if timeout is not None:
        changes["timeout"] = timeout
    if not changes and not unset and not prove_it:
        raise UserInputError("Nothing to change.", field="name", fix="give a flag to change, e.g. --url URL or -H NAME:VALUE")
    after = actions.edit(name, changes, unset=unset) if changes or unset else before
    unproved = before.proven and not after.proven
    if prove_it:
        _prove_and_report(name, as_json, {"changed": sorted(changes) + unset})
        return
    if as_json:
        print_json({"changed": sorted(changes) + unset, "action": after.public()})
        return
    console.print(f"Saved action {name}.", markup=False, highlight=False)
    if not after.proven:
        style = "yellow" if unproved else "dim"
        err_console.print(("It is an unproven draft again: " if unproved else "It is an unproven draft: ")
                          + f"{after.draft_reason}. Prove it with `plugwire actions prove {name}` (or edit with --prove).",
                          markup=False, style=style)


def attach(app: typer.Typer) -> None:
    """Add ``prove`` and ``edit`` to ``app`` (the ``actions`` group)."""
    app.command("prove")(prove)
    app.command("edit")(edit)
