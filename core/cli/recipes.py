"""``plugwire serve``, ``plugwire recipes`` and ``plugwire jobs``."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Optional

import typer

from plugwire.core.cli.common import JSON_OPTION, KEY, SHORT, TEXT, console, err_console, home, print_json, print_table, read_mapping, read_secret
from plugwire.core.cli.recipes_build import base_url_for, recipes_service, escape, put, save_recipe, show_recipe

__all__ = ["attach"]

recipes_app = typer.Typer(help="Recipes: a trigger and make-request steps wired with datapills.", no_args_is_help=True)
BASE_HELP = "Base URL the server is reached at, for webhook URLs (default: $PLUGWIRE_BASE_URL, else what `plugwire serve` recorded)."
BASE_OPTION = typer.Option(None, "--base-url", help=BASE_HELP)


def _jobs():
    return home().jobs()


def _read_file(path: Path) -> dict[str, Any]:
    return read_mapping(path, "file", "name, trigger, steps")


@recipes_app.command("add")
def add(
    file: Path = typer.Argument(..., help="JSON or YAML file: name, trigger {type, config}, steps [{action, url, headers, query, body}]."),
    secrets: list[str] = typer.Option([], "--secret", help="A secret of the trigger config, KEY=SOURCE (e.g. signature.secret=env:HOOK_SECRET)."),
    start: bool = typer.Option(False, "--start", help="Start the recipe once saved."),
    base_url: Optional[str] = BASE_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """Save a recipe; every datapill is checked against the datatrees first."""
    from plugwire.core.base.errors import UserInputError

    data = _read_file(file)
    for item in secrets:
        key, sep, source = item.partition("=")
        if not sep or not key:
            raise UserInputError(f"--secret {item!r} is not KEY=SOURCE.", field="secret", fix="write --secret signature.secret=env:VAR")
        put(data.setdefault("trigger", {}).setdefault("config", {}), key, read_secret(source, f"trigger.config.{key}"))
    save_recipe(data, start=start, base_url=base_url, as_json=as_json)


@recipes_app.command("list")
def list_(base_url: Optional[str] = BASE_OPTION, as_json: bool = JSON_OPTION) -> None:
    """List the recipes."""
    base = base_url_for(base_url)
    items = [r.public(base) for r in recipes_service().list()]
    if as_json:
        print_json(items)
        return
    if not items:
        console.print("No recipes yet: make one with `plugwire recipes new`, or add one with `plugwire recipes add FILE`.")
        return
    print_table(
        [("name", KEY), ("status", SHORT), ("trigger", KEY), ("steps", TEXT), ("webhook URL", KEY)],
        [[r["name"], r["status"], r["trigger"]["type"], ", ".join(s["name"] for s in r["steps"]), r.get("webhook_url", "")] for r in items],
    )


@recipes_app.command("show")
def show(name: str = typer.Argument(..., help="The recipe's name."), base_url: Optional[str] = BASE_OPTION, as_json: bool = JSON_OPTION) -> None:
    """Show a recipe (trigger secrets masked)."""
    data = recipes_service().get(name).public(base_url_for(base_url))
    if as_json:
        print_json(data)
    else:
        show_recipe(data)


def _status_command(verb: str):
    def command(name: str = typer.Argument(..., help="The recipe's name."), as_json: bool = JSON_OPTION) -> None:
        recipe = getattr(recipes_service(), verb)(name)
        if as_json:
            print_json(recipe.public())
        else:
            console.print(f"Recipe [bold]{escape(recipe.name)}[/] is {recipe.status}.")

    command.__doc__ = f"{verb.capitalize()} a recipe."
    return command


recipes_app.command("start")(_status_command("start"))
recipes_app.command("stop")(_status_command("stop"))


@recipes_app.command("remove")
def remove(name: str = typer.Argument(..., help="The recipe's name."), as_json: bool = JSON_OPTION) -> None:
    """Remove a recipe (its jobs stay in the history)."""
    recipes_service().remove(name)
    if as_json:
        print_json({"removed": name})
    else:
        console.print(f"Removed recipe [bold]{escape(name)}[/].")


@recipes_app.command("poll")
def poll(
    once: bool = typer.Option(False, "--once", help="Poll every polling recipe once, then exit (for cron)."),
    tick: float = typer.Option(1.0, "--tick", min=0.05, help="Seconds between looks for due polls."),
    no_network_policy: bool = typer.Option(
        False, "--no-network-policy",
        help="Allow polls into loopback and private networks (local use only, as plugwire serve --no-network-policy)."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Poll the started recipes whose trigger polls, when no server runs or from cron.

    ``plugwire serve`` polls by itself. The jobs it stores are pending: the server
    runs them. Exits 1 when ``--once`` met a failed poll."""
    import time

    from plugwire.core.http.netpolicy import NetworkPolicy
    from plugwire.core.recipes.polling import poll_due

    jobs = _jobs()
    policy = NetworkPolicy(enabled=not no_network_policy)
    failed = False
    try:
        while True:
            results = poll_due(home(), jobs, policy=policy, force=once)
            outcomes = [_poll_outcome(name, result) for name, result in results.items()]
            failed = failed or any(not o["ok"] for o in outcomes)
            if as_json:
                print_json({"polled": outcomes})  # one document per round
            else:
                _say_polls(outcomes, once)
            if once:
                raise typer.Exit(1 if failed else 0)
            time.sleep(tick)
    except KeyboardInterrupt:
        pass
    finally:
        jobs.close()


def _poll_outcome(name: str, result: Any) -> dict[str, Any]:
    """Return one recipe's poll outcome as plain data (``result``: a PollReport, or
    the message of an error that kept the poll from starting)."""
    if isinstance(result, str):
        return {"recipe": name, "ok": False, "error": result, "skipped": False, "created": []}
    return {"recipe": name, "ok": result.ok, "error": result.error, "skipped": result.skipped, "created": result.created}


def _say_polls(outcomes: list[dict[str, Any]], once: bool) -> None:
    if not outcomes and once:
        console.print("No started recipe has a polling trigger: nothing to poll.")
    for o in outcomes:
        if not o["ok"]:
            err_console.print(f"{o['recipe']}: poll failed: {o['error']}", markup=False, highlight=False)
        elif o["skipped"]:
            console.print(f"{o['recipe']}: skipped, another poll of it is under way", markup=False, highlight=False)
        else:
            console.print(f"{o['recipe']}: {len(o['created'])} new item(s)", markup=False, highlight=False)


def attach(app: typer.Typer) -> None:
    """Add ``recipes``, ``jobs`` and ``serve`` to the ``plugwire`` command."""
    from plugwire.core.cli import jobs, recipes_new, serve

    recipes_new.attach(recipes_app)
    app.add_typer(recipes_app, name="recipes")
    app.add_typer(jobs.jobs_app, name="jobs")
    app.command("serve")(serve.serve)
