"""The interactive side of ``plugwire actions new``: rich prompts over the wizard's
steps (the endpoint and the connection, edit, send, look at the answer, go back,
review, apply).

Everything typed or received is shown as plain text: a prompt or a message holding
``[s]`` or ``[/v1]`` must not be read as rich markup. A mistake (a bad URL, a body
that is not JSON, a taken name) is said and asked again; it never ends the wizard.
"""

from __future__ import annotations

from rich.markup import escape
from rich.prompt import Confirm, Prompt
from rich.text import Text

from plugwire.core.base.errors import NotFoundError, PlugwireError, UserInputError
from plugwire.core.cli.actions_input import body_from_text, set_field, split_assignment
from plugwire.core.cli.actions_view import show_attempt, show_datatree, show_request, show_suggestions
from plugwire.core.cli.common import KEY, SHORT, TEXT, console, print_table
from plugwire.core.http.exchange import BODY_FORMATS, METHODS
from plugwire.core.wizard.actions import Actions
from plugwire.core.wizard.apply import policy_warning
from plugwire.core.wizard.steps import Wizard

__all__ = ["MENU", "ask_endpoint", "choose_connection", "run_interactive"]

MENU = {
    "s": "send", "e": "edit a field", "h": "header", "q": "query parameter", "b": "body", "f": "body format",
    "p": "pick a suggestion", "g": "pagination", "c": "paste cURL", "v": "view request", "r": "review and apply", "k": "back to step 1", "x": "quit",
}


def _ask(prompt: str, **kw) -> str:
    """Prompt.ask with ``prompt`` taken as plain text (it may hold user text or ``[x]`` keys)."""
    return Prompt.ask(Text(prompt), console=console, **kw)


def _error(exc: PlugwireError) -> None:
    console.print(Text(f"Error: {exc}", style="red"))


def ask_endpoint(wiz: Wizard, method: str | None, url: str | None, connection: str | None) -> None:
    """Step 1 at the terminal: ask the method and URL (unless given) until they are
    valid, then the connection when none was given (:func:`choose_connection`), and
    start the wizard. A bad method or URL is said and asked again.

    Raises ``NotFoundError`` for a ``connection`` that does not exist.
    """
    from plugwire.core.base.urls import validate_absolute_url

    console.print("[bold]Step 1[/]: the endpoint.")
    while True:
        method = method or _ask("HTTP method", choices=list(METHODS), default="GET", case_sensitive=False)
        url = url or _ask("Absolute URL (https://api.example.com/v1/items)")
        try:
            if method.strip().upper() not in METHODS:
                raise UserInputError(f"method {method!r} is not an HTTP method plugwire sends.", field="method",
                                     fix=f"use one of {', '.join(METHODS)}")
            validate_absolute_url(url, "url")
            chosen = connection if connection is not None else choose_connection(wiz, url)
            wiz.start(method, url, chosen)
            return
        except NotFoundError:
            raise
        except UserInputError as exc:
            if exc.field not in ("method", "url"):
                raise
            _error(exc)
            method, url = (None, url) if exc.field == "method" else (method, None)


def choose_connection(wiz: Wizard, url: str) -> str | None:
    """Offer the saved connections whose base URL or test URL has ``url``'s host,
    and 'none', picked by number (the only one that fits is the default). Returns
    the name chosen, or None (no connection: no credentials are sent)."""
    fits = wiz.fitting_connections(url)
    if not fits:
        return None
    rows = [["0", "none", "", "send without credentials"]]
    rows += [[str(i), c.name, c.options.auth_type, c.options.base_url or c.options.test_url or ""] for i, c in enumerate(fits, 1)]
    print_table([("#", SHORT), ("connection", KEY), ("auth", KEY), ("base URL", TEXT)], rows,
                title="Saved connections for this host")
    default = "1" if len(fits) == 1 else None
    choices = [str(i) for i in range(len(fits) + 1)]
    picked = _ask("Connection number", choices=choices, **({"default": default} if default else {}))
    return None if picked == "0" else fits[int(picked) - 1].name


def _read_lines(prompt: str) -> str:
    console.print(Text(f"{prompt} (finish with a line holding only '.')"))
    lines = []
    while True:
        line = console.input()
        if line.strip() == ".":
            return "\n".join(lines)
        lines.append(line)


def _show_step2(wiz: Wizard) -> None:
    console.print("[bold]Step 2[/]: the sample request.")
    show_suggestions(wiz.suggestions, wiz.chosen, wiz.result.message if wiz.result else None)
    if wiz.suggestion is not None:
        console.print(Text(wiz.suggestion.reason, style="dim"))
    for note in wiz.notes:
        console.print(Text(f"Note: {note}", style="yellow"))
    show_request(wiz.request)


def _edit_field(wiz: Wizard) -> None:
    typed = _ask("Field: PATH=VALUE keeps the field's type (owner.id=9), PATH:=JSON sets JSON (tags:=[\"a\"]), "
                 "or just PATH (venue.address.country, query.page, headers.Accept)")
    parts = split_assignment(typed)
    if parts is None:
        path = typed.strip()
        value = _ask(f"Value for {path} (text keeps the field's type; start with := for JSON)", default="")
        parts = (path, value[2:], True) if value.startswith(":=") else (path, value, False)
    set_field(wiz, *parts)


def _edit_body(wiz: Wizard) -> None:
    """Ask for the whole body until it reads (a JSON body must be JSON); an empty answer keeps the body."""
    while True:
        text = _read_lines("Type or paste the body; nothing keeps the current one")
        if not text.strip():
            return
        try:
            body, fmt = body_from_text(text, None, wiz.request.content_type, current=wiz.request.body_format)
        except UserInputError as exc:
            _error(exc)
            continue
        wiz.edit(body=body, body_format=fmt)
        return


def _edit(wiz: Wizard, key: str) -> None:
    if key == "e":
        _edit_field(wiz)
    elif key == "h":
        name = _ask("Header name")
        value = _ask(f"Value for {name} (empty removes it)", default="")
        headers = {k: v for k, v in wiz.request.headers.items() if k.lower() != name.lower()}
        wiz.edit(headers={**headers, name: value} if value else headers)
    elif key == "q":
        name = _ask("Query parameter")
        value = _ask(f"Value for {name} (empty removes it)", default="")
        query = {k: v for k, v in wiz.request.query.items() if k != name}
        wiz.edit(query={**query, name: value} if value else query)
    elif key == "b":
        _edit_body(wiz)
    elif key == "f":
        fmt = _ask("Body format", choices=list(BODY_FORMATS), default=wiz.request.body_format)
        wiz.edit(body_format=fmt, body=None if fmt == "none" else wiz.request.body)
    elif key == "p":
        n = _ask(f"Suggestion number (1-{len(wiz.suggestions)}, 0 for blank)", default="1")
        if not n.strip().isdigit():
            raise UserInputError(f"{n!r} is not a number.", field="suggestion", fix="type the number shown in the list")
        wiz.blank() if n.strip() == "0" else wiz.use_suggestion(int(n) - 1)
    elif key == "g":
        _edit_pagination(wiz)
    elif key == "c":
        wiz.import_curl(_read_lines("Paste the cURL command"), wiz.connection.name if wiz.connection else None)


#: The options each style asks for at the terminal, with their defaults.
_STYLE_OPTIONS = {
    "link_header": [],
    "next_url": [("next_path", "paging.next")],
    "cursor": [("next_path", "next_cursor"), ("cursor_param", "cursor"), ("cursor_in", "query")],
    "page_number": [("page_param", "page"), ("stop", "empty")],
    "offset_limit": [("offset_param", "offset"), ("limit_param", "limit"), ("limit", "100"), ("stop", "empty")],
}


def _edit_pagination(wiz: Wizard) -> None:
    """Ask how the rest of the list is fetched: the style (none: one request), the
    records path, the style's options (the current or suggested values as defaults)
    and the bounds; an option left empty is left out."""
    now = wiz.pagination.model_dump() if wiz.pagination else {}
    style = _ask("Pagination style", choices=["none", *_STYLE_OPTIONS], default=now.get("style", "none"))
    if style == "none":
        wiz.set_pagination(None)
        return
    data = {"style": style, "records": _ask("Records path (the list in each page; empty: the body)", default=now.get("records") or "")}
    for key, default in [*_STYLE_OPTIONS[style], ("max_pages", "10")]:
        data[key] = _ask(key, default=str(now.get(key) or default))
    if data.get("stop") in ("has_more", "total"):
        key = f"{data['stop']}_path"
        data[key] = _ask(key, default=now.get(key) or ("has_more" if data["stop"] == "has_more" else "total"))
    wiz.set_pagination({k: v for k, v in data.items() if v != ""})
    console.print(Text(f"Pagination: {wiz.pagination.summary()}"))


def ask_name(actions: Actions, name: str | None) -> str:
    """Return ``name`` when it is free, else ask until a free, valid name is typed."""
    while True:
        name = name or _ask("Action name")
        try:
            return actions.check_free(name)
        except PlugwireError as exc:
            _error(exc)
            name = None


def _review(wiz: Wizard, name: str | None, description: str, learn: bool) -> bool:
    """Step 3; returns True when the action was applied."""
    console.print("[bold]Step 3[/]: review.")
    review = wiz.review()
    show_request(review.request)
    if review.last is not None:
        show_attempt(review.last)
    if not review.can_apply:
        console.print(Text(review.reason or "", style="red"))
        wiz.back()
        return False
    show_datatree(review.datatree)
    name = ask_name(Actions(wiz.home), name)
    if not Confirm.ask(Text(f"Apply as {name!r}?"), default=True, console=console):
        wiz.back()
        return False
    result = wiz.apply(name, description=description, learn=learn)
    console.print(Text(f"Saved action {result.action.name}."))
    if result.learned.get("learned"):
        console.print(Text(f"Learned {result.learned['method']} {result.learned['path_template']} into your catalogue."))
    warning = policy_warning(wiz.home, result.action.url, wiz.connection)
    if warning:
        console.print(Text(f"Warning: {warning}", style="yellow"))
    return True


def run_interactive(wiz: Wizard, *, name: str | None, description: str, learn: bool, connection: str | None = None) -> None:
    """Walk steps 2 and 3 at the terminal until the action is applied or the user quits.

    A taken ``name`` is asked again before anything is sent. A mistake (a bad
    field, a refused Apply) is printed and the menu comes back; going back to step 1
    offers the connections again unless ``connection`` was given.
    """
    if name is not None:
        name = ask_name(Actions(wiz.home), name)
    _show_step2(wiz)
    menu = escape(", ".join(f"[{k}] {v}" for k, v in MENU.items()))
    while True:
        key = Prompt.ask(menu, choices=list(MENU), default="s", show_choices=False, console=console)
        try:
            if key == "x":
                console.print("Nothing saved.")
                return
            if key == "s":
                show_attempt(wiz.send())
            elif key == "v":
                show_request(wiz.request)
            elif key == "r":
                if _review(wiz, name, description, learn):
                    return
            elif key == "k":
                wiz.back()
                ask_endpoint(wiz, None, None, connection)
                _show_step2(wiz)
            else:
                _edit(wiz, key)
                show_request(wiz.request)
        except PlugwireError as exc:
            _error(exc)
