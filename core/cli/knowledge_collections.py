"""``plugwire knowledge import`` for Postman collections and HAR files: which format a
file is, and the import into the user's catalogue with an account of every item."""

from __future__ import annotations

import re
from pathlib import Path

from plugwire.core.cli.common import console

__all__ = ["kind_of", "show_other"]

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


def show_other(result: dict) -> None:
    """Print the report of a Postman or HAR import (the ``--json`` data of one file)."""
    what = "Postman collection" if result["format"] == "postman" else "HAR file"
    verb = {"wrote": "Wrote", "merged": "Merged into", "replaced": "Replaced"}[result["action"]]
    console.print(f"{verb} {result['output']}: provider {result['provider']} ({', '.join(result['hosts'])}), "
                  f"{result['endpoints']} endpoint(s), {result['auth_hints']} auth hint(s).", markup=False, highlight=False)
    console.print(f"Imported {result['imported']} endpoint(s) from {result['operations']} item(s) of the {what}.", highlight=False)
    for title, rows in (("Merged", [f"{m['item']} -> {m['into']}" for m in result["merged"]]),
                        ("Skipped", [f"{s['operation']}: {s['reason']}" for s in result["skipped"]])):
        if rows:
            console.print(f"{title} ({len(rows)}):", highlight=False)
            for row in rows[:_SHOWN]:
                console.print(f"  {row}", markup=False, highlight=False)
            if len(rows) > _SHOWN:
                console.print(f"  ... and {len(rows) - _SHOWN} more (--json lists them all)", highlight=False)
