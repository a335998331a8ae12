"""The interactive side of ``plugwire actions new``: rich prompts over the wizard's
steps (edit, send, look at the answer, go back, review, apply)."""

from __future__ import annotations

from rich.prompt import Confirm, Prompt

from plugwire.core.base.errors import PlugwireError
from plugwire.core.cli.actions_view import show_attempt, show_datatree, show_request, show_suggestions
from plugwire.core.cli.common import console
from plugwire.core.http.exchange import BODY_FORMATS, METHODS, parse_body_text
from plugwire.core.wizard.steps import Wizard

__all__ = ["ask_endpoint", "run_interactive"]

_MENU = {
    "s": "send", "e": "edit a field", "h": "header", "q": "query parameter", "b": "body", "f": "body format",
    "p": "pick a suggestion", "c": "paste cURL", "v": "view request", "r": "review and apply", "k": "back to step 1", "x": "quit",
}


def ask_endpoint(method: str | None, url: str | None) -> tuple[str, str]:
    """Step 1 at the terminal: return the method and URL typed (or given)."""
    console.print("[bold]Step 1[/]: the endpoint.")
    method = method or Prompt.ask("HTTP method", choices=list(METHODS), default="GET", case_sensitive=False)
    url = url or Prompt.ask("Absolute URL (https://api.example.com/v1/items)")
    return method.upper(), url


def _read_lines(prompt: str) -> str:
    console.print(f"{prompt} (finish with a line holding only '.')")
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
        console.print(wiz.suggestion.reason, markup=False, style="dim")
    for note in wiz.notes:
        console.print(f"Note: {note}", markup=False, style="yellow")
    show_request(wiz.request)


def _edit(wiz: Wizard, key: str) -> None:
    if key == "e":
        path = Prompt.ask("Field path (venue.address.country, query.page, headers.Accept)")
        wiz.set(path, Prompt.ask(f"Value for {path}"))
    elif key == "h":
        name = Prompt.ask("Header name")
        value = Prompt.ask(f"Value for {name} (empty removes it)", default="")
        headers = {k: v for k, v in wiz.request.headers.items() if k.lower() != name.lower()}
        wiz.edit(headers={**headers, name: value} if value else headers)
    elif key == "q":
        name = Prompt.ask("Query parameter")
        value = Prompt.ask(f"Value for {name} (empty removes it)", default="")
        query = {k: v for k, v in wiz.request.query.items() if k != name}
        wiz.edit(query={**query, name: value} if value else query)
    elif key == "b":
        text = _read_lines("Type or paste the body")
        fmt = wiz.request.body_format if wiz.request.body_format != "none" else None
        body, fmt = parse_body_text(text, fmt)
        wiz.edit(body=body, body_format=fmt)
    elif key == "f":
        fmt = Prompt.ask("Body format", choices=list(BODY_FORMATS), default=wiz.request.body_format)
        wiz.edit(body_format=fmt, body=None if fmt == "none" else wiz.request.body)
    elif key == "p":
        n = Prompt.ask(f"Suggestion number (1-{len(wiz.suggestions)}, 0 for blank)", default="1")
        wiz.blank() if n.strip() == "0" else wiz.use_suggestion(int(n) - 1)
    elif key == "c":
        wiz.import_curl(_read_lines("Paste the cURL command"), wiz.connection.name if wiz.connection else None)


def _review(wiz: Wizard, name: str | None, description: str, learn: bool) -> bool:
    """Step 3; returns True when the action was applied."""
    console.print("[bold]Step 3[/]: review.")
    review = wiz.review()
    show_request(review.request)
    if review.last is not None:
        show_attempt(review.last)
    if not review.can_apply:
        console.print(review.reason, markup=False, style="red")
        wiz.back()
        return False
    show_datatree(review.datatree)
    name = name or Prompt.ask("Action name")
    if not Confirm.ask(f"Apply as {name!r}?", default=True):
        wiz.back()
        return False
    result = wiz.apply(name, description=description, learn=learn)
    console.print(f"Saved action [bold]{result.action.name}[/].", highlight=False)
    if result.learned.get("learned"):
        console.print(f"Learned {result.learned['method']} {result.learned['path_template']} into your catalogue.", markup=False)
    return True


def run_interactive(wiz: Wizard, *, name: str | None, description: str, learn: bool) -> None:
    """Walk steps 2 and 3 at the terminal until the action is applied or the user quits.

    A mistake (a bad field, a refused Apply) is printed and the menu comes back.
    """
    _show_step2(wiz)
    menu = ", ".join(f"[{k}] {v}" for k, v in _MENU.items())
    while True:
        key = Prompt.ask(menu, choices=list(_MENU), default="s", show_choices=False)
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
                method, url = ask_endpoint(None, None)
                wiz.start(method, url, wiz.connection.name if wiz.connection else None)
                _show_step2(wiz)
            else:
                _edit(wiz, key)
                show_request(wiz.request)
        except PlugwireError as exc:
            console.print(f"Error: {exc}", markup=False, style="red")
