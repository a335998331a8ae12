"""The console wizard's pagination form: the fields it shows for each style and the
choice read back from a posted form. (What a paginated Send found is said by the
template wizard/pages.html, through the wizard's ``pages_line``, as the CLI says it.)"""

from __future__ import annotations

from typing import Any

from starlette.datastructures import FormData

from plugwire.core.plugincore.pagination import STYLES, Pagination
from plugwire.core.wizard.paging import pagination_from

__all__ = ["FIELDS", "STYLES", "form_values", "set_from_form"]

_ALL = STYLES
_COUNTED = ("page_number", "offset_limit")
#: The options the form shows, in order: (field, the styles it applies to, a choice list or None).
FIELDS: tuple[tuple[str, tuple[str, ...], tuple[str, ...] | None], ...] = (
    ("records", _ALL, None),
    ("next_path", ("next_url", "cursor"), None),
    ("cursor_last_item", ("cursor",), None),
    ("cursor_param", ("cursor",), None),
    ("cursor_in", ("cursor",), ("query", "body")),
    ("page_param", ("page_number",), None),
    ("start_page", ("page_number",), None),
    ("offset_param", ("offset_limit",), None),
    ("limit_param", _COUNTED, None),
    ("limit", _COUNTED, None),
    ("stop", _COUNTED, ("", "short", "has_more", "total")),
    ("has_more_path", ("cursor", *_COUNTED), None),
    ("total_path", _COUNTED, None),
    ("max_pages", _ALL, None),
    ("max_items", _ALL, None),
)
_PREFIX = "pagination."


def form_values(pagination: Pagination | None, posted: FormData | None = None) -> dict[str, Any]:
    """Return what the form shows: ``style`` ("none" without pagination) and each
    option's text, with its label (from the model's description) and styles; a
    ``posted`` form that was refused is shown back as typed."""
    current = pagination.model_dump() if pagination is not None else {}
    defaults = {name: f.default for name, f in Pagination.model_fields.items()}
    style = posted.get(_PREFIX + "style") if posted is not None else None
    rows = []
    for name, styles, choices in FIELDS:
        value = posted.get(_PREFIX + name) if posted is not None else current.get(name, defaults.get(name))
        rows.append({"name": name, "value": "" if value is None else str(value), "styles": " ".join(styles),
                     "choices": choices, "help": Pagination.model_fields[name].description or ""})
    return {"style": style or (pagination.style if pagination is not None else "none"), "styles": STYLES, "rows": rows}


def set_from_form(wizard: Any, form: FormData) -> None:
    """Give ``wizard`` the pagination the form chose, when the form has the fields and
    its choice differs from the wizard's (so an unchanged suggestion stays a suggestion).

    Raises ``UserInputError`` (field ``pagination``) naming an option missing or wrong."""
    style = form.get(_PREFIX + "style")
    if not isinstance(style, str):
        return  # a form without the pagination fields changes nothing
    chosen = None
    if style not in ("", "none"):
        data: dict[str, Any] = {"style": style}
        for name, styles, _ in FIELDS:
            value = form.get(_PREFIX + name)
            if style in styles and isinstance(value, str) and value.strip():
                data[name] = value.strip()
        chosen = pagination_from(data)
    current = wizard.pagination
    if (chosen.model_dump() if chosen else None) != (current.model_dump() if current else None):
        wizard.set_pagination(chosen)

