"""``plugwire jobs``: list, show and rerun the runs of recipes."""

from __future__ import annotations

import json
from typing import Any, Optional

import typer

from plugwire.core.cli.common import JSON_OPTION, KEY, SHORT, TEXT, console, home, print_json, print_table

__all__ = ["jobs_app"]

jobs_app = typer.Typer(help="Jobs: each run of a recipe, with what was sent and what came back.", no_args_is_help=True)
ID_HELP = "The job's id, or enough of its start to name one job (see `plugwire jobs list`)."


def _jobs():
    return home().jobs()


@jobs_app.command("list")
def jobs_list(
    recipe: Optional[str] = typer.Option(None, "--recipe", help="Only this recipe's jobs."),
    status: Optional[str] = typer.Option(None, "--status", help="pending, running, succeeded or failed."),
    limit: int = typer.Option(20, "--limit", min=1, max=10_000, help="At most this many jobs, newest first."),
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
    rows = []
    for j in items:
        ms = f"{j['duration_ms']:.0f}" if j["duration_ms"] is not None else ""
        rows.append([j["id"], j["recipe"], j["status"], j["received_at"], ms, j["error"] or ""])
    print_table([("id", KEY), ("recipe", KEY), ("status", SHORT), ("received", SHORT), ("ms", SHORT), ("error", TEXT)], rows)


def _text(value: Any) -> Any:
    from rich.text import Text

    return Text("" if value is None else str(value))


def _block(value: Any) -> Any:
    if isinstance(value, (dict, list)):
        from rich.syntax import Syntax

        return Syntax(json.dumps(value, indent=2, ensure_ascii=False), "json", word_wrap=True)
    return _text(value)


def _pairs(items: dict[str, Any]) -> Any:
    from rich.table import Table

    table = Table(show_header=False, box=None, pad_edge=False)
    table.add_column(style="bold")
    table.add_column()
    for k, v in items.items():
        table.add_row(_text(k), _text(json.dumps(v, ensure_ascii=False) if isinstance(v, (dict, list)) else v))
    return table


def _panel(body: Any, title: str) -> Any:
    from rich.panel import Panel

    return Panel(body, title=title, title_align="left")


def _group(*parts: Any) -> Any:
    from rich.console import Group

    return Group(*parts)


def _headline(job: dict[str, Any]) -> Any:
    from rich.text import Text

    line = Text.assemble("Job ", (job["id"], "bold"), " of recipe ", (job["recipe"], "bold"), ": ", (job["status"], "bold"))
    if job.get("rerun_of"):
        line.append(f" (a rerun of {job['rerun_of']})")
    return line


@jobs_app.command("show")
def jobs_show(
    job_id: str = typer.Argument(..., help=ID_HELP),
    tab: str = typer.Option("all", "--tab", help="input, output or all."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Show a job: the trigger's event, and per step the input (what was sent) and the output (what came back)."""
    from plugwire.core.base.errors import UserInputError

    if tab not in ("input", "output", "all"):
        raise UserInputError(f"--tab {tab!r} is not a tab.", field="tab", fix="use input, output or all")
    job = _jobs().get(job_id)
    if as_json:
        print_json(job)
        return
    show_job(job, tab)


def show_job(job: dict[str, Any], tab: str = "all") -> None:
    """Print ``job`` (as the store returns it): its times, error, event and steps."""
    from rich.text import Text

    console.print(_headline(job))
    console.print(_pairs({k: job[k] for k in ("received_at", "started_at", "finished_at", "duration_ms") if job[k] is not None}))
    if job["error"]:
        console.print(Text.assemble(("Error: ", "red"), job["error"]))
    console.print(_panel(_block(job["event"]), "Trigger event"))
    for n, step in enumerate(job["steps"], 1):
        head = f"Step {n}: {step['name']} (action {step['action']}) - {step['status']}"
        if step.get("attempts", 1) > 1:
            head += f", {step['attempts']} attempts"
        console.print()
        console.print(Text(head, style="bold"))
        sent, got = step.get("input"), step.get("output")
        if tab in ("input", "all"):
            if sent:
                top = _pairs({"request": f"{sent.get('method')} {sent.get('url')}", **{f"header {k}": v for k, v in (sent.get("headers") or {}).items()}})
                console.print(_panel(top if sent.get("body") is None else _group(top, _block(sent.get("body"))), "Input"))
            else:
                console.print(_panel("(nothing was sent)", "Input"))
        if tab in ("output", "all"):
            if got:
                top = _pairs({"status": f"{got.get('status')} {got.get('reason', '')}", **{f"header {k}": v for k, v in (got.get("headers") or {}).items()}})
                console.print(_panel(_group(top, _block(got.get("body"))), "Output"))
            if step.get("error"):
                console.print(_panel(Text(step["error"], style="red"), "Error"))


@jobs_app.command("rerun")
def jobs_rerun(job_id: str = typer.Argument(..., help=ID_HELP), as_json: bool = JSON_OPTION) -> None:
    """Run a job's recipe again with the same trigger event, as a new job; prints its id and outcome.

    The new job records which job it reruns; the command exits 1 when it failed. It
    runs the job itself, under the network policy `plugwire serve` last recorded, so
    its outcome is known when it returns, whether or not a server runs (one with
    --workers 0 or Celery workers included). Should a running server's worker take
    the stored job first, the server runs it and the command says so."""
    from plugwire.core.http.netpolicy import NetworkPolicy
    from plugwire.core.recipes.model import Recipes
    from plugwire.core.recipes.rerun import run_stored, store_rerun
    from plugwire.core.storage.served import load_served

    h = home()
    jobs = h.jobs()
    try:
        new_id, old, recipe = store_rerun(jobs, Recipes(h), job_id)
        served = load_served(h)
        ran_here = run_stored(h, jobs, recipe, new_id, policy=NetworkPolicy(enabled=served.network_policy, allow=served.allow))
        job = jobs.get(new_id)
    finally:
        jobs.close()
    if as_json:
        print_json({**job, "ran_here": ran_here})
    elif not ran_here:
        console.print(_text(f"Job {new_id} (a rerun of {old['id']}) was taken by a running server; "
                            f"see its outcome with: plugwire jobs show {new_id}"))
    else:
        console.print(_headline(job))
        if job["error"]:
            from rich.text import Text

            console.print(Text.assemble(("Error: ", "red"), job["error"]))
        console.print(_text(f"Details: plugwire jobs show {new_id}"))
    if job["status"] == "failed":
        raise typer.Exit(1)
