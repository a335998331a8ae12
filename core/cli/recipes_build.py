"""What ``plugwire recipes add`` and ``recipes new`` share: trigger settings and steps
read from flags (``--set``, ``--secret``, ``--step``, ``--map``), the server's base URL,
and saving and showing a recipe."""

from __future__ import annotations

import copy
import json
from typing import Any, Optional

from plugwire.core.cli.common import console, home, print_json

__all__ = ["base_url_for", "recipes_service", "config_from_flags", "fill", "kind_named", "put", "save_recipe", "show_recipe", "steps_from_flags"]


def recipes_service():
    """Return the recipes of the data folder."""
    from plugwire.core.recipes.model import Recipes

    return Recipes(home())


def base_url_for(given: Optional[str]) -> str:
    """Return the base URL webhook URLs are shown with: ``given`` (``--base-url``),
    else the server's (``PLUGWIRE_BASE_URL``, else what ``plugwire serve`` recorded)."""
    from plugwire.core.storage.served import check_base_url, load_served

    return check_base_url(given, "--base-url") if given else load_served(home()).base_url


def put(target: dict[str, Any], dotted: str, value: Any) -> None:
    from plugwire.core.base.errors import UserInputError

    *parents, last = dotted.split(".")
    for part in parents:
        target = target.setdefault(part, {})
        if not isinstance(target, dict):
            raise UserInputError(f"trigger.config.{dotted} crosses a value that is not a mapping.", field=f"trigger.config.{dotted}")
    target[last] = value


def show_recipe(data: dict[str, Any]) -> None:
    """Print a recipe's public data as ``field  value`` lines (no value read as markup)."""
    from rich.table import Table
    from rich.text import Text

    table = Table(show_header=False, box=None, pad_edge=False)
    table.add_column(style="bold")
    table.add_column()
    table.add_row("name", Text(data["name"]))
    table.add_row("status", data["status"] + (f" since {data['started_at']}" if data.get("started_at") else ""))
    table.add_row("trigger", data["trigger"]["type"])
    table.add_row("trigger config", Text(json.dumps(data["trigger"]["config"], ensure_ascii=False)))
    if data.get("webhook_url"):
        table.add_row("webhook URL", Text(data["webhook_url"]))
    for n, step in enumerate(data["steps"], 1):
        sets = {k: step[k] for k in ("url", "headers", "query", "body") if step.get(k) not in (None, {}, "")}
        table.add_row(f"step {n}", Text(f"{step['name']} (action {step['action']}) " + json.dumps(sets, ensure_ascii=False)))
    console.print(table)


def save_recipe(data: dict[str, Any], *, start: bool, base_url: Optional[str], as_json: bool) -> None:
    """Save (and with ``start`` start) the recipe ``data``, every pill checked, and
    print it; raises ``UserInputError`` naming the step and field at fault."""
    base = base_url_for(base_url)
    service = recipes_service()
    recipe = service.create(data)
    if start:
        recipe = service.start(recipe.name)
    if as_json:
        print_json(recipe.public(base))
        return
    console.print(f"Saved recipe [bold]{escape(recipe.name)}[/] ({'started' if start else 'stopped'}).")
    show_recipe(recipe.public(base))


def escape(text: str) -> str:
    """Return ``text`` with rich markup escaped."""
    from rich.markup import escape as _escape

    return _escape(text)


def _fail(message: str, field: str, fix: str) -> None:
    from plugwire.core.base.errors import UserInputError

    raise UserInputError(message, field=field, fix=fix)


def kind_named(name: str) -> Any:
    from plugwire.core.plugincore.manager import triggers

    found = triggers.get(name)
    if found is None:
        _fail(f"Unknown trigger type {name!r}.", "trigger", f"use one of: {', '.join(sorted(triggers.names()))} (see `plugwire triggers`)")
    return found


def _setting(settings: list[dict[str, Any]], name: str, kind: str) -> dict[str, Any]:
    found = [s for s in settings if s["name"] == name]
    if not found:
        _fail(f"--set {name}: the {kind} trigger has no setting {name!r}.", "set",
              f"use one of: {', '.join(dict.fromkeys(s['name'] for s in settings))} (see `plugwire triggers {kind}`)")
    return found[0]


def _value(setting: dict[str, Any], text: str) -> Any:
    """Return ``text`` as the setting's value: text as typed for a text setting or a
    choice, otherwise JSON when it reads as JSON (a number, true, an object)."""
    if setting["type"] == "text" or setting["choices"]:
        return text
    try:
        return json.loads(text)
    except ValueError:
        return text


def _put_setting(config: dict[str, Any], setting: dict[str, Any], value: Any) -> None:
    if setting["section"] and setting["choices"]:  # a kind of section: signature=hmac-sha256
        if value in (None, "", "none"):
            config.pop(setting["name"], None)
            return
        put(config, setting["name"] + ".scheme", value)
    else:
        put(config, setting["name"], value)


def config_from_flags(kind: Any, sets: list[str], secrets: list[str]) -> dict[str, Any]:
    """Return the trigger config that ``--set`` and ``--secret`` give; raises
    ``UserInputError`` naming the flag and the setting at fault."""
    from plugwire.core.cli.common import read_secret

    settings = kind.describe_settings()
    config: dict[str, Any] = {}
    for flag, items in (("--set", sets), ("--secret", secrets)):
        for item in items:
            key, sep, text = item.partition("=")
            if not sep or not key:
                _fail(f"{flag} {item!r} is not NAME=VALUE.", flag.lstrip("-"), f"write {flag} NAME=VALUE, e.g. {flag} timezone=UTC")
            setting = _setting(settings, key, kind.name)
            if setting["secret"] and flag == "--set":
                _fail(f"--set {key}: a secret is not taken from the command line.", "set", f"use --secret {key}=env:VAR (or file:PATH, -, prompt)")
            value = read_secret(text, f"trigger.config.{key}", f"--secret {key}={{}}") if flag == "--secret" else _value(setting, text)
            _put_setting(config, setting, value)
    return config


def fill(step: dict[str, Any], action: Any, field: str, value: str) -> None:
    """Put ``value`` (a pill path, or text with pills) in ``field`` of ``step``."""
    text = value if "{{" in value or not value.startswith(("trigger.", "steps.")) else "{{" + value + "}}"
    where, _, rest = field.partition(".")
    if where == "url" and not rest:
        step["url"] = text
    elif where in ("headers", "query") and rest:
        step.setdefault(where, {})[rest] = text
    elif where == "body" and not rest:
        step["body"] = text
    elif where == "body":
        from plugwire.core.wizard.constraints import set_path

        if "body" not in step:  # the action's body, with this one value replaced
            body = copy.deepcopy(action.spec().body) if action is not None else None
            step["body"] = body if isinstance(body, (dict, list)) else {}
        set_path(step["body"], rest, text)
    else:
        _fail(f"--map {step['name']}.{field}: {field!r} is not a field of a step.", "map",
              "use url, headers.NAME, query.NAME, body or body.PATH")


def steps_from_flags(steps: list[str], maps: list[str], actions: dict[str, Any]) -> list[dict[str, Any]]:
    """Return the steps ``--step`` and ``--map`` give; raises ``UserInputError``."""
    import re

    out: list[dict[str, Any]] = []
    for item in steps:
        action, _, name = item.rpartition(":") if ":" in item else (item, "", "")
        out.append({"action": action, "name": name or re.sub(r"[^A-Za-z0-9_-]", "_", action)})
    by_name = {s["name"]: s for s in out}
    for item in maps:
        target, sep, value = item.partition("=")
        step, _, field = target.partition(".")
        if not sep or not field:
            _fail(f"--map {item!r} is not STEP.FIELD=PILL.", "map", "e.g. --map create_venue.body.venue.name=trigger.payload.name")
        if step not in by_name:
            _fail(f"--map {item!r}: there is no step {step!r}.", "map", f"name one of the steps: {', '.join(by_name) or '(none: add --step ACTION)'}")
        fill(by_name[step], actions.get(by_name[step]["action"]), field, value)
    return out


