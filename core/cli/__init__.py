"""The ``plugwire`` command line: typer + rich, one module per command group.

Errors plugwire raises on purpose (``PlugwireError``) are printed as one plain
message naming the field and the fix, never with a traceback; every command takes
``--json``. Exit codes:

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

import click
import typer

from plugwire.core.base.errors import PlugwireError, UserInputError
from plugwire.core.cli import connections as _connections
from plugwire.core.cli import plugins as _plugins
from plugwire.core.cli.common import err_console
from plugwire.core.connections.model import PlugwireDeprecationWarning

__all__ = ["app", "main"]

app = typer.Typer(
    name="plugwire",
    help="Connect any application that has an HTTP API.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
app.add_typer(_connections.app, name="connections")
app.add_typer(_plugins.app, name="plugins")


def _add_optional_groups() -> None:
    """Command groups whose modules may import heavier dependencies."""
    import importlib

    for module, name in (
        ("plugwire.core.cli.knowledge", None),
        ("plugwire.core.cli.actions", None),
        ("plugwire.core.cli.recipes", None),
        ("plugwire.core.cli.worker", None),
    ):
        try:
            mod = importlib.import_module(module)
        except ModuleNotFoundError as exc:
            if exc.name == module:
                continue  # not built yet in this tree
            raise
        mod.attach(app)


_add_optional_groups()


def main(argv: list[str] | None = None) -> None:
    """Run the CLI; exits with 0 on success, 1 when the operation failed, 2 on bad
    input (a ``UserInputError`` or a usage error), 130 when interrupted."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", PlugwireDeprecationWarning)
        code = _run(argv)
    for w in caught:
        if issubclass(w.category, PlugwireDeprecationWarning):
            err_console.print(f"[yellow]Warning:[/] {w.message}", highlight=False)
    sys.exit(code)


def _run(argv: list[str] | None) -> int:
    # typer vendors its own click: its Exit/Abort/usage errors are not click's.
    try:
        result = app(args=argv, prog_name="plugwire", standalone_mode=False)
    except (click.exceptions.Exit, typer.Exit) as exc:
        return exc.exit_code
    except (click.exceptions.Abort, typer.Abort):
        err_console.print("Aborted.")
        return 1
    except (click.ClickException, typer.TyperException) as exc:
        show = getattr(exc, "show", None)
        if show is not None:
            show()
        else:
            err_console.print(f"[red]Error:[/] {exc.format_message()}", highlight=False)
        return exc.exit_code
    except PlugwireError as exc:
        # The message may quote what the user typed: brackets in it are not rich markup.
        err_console.print("[red]Error:[/] ", end="", highlight=False)
        err_console.print(str(exc), highlight=False, markup=False)
        return 2 if isinstance(exc, UserInputError) else 1
    except KeyboardInterrupt:
        err_console.print("Interrupted.")
        return 130
    # Without standalone mode, a command's `raise typer.Exit(code)` comes back as the result.
    return result if isinstance(result, int) else 0
