"""How the terminal shows the wizard's pieces: suggestions, a request, an exchange,
a datatree and an action. Text that comes from an API is printed as plain text,
never as rich markup (an API message like ``[/v1]`` must not be read as a tag)."""

from __future__ import annotations

import json
from typing import Any

from rich.table import Table
from rich.text import Text
from rich.tree import Tree

from plugwire.core.cli.common import SHORT, TEXT, console, print_table
from plugwire.core.http.capture import masked_spec
from plugwire.core.http.exchange import RequestSpec
from plugwire.core.plugincore.suggesters import Suggestion
from plugwire.core.wizard.actions import Action
from plugwire.core.wizard.datatree import DataField, DataTree
from plugwire.core.wizard.paging import pages_line
from plugwire.core.wizard.steps import Attempt

__all__ = ["pages_line", "show_action", "show_attempt", "show_datatree", "show_request", "show_suggestions", "suggestion_summary"]

_BODY_LINES = 60


def _plain(text: str, style: str | None = None) -> None:
    console.print(Text(text, style=style or ""))


def suggestion_summary(index: int, s: Suggestion) -> dict[str, Any]:
    """Return one suggestion as JSON-able data, numbered from 1 as the CLI counts."""
    return {
        "number": index + 1, "suggester": s.suggester, "score": round(s.score, 3), "reason": s.reason,
        "provider": s.provider, "endpoint": s.endpoint, "summary": s.summary, "learned": s.learned, "proven": s.proven,
        "docs_url": s.docs_url,
    }


def show_suggestions(suggestions: list[Suggestion], chosen: int | None, message: str | None = None) -> None:
    """Print the suggestions, best first, marking the one the request was filled from."""
    if not suggestions:
        _plain(message or "No suggestion: starting from a blank request.", "yellow")
        return
    rows = []
    for i, s in enumerate(suggestions):
        mark = "→ " if i == chosen else "  "
        tags = " [learned, proven]" if s.learned and s.proven else (" [learned]" if s.learned else "")
        rows.append([f"{mark}{i + 1}", f"{s.score:.2f}", (s.endpoint or "") + tags, s.reason])
    print_table([("#", SHORT), ("score", SHORT), ("endpoint", TEXT), ("why", TEXT)], rows, title="Suggestions")
    if chosen is None:
        _plain("Starting from a blank request.")


def _body_text(body: Any, fmt: str) -> str:
    if body is None:
        return ""
    if fmt == "json" and not isinstance(body, str):
        return json.dumps(body, indent=2, ensure_ascii=False)
    if fmt in ("form", "multipart") and isinstance(body, dict):
        return "\n".join(f"{k}={v}" for k, v in body.items())
    if fmt == "binary":
        return f"({len(str(body)) * 3 // 4} bytes, base64)"
    return str(body)


def _clip(text: str, lines: int = _BODY_LINES) -> str:
    rows = text.splitlines()
    if len(rows) <= lines:
        return text
    return "\n".join(rows[:lines]) + f"\n… ({len(rows) - lines} more lines)"


def show_request(request: RequestSpec, *, title: str = "Request") -> None:
    """Print a configured request, its secret values masked."""
    request = masked_spec(request)
    _plain(f"{title}: {request.method} {request.url}", "bold")
    for k, v in request.headers.items():
        _plain(f"  {k}: {v}")
    for k, v in request.query.items():
        _plain(f"  ?{k}={v}")
    if request.body_format != "none":
        ctype = request.effective_content_type() or "multipart/form-data"
        _plain(f"  body ({request.body_format}, {ctype}):", "dim")
        _plain(_clip(_body_text(request.body, request.body_format)))
        for f in request.files:
            _plain(f"  file {f.field}: {f.path or f.filename} {f.content_type or ''}".rstrip())


def show_attempt(attempt: Attempt) -> None:
    """Print one attempt in full: status line, headers, body, the API's message and
    the fields that broke the endpoint's rules."""
    ex = attempt.exchange
    r = ex.response
    style = "green" if ex.ok else "red"
    head = f"Attempt #{attempt.number}: {ex.request.method} {ex.request.url} → "
    if r is None:
        _plain(head + f"{ex.outcome}: {ex.message}", style)
        return
    _plain(head + f"{r.status} {r.reason} ({r.elapsed_ms:.0f} ms, {r.size} bytes)", style)
    for k, v in ex.request.headers.items():
        _plain(f"  > {k}: {v}", "dim")
    for k, v in r.headers.items():
        _plain(f"  < {k}: {v}", "dim")
    if r.pretty:
        _plain(_clip(r.pretty))
    if attempt.pages:
        _plain(pages_line(attempt.pages), "red" if attempt.pages.get("error") else "cyan")
    if ex.api_message and not ex.ok:
        _plain(f"The API says: {ex.api_message}", "yellow")
    for v in attempt.violations:
        _plain(f"Field at fault: {v.message}", "yellow")


def _branch(tree: Tree, field: DataField) -> None:
    flags = ("?" if field.optional else "") + (" | null" if field.nullable and field.type != "null" else "")
    example = f" = {field.example!r}" if field.example is not None and field.type not in ("object", "array") else ""
    node = tree.add(Text(f"{field.name} ({field.type}{flags}){example}"))
    for child in field.children:
        _branch(node, child)
    if field.item is not None:
        _branch(node, field.item)


def show_datatree(tree: DataTree | None, title: str = "Output fields") -> None:
    """Print a datatree as a tree of names, types and examples."""
    if tree is None:
        return
    root = Tree(Text(f"{title} ({tree.source}, {tree.root.type})", style="bold"))
    for child in tree.root.children:
        _branch(root, child)
    if tree.root.item is not None:
        _branch(root, tree.root.item)
    console.print(root)


def show_action(action: Action) -> None:
    """Print a saved action: its request, settings, sample exchange and datatree."""
    table = Table(show_header=False, box=None, pad_edge=False)
    table.add_column(style="bold")
    table.add_column()
    proof = action.proof
    state = (f"proven {proof.at}: the live API answered {proof.status}" if proof is not None
             else f"DRAFT, not proven ({action.draft_reason}): no recipe runs it; prove it with `plugwire actions prove {action.name}`")
    rows = [
        ("name", action.name), ("proof", state), ("connection", action.connection or "(none: public API)"), ("endpoint", action.endpoint or ""),
        ("provider", action.provider or ""), ("response format", action.response_format),
        ("timeout", f"{action.timeout:g} s" if action.timeout else "the connection's"),
        ("retry", f"{action.retry.max_attempts} attempts, backoff {action.retry.backoff:g} s" + (", non-idempotent too" if action.retry.retry_non_idempotent else "")),
        ("pagination", action.pagination.summary() if action.pagination else ""),
        ("updated", action.updated_at),
    ]
    for key, value in rows:
        if value:
            table.add_row(key, Text(str(value)))
    console.print(table)
    show_request(action.spec())
    if action.sample_response is not None:
        r = action.sample_response
        _plain(f"Sample response: {r.status} {r.reason} ({r.size} bytes)", "bold")
        _plain(_clip(r.pretty, 30))
    show_datatree(action.datatree)
