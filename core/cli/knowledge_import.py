"""``plugwire knowledge import SPEC``: an OpenAPI document into a catalogue file.

The command function is plain typer; the ``knowledge`` command group attaches it.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Optional

import typer

# Light at the top (the knowledge group is attached for `plugwire suggest` too):
# yaml, rich's progress bar and the importer load when an import runs.
from plugwire.core.cli.common import JSON_OPTION, console, err_console, home, print_json

if TYPE_CHECKING:
    from rich.progress import Progress

__all__ = ["import_command", "write_catalogue"]

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
        tmp = path.with_name(path.name + ".tmp")
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
    spec: Path = typer.Argument(..., help="OpenAPI 3.0/3.1 or Swagger 2.0 document (JSON or YAML), Postman collection v2.0/v2.1, or HAR 1.2 file."),
    provider: Optional[str] = typer.Option(None, "--provider", help="Provider id (default: from the file name or host)."),
    output: Optional[Path] = typer.Option(
        None, "--output", "-o", help="Catalogue file to write (default: your catalogue, $PLUGWIRE_HOME/catalogue/PROVIDER.yaml)."
    ),
    json: bool = JSON_OPTION,
    host: Optional[str] = typer.Option(
        None, "--host", help="Host to use when the document names none (api.example.com); for a HAR file, the API's host."
    ),
    fmt: Optional[str] = typer.Option(
        None, "--format", help="openapi, postman or har (default: told from the file's content)."
    ),
) -> None:
    """Import an OpenAPI document, a Postman collection or a HAR file into a catalogue file and summarise what happened."""
    from rich.markup import escape

    from plugwire.core.cli.knowledge_collections import import_other, kind_of

    kind = kind_of(spec, fmt)
    if kind != "openapi":
        return import_other(spec, kind, provider=provider, output=output, host=host, json=json, write=write_catalogue)
    from plugwire.knowledge.openapi import import_openapi  # the importer is only needed here

    bar = _Bar(not json, spec)
    try:
        report = import_openapi(spec, provider=provider, progress=bar, host=host)
    finally:
        bar.stop()
    target = output or home().path / "catalogue" / f"{report.catalogue.provider}.yaml"
    existed = target.exists()
    write_catalogue(report.catalogue, target, source=report.source)
    overrides = _overrides(report.catalogue)
    if json:
        print_json({**report.summary(), "output": str(target), "overrides": overrides})
        return
    verb = "Replaced" if existed else "Wrote"
    console.print(
        f"{verb} [bold]{escape(str(target))}[/]: provider [bold]{report.catalogue.provider}[/] "
        f"({escape(', '.join(report.catalogue.hosts))}), {len(report.catalogue.auth)} auth hint(s)."
    )
    console.print(f"Imported [green]{report.imported}[/] of {report.operations} operations.")
    if report.skipped:
        console.print(f"Skipped [yellow]{len(report.skipped)}[/]:")
        for op, reason in report.skipped[:_SHOWN]:
            console.print(f"  {op}: {reason}", markup=False)
        _more(len(report.skipped))
    if report.faults:
        console.print(f"Faults in the data ([yellow]{len(report.faults)}[/]):")
        for fault in report.faults[:_SHOWN]:
            console.print(f"  - {fault}", markup=False)
        _more(len(report.faults))
    else:
        console.print("No faults found in the data.")
    for item in overrides:
        console.print(
            f"[yellow]Note:[/] the {item['source']} catalogue also has provider {item['provider']!r} ({item['file']}); "
            f"your catalogue wins, so {item['endpoints']} of its endpoints are replaced by imported ones. "
            f"Import with --provider {item['provider']}-openapi to keep both.",
            highlight=False,
        )


def _overrides(catalogue) -> list[dict]:
    """Return the other sources (built-in, contrib, plugins) that have the same
    provider id, with how many of their endpoints the import replaces.

    An imported document with faults (Eventbrite's ``event`` wrapper) would
    otherwise silently shadow a hand-checked built-in entry.
    """
    from plugwire.knowledge.loader import read_catalogue
    from plugwire.knowledge.sources import default_sources, source_files

    mine = {(ep.method, catalogue.base_path + ep.path) for ep in catalogue.endpoints}
    out = []
    for source in default_sources(home()):
        if source.kind == "user":
            continue
        for file in source_files(source):
            for other in read_catalogue(file)[0]:
                if other.provider == catalogue.provider:
                    shared = sum((ep.method, other.base_path + ep.path) in mine for ep in other.endpoints)
                    out.append({"source": source.label, "file": str(file), "provider": other.provider, "endpoints": shared})
    return out


def _more(count: int) -> None:
    if count > _SHOWN:
        console.print(f"  ... and {count - _SHOWN} more (--json lists them all)")
