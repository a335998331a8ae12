"""The one rule for names a user gives things (connections, actions, recipes)."""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator

__all__ = ["Name", "check_name"]

_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 _.@-]{0,79}$")


def check_name(value: str) -> str:
    """Return ``value`` stripped; raises ``ValueError`` (pydantic reports it on the
    field) when it is not 1-80 letters, digits, spaces, '_', '.', '@' or '-'."""
    value = (value or "").strip()
    if not _NAME_RE.match(value):
        raise ValueError(
            "must be 1-80 characters: letters, digits, spaces, '_', '.', '@' or '-', starting with a letter or digit"
        )
    return value


#: A ``str`` field holding a user-given name, checked by :func:`check_name`.
Name = Annotated[str, AfterValidator(check_name)]
