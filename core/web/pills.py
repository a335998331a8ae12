"""What the recipe step editor shows: the datapills a step may use (from the trigger's
datatree, the earlier steps' responses and a paginated step's gathered items) and a JSON body as rows of leaf values,
so that any static value can be replaced by a pill."""

from __future__ import annotations

import copy
import json
import re
from typing import Any, Iterator

from plugwire.core.recipes.datapills import format_path, item_tree
from plugwire.core.wizard.constraints import set_path
from plugwire.core.wizard.datatree import DataField, DataTree

__all__ = ["PillGroup", "body_leaves", "body_from_rows", "pill_groups"]

_PILL = re.compile(r"^\s*\{\{.*\}\}\s*$", re.S)


def _fields(node: DataField, segs: tuple[str | int, ...]) -> Iterator[tuple[tuple[str | int, ...], DataField]]:
    for child in node.children:
        here = (*segs, child.name)
        yield here, child
        yield from _fields(child, here)
    if node.item is not None:
        here = (*segs, 0)  # a pill names one element: the first
        yield here, node.item
        yield from _fields(node.item, here)


class PillGroup(dict):
    """``{"title", "pills": [{"pill", "path", "type", "example"}], "note"}``: the
    pills of one source (the trigger, or one earlier step)."""


def _group(title: str, root: tuple[str | int, ...], tree: DataTree | None, note: str = "") -> PillGroup:
    pills = []
    if tree is not None:
        for segs, f in _fields(tree.root, ()):
            pills.append({"pill": "{{" + format_path((*root, *segs)) + "}}", "path": format_path(segs), "type": f.type, "example": f.example})
    return PillGroup(title=title, pills=pills, note=note)


def pill_groups(recipe: Any, actions: dict[str, Any], upto: int) -> list[PillGroup]:
    """Return the pill groups a step at position ``upto`` may use: the trigger's
    event, then each earlier step's response (status, headers, body fields)."""
    from plugwire.core.wizard.datatree import infer

    kind = recipe.trigger_type()
    config = recipe.trigger_config()
    open_paths = kind.dynamic_paths(config)
    note = ("Any key under " + ", ".join(open_paths) + " is accepted too, e.g. {{trigger." + open_paths[0] + ".NAME}}.") if open_paths else ""
    groups = [_group(f"Trigger: {kind.title}", ("trigger",), infer(kind.sample_event(config)), note)]
    for step in recipe.steps[:upto]:
        action = actions.get(step.action)
        group = _group(f"Step {step.name} (action {step.action})", ("steps", step.name, "response", "body"), action.datatree if action else None)
        base = ("steps", step.name, "response")
        group["pills"][:0] = [
            {"pill": "{{" + format_path((*base, "status")) + "}}", "path": "status", "type": "integer", "example": None},
            {"pill": "{{" + format_path((*base, "headers")) + "}}", "path": "headers", "type": "object", "example": None},
        ]
        if action is not None and action.datatree is None:
            group["note"] = "This action has no saved response, so its fields are not known."
        if action is not None and action.pagination is not None:
            group["pills"] += _paged_pills(step.name, item_tree(action.datatree, action.pagination.records))
            group["note"] = (group["note"] + " " if group["note"] else "") + (
                "Its action fetches every page: items[0] is the first item gathered, pages how many pages it fetched.")
        groups.append(group)
    return groups


def _paged_pills(step: str, items: DataTree | None) -> list[dict[str, Any]]:
    root = ("steps", step, "items", 0)
    pills = _group("", root, items)["pills"] if items is not None else []
    for p in pills:
        p["path"] = "items[0]." + p["path"]
    if not pills:  # an empty list in the sample: its items' fields are not known
        pills = [{"pill": "{{" + format_path(root) + "}}", "path": "items[0]", "type": "any", "example": None}]
    pills.append({"pill": "{{" + format_path(("steps", step, "pages")) + "}}", "path": "pages", "type": "integer", "example": None})
    return pills


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    return "json"  # an empty object or list


def body_leaves(body: Any) -> list[dict[str, Any]] | None:
    """Return the leaf values of a JSON body as rows ``{"path", "text", "kind"}``
    (paths as ``venue.address.country`` / ``items[0].sku``), or None when the body
    is not a JSON object or array (it is then edited as text)."""
    if not isinstance(body, (dict, list)):
        return None
    rows: list[dict[str, Any]] = []

    def walk(value: Any, path: str) -> None:
        if isinstance(value, dict) and value:
            for k, v in value.items():
                if "." in str(k) or "[" in str(k):
                    continue  # such a key cannot be addressed by a dotted path: left as it is
                walk(v, f"{path}.{k}" if path else str(k))
        elif isinstance(value, list) and value:
            for n, v in enumerate(value):
                walk(v, f"{path}[{n}]")
        elif path:
            text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
            rows.append({"path": path, "text": text, "kind": _kind(value)})

    walk(body, "")
    return rows


def _typed(text: str, kind: str) -> Any:
    if _PILL.match(text) or kind == "string":
        return text
    if kind == "null" and text.strip() == "":
        return None
    try:
        return json.loads(text)
    except ValueError:
        return text  # the user typed words where a number was: keep them as text


def body_from_rows(base: Any, rows: dict[str, str], kinds: dict[str, str]) -> Any:
    """Return a copy of ``base`` with each leaf ``rows[path]`` set from its text, typed
    as the leaf was (``kinds[path]``); a lone pill stays a pill (it keeps the type of
    what it points at when the job runs)."""
    out = copy.deepcopy(base)
    for path, text in rows.items():
        set_path(out, path, _typed(text, kinds.get(path, "string")))
    return out
