"""``plugwire actions export --postman [--output FILE] [NAMES...]``: saved actions as a
Postman collection v2.1, credentials as collection variables, never values.

``attach(app)`` adds the command to a given typer app (the ``actions`` group).
"""

from __future__ import annotations

from pathlib import Path

import typer
from plugwire.core.cli.common import JSON_OPTION, console, err_console, home, print_json

__all__ = ["attach", "export"]


def export(
    names: list[str] | None = typer.Argument(None, help="Names of the actions to export (default: every action)."),
    postman: bool = typer.Option(False, "--postman", help="Write a Postman collection (format v2.1)."),
    output: Path | None = typer.Option(None, "--output", "-o", help="File to write (default: print the collection)."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Export saved actions as a Postman collection (v2.1); credentials become collection variables, never values."""
    import json

    from plugwire.core.base.errors import UserInputError
    from plugwire.core.connections.model import Connections
    from plugwire.core.curl.postman_export import actions_to_postman
    from plugwire.core.wizard.actions import Actions

    if not postman:
        raise UserInputError("no export format chosen.", field="postman", fix="pass --postman")
    h = home()
    store = Actions(h)
    actions = [store.get(name) for name in names] if names else store.list()
    if not actions:
        raise UserInputError("there are no saved actions to export.", field="names", fix="save one with plugwire actions new")
    collection, notes = actions_to_postman(actions, Connections(h), name=f"plugwire actions ({h.path.name})")
    text = json.dumps(collection, indent=2, ensure_ascii=False)
    if output is None:
        print(text)  # the collection alone on stdout, for a pipe
    else:
        try:
            output.parent.mkdir(parents=True, exist_ok=True)
            output.write_text(text + "\n", encoding="utf-8")
        except OSError as exc:
            raise UserInputError(f"cannot write {output} ({exc.strerror}).", field="output", fix="choose a writable --output path") from None
        variables = [v["key"] for v in collection["variable"]]
        if as_json:
            print_json({"output": str(output), "actions": [a.name for a in actions], "variables": variables, "notes": notes})
        else:
            console.print(f"Wrote {output}: {len(actions)} action(s) as a Postman collection v2.1.", markup=False, highlight=False)
            if variables:
                console.print(f"Fill in these collection variables in Postman: {', '.join(variables)}", markup=False, highlight=False)
    for note in notes if output is None or not as_json else []:
        err_console.print(f"Note: {note}", markup=False, highlight=False)


def attach(app: typer.Typer) -> None:
    """Add ``export`` to ``app`` (the ``actions`` group)."""
    app.command("export")(export)
