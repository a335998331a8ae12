"""``plugwire plugins``: what is loaded and what each plugin provides."""

from __future__ import annotations

import typer
from rich.table import Table

from plugwire.core.cli.common import JSON_OPTION, console, print_json
from plugwire.core.plugins import load_problems, plugin_summaries

app = typer.Typer(help="Installed plugins and what they provide.", invoke_without_command=True)


@app.callback()
def plugins(
    ctx: typer.Context,
    all_: bool = typer.Option(False, "--all", help="Include the built-in plugins."),
    as_json: bool = JSON_OPTION,
) -> None:
    """List plugins and what each provides (built-ins with --all)."""
    if ctx.invoked_subcommand is not None:
        return
    rows = [p for p in plugin_summaries() if all_ or not p["builtin"]]
    problems = [{"plugin": p.plugin, "reason": p.reason} for p in load_problems()]
    if as_json:
        print_json({"plugins": rows, "problems": problems})
        return
    if not rows:
        console.print("No third-party plugins installed. [dim](--all shows the built-in ones)[/]")
    else:
        table = Table("plugin", "distribution", "version", "provides")
        for p in rows:
            provides = "; ".join(f"{kind}: {', '.join(sorted(names))}" for kind, names in sorted(p["provides"].items()))
            table.add_row(p["name"], p["distribution"] or "", p["version"] or "", provides or ", ".join(p["hooks"]))
        console.print(table)
    for p in problems:
        console.print(f"[red]Refused[/] {p['plugin']}: {p['reason']}")
