"""``plugwire connections list``: what it prints, and the plain command line read
without typer.

Listing the connections is the first thing a returning user types; typer and click
cost it about a third of its start-up, so ``connections list`` written alone is run
here by :func:`plugwire.core.cli.main` without them (``--json``, ``--help`` and
anything else go through typer, whose command calls :func:`run` too). Nothing here
imports typer, rich or click.
"""

from __future__ import annotations

from typing import Any

from plugwire.core.cli.textout import KEY, SHORT, TEXT, print_table, say

__all__ = ["plain_args", "run"]


def plain_args(args: list[str]) -> bool:
    """Return True when ``args`` are exactly ``connections list``."""
    return args == ["connections", "list"]


def run() -> None:
    """Print the connections as a table (secrets are never read), or say how to make one."""
    rows = _summaries()
    if not rows:
        say("No connections yet.", "Create one with `plugwire connections add NAME --auth TYPE`.", style="")
        return
    columns = [("name", KEY), ("auth", KEY), ("test URL", TEXT), ("updated", SHORT)]
    # The route column only when a connection has one: four columns fit 80 characters.
    if any(row[-1] for row in rows):
        columns.append(("route", SHORT))
    else:
        rows = [row[:-1] for row in rows]
    print_table(columns, rows)


def _summaries() -> list[list[Any]]:
    """Return the rows of the connections table (name, auth, test URL, updated,
    route); ``--json`` and ``show`` go through the connection model instead."""
    from plugwire.core.connections.listing import summaries
    from plugwire.core.storage.home import get_home

    rows = []
    for c in summaries(get_home()):
        route = [label for key, label in (("private_network", "private network"), ("client_certificate", "client cert")) if c[key]]
        # Minutes are enough to tell edits apart in a list; `show` has the full time.
        rows.append([c["name"], c["auth_type"], c["test_url"], c["updated_at"][:16].replace("T", " "), ", ".join(route)])
    return rows
