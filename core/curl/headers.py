"""What a header may hold before it goes on the wire, said as the user's mistake.

A header name is an RFC 9110 token; a value is visible ASCII, spaces and tabs. A
line break in a value would end the header and start another one (header
injection), and anything outside ASCII cannot be encoded by the HTTP client: both
are refused here with the header named, rather than failing at send time as a
network error.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from plugwire.core.base.errors import UserInputError

__all__ = ["check_header", "check_headers"]

_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_NAME_FIX = "write the name in ASCII letters, digits and !#$%&'*+-.^_`|~ (e.g. X-Api-Key)"


def _char(ch: str) -> str:
    return repr(ch) if ch.isprintable() and not ch.isspace() else f"U+{ord(ch):04X}"


def check_header(name: str, value: str, *, where: str = "header", field: str = "headers") -> None:
    """Refuse a header that cannot be sent as written.

    ``where`` says how the user gave it (``--header``, ``the cURL command's -H``).
    Returns None. Raises ``UserInputError`` (field ``field``) naming the header and
    the character at fault: a name that is not a token, or a value with a line
    break, another control character or a character outside ASCII.
    """
    if not name:
        raise UserInputError(f"{where}: a header has an empty name.", field=field, fix="write NAME: VALUE")
    if not _TOKEN.fullmatch(name):
        bad = next(ch for ch in name if not _TOKEN.fullmatch(ch))
        raise UserInputError(
            f"{where} {name!r} is not a valid header name: it holds {_char(bad)} at position {name.index(bad) + 1}.",
            field=field,
            fix=_NAME_FIX,
        )
    for at, ch in enumerate(value, 1):
        if ch in "\r\n":
            raise UserInputError(
                f"{where} {name!r}: its value holds a line break ({_char(ch)} at position {at}), which would start another header.",
                field=field,
                fix="remove the line break; give each header on its own (one -H per header)",
            )
        if ch != "\t" and not " " <= ch <= "~":
            kind = "a control character" if ord(ch) < 0x80 else "a character outside ASCII"
            raise UserInputError(
                f"{where} {name!r}: its value holds {kind} ({_char(ch)} at position {at}), which HTTP headers cannot carry.",
                field=field,
                fix="use ASCII text (percent-encode it if the API expects that)",
            )


def check_headers(headers: Mapping[str, str], *, where: str = "header", field: str = "headers") -> None:
    """Apply :func:`check_header` to every header of ``headers``; returns None."""
    for name, value in headers.items():
        check_header(str(name), str(value), where=where, field=field)
