"""The ``plugwire`` command line: typer + rich, one module per command group.

The root command is lazy (:mod:`.lazy`, built in :mod:`.root`): ``plugwire --help``
imports no command module and a command imports only its own, so that the CLI
starts quickly. ``plugwire suggest METHOD URL`` written plainly does not even import
typer (:mod:`.suggest_run` reads it; anything else about it goes through typer).

Errors plugwire raises on purpose (``PlugwireError``) are printed as one plain
message naming the field and the fix, never with a traceback; with ``--json`` they
are printed on stdout as ``{"error": ..., "field": ..., "fix": ...}`` instead (usage
errors too). Exit codes:

- 0: done.
- 1: the operation failed: the API answered an error, a connection test failed,
  the named connection/action/recipe does not exist, the store is locked...
- 2: bad input: a value the user typed or a file the user gave is wrong
  (``UserInputError``, the field and the fix in the message), or a usage error
  (an unknown option, a missing argument), as click reports it.
- 130: interrupted (Ctrl-C).
"""

from __future__ import annotations

import sys
import warnings
from typing import Any

__all__ = ["app", "main"]


def __getattr__(name: str) -> Any:
    # The typer application, made on first use: `plugwire suggest` may not need it.
    if name == "app":
        from plugwire.core.cli.root import app

        return app
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def main(argv: list[str] | None = None) -> None:
    """Run the CLI; exits with 0 on success, 1 when the operation failed, 2 on bad
    input (a ``UserInputError`` or a usage error), 130 when interrupted."""
    args = list(sys.argv[1:] if argv is None else argv)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", DeprecationWarning)
        code = _run(args)
    # The warning class lives with the connection options; importing them just to
    # compare would cost every command pydantic: a command that warned has them loaded.
    options = sys.modules.get("plugwire.core.connections.options")
    for w in caught:
        if options is not None and issubclass(w.category, options.PlugwireDeprecationWarning):
            from plugwire.core.cli.textout import say

            say("Warning:", str(w.message), style="yellow", err=True)
    sys.exit(code)


def _run(args: list[str]) -> int:
    from plugwire.core.cli.roothelp import plain_root

    # The command lines typed most, read without typer (each module says which):
    # `--help` or `--version` alone, `connections list`, a plain `suggest METHOD URL`.
    code = plain_root(args)
    if code is not None:
        return code
    from plugwire.core.cli import connections_list, suggest_run

    if connections_list.plain_args(args):
        job = connections_list.run
    else:
        plain = suggest_run.plain_args(args)
        if plain is None:
            from plugwire.core.cli.root import run_typer

            return run_typer(args)

        def job() -> None:
            suggest_run.run(*plain)

    from plugwire.core.base.errors import PlugwireError, UserInputError
    from plugwire.core.cli.errors_out import report_error

    try:
        job()
    except KeyboardInterrupt:
        return report_error(args, "Interrupted.", code=130)
    except PlugwireError as exc:
        return report_error(args, exc, code=2 if isinstance(exc, UserInputError) else 1)
    return 0
