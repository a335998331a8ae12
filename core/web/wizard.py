"""Console pages for make-request actions and the three-step wizard that builds them.

A wizard in progress is a :class:`~plugwire.core.wizard.steps.Wizard` kept in this
server's memory under an unguessable id (a draft), so a page can be reloaded and
every attempt stays in its history. Drafts idle for hours are dropped; a saved
action is in the store like any other.
"""

from __future__ import annotations

import secrets
import threading
import time
from dataclasses import dataclass
from dataclasses import field as attribute
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from plugwire.core.base.errors import AlreadyExistsError, NotFoundError, PlugwireError, UserInputError
from plugwire.core.connections.model import Connections
from plugwire.core.http.exchange import (
    BODY_FORMATS,
    METHODS,
    RequestSpec,
    add_field,
    is_sensitive_name,
    parse_body_text,
)
from plugwire.core.web.access import page
from plugwire.core.web.render import field, form_rows, json_lines, render, render_error
from plugwire.core.web.session import Session
from plugwire.core.web.wizard_paging import form_values, set_from_form
from plugwire.core.wizard.actions import Actions, build_action
from plugwire.core.wizard.apply import policy_warning
from plugwire.core.wizard.steps import Wizard

__all__ = ["Drafts", "routes"]

#: Body formats the console edits as text (multipart files and binary bodies are CLI-only).
EDITABLE_FORMATS = tuple(f for f in BODY_FORMATS if f not in ("multipart", "binary"))


@dataclass
class Draft:
    """One wizard in progress: the action's name, the wizard, and a lock so that two
    clicks on *Send* do not interleave."""

    id: str
    name: str
    wizard: Wizard
    touched: float = attribute(default_factory=time.monotonic)
    lock: threading.Lock = attribute(default_factory=threading.Lock)


class Drafts:
    """The wizards in progress on this server; the idle ones are forgotten."""

    IDLE_SECONDS = 6 * 3600
    LIMIT = 200

    def __init__(self) -> None:
        self._items: dict[str, Draft] = {}
        self._lock = threading.Lock()

    def add(self, name: str, wizard: Wizard) -> Draft:
        """Keep a new draft and return it."""
        with self._lock:
            now = time.monotonic()
            self._items = {k: d for k, d in self._items.items() if now - d.touched < self.IDLE_SECONDS}
            while len(self._items) >= self.LIMIT:
                self._items.pop(min(self._items, key=lambda k: self._items[k].touched))
            draft = Draft(id=secrets.token_urlsafe(12), name=name, wizard=wizard)
            self._items[draft.id] = draft
            return draft

    def get(self, draft_id: str) -> Draft | None:
        """Return the draft ``draft_id`` (and mark it used), or None."""
        with self._lock:
            draft = self._items.get(draft_id)
            if draft is not None:
                draft.touched = time.monotonic()
            return draft

    def drop(self, draft_id: str) -> None:
        with self._lock:
            self._items.pop(draft_id, None)


def _home(request: Request):
    return request.app.state.plugwire.home


# -- turning the request into form text and back ---------------------------------------------
def body_text(spec: RequestSpec) -> str:
    """Return the body as the editor shows it (JSON indented, form fields as a=1&b=2)."""
    if spec.body is None:
        return ""
    if spec.body_format == "json":
        return json_lines(spec.body)[0]
    if spec.body_format == "form" and isinstance(spec.body, dict):
        from urllib.parse import urlencode

        return urlencode(spec.body, doseq=True)
    return spec.body if isinstance(spec.body, str) else json_lines(spec.body)[0]


def _query_rows(query: dict[str, Any]) -> list[tuple[str, str]]:
    rows = []
    for key, value in query.items():
        for one in value if isinstance(value, list) else [value]:
            rows.append((key, "" if one is None else str(one)))
    return rows


def changes_from_form(form: FormData, spec: RequestSpec) -> dict[str, Any]:
    """Return the request fields the form changed (an unchanged field keeps its exact
    value and type, so a request that was sent stays the request that was sent).
    A sensitive header left empty keeps its value. Raises ``UserInputError`` naming
    a field that cannot be read (the body's JSON error says its line and column)."""
    changes: dict[str, Any] = {}
    headers: dict[str, str] = {}
    for key, value in form_rows(form, "headers"):
        if not value and is_sensitive_name(key) and key in spec.headers:
            value = spec.headers[key]
        headers[key] = value
    if headers != spec.headers:
        changes["headers"] = headers
    rows = form_rows(form, "query")
    if rows != _query_rows(spec.query):
        query: dict[str, Any] = {}
        for key, value in rows:
            add_field(query, key, value)
        changes["query"] = query
    fmt = field(form, "body_format", spec.body_format)
    if fmt not in EDITABLE_FORMATS:
        raise UserInputError(f"body_format {fmt!r} cannot be edited here.", field="body_format", fix="use " + ", ".join(EDITABLE_FORMATS))
    text = str(form.get("body") or "").replace("\r\n", "\n")
    if fmt != spec.body_format or text.strip() != body_text(spec).strip():
        if fmt == "none" or not text.strip():
            changes.update(body=None, body_format="none" if fmt == "none" or not text.strip() else fmt)
        else:
            body, fmt = parse_body_text(text, fmt)
            changes.update(body=body, body_format=fmt)
    content_type = field(form, "content_type") or None
    if content_type != spec.content_type:
        changes["content_type"] = content_type
    return changes


# -- pages ------------------------------------------------------------------------------------
async def actions_page(request: Request, session: Session) -> Response:
    items = [a.public() for a in await run_in_threadpool(Actions(_home(request)).list)]
    return render(request, session, "actions/list.html", {"items": items})


async def action_page(request: Request, session: Session) -> Response:
    try:
        action = await run_in_threadpool(Actions(_home(request)).get, request.path_params["name"])
    except NotFoundError:
        return render_error(request, session, 404, "No such action", f"There is no action named {request.path_params['name']!r}.")
    return render(request, session, "actions/detail.html", {"action": action.public()})


async def prove_page(request: Request, session: Session) -> Response:
    """Prove: send the action's request once under the server's network policy; a 2xx
    proves it, anything else is flashed and a draft stays a draft."""
    from plugwire.core.wizard.prove import prove

    name = request.path_params["name"]
    try:
        action, trial = await run_in_threadpool(lambda: prove(_home(request), name, policy=request.app.state.plugwire.policy))
    except NotFoundError:
        return render_error(request, session, 404, "No such action", f"There is no action named {name!r}.")
    except PlugwireError as exc:
        session.flash(str(exc), "error")
    else:
        if trial.ok:
            session.flash(f"Action {name} proven: the API answered {action.proof.status}; recipes may run it.", "ok")
        else:
            kept = "It keeps its earlier proof." if action.proven else "It stays a draft."
            session.flash(f"Not proven: {trial.reason} {kept}", "error")
    return RedirectResponse(f"/console/actions/{name}", status_code=303)


def _connections(request: Request) -> list[str]:
    return [c.name for c in Connections(_home(request)).list()]


async def new_page(request: Request, session: Session) -> Response:
    """Step 1: name the request, pick the connection, method and URL."""
    values = {"method": "GET", "url": "", "name": "", "connection": request.query_params.get("connection", "")}
    error = None
    if request.method == "POST":
        form = await request.form()
        values = {k: field(form, k) for k in ("name", "connection", "method", "url")}
        try:
            draft = await run_in_threadpool(_start, request, values)
        except PlugwireError as exc:
            error = exc
        else:
            return RedirectResponse(f"/console/wizard/{draft.id}", status_code=303)
    ctx = {"values": values, "connections": await run_in_threadpool(_connections, request), "methods": METHODS, "error": error, "draft": None}
    return render(request, session, "wizard/step1.html", ctx, status=400 if error else 200)


def _check_name(request: Request, name: str) -> str:
    action = build_action({"name": name})  # the action name's rules, checked before any work
    try:
        Actions(_home(request)).get(action.name)
    except NotFoundError:
        return action.name
    raise AlreadyExistsError(f"An action named {action.name!r} already exists.", field="name", fix="choose another name")


def _start(request: Request, values: dict[str, str]):
    name = _check_name(request, values["name"])
    # Every Send goes out under the server's network policy, redirects included.
    wizard = Wizard(_home(request), policy=request.app.state.plugwire.policy)
    wizard.start(values["method"], values["url"], values["connection"] or None)
    return request.app.state.console_drafts.add(name, wizard)


def _context(draft, posted_pagination: FormData | None = None, **extra: Any) -> dict[str, Any]:
    wiz = draft.wizard
    last = wiz.last
    body, lines = ("", {})
    if wiz.request.body is not None and wiz.request.body_format == "json":
        body, lines = json_lines(wiz.request.body)
    else:
        body = body_text(wiz.request)
    violations = last.violations if last is not None and last.request == wiz.request else []
    return {
        "draft": draft,
        "wiz": wiz,
        "req": wiz.request,
        "body": body,
        "highlight": sorted({lines[v.path] for v in violations if v.path in lines}),
        "bad_fields": {v.path for v in violations},
        "violations": violations,
        "last": last.public() if last is not None else None,
        "formats": EDITABLE_FORMATS,
        "query_rows": _query_rows(wiz.request.query),
        "methods": METHODS,
        "pg": form_values(wiz.pagination, posted_pagination),
        **extra,
    }


def _template(draft) -> str:
    return {1: "wizard/step1.html", 2: "wizard/step2.html"}.get(draft.wizard.step, "wizard/step3.html")


async def wizard_page(request: Request, session: Session) -> Response:
    draft = request.app.state.console_drafts.get(request.path_params["id"])
    if draft is None:
        return render_error(request, session, 404, "Wizard not found", "This wizard is unknown or expired (the server restarted, or it was applied). Start a new one.")
    ctx: dict[str, Any] = {}
    status = 200
    if request.method == "POST":
        form = await request.form()
        try:
            outcome = await run_in_threadpool(_do, request, session, draft, form)
        except PlugwireError as exc:
            ctx["error"] = exc
            status = 400
            if getattr(exc, "field", None) == "pagination":
                ctx["posted_pagination"] = form  # shown back as typed, to be corrected
        else:
            if isinstance(outcome, Response):
                return outcome
            ctx.update(outcome or {})
    ctx = _context(draft, **ctx)
    if draft.wizard.step == 1:
        ctx.update(values={"name": draft.name, "connection": draft.wizard.connection.name if draft.wizard.connection else "", "method": draft.wizard.request.method, "url": draft.wizard.request.url},
                   connections=await run_in_threadpool(_connections, request))
    elif draft.wizard.step >= 3:
        ctx["review"] = ctx.get("review") or await run_in_threadpool(draft.wizard.review)
    return render(request, session, _template(draft), ctx, status=status)


def _do(request: Request, session: Session, draft: Draft, form: FormData) -> Response | dict[str, Any] | None:
    """Run one button of the wizard (the ``do`` field) under the draft's lock."""
    wiz = draft.wizard
    do = field(form, "do")
    with draft.lock:
        if do == "endpoint":  # step 1 again, after Back
            draft.name = _check_name(request, field(form, "name") or draft.name)
            wiz.start(field(form, "method"), field(form, "url"), field(form, "connection") or None)
            return None
        if do in ("send", "review") or (do == "back" and wiz.step == 2):
            changes = changes_from_form(form, wiz.request)
            if changes:
                wiz.edit(**changes)
            set_from_form(wiz, form)
        if do == "send":
            wiz.send()  # a refusal by the network policy is the attempt's outcome
            return None
        if do == "review":
            return {"review": wiz.review()}
        if do == "back":
            wiz.back()
            return None
        if do.startswith("use:"):
            wiz.use_suggestion(int(do[4:]) if do[4:].isdigit() else -1)
            return None
        if do == "blank":
            wiz.blank()
            return None
        if do == "apply":
            result = wiz.apply(draft.name)
            request.app.state.console_drafts.drop(draft.id)
            return _applied(session, result, policy_warning(_home(request), result.action.url, wiz.connection))
    raise UserInputError(f"Unknown wizard button {do!r}.", field="do", fix="use the page's buttons")


def _applied(session: Session, result, warning: str | None = None) -> Response:
    """Flash what Apply did (and the server's policy warning: the action is saved all
    the same, but its jobs would be refused), then go to the saved action."""
    learned = result.learned
    note = " The configuration was learned: the next wizard on this endpoint suggests it." if learned.get("learned") else ""
    session.flash(f"Action {result.action.name} saved with its proven request and response.{note}", "ok")
    if warning:
        session.flash(warning, "warn")
    return RedirectResponse(f"/console/actions/{result.action.name}", status_code=303)


routes = [
    Route("/console/actions", page(actions_page)),
    Route("/console/actions/{name}", page(action_page)),
    Route("/console/actions/{name}/prove", page(prove_page), methods=["POST"]),
    Route("/console/wizard/new", page(new_page), methods=["GET", "POST"]),
    Route("/console/wizard/{id}", page(wizard_page), methods=["GET", "POST"]),
]
