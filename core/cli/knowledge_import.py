"""``plugwire knowledge import SPEC``: an OpenAPI document into a catalogue file.

The command function is plain typer; the ``knowledge`` command group attaches it.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Optional

import typer

# Light at the top (the knowledge group is attached for `plugwire suggest` too):
# yaml, rich's progress bar and the importer load when an import runs.
from plugwire.core.cli.common import JSON_OPTION, console, err_console

if TYPE_CHECKING:
    from rich.progress import Progress

__all__ = ["import_command", "show_result", "write_catalogue"]

# Documents from this size (or with this many operations) get a progress bar.
_LARGE_BYTES = 256 * 1024
_LARGE_OPERATIONS = 200
_SHOWN = 20


def write_catalogue(catalogue, path: Path, *, source: str) -> None:
    """Write ``catalogue`` (a CatalogueFile) as YAML to ``path``, creating folders.

    Raises UserInputError when the file cannot be written.
    """
    import yaml

    from plugwire.core.base.errors import UserInputError

    dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
    data = catalogue.model_dump(mode="json", exclude_none=True, exclude_defaults=True)
    data = {"format": catalogue.format, **data}
    text = yaml.dump(data, Dumper=dumper, sort_keys=False, allow_unicode=True, width=120)
    header = f"# Imported by `plugwire knowledge import` from {Path(source).name}; edit freely.\n"
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        # Hidden and per process: never read as a catalogue file, never shared by two imports.
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        tmp.write_text(header + text, encoding="utf-8")
        tmp.replace(path)  # never leave a half-written catalogue behind
    except OSError as exc:
        raise UserInputError(
            f"cannot write the catalogue to {path} ({exc.strerror}).", field="output", fix="choose a writable --output path"
        ) from None


class _Bar:
    """A rich progress bar that appears only for large documents."""

    def __init__(self, enabled: bool, spec: Path):
        self.enabled = enabled
        self.progress: Progress | None = None
        self.task = None
        try:
            large = spec.stat().st_size >= _LARGE_BYTES
        except OSError:
            large = False
        if enabled and large:
            self._start(None)

    def _start(self, total: int | None) -> None:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

        self.progress = Progress(
            SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
            console=err_console, transient=True,
        )
        self.progress.start()
        self.task = self.progress.add_task("Reading the document", total=total)

    def __call__(self, done: int, total: int) -> None:
        if not self.enabled:
            return
        if self.progress is None:
            if total < _LARGE_OPERATIONS:
                return
            self._start(total)
        self.progress.update(self.task, completed=done, total=total, description="Importing operations")

    def stop(self) -> None:
        if self.progress is not None:
            self.progress.stop()


def import_command(
    specs: list[Path] = typer.Argument(..., help="Files to import, or folders of them (.json, .yaml, .yml, .har): OpenAPI 3.0/3.1 or Swagger 2.0 documents, Postman collections v2.0/v2.1, HAR 1.2 files."),
    provider: Optional[str] = typer.Option(None, "--provider", help="Provider id (default: from the file name or host)."),
    output: Optional[Path] = typer.Option(
        None, "--output", "-o", help="Catalogue file to write (default: your catalogue, $PLUGWIRE_HOME/catalogue/PROVIDER.yaml)."
    ),
    json: bool = JSON_OPTION,
    host: Optional[str] = typer.Option(
        None, "--host", help="Host to use when the document names none (relative servers: api.example.com; with several files, only for those); for a HAR file, the API's host."
    ),
    fmt: Optional[str] = typer.Option(
        None, "--format", help="openapi, postman or har (default: told from the file's content)."
    ),
    merge: bool = typer.Option(
        False, "--merge", help="Add the endpoints to your catalogue file of the same provider, keeping its others (same method and path: the import's)."
    ),
    replace: bool = typer.Option(False, "--replace", help="Overwrite your catalogue file of the same provider."),
    merge_into: Optional[str] = typer.Option(
        None, "--merge-into", help="Import as this provider of the catalogue (one that lists the same host), merged with your file of it."
    ),
    rank: Optional[int] = typer.Option(
        None, "--rank", help="Rank of the provider among those listing the same host: where their endpoints fit a URL equally well, the higher rank answers first (-100 to 100; default 0).",
    ),
) -> None:
    """Import OpenAPI documents, Postman collections or HAR files into your catalogue and report on each file.

    An OpenAPI import never replaces your catalogue file of the same provider unless
    asked: pass --merge or --replace. Postman and HAR imports merge into it.
    """
    from plugwire.core.cli.knowledge_batch import ImportOptions, run_imports

    opts = ImportOptions(provider=provider, output=output, host=host, fmt=fmt, merge=merge, replace=replace,
                         merge_into=merge_into, rank=rank)
    run_imports(specs, opts, json=json, write=write_catalogue, progress=lambda spec: _Bar(not json, spec), show=show_result)


def show_result(result: dict) -> None:
    """Print one file's import report (the ``--json`` data of :func:`import_one`)."""
    from rich.markup import escape

    if result["format"] != "openapi":
        from plugwire.core.cli.knowledge_collections import show_other

        show_other(result)
    else:
        verb = {"wrote": "Wrote", "merged": "Merged into", "replaced": "Replaced"}[result["action"]]
        console.print(
            f"{verb} [bold]{escape(result['output'])}[/]: provider [bold]{escape(result['provider'])}[/] "
            f"({escape(', '.join(result['hosts']))}), {result['auth_hints']} auth hint(s)."
        )
        console.print(f"Imported [green]{result['imported']}[/] of {result['operations']} operations.")
        if result["action"] == "merged":
            console.print(f"Your file now has {result['endpoints']} endpoints ({len(result['merged'])} replaced by imported ones).")
        _listed("Skipped", [f"{s['operation']}: {s['reason']}" for s in result["skipped"]])
        if result["faults"]:
            _listed("Faults in the data", [f"- {fault}" for fault in result["faults"]])
        else:
            console.print("No faults found in the data.")
        for item in result["overrides"]:
            console.print(
                f"[yellow]Note:[/] the {item['source']} catalogue also has provider {item['provider']!r} ({escape(item['file'])}); "
                f"your catalogue wins, so {item['endpoints']} of its endpoints are replaced by imported ones. "
                f"Import with --provider {item['provider']}-openapi to keep both.",
                highlight=False,
            )
    for item in result["shared_hosts"]:
        other, mine = escape(item["provider"]), escape(result["provider"])
        console.print(
            f"[yellow]Note:[/] host {escape(item['host'])} is also listed by provider {other!r}: where both fit a URL "
            f"equally well, {escape(item['answers_first'])!r} answers, because {escape(item['why'])}.",
            highlight=False, soft_wrap=True,
        )
        console.print(
            f"  To make them one provider, import again with --merge-into {other} --replace (or --provider {other} --merge); "
            f"to choose which answers first, rank them: `plugwire knowledge rank {mine} N` or `plugwire knowledge rank {other} N` "
            "(higher first, -100 to 100), or import with --rank N.",
            highlight=False, soft_wrap=True,
        )


def _listed(title: str, rows: list[str]) -> None:
    if rows:
        console.print(f"{title} ([yellow]{len(rows)}[/]):")
        for row in rows[:_SHOWN]:
            console.print(f"  {row}", markup=False)
        _more(len(rows))


def _more(count: int) -> None:
    if count > _SHOWN:
        console.print(f"  ... and {count - _SHOWN} more (--json lists them all)")
