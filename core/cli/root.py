"""The typer application behind ``plugwire``: the lazy root group (:mod:`.lazy`),
``--version``, and how a command's outcome becomes an exit code and a message."""

from __future__ import annotations

import sys

import typer

from plugwire.core.cli.commands import ROOT_HELP, VERSION_HELP, version_text
from plugwire.core.cli.lazy import LazyGroup

__all__ = ["app", "run_typer"]

app = typer.Typer(
    name="plugwire",
    cls=LazyGroup,
    help=ROOT_HELP,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


def _print_version(value: bool) -> None:
    if not value:
        return
    sys.stdout.write(version_text() + "\n")
    raise typer.Exit(0)


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", is_eager=True, callback=_print_version, help=VERSION_HELP
    ),
) -> None:
    """Connect any application that has an HTTP API."""


def run_typer(args: list[str]) -> int:
    """Run ``args`` through the typer application; return the exit code."""
    from typer._click.exceptions import ClickException

    from plugwire.core.cli.errors_out import report_error

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
