"""How the ``plugwire`` command reports an error: one plain message naming the field
and the fix on stderr, or, when the command line asks for ``--json``, the document
``{"error": message, "field": ..., "fix": ...}`` on stdout, so that a script reading
JSON reads the failure too. The exit code is the same either way."""

from __future__ import annotations

import json
import sys
from typing import Any

__all__ = ["error_document", "report_error", "wants_json"]


def wants_json(args: list[str]) -> bool:
    """Return True when ``args`` hold ``--json`` as an option (not after ``--``)."""
    for arg in args:
        if arg == "--":
            return False
        if arg == "--json":
            return True
    return False


def error_document(error: Any) -> dict[str, Any]:
    """Return ``{"error", "field", "fix"}`` for a ``PlugwireError``, a click usage
    error or a plain message."""
    from plugwire.core.base.errors import PlugwireError

    if isinstance(error, PlugwireError):
        return {"error": getattr(error, "message", str(error)), "field": error.field, "fix": getattr(error, "fix", None)}
    if isinstance(error, str):
        return {"error": error, "field": None, "fix": None}
    from typer._click.exceptions import BadParameter, ClickException

    if isinstance(error, ClickException):
        field = None
        if isinstance(error, BadParameter) and error.param is not None:
            field = error.param.name
        ctx = getattr(error, "ctx", None)
        fix = f"see `{ctx.command_path} --help`" if ctx is not None else "see `plugwire --help`"
        return {"error": error.format_message(), "field": field, "fix": fix}
    return {"error": str(error), "field": None, "fix": None}


def report_error(args: list[str], error: Any, *, code: int) -> int:
    """Report ``error`` as ``args`` ask (JSON on stdout with ``--json``, else text on
    stderr) and return ``code``, the exit code."""
    if wants_json(args):
        sys.stdout.write(json.dumps(error_document(error), indent=2, ensure_ascii=False) + "\n")
        sys.stdout.flush()
        return code
    from plugwire.core.base.errors import PlugwireError
    from plugwire.core.cli.textout import say

    if isinstance(error, PlugwireError):
        # The message may quote what the user typed: it is printed as typed, never as markup.
        say("Error:", str(error), style="red", err=True)
        return code
    from typer._click.exceptions import ClickException

    if isinstance(error, ClickException):
        error.show()
    else:
        say("", str(error), err=True)
    return code
