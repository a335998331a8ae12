"""``plugwire plugins``: what is loaded and what each plugin provides."""

from __future__ import annotations

from pathlib import Path

import typer

from plugwire.core.cli.common import JSON_OPTION, KEY, SHORT, TEXT, console, escape, print_json, print_table

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
    from plugwire.core.plugincore.manager import load_problems, plugin_summaries

    rows = [p for p in plugin_summaries() if all_ or not p["builtin"]]
    problems = [{"plugin": p.plugin, "reason": p.reason} for p in load_problems()]
    if as_json:
        print_json({"plugins": rows, "problems": problems})
        return
    if not rows:
        console.print("No third-party plugins installed. [dim](--all shows the built-in ones)[/]")
    else:
        table = []
        for p in rows:
            provides = "; ".join(f"{kind}: {', '.join(sorted(names))}" for kind, names in sorted(p["provides"].items()))
            table.append([p["name"], p["distribution"] or "", p["version"] or "", provides or ", ".join(p["hooks"])])
        print_table([("plugin", KEY), ("distribution", KEY), ("version", SHORT), ("provides", TEXT)], table)
    for p in problems:
        # A plugin's name and the reason it was refused are not rich markup.
        console.print(f"[red]Refused[/] {escape(p['plugin'])}: {escape(p['reason'])}")


@app.command("new")
def new_command(
    name: str = typer.Argument(..., help="Plugin name, e.g. acme-crm (the package becomes plugwire-acme-crm)."),
    kind: str = typer.Option(..., "--kind", help="auth, trigger, suggester or catalogue."),
    folder: Path = typer.Option(Path("."), "--dir", help="Folder to create the package in."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Write a plugin package (pyproject with the entry point, module, tests, README)
    that installs and passes its own tests as generated."""
    from plugwire.core.plugincore.scaffold import write_plugin

    root, files = write_plugin(name, kind, folder)
    if as_json:
        print_json({"package": str(root), "files": [str(f.relative_to(root)) for f in files]})
        return
    console.print(f"Wrote {root}:", markup=False)
    for f in files:
        console.print(f"  {f.relative_to(root)}", markup=False)
    console.print(f"Next: cd {root} && pip install -e '.[test]' && python -m pytest", markup=False)


def attach(root: typer.Typer) -> None:
    """Add the ``plugins`` group to the ``plugwire`` command."""
    root.add_typer(app, name="plugins")
