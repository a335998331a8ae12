"""``plugwire triggers``: the trigger types installed and, for each, its settings."""

from __future__ import annotations

import json
from typing import Any, Optional

import typer

from plugwire.core.cli.common import JSON_OPTION, KEY, SHORT, TEXT, console, print_json, print_table

__all__ = ["attach", "triggers"]


def _default(setting: dict[str, Any]) -> str:
    if setting["section"] or setting["default"] is None:
        return ""
    value = setting["default"]
    return value if isinstance(value, str) and value else json.dumps(value, ensure_ascii=False)


def _describe(setting: dict[str, Any]) -> str:
    text = setting["description"]
    if setting["when"]:
        text = f"({setting['name'].rsplit('.', 1)[0]} {setting['when']}) {text}"
    return text


def triggers(
    trigger: Optional[str] = typer.Argument(None, help="Show only this trigger type."),
    as_json: bool = JSON_OPTION,
) -> None:
    """List the trigger types and each one's settings (name, type, required, default, description), for `plugwire recipes new --trigger TYPE --set NAME=VALUE`."""
    from plugwire.core.base.errors import UserInputError
    from plugwire.core.plugincore.manager import triggers as registry

    kinds = registry.items()
    if trigger is not None:
        if trigger not in kinds:
            raise UserInputError(f"Unknown trigger type {trigger!r}.", field="trigger", fix=f"use one of: {', '.join(sorted(kinds))}")
        kinds = {trigger: kinds[trigger]}
    items = [{"name": k.name, "title": k.title, "description": k.description, "receives_http": k.receives_http,
              "polls": k.polls, "settings": k.describe_settings()} for _, k in sorted(kinds.items())]
    if as_json:
        print_json(items)
        return
    from rich.text import Text

    for n, item in enumerate(items):
        if n:
            console.print()
        console.print(Text.assemble((item["name"], "bold"), f": {item['title']}. {item['description']}"))
        rows = [[s["name"], s["type"], "yes" if s["required"] else "", _default(s), _describe(s)] for s in item["settings"]]
        if rows:
            print_table([("setting", KEY), ("type", TEXT), ("required", SHORT), ("default", TEXT), ("description", TEXT)], rows)
        else:
            console.print("  (no settings)")


def attach(app: typer.Typer) -> None:
    """Add ``triggers`` to the ``plugwire`` command."""
    app.command("triggers")(triggers)
