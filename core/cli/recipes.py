"""``plugwire serve``, ``plugwire recipes`` and ``plugwire jobs``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Optional

import typer
from rich.markup import escape
from rich.panel import Panel
from rich.syntax import Syntax
from rich.table import Table

from plugwire.core.base.errors import UserInputError
from plugwire.core.cli.common import JSON_OPTION, console, err_console, home, print_json, read_mapping, read_secret

__all__ = ["attach"]

recipes_app = typer.Typer(help="Recipes: a trigger and make-request steps wired with datapills.", no_args_is_help=True)
jobs_app = typer.Typer(help="Jobs: each run of a recipe, with what was sent and what came back.", no_args_is_help=True)
BASE_HELP = "Base URL the server is reached at, to show webhook URLs."


def _recipes():
    from plugwire.core.recipes.model import Recipes

    return Recipes(home())


def _jobs():
    return home().jobs()


def _read_file(path: Path) -> dict[str, Any]:
    return read_mapping(path, "file", "name, trigger, steps")


def _put(target: dict[str, Any], dotted: str, value: Any) -> None:
    *parents, last = dotted.split(".")
    for part in parents:
        target = target.setdefault(part, {})
        if not isinstance(target, dict):
            raise UserInputError(f"trigger.config.{dotted} crosses a value that is not a mapping.", field=f"trigger.config.{dotted}")
    target[last] = value


def _show_recipe(data: dict[str, Any]) -> None:
    table = Table(show_header=False, box=None, pad_edge=False)
    table.add_column(style="bold")
    table.add_column()
    table.add_row("name", data["name"])
    table.add_row("status", data["status"] + (f" since {data['started_at']}" if data.get("started_at") else ""))
    table.add_row("trigger", data["trigger"]["type"])
    table.add_row("trigger config", json.dumps(data["trigger"]["config"], ensure_ascii=False))
    if data.get("webhook_url"):
        table.add_row("webhook URL", data["webhook_url"])
    for n, step in enumerate(data["steps"], 1):
        sets = {k: step[k] for k in ("url", "headers", "query", "body") if step.get(k) not in (None, {}, "")}
        table.add_row(f"step {n}", f"{step['name']} (action {step['action']}) " + json.dumps(sets, ensure_ascii=False))
    console.print(table)


@recipes_app.command("add")
def add(
    file: Path = typer.Argument(..., help="JSON or YAML file: name, trigger {type, config}, steps [{action, url, headers, query, body}]."),
    secrets: list[str] = typer.Option([], "--secret", help="A secret of the trigger config, KEY=SOURCE (e.g. signature.secret=env:HOOK_SECRET)."),
    start: bool = typer.Option(False, "--start", help="Start the recipe once saved."),
    base_url: str = typer.Option("http://127.0.0.1:8000", "--base-url", help=BASE_HELP),
    as_json: bool = JSON_OPTION,
) -> None:
    """Save a recipe; every datapill is checked against the datatrees first."""
    data = _read_file(file)
    for item in secrets:
        key, sep, source = item.partition("=")
        if not sep or not key:
            raise UserInputError(f"--secret {item!r} is not KEY=SOURCE.", field="secret", fix="write --secret signature.secret=env:VAR")
        _put(data.setdefault("trigger", {}).setdefault("config", {}), key, read_secret(source, f"trigger.config.{key}"))
    service = _recipes()
    recipe = service.create(data)
    if start:
        recipe = service.start(recipe.name)
    if as_json:
        print_json(recipe.public(base_url))
        return
    console.print(f"Saved recipe [bold]{recipe.name}[/] ({'started' if start else 'stopped'}).")
    _show_recipe(recipe.public(base_url))


@recipes_app.command("list")
def list_(base_url: str = typer.Option("http://127.0.0.1:8000", "--base-url", help=BASE_HELP), as_json: bool = JSON_OPTION) -> None:
    """List the recipes."""
    items = [r.public(base_url) for r in _recipes().list()]
    if as_json:
        print_json(items)
        return
    if not items:
        console.print("No recipes yet: add one with `plugwire recipes add FILE`.")
        return
    table = Table("name", "status", "trigger", "steps", "webhook URL")
    for r in items:
        table.add_row(r["name"], r["status"], r["trigger"]["type"], ", ".join(s["name"] for s in r["steps"]), r.get("webhook_url", ""))
    console.print(table)


@recipes_app.command("show")
def show(name: str, base_url: str = typer.Option("http://127.0.0.1:8000", "--base-url", help=BASE_HELP), as_json: bool = JSON_OPTION) -> None:
    """Show a recipe (trigger secrets masked)."""
    data = _recipes().get(name).public(base_url)
    if as_json:
        print_json(data)
    else:
        _show_recipe(data)


def _status_command(verb: str):
    def command(name: str, as_json: bool = JSON_OPTION) -> None:
        recipe = getattr(_recipes(), verb)(name)
        if as_json:
            print_json(recipe.public())
        else:
            console.print(f"Recipe [bold]{recipe.name}[/] is {recipe.status}.")

    command.__doc__ = f"{verb.capitalize()} a recipe."
    return command


recipes_app.command("start")(_status_command("start"))
recipes_app.command("stop")(_status_command("stop"))


@recipes_app.command("remove")
def remove(name: str, as_json: bool = JSON_OPTION) -> None:
    """Remove a recipe (its jobs stay in the history)."""
    _recipes().remove(name)
    if as_json:
        print_json({"removed": name})
    else:
        console.print(f"Removed recipe [bold]{name}[/].")


@recipes_app.command("poll")
def poll(
    once: bool = typer.Option(False, "--once", help="Poll every polling recipe once, then exit (for cron)."),
    tick: float = typer.Option(1.0, "--tick", min=0.05, help="Seconds between looks for due polls."),
    no_network_policy: bool = typer.Option(
        False, "--no-network-policy",
        help="Allow polls into loopback and private networks (local use only, as plugwire serve --no-network-policy)."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Poll the started recipes whose trigger polls, for a data folder whose server
    does not run or from cron (``plugwire serve`` polls by itself). The jobs it
    stores are pending: the server runs them. Exits 1 when ``--once`` met a failed poll."""
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


@jobs_app.command("list")
def jobs_list(
    recipe: Optional[str] = typer.Option(None, "--recipe", help="Only this recipe's jobs."),
    status: Optional[str] = typer.Option(None, "--status", help="pending, running, succeeded or failed."),
    limit: int = typer.Option(20, "--limit", min=1, max=10_000),
    as_json: bool = JSON_OPTION,
) -> None:
    """List jobs, newest first."""
    items = _jobs().list(recipe=recipe, status=status, limit=limit)
    if as_json:
        print_json(items)
        return
    if not items:
        console.print("No jobs yet.")
        return
    table = Table("id", "recipe", "status", "received", "ms", "error")
    for j in items:
        ms = f"{j['duration_ms']:.0f}" if j["duration_ms"] is not None else ""
        table.add_row(j["id"], j["recipe"], j["status"], j["received_at"], ms, (j["error"] or "")[:80])
    console.print(table)


def _block(value: Any) -> Any:
    if isinstance(value, (dict, list)):
        return Syntax(json.dumps(value, indent=2, ensure_ascii=False), "json", word_wrap=True)
    return "" if value is None else str(value)


def _pairs(title: str, items: dict[str, Any]) -> Table:
    table = Table(title=title, show_header=False, box=None, pad_edge=False, title_justify="left")
    table.add_column(style="bold")
    table.add_column()
    for k, v in items.items():
        table.add_row(str(k), json.dumps(v, ensure_ascii=False) if isinstance(v, (dict, list)) else str(v))
    return table


@jobs_app.command("show")
def jobs_show(
    job_id: str = typer.Argument(..., help="The job's id (see `plugwire jobs list`)."),
    tab: str = typer.Option("all", "--tab", help="input, output or all."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Show a job: the trigger's event, and per step the input (what was sent) and the output (what came back)."""
    if tab not in ("input", "output", "all"):
        raise UserInputError(f"--tab {tab!r} is not a tab.", field="tab", fix="use input, output or all")
    job = _jobs().get(job_id)
    if as_json:
        print_json(job)
        return
    console.print(f"Job [bold]{job['id']}[/] of recipe [bold]{job['recipe']}[/]: [bold]{job['status']}[/]")
    console.print(_pairs("", {k: job[k] for k in ("received_at", "started_at", "finished_at", "duration_ms") if job[k] is not None}))
    if job["error"]:
        console.print(f"[red]Error:[/] {escape(job['error'])}", highlight=False)
    console.print(Panel(_block(job["event"]), title="Trigger event", title_align="left"))
    for n, step in enumerate(job["steps"], 1):
        head = f"Step {n}: {step['name']} (action {step['action']}) - {step['status']}"
        if step.get("attempts", 1) > 1:
            head += f", {step['attempts']} attempts"
        console.print(f"\n[bold]{head}[/]")
        sent, got = step.get("input"), step.get("output")
        if tab in ("input", "all"):
            if sent:
                top = _pairs("", {"request": f"{sent.get('method')} {sent.get('url')}", **{f"header {k}": v for k, v in (sent.get("headers") or {}).items()}})
                console.print(Panel(top if sent.get("body") is None else _group(top, _block(sent.get("body"))), title="Input", title_align="left"))
            else:
                console.print(Panel("(nothing was sent)", title="Input", title_align="left"))
        if tab in ("output", "all"):
            if got:
                top = _pairs("", {"status": f"{got.get('status')} {got.get('reason', '')}", **{f"header {k}": v for k, v in (got.get("headers") or {}).items()}})
                console.print(Panel(_group(top, _block(got.get("body"))), title="Output", title_align="left"))
            if step.get("error"):
                console.print(Panel(f"[red]{step['error']}[/]", title="Error", title_align="left"))


def _group(*parts: Any):
    from rich.console import Group

    return Group(*parts)


def serve(
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on."),
    port: int = typer.Option(8000, "--port"),
    no_network_policy: bool = typer.Option(
        False, "--no-network-policy", help="Allow requests to loopback and private networks (local use only)."
    ),
    workers: int = typer.Option(16, "--workers", min=0, max=256, help="Jobs run at the same time; 0 only accepts events (jobs wait for a server that runs them)."),
    public_url: Optional[str] = typer.Option(None, "--public-url", help="URL the server is reached at (webhook and OAuth2 callback URLs)."),
    synchronous: str = typer.Option("FULL", "--synchronous", help="Job store durability: FULL (power-cut safe) or NORMAL (crash safe)."),
    max_body_bytes: Optional[int] = typer.Option(
        None, "--max-body-bytes", help="Largest webhook body in bytes for a recipe that sets no limit of its own, up to 52428800 (default: $PLUGWIRE_MAX_BODY_BYTES, else 1048576)."),
    body_timeout: Optional[float] = typer.Option(
        None, "--body-timeout", help="Seconds a sender has to deliver a webhook's whole body (default: $PLUGWIRE_BODY_TIMEOUT, else 30)."),
) -> None:
    """Run the server: webhooks, schedules, jobs, the OAuth2 callback, the JSON API and the web console."""
    from plugwire.core.server import API_TOKEN_ENV, api_token
    from plugwire.core.server import serve as run
    from plugwire.core.server.intake import IntakeLimits

    IntakeLimits.from_settings(max_body_bytes, body_timeout)  # a bad limit stops here, before the banner
    h = home()
    api_token(h)
    err_console.print(
        f"plugwire serving on http://{host}:{port}, web console at /console/ (data folder {h.path}); network policy "
        f"{'OFF' if no_network_policy else 'on'}; API token in ${API_TOKEN_ENV} or {Path(h.path) / 'api-token'}"
    )
    run(h, host=host, port=port, network_policy=not no_network_policy, synchronous=synchronous, workers=workers, public_url=public_url,
        max_body_bytes=max_body_bytes, body_timeout=body_timeout)


def attach(app: typer.Typer) -> None:
    """Add ``serve``, ``recipes`` and ``jobs`` to the ``plugwire`` command."""
    app.add_typer(recipes_app, name="recipes")
    app.add_typer(jobs_app, name="jobs")
    app.command("serve")(serve)
