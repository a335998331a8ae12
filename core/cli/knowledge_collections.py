"""``plugwire knowledge import`` for Postman collections and HAR files: which format a
file is, and the import into the user's catalogue with an account of every item."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

from plugwire.core.cli.common import console, home, print_json

__all__ = ["import_other", "kind_of"]

_KINDS = ("openapi", "postman", "har")
_SHOWN = 20


def kind_of(spec: Path, fmt: str | None) -> str:
    """Return ``openapi``, ``postman`` or ``har``: ``fmt`` when given, else told from
    the start of the file (the importer then checks the whole). Raises
    UserInputError for an unknown ``--format``."""
    from plugwire.core.base.errors import UserInputError

    if fmt is not None:
        if fmt.strip().lower() not in _KINDS:
            raise UserInputError(f"--format {fmt!r} is not a format plugwire imports.", field="format",
                                 fix="use openapi, postman or har")
        return fmt.strip().lower()
    try:
        with open(spec, encoding="utf-8", errors="replace") as file:
            head = file.read(65536)
    except OSError:
        return "openapi"  # the OpenAPI reader says plainly what is wrong with the path
    if re.search(r'^\s*["\']?(openapi|swagger)["\']?\s*:', head, re.M):
        return "openapi"  # checked first: a schema may well have a property named "item" or "log"
    if "getpostman.com/json/collection" in head or (re.search(r'"info"\s*:', head) and re.search(r'"item"\s*:\s*\[', head)):
        return "postman"
    if re.search(r'^\s*\{\s*"log"\s*:', head) or (re.search(r'"log"\s*:\s*\{', head) and '"entries"' in head):
        return "har"
    return "openapi"


def _existing(target: Path):
    """Return the user's catalogue file at ``target`` when it is a valid one, else None."""
    import yaml
    from plugwire.knowledge.models import CatalogueFile
    from pydantic import ValidationError

    try:
        return CatalogueFile.model_validate(yaml.safe_load(target.read_text(encoding="utf-8")))
    except (OSError, ValueError, ValidationError, yaml.YAMLError):
        return None


def import_other(spec: Path, kind: str, *, provider: str | None, output: Path | None, host: str | None, json: bool,
                 write: Callable[..., None]) -> None:
    """Import a Postman collection or HAR file into the user's catalogue (merged into
    the provider's file there, when there is one) with ``write`` (the OpenAPI import's
    writer), and print what became of each item."""
    from plugwire.knowledge.importing import merge_into

    if kind == "postman":
        from plugwire.knowledge.postman import import_postman as run
    else:
        from plugwire.knowledge.har import import_har as run
    report = run(spec, provider=provider, host=host)
    target = output or home().path / "catalogue" / f"{report.catalogue.provider}.yaml"
    existing = _existing(target) if target.exists() else None
    catalogue = merge_into(report.catalogue, existing, report)
    write(catalogue, target, source=report.source)
    if json:
        print_json({**report.summary(), "format": kind, "output": str(target), "endpoints": len(catalogue.endpoints)})
        return
    what = "Postman collection" if kind == "postman" else "HAR file"
    verb = "Merged into" if existing is not None else "Wrote"
    console.print(f"{verb} {target}: provider {catalogue.provider} ({', '.join(catalogue.hosts)}), "
                  f"{len(catalogue.endpoints)} endpoint(s), {len(catalogue.auth)} auth hint(s).", markup=False, highlight=False)
    console.print(f"Imported {report.imported} endpoint(s) from {report.operations} item(s) of the {what}.", highlight=False)
    for title, rows in (("Merged", [f"{item} -> {into}" for item, into in report.merged]),
                        ("Skipped", [f"{item}: {reason}" for item, reason in report.skipped])):
        if rows:
            console.print(f"{title} ({len(rows)}):", highlight=False)
            for row in rows[:_SHOWN]:
                console.print(f"  {row}", markup=False, highlight=False)
            if len(rows) > _SHOWN:
                console.print(f"  ... and {len(rows) - _SHOWN} more (--json lists them all)", highlight=False)
