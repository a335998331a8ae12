"""``plugwire suggest`` and ``plugwire knowledge list|show|validate|schema|import|rank``."""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any, Optional

import typer

# Only typer and the CLI's common helpers at the top: `plugwire suggest` must answer
# quickly, so the engine, rich's extras and the knowledge base load inside the commands.
from plugwire.core.cli.common import JSON_OPTION, KEY, SHORT, TEXT, console, err_console, home, print_json, print_table
from plugwire.core.cli.suggest_run import LIMIT_DEFAULT, LIMIT_MAX, LIMIT_MIN

__all__ = ["app", "attach"]

app = typer.Typer(help="The endpoint catalogue behind request suggestions.", no_args_is_help=True)


def _catalogue():
    from plugwire.knowledge.base import get_knowledge

    return get_knowledge(home()).catalogue()


def suggest_command(
    method: str = typer.Argument(..., help="HTTP method, e.g. POST.", show_default=False),
    url: Optional[str] = typer.Argument(
        None, help="Absolute URL, e.g. https://www.eventbriteapi.com/v3/venues/ (without a scheme, https:// is assumed).", show_default=False
    ),
    limit: int = typer.Option(LIMIT_DEFAULT, "--limit", "-n", min=LIMIT_MIN, max=LIMIT_MAX, help="How many suggestions at most."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Recommend a sample request (body, headers, query) for METHOD and URL, and say why."""
    from plugwire.core.cli.suggest_run import run

    run(method, url, limit, as_json)


@app.command("list")
def list_command(as_json: bool = JSON_OPTION) -> None:
    """List the providers, where each comes from, what was overridden, and bad files."""
    cat = _catalogue()
    idx = cat.index
    overridden: dict[str, list[str]] = {}
    for c in cat.conflicts:
        overridden.setdefault(c.provider, []).append(str(c))
    rows = [
        {
            "provider": p.provider,
            "name": p.name,
            "endpoints": p.end - p.start,
            "hosts": p.hosts,
            "sources": sorted(set(p.kinds)),
            "rank": p.rank,
            "files": p.files,
            "overridden": overridden.get(p.provider, []),
        }
        for p in idx.providers
    ]
    problems = [str(p) for p in cat.problems]
    from plugwire.knowledge.importing import providers_by_host

    shared = [{"host": h, "providers": sorted(ps)} for h, ps in sorted(providers_by_host(idx.providers).items()) if len(ps) > 1]
    if as_json:
        print_json({"providers": rows, "problems": problems, "endpoints": idx.endpoint_count, "shared_hosts": shared})
        return
    print_table(
        [("provider", KEY), ("name", KEY), ("endpoints", SHORT), ("hosts", TEXT), ("sources", SHORT), ("overridden", SHORT)],
        [
            [r["provider"], r["name"], r["endpoints"], ", ".join(r["hosts"][:3]) + (" ..." if len(r["hosts"]) > 3 else ""),
             ", ".join(r["sources"]), len(r["overridden"]) or ""]
            for r in rows
        ],
    )
    console.print(f"{len(rows)} providers, {idx.endpoint_count} endpoints.")
    conflicts = [c for r in rows for c in r["overridden"]]
    if conflicts:
        console.print("[bold]Overridden[/] (user > plugin > contrib > built-in; a later file wins within one source):")
        for line in conflicts:
            console.print(f"  {line}", markup=False)
    if shared:
        # Two documents of one API imported under two ids split its answers between them.
        console.print("[bold]Hosts listed by several providers[/] (a URL on them may be answered from either; "
                      "`plugwire knowledge import FILE --merge-into PROVIDER` makes them one):")
        for item in shared:
            console.print(f"  {item['host']}: {', '.join(item['providers'])}", markup=False)
    from rich.markup import escape

    for p in problems:
        err_console.print(f"[red]Skipped:[/] {escape(str(p))}", highlight=False)


@app.command("show")
def show_command(provider: str = typer.Argument(..., help="Provider id, e.g. eventbrite."), as_json: bool = JSON_OPTION) -> None:
    """Show one provider: hosts, auth hints, sources and endpoints."""
    from rich.markup import escape

    from plugwire.core.base.errors import NotFoundError

    cat = _catalogue()
    idx = cat.index
    pi = idx.by_id.get(provider.lower())
    if pi is None:
        raise NotFoundError(f"provider {provider!r} is not in the catalogue.", field="provider", fix="see `plugwire knowledge list`")
    p = idx.providers[pi]
    endpoints = [
        {"method": idx.ep_method[e], "path": idx.ep_path[e], "summary": idx.ep_summary[e], "file": idx.ep_file[e], "learned": idx.ep_learned[e]}
        for e in range(p.start, p.end)
    ]
    data = {"provider": p.provider, "name": p.name, "description": p.description, "docs_url": p.docs_url, "hosts": p.hosts, "rank": p.rank,
            "auth": list(p.auth), "files": p.files, "endpoints": endpoints,
            "overridden": [str(c) for c in cat.conflicts if c.provider == p.provider]}
    if as_json:
        print_json(data)
        return
    console.print(f"[bold]{escape(p.name)}[/] ({p.provider}) {escape(p.description or '')}")
    console.print(f"hosts: {', '.join(p.hosts)}", markup=False)
    if p.docs_url:
        console.print(f"docs: {p.docs_url}", markup=False)
    for hint in p.auth:
        extras = ", ".join(f"{k}={v}" for k, v in hint.items() if k != "type" and v not in (None, [], {}, False))
        console.print(f"auth: [bold]{escape(str(hint['type']))}[/] {escape(extras)}", highlight=False)
    console.print("files: " + ", ".join(p.files), markup=False)
    if p.rank:
        console.print(f"rank: {p.rank} (answers before lower-ranked providers of the same host where both fit equally well)", markup=False)
    print_table(
        [("method", SHORT), ("path", KEY), ("summary", TEXT), ("learned", SHORT)],
        [[e["method"], e["path"], e["summary"], "yes" if e["learned"] else ""] for e in endpoints],
    )
    for line in data["overridden"]:
        console.print(f"overridden: {line}", markup=False)


@app.command("validate")
def validate_command(files: list[Path] = typer.Argument(..., help="Catalogue files or folders."), as_json: bool = JSON_OPTION) -> None:
    """Check catalogue files against the format; report every problem with file, line and path."""
    from collections import Counter

    from plugwire.knowledge.loader import validate_files

    count, problems = validate_files(list(files))
    if as_json:
        print_json({"valid_providers": count, "problems": [str(p) for p in problems]})
    else:
        for p in problems:
            console.print(str(p), markup=False)
        per_file = Counter(p.file for p in problems)
        verdict = "[green]ok[/]" if not problems else f"[red]{len(problems)} problem(s) in {len(per_file)} file(s)[/]"
        console.print(f"{count} valid provider(s); {verdict}.")
    if problems:
        raise typer.Exit(1)


@app.command("schema")
def schema_command(
    output: Optional[Path] = typer.Option(None, "--output", "-o", help="Write here instead of knowledge/schema/catalogue.schema.json."),
    check: bool = typer.Option(False, "--check", help="Only check that the published file is up to date (exit 1 if not)."),
    stdout: bool = typer.Option(False, "--stdout", help="Print the schema instead of writing it."),
) -> None:
    """Generate the JSON Schema of the catalogue format from the models."""
    from plugwire.knowledge.schemafile import SCHEMA_PATH, render_schema, write_schema

    if stdout:
        console.print(render_schema(), markup=False, end="")
        return
    target = output or SCHEMA_PATH
    if check:
        current = target.read_text(encoding="utf-8") if target.exists() else ""
        if current != render_schema():
            console.print(f"{target} is out of date; run `plugwire knowledge schema`.", markup=False)
            raise typer.Exit(1)
        console.print(f"{target} is up to date.", markup=False)
        return
    console.print(f"Wrote {write_schema(target)}.", markup=False)


@app.command("rank", context_settings={"ignore_unknown_options": True})  # a negative rank is not an option
def rank_command(
    provider: str = typer.Argument(..., help="Provider id of your catalogue, e.g. shop-admin."),
    rank: int = typer.Argument(..., help="-100 to 100: where providers listing one host fit a URL equally well, the higher rank answers first; 0 is no rank."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Rank a provider of your catalogue against others that list the same host."""
    from plugwire.knowledge.base import get_knowledge
    from plugwire.knowledge.importing import providers_by_host
    from plugwire.knowledge.ranking import answers_first, contender, set_rank

    files = set_rank(home(), provider.lower(), rank)
    index = get_knowledge(home()).catalogue().index
    me = index.providers[index.by_id[provider.lower()]]
    ties = []
    for host, ids in sorted(providers_by_host(index.providers).items()):
        for other in sorted(ids - {me.provider}) if me.provider in ids else ():
            first, why = answers_first(contender(me), contender(index.providers[index.by_id[other]]))
            ties.append({"host": host, "provider": other, "answers_first": first, "why": why})
    if as_json:
        print_json({"provider": me.provider, "rank": me.rank, "files": [str(f) for f in files], "shared_hosts": ties})
        return
    console.print(f"Provider {me.provider} now has rank {me.rank} ({', '.join(str(f) for f in files)}).", markup=False)
    for t in ties:
        console.print(f"  host {t['host']}, shared with {t['provider']}: {t['answers_first']} answers first, because {t['why']}.",
                      markup=False, soft_wrap=True)


def _attach_import() -> None:
    """Wire ``knowledge import`` to the importer's command once its module exists."""
    name = "plugwire.core.cli.knowledge_import"
    try:
        mod: Any = importlib.import_module(name)
    except ModuleNotFoundError as exc:
        if exc.name == name:
            return  # the importer is not part of this tree (yet)
        raise
    command = getattr(mod, "import_command", None)
    if command is not None:
        app.command("import")(command)


def attach(root: typer.Typer) -> None:
    """Add ``suggest`` and the ``knowledge`` group to the root CLI."""
    _attach_import()
    root.command("suggest")(suggest_command)
    root.add_typer(app, name="knowledge")
