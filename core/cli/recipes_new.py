"""``plugwire recipes new``: a recipe made at the terminal (trigger, its settings one by
one, steps chosen from the saved actions, datapills offered from the datatrees) or
from flags for scripts. Every pill is checked when it is saved, as ``recipes add`` does."""

from __future__ import annotations

from typing import Optional

import typer

from plugwire.core.cli.common import JSON_OPTION, home, stdin_is_interactive
from plugwire.core.cli.recipes_build import config_from_flags, kind_named, save_recipe, steps_from_flags

__all__ = ["attach", "new"]

SET_HELP = "A trigger setting, NAME=VALUE (see `plugwire triggers TYPE`; dotted for a section: signature.header=X-Sig). Repeatable."
SECRET_HELP = "A secret trigger setting, NAME=SOURCE: env:VAR, file:PATH, - (stdin) or prompt (e.g. signature.secret=env:HOOK_SECRET)."
STEP_HELP = "A step running a saved action, ACTION or ACTION:STEP_NAME, in order. Repeatable."
MAP_HELP = ("Fill a step's field with a datapill, STEP.FIELD=PILL: FIELD is url, headers.NAME, query.NAME, body or body.PATH; "
            "PILL is a path (trigger.payload.id, steps.NAME.response.body.id) or text with {{pills}}. Repeatable.")


def new(
    name: Optional[str] = typer.Argument(None, help="The recipe's name (asked at a terminal when left out)."),
    trigger: Optional[str] = typer.Option(None, "--trigger", help="The trigger type (see `plugwire triggers`)."),
    sets: list[str] = typer.Option([], "--set", help=SET_HELP),
    secrets: list[str] = typer.Option([], "--secret", help=SECRET_HELP),
    steps: list[str] = typer.Option([], "--step", help=STEP_HELP),
    maps: list[str] = typer.Option([], "--map", help=MAP_HELP),
    description: str = typer.Option("", "--description", help="What the recipe is for."),
    start: bool = typer.Option(False, "--start", help="Start the recipe once saved."),
    yes: bool = typer.Option(False, "--yes", "-y", help="Ask nothing: take everything from the flags."),
    base_url: Optional[str] = typer.Option(None, "--base-url", help="Base URL for the webhook URL shown (default: the server's)."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Make a recipe: a trigger, its settings, and steps from the saved actions with datapills; checked when saved.

    At a terminal it asks for what the flags leave out, offering the datapills of the
    trigger's and the earlier steps' datatrees; with --yes (or no terminal) the flags say it all."""
    from plugwire.core.wizard.actions import Actions

    from plugwire.core.base.errors import UserInputError

    actions = {a.name: a for a in Actions(home()).list()}
    if yes or as_json or not stdin_is_interactive():
        if not name:
            raise UserInputError("The recipe needs a name.", field="name", fix="give it: plugwire recipes new NAME --trigger TYPE ... --yes")
        if not trigger:
            raise UserInputError("The recipe needs a trigger.", field="trigger", fix="add --trigger TYPE (see `plugwire triggers`)")
        kind = kind_named(trigger)
        data = {"name": name, "description": description,
                "trigger": {"type": kind.name, "config": config_from_flags(kind, sets, secrets)},
                "steps": steps_from_flags(steps, maps, actions)}
    else:
        from plugwire.core.cli.recipes_ask import ask_recipe

        data, start = ask_recipe(name, trigger, description, actions, start=start,
                                 preset=(config_from_flags(kind_named(trigger), sets, secrets) if trigger else None))
    save_recipe(data, start=start, base_url=base_url, as_json=as_json)


def attach(recipes_app: typer.Typer) -> None:
    """Add ``new`` to ``plugwire recipes``."""
    recipes_app.command("new")(new)
