"""Console pages for recipes: the list, a new recipe (its trigger), the recipe page
(webhook URL with a copy button, start and stop, its steps) and the step editor,
where any static value can be replaced by a datapill from the trigger's datatree
or an earlier step's response."""

from __future__ import annotations

import re
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from plugwire.core.base.errors import NotFoundError, PlugwireError, UserInputError
from plugwire.core.plugincore.manager import triggers
from plugwire.core.recipes.model import Recipe
from plugwire.core.web.access import page
from plugwire.core.web.connections import base_url
from plugwire.core.web.pills import body_from_rows, body_leaves, pill_groups
from plugwire.core.web.render import field, form_rows, render, render_error
from plugwire.core.web.session import Session
from plugwire.core.web.trigger_form import trigger_config, trigger_values
from plugwire.core.wizard.actions import Actions

__all__ = ["routes"]


def _state(request: Request):
    return request.app.state.plugwire


def _kinds() -> list[tuple[str, str]]:
    return [(n, t.title) for n, t in sorted(triggers.items().items())]


async def _recipe(request: Request) -> Recipe | None:
    try:
        return await run_in_threadpool(_state(request).recipes.get, request.path_params["name"])
    except NotFoundError:
        return None


def _missing(request: Request, session: Session) -> Response:
    return render_error(request, session, 404, "No such recipe", f"There is no recipe named {request.path_params['name']!r}.")


async def list_page(request: Request, session: Session) -> Response:
    state = _state(request)
    items = [r.public(base_url(request)) for r in await run_in_threadpool(state.recipes.list)]
    return render(request, session, "recipes/list.html", {"items": items})


async def new_page(request: Request, session: Session) -> Response:
    """Name the recipe and configure its trigger; steps are added on the recipe's page."""
    kind = request.query_params.get("trigger", "webhook")
    values: dict[str, Any] = {"name": "", "description": "", **trigger_values(kind, {})}
    error = None
    if request.method == "POST":
        form = await request.form()
        kind = field(form, "trigger", kind)
        values = {k: v for k, v in form.items() if isinstance(v, str) and k not in ("csrf", "signature_secret")}
        try:
            data = {"name": field(form, "name"), "description": field(form, "description"),
                    "trigger": {"type": kind, "config": trigger_config(form, kind)}, "steps": []}
            recipe = await run_in_threadpool(_state(request).recipes.create, data)
        except PlugwireError as exc:
            error = exc
        else:
            _state(request).invalidate()
            session.flash(f"Recipe {recipe.name} saved (stopped). Add its steps, then start it.", "ok")
            return RedirectResponse(f"/console/recipes/{recipe.name}", status_code=303)
    ctx = {"kinds": _kinds(), "kind": kind, "values": values, "error": error, "recipe": None}
    return render(request, session, "recipes/trigger.html", ctx, status=400 if error else 200)


async def trigger_page(request: Request, session: Session) -> Response:
    """Edit the trigger of an existing recipe (an empty secret keeps the stored one)."""
    recipe = await _recipe(request)
    if recipe is None:
        return _missing(request, session)
    kind = recipe.trigger.type
    values = {"name": recipe.name, "description": recipe.description, **trigger_values(kind, recipe.public()["trigger"]["config"])}
    error = None
    if request.method == "POST":
        form = await request.form()
        values = {k: v for k, v in form.items() if isinstance(v, str) and k not in ("csrf", "signature_secret")}
        try:
            config = trigger_config(form, kind, recipe.trigger.config)
            data = {"description": field(form, "description"), "trigger": {"type": kind, "config": config}}
            await run_in_threadpool(_state(request).recipes.update, recipe.name, data)
        except PlugwireError as exc:
            error = exc
        else:
            _state(request).invalidate()
            session.flash("Trigger saved.", "ok")
            return RedirectResponse(f"/console/recipes/{recipe.name}", status_code=303)
    ctx = {"kinds": _kinds(), "kind": kind, "values": values, "error": error, "recipe": recipe.public()}
    return render(request, session, "recipes/trigger.html", ctx, status=400 if error else 200)


def _actions(request: Request) -> dict[str, Any]:
    return {a.name: a for a in Actions(_state(request).home).list()}


async def detail_page(request: Request, session: Session) -> Response:
    recipe = await _recipe(request)
    if recipe is None:
        return _missing(request, session)
    actions = await run_in_threadpool(_actions, request)
    groups = pill_groups(recipe, actions, 0)
    counts = await run_in_threadpool(_state(request).jobs.counts, recipe.name)
    ctx = {"recipe": recipe.public(base_url(request)), "actions": sorted(actions), "trigger_pills": groups[0], "counts": counts,
           "drafts": {name for name, a in actions.items() if not a.proven}}
    return render(request, session, "recipes/detail.html", ctx)


def _steps(recipe: Recipe) -> list[dict[str, Any]]:
    return [s.model_dump(mode="python", exclude_unset=True) for s in recipe.steps]


def _step_input(form: FormData, action: Any, current: dict[str, Any] | None) -> dict[str, Any]:
    """Return the step the editor's form describes: only what differs from the
    action is kept as the step's own value."""
    step: dict[str, Any] = {"action": action.name, "name": field(form, "step_name")}
    url = field(form, "url")
    if url and url != action.url:
        step["url"] = url
    step["headers"] = dict(form_rows(form, "headers"))
    step["query"] = dict(form_rows(form, "query"))
    base = current["body"] if current and "body" in current else action.body
    leaves = body_leaves(base)
    if leaves is None:
        if "body_text" in form:
            text = str(form.get("body_text") or "")
            if text != ("" if base is None else str(base)):
                step["body"] = text
    else:
        rows = {r["path"]: str(form.get(f"body.{r['path']}") or "") for r in leaves}
        # A value keeps the type it has in the action's body, even where a pill stood before.
        kinds = {r["path"]: r["kind"] for r in leaves} | {r["path"]: r["kind"] for r in body_leaves(action.body) or []}
        body = body_from_rows(base, rows, kinds)
        if body != action.body or (current and "body" in current):
            step["body"] = body
    return step


async def step_page(request: Request, session: Session) -> Response:
    """The step editor: GET shows it (``/steps/new?action=NAME`` or ``/steps/N``),
    POST saves the step (every pill checked) and returns to the recipe."""
    recipe = await _recipe(request)
    if recipe is None:
        return _missing(request, session)
    steps = _steps(recipe)
    index = request.path_params.get("n", len(steps))
    if index > len(steps):
        return render_error(request, session, 404, "No such step", f"The recipe {recipe.name!r} has {len(steps)} step(s).")
    current = steps[index] if index < len(steps) else None
    actions = await run_in_threadpool(_actions, request)
    form = await request.form() if request.method == "POST" else None
    action_name = (current or {}).get("action") or (field(form, "action") if form else request.query_params.get("action", ""))
    action = actions.get(action_name)
    if action is None:
        session.flash(f"Choose an action for the step ({action_name!r} does not exist).", "error")
        return RedirectResponse(f"/console/recipes/{recipe.name}", status_code=303)
    error = None
    if form is not None:
        try:
            step = _step_input(form, action, current)
            new_steps = steps[:index] + [step] + steps[index + 1:]
            await run_in_threadpool(_state(request).recipes.update, recipe.name, {"steps": new_steps})
        except PlugwireError as exc:
            error = exc
            current = {**(current or {}), **_step_input_safely(form, action, current)}
        else:
            _state(request).invalidate()
            session.flash(f"Step {step['name'] or action.name} saved.", "ok")
            return RedirectResponse(f"/console/recipes/{recipe.name}", status_code=303)
    body = current["body"] if current and "body" in current else action.body
    ctx = {
        "recipe": recipe.public(), "action": action.public(), "index": index, "step": current or {},
        "step_name": (current or {}).get("name") or re.sub(r"[^A-Za-z0-9_-]", "_", action.name),
        "url": (current or {}).get("url") or action.url, "leaves": body_leaves(body), "body_text": "" if body is None else str(body),
        "groups": pill_groups(recipe, actions, index), "error": error,
    }
    return render(request, session, "recipes/step.html", ctx, status=400 if error else 200)


def _step_input_safely(form: FormData, action: Any, current: dict[str, Any] | None) -> dict[str, Any]:
    """What the refused form said, to show it again (values that cannot be read are dropped)."""
    try:
        return _step_input(form, action, current)
    except PlugwireError:
        return {}


async def step_remove(request: Request, session: Session) -> Response:
    recipe = await _recipe(request)
    if recipe is None:
        return _missing(request, session)
    steps = _steps(recipe)
    n = int(request.path_params["n"])
    try:
        if n >= len(steps):
            raise UserInputError(f"There is no step {n + 1}.", field="step", fix="reload the page")
        await run_in_threadpool(_state(request).recipes.update, recipe.name, {"steps": steps[:n] + steps[n + 1:]})
    except PlugwireError as exc:
        session.flash(str(exc), "error")
    else:
        _state(request).invalidate()
        session.flash("Step removed.", "ok")
    return RedirectResponse(f"/console/recipes/{recipe.name}", status_code=303)


_DONE = {"start": "started", "stop": "stopped", "remove": "removed"}


def _status_action(verb: str):
    async def action(request: Request, session: Session) -> Response:
        state = _state(request)
        name = request.path_params["name"]
        try:
            if verb == "remove":
                await run_in_threadpool(state.recipes.remove, name)
            else:
                await run_in_threadpool(getattr(state.recipes, verb), name)
        except NotFoundError:
            return _missing(request, session)
        except PlugwireError as exc:
            session.flash(f"Cannot {verb} {name}: {exc}", "error")
        else:
            state.invalidate()
            session.flash(f"Recipe {name} {_DONE[verb]}.", "ok")
        return RedirectResponse("/console/recipes" if verb == "remove" else f"/console/recipes/{name}", status_code=303)

    return action


routes = [
    Route("/console/recipes", page(list_page)),
    Route("/console/recipes/new", page(new_page), methods=["GET", "POST"]),
    Route("/console/recipes/{name}", page(detail_page)),
    Route("/console/recipes/{name}/trigger", page(trigger_page), methods=["GET", "POST"]),
    Route("/console/recipes/{name}/steps/new", page(step_page), methods=["GET", "POST"]),
    Route("/console/recipes/{name}/steps/{n:int}", page(step_page), methods=["GET", "POST"]),
    Route("/console/recipes/{name}/steps/{n:int}/remove", page(step_remove), methods=["POST"]),
    *(Route(f"/console/recipes/{{name}}/{verb}", page(_status_action(verb)), methods=["POST"]) for verb in ("start", "stop", "remove")),
]
