"""``plugwire knowledge import`` over several files: which files, where each goes,
what happens to a catalogue file the user already has, and one report per file.

A user's catalogue file is never replaced without being asked: an OpenAPI import
whose provider already has a file in the user's catalogue is refused unless
``--merge`` (endpoints of both kept) or ``--replace`` is given; Postman and HAR
imports merge by default (a collection or a recording is usually one piece of an
API). A document whose hosts another provider already lists is reported, with the
``--merge-into PROVIDER`` that makes them one.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import typer
from plugwire.core.cli.common import console, home, print_json

__all__ = ["ImportOptions", "expand_specs", "run_imports"]

#: What a folder given to ``knowledge import`` is searched for (not recursively).
IMPORT_SUFFIXES = (".json", ".yaml", ".yml", ".har")


@dataclass
class ImportOptions:
    """The command's options, the same for every file of one run."""

    provider: str | None = None
    output: Path | None = None
    host: str | None = None
    fmt: str | None = None
    merge: bool = False
    replace: bool = False
    merge_into: str | None = None
    rank: int | None = None  # the provider's rank among those listing the same host
    batch: bool = False  # several files in this run


def expand_specs(specs: list[Path]) -> list[Path]:
    """Return the files to import: each file as given, and for a folder the files in
    it with a suffix of :data:`IMPORT_SUFFIXES` (sorted). Raises UserInputError for
    a folder with none."""
    from plugwire.core.base.errors import UserInputError

    files: list[Path] = []
    for spec in specs:
        if spec.is_dir():
            found = sorted(p for p in spec.iterdir()
                           if p.is_file() and p.suffix.lower() in IMPORT_SUFFIXES and not p.name.startswith("."))
            if not found:
                raise UserInputError(f"folder {spec} holds no .json, .yaml, .yml or .har file.", field="spec",
                                     fix="give the folder of your OpenAPI documents, Postman collections or HAR files")
            files.extend(found)
        else:
            files.append(spec)
    return files


def _check(opts: ImportOptions, files: list[Path], known: dict[str, Any]) -> None:
    from plugwire.core.base.errors import UserInputError

    if opts.merge and opts.replace:
        raise UserInputError("--merge and --replace ask for opposite things.", field="replace",
                             fix="pass --merge to keep your file's endpoints, or --replace to overwrite the file")
    if opts.rank is not None:
        from plugwire.knowledge.ranking import check_rank

        check_rank(opts.rank)
    if len(files) > 1 and opts.output is not None:
        raise UserInputError(f"--output names one file, and {len(files)} files are imported.", field="output",
                             fix="leave out --output (each goes to your catalogue), or import one file at a time")
    if opts.merge_into is not None:
        if opts.provider is not None and opts.provider != opts.merge_into:
            raise UserInputError("--provider and --merge-into name different providers.", field="merge_into",
                                 fix="pass only --merge-into PROVIDER")
        if opts.merge_into not in known:
            raise UserInputError(f"--merge-into {opts.merge_into!r}: the catalogue has no such provider.", field="merge_into",
                                 fix="name a provider listed by `plugwire knowledge list`")


def _loaded() -> tuple[Any, dict[str, Any]]:
    """Return the loaded catalogue's index and ``{provider id: entry}``."""
    from plugwire.knowledge.base import get_knowledge

    index = get_knowledge(home()).catalogue().index
    return index, {p.provider: p for p in index.providers}


def _existing(target: Path):
    """Return the catalogue file at ``target``, or None when it is not one plugwire can read."""
    import yaml
    from plugwire.knowledge.models import CatalogueFile
    from pydantic import ValidationError

    try:
        return CatalogueFile.model_validate(yaml.safe_load(target.read_text(encoding="utf-8")))
    except (OSError, ValueError, ValidationError, yaml.YAMLError):
        return None


def _settle(report, target: Path, kind: str, opts: ImportOptions, name: str):
    """Return ``(catalogue to write, "wrote" | "merged" | "replaced")`` for ``target``.

    Raises UserInputError rather than lose what the user's file holds."""
    from plugwire.core.base.errors import UserInputError
    from plugwire.knowledge.importing import merge_into

    if not target.exists():
        return report.catalogue, "wrote"
    if opts.replace:
        return report.catalogue, "replaced"
    existing = _existing(target)
    if existing is None:
        raise UserInputError(f"{target} exists and is not a catalogue file plugwire can merge into.", field="output",
                             fix="fix or move that file, or pass --replace to overwrite it")
    if kind == "openapi" and not (opts.merge or opts.merge_into):
        raise UserInputError(
            f"your catalogue already has {target} for provider {existing.provider!r} ({len(existing.endpoints)} "
            f"endpoints, from an earlier import or your own edits); importing {name} would replace it.",
            field="provider",
            fix=f"pass --merge to add its endpoints to that file, --replace to overwrite it, "
                f"or --provider ANOTHER_ID to keep both (e.g. --provider {existing.provider}-2)",
        )
    return merge_into(report.catalogue, existing, report), "merged"


def _overrides(catalogue, known: dict[str, Any], index: Any, user_dir: Path) -> list[dict]:
    """Return the other sources (built-in, contrib, plugins) that have the same
    provider id, with how many of their endpoints the import replaces: an imported
    document with faults would otherwise silently shadow a hand-checked entry."""
    entry = known.get(catalogue.provider)
    if entry is None:
        return []
    mine = {(ep.method, catalogue.base_path + ep.path) for ep in catalogue.endpoints}
    kinds = dict(zip(entry.files, entry.kinds))
    counts = {f: 0 for f in entry.files if Path(f).parent != user_dir}
    for eid in range(entry.start, entry.end):
        file = index.ep_file[eid]
        if file in counts and (index.ep_method[eid], index.ep_path[eid]) in mine:
            counts[file] += 1
    return [{"source": kinds[f], "file": f, "provider": catalogue.provider, "endpoints": n} for f, n in counts.items()]


def _tie(catalogue, other: str, known: dict[str, Any], target: Path, user_dir: Path) -> dict:
    """Return which of the imported provider and ``other`` (both listing one host)
    answers a URL that both fit equally well, and why (``answers_first``, ``why``)."""
    from plugwire.knowledge.ranking import Contender, answers_first, contender
    from plugwire.knowledge.sources import PRIORITY

    mine = known.get(catalogue.provider)
    priority = max(PRIORITY["user"] if target.parent == user_dir else 0, contender(mine).priority if mine else 0)
    theirs = known.get(other)
    if theirs is None:  # imported earlier in this run: a user file, not yet loaded
        from plugwire.knowledge.loader import read_catalogue

        ranks = [c.rank for c in read_catalogue(user_dir / f"{other}.yaml")[0]] if (user_dir / f"{other}.yaml").is_file() else []
        rival = Contender(other, ranks[0] if ranks else 0, PRIORITY["user"])
    else:
        rival = contender(theirs)
    first, why = answers_first(Contender(catalogue.provider, catalogue.rank, priority), rival)
    return {"answers_first": first, "why": why}


def import_one(spec: Path, opts: ImportOptions, known: dict[str, Any], by_host: dict[str, set[str]], index: Any,
               write: Callable[..., None], progress: Callable[[Path], Any]) -> dict:
    """Import one file, write it to the user's catalogue (or ``opts.output``) and
    return its report as plain data (``--json``'s shape). ``by_host`` (``{host:
    {provider ids}}``) is updated with the provider written. Raises UserInputError."""
    from plugwire.core.cli.knowledge_collections import kind_of

    kind = kind_of(spec, opts.fmt)
    provider = opts.merge_into or opts.provider
    if kind == "openapi":
        from plugwire.knowledge.openapi import import_openapi

        bar = progress(spec)
        try:
            # Several documents: --host is for those that name no host, not added to every one.
            hosts = {"fallback_host": opts.host} if opts.batch else {"host": opts.host}
            report = import_openapi(spec, provider=provider, progress=bar, **hosts)
        finally:
            bar.stop()
    else:
        if kind == "postman":
            from plugwire.knowledge.postman import import_postman as run
        else:
            from plugwire.knowledge.har import import_har as run
        report = run(spec, provider=provider, host=opts.host)
    user_dir = home().path / "catalogue"
    target = opts.output or user_dir / f"{report.catalogue.provider}.yaml"
    catalogue, action = _settle(report, target, kind, opts, spec.name)
    if opts.rank is not None:
        catalogue = catalogue.model_copy(update={"rank": opts.rank})
    write(catalogue, target, source=report.source)
    shared = sorted({(h, p) for h in catalogue.hosts for p in by_host.get(h.lower(), ()) if p != catalogue.provider})
    for h in catalogue.hosts:
        by_host.setdefault(h.lower(), set()).add(catalogue.provider)
    return {**report.summary(), "format": kind, "output": str(target), "action": action,
            "endpoints": len(catalogue.endpoints), "hosts": list(catalogue.hosts), "auth_hints": len(catalogue.auth),
            "rank": catalogue.rank,
            "shared_hosts": [{"host": h, "provider": p, **_tie(catalogue, p, known, target, user_dir)} for h, p in shared],
            "overrides": _overrides(catalogue, known, index, user_dir) if kind == "openapi" else []}


def run_imports(specs: list[Path], opts: ImportOptions, *, json: bool, write: Callable[..., None],
                progress: Callable[[Path], Any], show: Callable[[dict], None]) -> None:
    """Import every file of ``specs`` (files or folders) in this process and report
    each: one file's error is raised as for any command; with several files, each
    failure is reported beside the others and the command exits with status 1."""
    from plugwire.core.base.errors import UserInputError
    from plugwire.knowledge.importing import providers_by_host

    files = expand_specs(specs)
    index, known = _loaded()
    _check(opts, files, known)
    by_host = providers_by_host(known.values())
    opts.batch = len(files) > 1
    if len(files) == 1:
        result = import_one(files[0], opts, known, by_host, index, write, progress)
        print_json(result) if json else show(result)
        return
    results = []
    for n, spec in enumerate(files, 1):
        if not json:
            console.print(f"[{n}/{len(files)}] {spec}", markup=False, highlight=False, style="bold")
        try:
            result = import_one(spec, opts, known, by_host, index, write, progress)
        except UserInputError as exc:
            result = {"source": str(spec), "error": exc.message, "field": exc.field, "fix": exc.fix}
            if not json:
                console.print(f"Not imported: {exc.message} Fix: {exc.fix}", markup=False, highlight=False, style="red")
        else:
            if not json:
                show(result)
        results.append(result)
    failed = sum("error" in r for r in results)
    if json:
        print_json({"files": results, "imported_files": len(results) - failed, "failed_files": failed})
    else:
        console.print(f"{len(results) - failed} of {len(results)} files imported"
                      + (f", {failed} not (see above)." if failed else "."), highlight=False)
    if failed:
        raise typer.Exit(1)
