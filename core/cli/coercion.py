"""Plain values past typer's pydantic coercion.

typer (0.2x) checks every parameter's value through a pydantic ``TypeAdapter``, made
on first use: the first command line to give a value imports pydantic's validators
and builds the adapters (0.02-0.08 s), though a text argument is already text and
``-n 5`` a number. :func:`plain_values` puts a coercion in front of it for the
plain ``str`` and ``int`` parameters: a value that typer's adapter would hand back
unchanged (text that is valid UTF-8; a whole number in its range, written with
digits only) is taken as it is; anything else goes to typer's own coercion, so that
every error reads as typer's does. Parameters with a parser, choices, paths, files,
lists, clamping, and typer versions without this machinery are left alone.
"""

from __future__ import annotations

import functools
import re
from typing import Any

__all__ = ["plain_values"]

_DIGITS = re.compile(r"(?:0|[1-9][0-9]{0,17})")  # what int() and pydantic read alike


def plain_values(command: Any) -> None:
    """Put the plain coercion in front of typer's for the ``str`` and ``int``
    parameters of ``command`` and its subcommands (see the module's text)."""
    plain_param = _plain_param_class()
    if plain_param is None:
        return
    for param in command.params:
        descriptor = getattr(param, "type_descriptor", None)
        if descriptor is None or getattr(param, "_runtime_param", "absent") is not None:
            continue  # not typer's, or its coercion is already made
        if _is_plain(descriptor, param):
            param._runtime_param = plain_param(parameter_info=descriptor.parameter_info, annotation=descriptor.annotation)
    for sub in (getattr(command, "commands", None) or {}).values():
        plain_values(sub)


def _is_plain(descriptor: Any, param: Any) -> bool:
    info = descriptor.parameter_info
    if descriptor.file_annotation is not None or getattr(info, "parser", None) is not None:
        return False
    if getattr(param, "multiple", False) or getattr(param, "nargs", 1) != 1:
        return False
    return descriptor.annotation is str or (descriptor.annotation is int and not getattr(info, "clamp", False))


@functools.cache
def _plain_param_class() -> Any:
    try:
        from typer._coercion import RuntimeParam, build_runtime_param, resolve_type_descriptor
    except ImportError:  # a typer that coerces without pydantic: nothing to spare
        return None

    class PlainParam(RuntimeParam):  # typer's RuntimeParam is a frozen dataclass
        """A plain value as it is; any other through typer's own coercion."""

        def _coerce_value(self, value: Any, param: Any, ctx: Any) -> Any:
            plain = _plain(self.annotation, self.parameter_info, value)
            if plain is not None:
                return plain
            typers = build_runtime_param(resolve_type_descriptor(self.annotation, self.parameter_info))
            return typers._coerce_value(value, param=param, ctx=ctx)

    return PlainParam


def _plain(kind: Any, info: Any, value: Any) -> Any:
    """Return ``value`` as typer's adapter would, when that is plain; else None."""
    if kind is str:
        if type(value) is not str:
            return None
        try:
            value.encode("utf-8")  # a lone surrogate (undecodable argv) is pydantic's to refuse
        except UnicodeEncodeError:
            return None
        return value
    if type(value) is int:
        number = value
    elif type(value) is str and _DIGITS.fullmatch(value):
        number = int(value)
    else:
        return None
    if (info.min is not None and number < info.min) or (info.max is not None and number > info.max):
        return None  # out of range: typer says so
    return number
