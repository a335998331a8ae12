"""The ``plugwire`` command line: typer + rich, one module per command group.

The root command is lazy (:mod:`.lazy`): ``plugwire --help`` imports no command
module and a command imports only its own, so that the CLI starts quickly.

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

import typer

from plugwire.core.cli.lazy import LazyGroup

__all__ = ["app", "main"]

app = typer.Typer(
    name="plugwire",
    cls=LazyGroup,
    help="Connect any application that has an HTTP API.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


def _print_version(value: bool) -> None:
    if not value:
        return
    # The installed distribution's metadata says which release this is; a source tree
    # that was never installed falls back to the version the package declares.
    from importlib import metadata

    try:
        version = metadata.version("plugwire")
    except metadata.PackageNotFoundError:
        from plugwire.core.base import VERSION as version
    sys.stdout.write(f"plugwire {version}\n")
    raise typer.Exit(0)


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", is_eager=True, callback=_print_version, help="Print plugwire's version and exit."
    ),
) -> None:
    """Connect any application that has an HTTP API."""


def main(argv: list[str] | None = None) -> None:
    """Run the CLI; exits with 0 on success, 1 when the operation failed, 2 on bad
    input (a ``UserInputError`` or a usage error), 130 when interrupted."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", DeprecationWarning)
        code = _run(argv)
    # The warning class lives with the connection options; importing them just to
    # compare would cost every command pydantic: a command that warned has them loaded.
    options = sys.modules.get("plugwire.core.connections.options")
    for w in caught:
        if options is not None and issubclass(w.category, options.PlugwireDeprecationWarning):
            from plugwire.core.cli.common import err_console

            err_console.print(f"[yellow]Warning:[/] {w.message}", highlight=False)
    sys.exit(code)


def _run(argv: list[str] | None) -> int:
    from plugwire.core.cli.errors_out import report_error
    from typer._click.exceptions import ClickException

    args = list(sys.argv[1:] if argv is None else argv)
    try:
        result = app(args=args, prog_name="plugwire", standalone_mode=False)
    except typer.Exit as exc:
        return exc.exit_code
    except typer.Abort:
        return report_error(args, "Aborted.", code=1)
    except ClickException as exc:
        return report_error(args, exc, code=exc.exit_code)
    except KeyboardInterrupt:
        return report_error(args, "Interrupted.", code=130)
    except Exception as exc:
        from plugwire.core.base.errors import PlugwireError, UserInputError

        if not isinstance(exc, PlugwireError):
            raise  # plugwire's own bug: the traceback is wanted
        return report_error(args, exc, code=2 if isinstance(exc, UserInputError) else 1)
    # Without standalone mode, a command's `raise typer.Exit(code)` comes back as the result.
    return result if isinstance(result, int) else 0
