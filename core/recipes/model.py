"""Recipes: a trigger and an ordered list of make-request steps, saved in the store.

A step names a saved action and may replace its URL, add or replace headers and
query parameters, or replace its body; any of those values may hold datapills.
Every pill is checked when the recipe is saved: it must point at the trigger's
event datatree or at an earlier step's response (a paginated step's gathered
``items[N].FIELD`` and ``pages`` count too), and a pill that points nowhere is
refused with the step and the field named.
"""

from __future__ import annotations

import re
import secrets as _random
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from plugwire.core.base.errors import NotFoundError, UserInputError, format_validation_error
from plugwire.core.base.names import Name
from plugwire.core.base.secrets import mask, seal, unseal
from plugwire.core.http.exchange import now_iso
from plugwire.core.plugincore.manager import triggers
from plugwire.core.plugincore.triggers import TriggerType
from plugwire.core.recipes import datapills
from plugwire.core.storage.home import Home
from plugwire.core.wizard.actions import NEVER_PROVEN, Action, Actions
from plugwire.core.wizard.datatree import DataTree, infer

__all__ = ["TABLE", "Recipe", "Recipes", "Step", "TriggerSpec", "draft_refused"]

TABLE = "recipes"
# A polling trigger's cursor and last outcome, per recipe (kept by recipes.polling;
# forgotten here when the recipe is removed).
POLL_CURSORS = "poll_cursors"
POLL_STATUS = "poll_status"
_STEP_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_-]{0,63}$")


class Step(BaseModel):
    """One make-request step: an action and the values that replace its own."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field("", description="the step's name in pills (steps.NAME...); default: the action's name")
    action: str = Field(description="the saved action this step runs")
    url: str | None = Field(None, description="replaces the action's URL")
    headers: dict[str, str] = Field(default_factory=dict, description="added to (or replacing) the action's headers")
    query: dict[str, Any] = Field(default_factory=dict, description="added to (or replacing) the action's query")
    body: Any = Field(None, description="replaces the action's body when given")

    def request_values(self) -> dict[str, Any]:
        """Return the values this step sets (URL, headers, query, body), for pill checks."""
        out: dict[str, Any] = {"headers": self.headers, "query": self.query}
        if self.url is not None:
            out["url"] = self.url
        if "body" in self.model_fields_set:
            out["body"] = self.body
        return out


class TriggerSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    type: str
    config: dict[str, Any] = Field(default_factory=dict)


class Recipe(BaseModel):
    """A recipe as saved: its trigger (config validated by the trigger type), its steps,
    whether it runs, and the token in its webhook URL."""

    model_config = ConfigDict(extra="forbid", arbitrary_types_allowed=True)

    name: Name
    description: str = ""
    trigger: TriggerSpec
    steps: list[Step] = Field(default_factory=list)
    status: Literal["stopped", "started"] = "stopped"
    started_at: str | None = None
    token: str = Field(default_factory=lambda: _random.token_urlsafe(24))
    created_at: str = Field(default_factory=now_iso)
    updated_at: str = Field(default_factory=now_iso)

    def trigger_type(self) -> TriggerType:
        """Return the registered trigger type; raises ``UserInputError`` when it is not installed."""
        found = triggers.get(self.trigger.type)
        if found is None:
            known = ", ".join(triggers.names()) or "none are installed"
            raise UserInputError(f"Unknown trigger type {self.trigger.type!r}.", field="trigger.type", fix=f"use one of: {known}")
        return found

    def trigger_config(self) -> BaseModel:
        """Return the trigger's configuration validated by its type; raises ``UserInputError``."""
        kind = self.trigger_type()
        try:
            return kind.Config.model_validate(self.trigger.config)
        except ValidationError as exc:
            raise UserInputError(
                "Invalid trigger configuration: " + format_validation_error(exc, prefix="trigger.config."),
                field="trigger.config",
                fix=f"see the fields of the {kind.name!r} trigger",
            ) from None

    def public(self, webhook_base: str | None = None) -> dict[str, Any]:
        """Return the recipe as JSON-able data, secrets of the trigger masked; with
        ``webhook_base`` (e.g. ``http://host:port``) a webhook recipe shows its URL."""
        data = self.model_dump(mode="json", exclude={"trigger", "token"})
        config = self.trigger_config()
        data["trigger"] = {"type": self.trigger.type, "config": mask(config.model_dump(mode="python"))}
        if self.trigger_type().receives_http:
            data["webhook_path"] = f"/hooks/{self.token}"
            if webhook_base:
                data["webhook_url"] = webhook_base.rstrip("/") + data["webhook_path"]
        return data


def build_recipe(data: dict[str, Any]) -> Recipe:
    """Validate raw data into a :class:`Recipe` (pills not checked yet); raises ``UserInputError``."""
    try:
        recipe = Recipe.model_validate(data)
    except ValidationError as exc:
        raise UserInputError("Invalid recipe: " + format_validation_error(exc), field="recipe", fix="correct the field named above") from None
    # Store the trigger config as its type validated it (defaults filled in), secrets in clear for sealing.
    config = recipe.trigger_config()
    recipe.trigger.config = _plain(config.model_dump(mode="python"))
    seen: set[str] = set()
    for n, step in enumerate(recipe.steps):
        step.name = step.name or re.sub(r"[^A-Za-z0-9_-]", "_", step.action)
        where = f"steps[{n}].name"
        if not _STEP_RE.match(step.name):
            raise UserInputError(f"{where} {step.name!r} is not a step name.", field=where, fix="use letters, digits, '_' or '-' (max 64)")
        if step.name in seen:
            raise UserInputError(f"Two steps are named {step.name!r}.", field=where, fix="give each step its own name")
        seen.add(step.name)
    return recipe


def _plain(value: Any) -> Any:
    from pydantic import SecretStr

    if isinstance(value, SecretStr):
        return value.get_secret_value()
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def check_pills(recipe: Recipe, actions: dict[str, Action]) -> None:
    """Check every pill of every step against the datatrees it may use.

    Raises ``UserInputError`` naming the step, the place of the pill and the missing
    field (or the unknown or later step it names).
    """
    kind = recipe.trigger_type()
    config = recipe.trigger_config()
    trigger_tree = infer(kind.sample_event(config))
    open_paths = kind.dynamic_paths(config)
    earlier: dict[str, Action | None] = {}
    for step in recipe.steps:
        for where, pill in datapills.find_pills(step.request_values()):
            field = f"steps.{step.name}.{where}"
            if pill.path[0] == "trigger":
                missing = datapills.check_pill(pill, pill.path[1:], trigger_tree, open_paths=open_paths)
                if missing:
                    raise UserInputError(
                        f"Step {step.name!r}, {where}: {pill.text} points at {missing!r}, which is not in the "
                        f"{recipe.trigger.type} trigger's datatree.",
                        field=field,
                        fix="point at one of: " + _some(trigger_tree, open_paths),
                    )
                continue
            target = pill.path[1]
            if target not in earlier:
                later = target == step.name or any(s.name == target for s in recipe.steps)
                raise UserInputError(
                    f"Step {step.name!r}, {where}: {pill.text} names the step {target!r}, which "
                    + ("does not run before it." if later else "does not exist."),
                    field=field,
                    fix="point at the trigger or at a step that runs earlier: " + (", ".join(earlier) or "(none)"),
                )
            _check_step_pill(step.name, where, field, pill, earlier[target])
        earlier[step.name] = actions.get(step.action)


def _check_items_pill(step: str, where: str, field: str, pill: datapills.Pill, action: Action) -> None:
    rest = pill.path[3:]  # after steps.NAME.items
    fix = "use steps.NAME.items[0].FIELD (an item gathered from every page) or steps.NAME.pages (the page count)"
    if pill.path[2] == "pages":
        if rest:
            raise UserInputError(f"Step {step!r}, {where}: {pill.text}: pages is a count and has no fields.", field=field, fix=fix)
        return
    if rest and not isinstance(rest[0], int):
        raise UserInputError(f"Step {step!r}, {where}: {pill.text}: items is a list; pick one item with [N].", field=field, fix=fix)
    items = datapills.item_tree(action.datatree, action.pagination.records)
    _refuse_missing(step, where, field, pill, rest[1:], items,
                    f"the items step {pill.path[1]!r} gathers (at {action.pagination.records or 'the body'})")


def draft_refused(step: str, action: Action, field: str | None = None) -> UserInputError:
    """Return the error of a step whose action is an unproven draft: no recipe saves,
    starts or runs one (its request never got a 2xx from the live API)."""
    return UserInputError(
        f"Step {step!r} runs the action {action.name!r}, an unproven draft ({action.draft_reason or NEVER_PROVEN}): "
        "nothing is sent for a draft.", field=field or "action",
        fix=f"prove it with `plugwire actions prove {action.name}` (or POST /api/actions/{action.name}/prove, or Prove on its console page)",
    )


def _refuse_missing(step: str, where: str, field: str, pill: datapills.Pill, rel: tuple[str | int, ...],
                    tree: DataTree | None, what: str) -> None:
    missing = datapills.check_pill(pill, rel, tree)
    if missing:
        raise UserInputError(f"Step {step!r}, {where}: {pill.text} points at {missing!r}, which is not in {what}.",
                             field=field, fix="point at one of: " + _some(tree, []))


def _check_step_pill(step: str, where: str, field: str, pill: datapills.Pill, action: Action | None) -> None:
    rest = pill.path[2:]
    if action is not None and action.pagination is not None and rest and rest[0] in ("items", "pages"):
        _check_items_pill(step, where, field, pill, action)
        return
    tree = action.datatree if action is not None else None
    fix = "use steps.NAME.response.body.FIELD, steps.NAME.response.status or steps.NAME.response.headers.NAME"
    if action is not None and action.pagination is not None:
        fix += ", steps.NAME.items[0].FIELD or steps.NAME.pages"
    if not rest or rest[0] != "response" or (len(rest) > 1 and rest[1] not in ("status", "headers", "body")):
        raise UserInputError(f"Step {step!r}, {where}: {pill.text} does not point into a step's response.", field=field, fix=fix)
    if len(rest) > 2 and rest[1] == "status":
        raise UserInputError(f"Step {step!r}, {where}: {pill.text}: a status has no fields.", field=field, fix=fix)
    if len(rest) > 2 and rest[1] == "body":
        _refuse_missing(step, where, field, pill, rest[2:], tree, f"the datatree of step {pill.path[1]!r}'s response")


def _some(tree: DataTree | None, open_paths: list[str], limit: int = 12) -> str:
    paths = [p for p in (tree.paths() if tree else []) if "[]" not in p][:limit] + [f"{p}.NAME" for p in open_paths]
    return ", ".join(paths) or "(no fields)"


class Recipes:
    """Create, read, start, stop and remove recipes in one data folder."""

    def __init__(self, home: Home):
        self.home = home
        self.actions = Actions(home)

    def _record(self, recipe: Recipe) -> dict[str, Any]:
        data = recipe.model_dump(mode="json", exclude={"trigger"})
        for step, saved in zip(recipe.steps, data["steps"]):
            if "body" not in step.model_fields_set:
                del saved["body"]  # a stored null body would replace the action's body when loaded
        config = recipe.trigger_config()
        data["trigger"] = {"type": recipe.trigger.type, "config": seal(config.model_dump(mode="python"), self.home.cipher)}
        return data

    def _from_record(self, rec: dict[str, Any]) -> Recipe:
        return Recipe.model_validate(unseal(rec, self.home.cipher))

    def validate(self, data: dict[str, Any] | Recipe) -> Recipe:
        """Return the recipe validated: fields, trigger config, actions that exist,
        and every pill. Raises ``UserInputError`` naming the step and field."""
        recipe = data if isinstance(data, Recipe) else build_recipe(data)
        found: dict[str, Action] = {}
        for n, step in enumerate(recipe.steps):
            try:
                found[step.action] = self.actions.get(step.action)
            except NotFoundError:
                raise UserInputError(
                    f"Step {step.name!r} runs the action {step.action!r}, which does not exist.",
                    field=f"steps[{n}].action",
                    fix="create it with `plugwire actions new`, or correct the name",
                ) from None
            if not found[step.action].proven:
                raise draft_refused(step.name, found[step.action], field=f"steps[{n}].action")
        check_pills(recipe, found)
        return recipe

    def create(self, data: dict[str, Any]) -> Recipe:
        """Validate and save a new (stopped) recipe; returns it. Raises
        ``UserInputError`` or ``AlreadyExistsError``."""
        with self.home.store.transaction() as tx:  # its actions are checked as they are when it is written
            recipe = self.validate({**data, "status": "stopped", "started_at": None})
            tx.insert(TABLE, recipe.name, self._record(recipe))
            # It starts afresh: no poll cursor or status of an earlier recipe of its name.
            tx.delete(POLL_CURSORS, recipe.name)
            tx.delete(POLL_STATUS, recipe.name)
        return recipe

    def update(self, name: str, data: dict[str, Any]) -> Recipe:
        """Replace the ``description``, ``trigger`` and/or ``steps`` of the recipe
        ``name`` with those in ``data``, validated and every pill checked; its status,
        webhook token and creation time stay. Returns the recipe. Raises
        ``NotFoundError`` (also when it was removed meanwhile) or ``UserInputError``
        (naming the step and field; nothing is written)."""
        # Read, merge, check and write in one transaction: a start, stop or update made
        # meanwhile by another process is kept, and a removed recipe is not recreated.
        with self.home.store.transaction() as tx:
            current = self.get(name)
            merged = current.model_dump(mode="python", exclude={"steps"})
            merged["steps"] = [s.model_dump(mode="python", exclude_unset=True) for s in current.steps]
            merged.update({k: v for k, v in data.items() if k in ("description", "trigger", "steps")})
            recipe = self.validate({**merged, "name": name, "updated_at": now_iso()})
            tx.put(TABLE, name, self._record(recipe))
        return recipe

    def get(self, name: str) -> Recipe:
        """Return the recipe ``name``; raises ``NotFoundError``."""
        rec = self.home.store.get(TABLE, name)
        if rec is None:
            raise NotFoundError(f"No recipe named {name!r}.", field="name", fix="list them with `plugwire recipes list`")
        return self._from_record(rec)

    def list(self) -> list[Recipe]:
        """Return every recipe, sorted by name."""
        return [self._from_record(r) for _, r in sorted(self.home.store.all(TABLE).items())]

    def _set_status(self, name: str, status: str) -> Recipe:
        with self.home.store.transaction() as tx:  # as in update: nothing made meanwhile is lost
            recipe = self.get(name)
            if status == "started":
                self.validate(recipe)  # its actions may have changed since it was saved
            recipe = recipe.model_copy(update={"status": status, "started_at": now_iso() if status == "started" else None, "updated_at": now_iso()})
            tx.put(TABLE, name, self._record(recipe))
        return recipe

    def is_saved(self, name: str, token: str | None = None) -> bool:
        """Return whether the recipe ``name`` is saved and, given its webhook ``token``,
        is still the same recipe (not one made anew under the name). Inside a
        transaction, the answer holds until it ends."""
        record = self.home.store.get(TABLE, name)
        return record is not None and (token is None or record.get("token") == token)

    def start(self, name: str) -> Recipe:
        """Start the recipe (its trigger delivers events from now on); returns it.
        Raises ``NotFoundError``, or ``UserInputError`` when its steps no longer check."""
        return self._set_status(name, "started")

    def stop(self, name: str) -> Recipe:
        """Stop the recipe (its webhook refuses events, its schedule pauses); returns it.
        Raises ``NotFoundError``."""
        return self._set_status(name, "stopped")

    def remove(self, name: str) -> None:
        """Delete the recipe (its jobs stay in the history) with its trigger's poll
        cursor and status, so a new recipe of the same name starts afresh; raises
        ``NotFoundError``."""
        with self.home.store.transaction() as tx:
            if not tx.delete(TABLE, name):
                raise NotFoundError(f"No recipe named {name!r}.", field="name", fix="list them with `plugwire recipes list`")
            tx.delete(POLL_CURSORS, name)
            tx.delete(POLL_STATUS, name)
