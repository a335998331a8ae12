"""The questions of ``plugwire recipes new`` at a terminal: the name, the trigger type,
its settings one by one (Enter keeps a default), then steps from the saved actions and,
per step, the fields to fill with datapills offered from the datatrees."""

from __future__ import annotations

from typing import Any, Optional

import typer

from plugwire.core.cli.common import console

__all__ = ["ask_recipe"]


def _say(text: str, style: str = "") -> None:
    from rich.text import Text

    console.print(Text(text, style=style))


def _choose(title: str, options: list[tuple[str, str]], *, allow_none: str = "") -> Optional[str]:
    """Ask for one of ``options`` (``(value, label)``) by number or value; returns the
    value, or None when ``allow_none`` names what Enter means."""
    _say(title, "bold")
    for n, (value, label) in enumerate(options, 1):
        _say(f"  {n}. {value}" + (f": {label}" if label else ""))
    values = [v for v, _ in options]
    while True:
        answer = typer.prompt(f"Number or name{f' (Enter: {allow_none})' if allow_none else ''}",
                              default="" if allow_none else None, show_default=False).strip()
        if not answer and allow_none:
            return None
        if answer.isdigit() and 1 <= int(answer) <= len(values):
            return values[int(answer) - 1]
        if answer in values:
            return answer
        _say(f"{answer!r} is not one of the {len(values)} listed; type its number.", "red")


def _ask_settings(kind: Any, config: dict[str, Any]) -> dict[str, Any]:
    from plugwire.core.cli.common import read_secret
    from plugwire.core.cli.recipes_build import _put_setting, _value

    chosen: dict[str, Optional[str]] = {}
    for s in kind.describe_settings():
        section = s["name"].rsplit(".", 1)[0] if "." in s["name"] else None
        if s["when"] and chosen.get(section) != s["when"]:
            continue  # a field of a kind of section not chosen
        if section in chosen and chosen[section] is None:
            continue
        help_text = f"{s['name']} ({s['type']}{', required' if s['required'] else ''})" + (f": {s['description']}" if s["description"] else "")
        if s["section"] and s["choices"]:
            _say(help_text)
            chosen[s["name"]] = _choose(f"{s['name']}:", [(c, "") for c in s["choices"]], allow_none="none")
            _put_setting(config, s, chosen[s["name"]])
            continue
        if s["section"]:
            chosen[s["name"]] = s["name"]
            continue
        _say(help_text)
        if s["secret"]:
            _put_setting(config, s, read_secret("prompt", f"trigger.config.{s['name']}"))
            continue
        default = "" if s["default"] is None else (s["default"] if isinstance(s["default"], str) else _json(s["default"]))
        answer = typer.prompt(f"  {s['name']}", default=default, show_default=bool(default)).strip()
        if answer != default:
            _put_setting(config, s, _value(s, answer) if answer else None)
    return {k: v for k, v in config.items() if v is not None}


def _json(value: Any) -> str:
    import json

    return json.dumps(value, ensure_ascii=False)


def _ask_fields(step: dict[str, Any], action: Any, pills: list[dict[str, Any]]) -> None:
    from plugwire.core.base.errors import UserInputError
    from plugwire.core.cli.recipes_build import fill

    spec = action.spec()
    _say(f"Datapills step {step['name']} may use:", "bold")
    for n, p in enumerate(pills, 1):
        example = "" if p["example"] is None else f" e.g. {_json(p['example'])[:40]}"
        _say(f"  {n}. {{{{{p['pill']}}}}} ({p['type']}){example}")
    fields = ["url"] + [f"headers.{h}" for h in spec.headers] + [f"query.{q}" for q in spec.query]
    _say(f"Fields of action {action.name}: {', '.join(fields)}" + (", body.PATH" if spec.body is not None else ", body"))
    while True:
        field = typer.prompt("Field to fill with a datapill (Enter: none, next step)", default="", show_default=False).strip()
        if not field:
            return
        value = typer.prompt("  Pill number, pill path, or text with {{pills}}").strip()
        if value.isdigit() and 1 <= int(value) <= len(pills):
            value = pills[int(value) - 1]["pill"]
        try:
            fill(step, action, field, value)
        except UserInputError as exc:
            _say(str(exc), "red")


def _validated(kind: Any, config: dict[str, Any]) -> Any:
    from pydantic import ValidationError

    from plugwire.core.base.errors import UserInputError, format_validation_error

    try:
        return kind.Config.model_validate(config)
    except ValidationError as exc:
        raise UserInputError("Invalid trigger settings: " + format_validation_error(exc, prefix="trigger.config."),
                             field="trigger.config", fix=f"see `plugwire triggers {kind.name}`") from None


def ask_recipe(name: Optional[str], trigger: Optional[str], description: str, actions: dict[str, Any], *,
               start: bool, preset: Optional[dict[str, Any]]) -> tuple[dict[str, Any], bool]:
    """Ask for what the flags left out; returns ``(the recipe's data, start it)``.
    Raises ``typer.Abort`` when the person declines to save."""
    from plugwire.core.cli.recipes_build import kind_named
    from plugwire.core.plugincore.manager import triggers
    from plugwire.core.recipes.pills import offered_pills

    while not name:
        name = typer.prompt("Recipe name").strip()
    if not trigger:
        trigger = _choose("Trigger type:", [(k.name, k.title) for _, k in sorted(triggers.items().items())])
    kind = kind_named(trigger)
    config = preset if preset is not None else _ask_settings(kind, {})
    built = _validated(kind, config)
    steps: list[dict[str, Any]] = []
    if not actions:
        _say("No saved actions yet: the recipe has no steps (make one with `plugwire actions new`).")
    while actions:
        label = "Add a step" if not steps else "Add another step"
        chosen = _choose(f"{label}: which saved action?", [(a.name, f"{a.method} {a.public()['url']}" + ("" if a.proven else " (draft, not proven: no recipe saves it)"))
                                                                     for a in actions.values()],
                         allow_none="no more steps")
        if chosen is None:
            break
        step_name = typer.prompt("  Step name", default=chosen.replace(" ", "_").replace(".", "_").replace("@", "_")).strip()
        step = {"action": chosen, "name": step_name}
        earlier = [(s["name"], actions[s["action"]].datatree, actions[s["action"]].pagination) for s in steps]
        _ask_fields(step, actions[chosen], offered_pills(kind, built, earlier))
        steps.append(step)
    data = {"name": name, "description": description, "trigger": {"type": kind.name, "config": config}, "steps": steps}
    _say(f"Recipe {name}: trigger {kind.name}, steps {', '.join(s['name'] for s in steps) or '(none)'}.")
    if not typer.confirm("Save it? Every datapill is checked now", default=True):
        raise typer.Abort()
    return data, start or typer.confirm("Start it now?", default=False)
