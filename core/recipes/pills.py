"""The datapills a recipe's step may use, listed for a person choosing one: the
trigger's event fields, then each earlier step's response (status, headers, body fields)
and, for a paginated step, one gathered item's fields and the page count."""

from __future__ import annotations

from typing import Any

from plugwire.core.plugincore.triggers import TriggerType
from plugwire.core.recipes.datapills import format_path, item_tree
from plugwire.core.wizard.datatree import DataField, DataTree, infer

__all__ = ["offered_pills"]


def _paths(node: DataField, segs: tuple[str | int, ...]) -> list[tuple[tuple[str | int, ...], DataField]]:
    out = []
    for child in node.children:
        out.append(((*segs, child.name), child))
        out.extend(_paths(child, (*segs, child.name)))
    if node.item is not None:  # a pill names one element of an array: the first
        out.append(((*segs, 0), node.item))
        out.extend(_paths(node.item, (*segs, 0)))
    return out


def _from_tree(root: tuple[str | int, ...], tree: DataTree | None) -> list[dict[str, Any]]:
    if tree is None:
        return []
    return [{"pill": format_path((*root, *segs)), "type": f.type, "example": f.example} for segs, f in _paths(tree.root, ())]


def offered_pills(kind: TriggerType, config: Any, earlier: list[tuple[Any, ...]]) -> list[dict[str, Any]]:
    """Return ``{"pill", "type", "example"}`` for every pill a step after the steps
    ``earlier`` may use; ``pill`` is the path written inside ``{{ }}``.

    Each of ``earlier`` is ``(step name, its action's datatree)`` or, to offer a
    paginated step's ``items[0].FIELD`` and ``pages`` too, ``(step name, datatree,
    its action's pagination)``."""
    pills = _from_tree(("trigger",), infer(kind.sample_event(config)))
    pills += [{"pill": f"trigger.{p}.NAME", "type": "any key", "example": None} for p in kind.dynamic_paths(config)]
    for name, tree, *paged in earlier:
        base = ("steps", name, "response")
        pills.append({"pill": format_path((*base, "status")), "type": "integer", "example": None})
        pills.append({"pill": format_path((*base, "headers")) + ".NAME", "type": "any header", "example": None})
        pills += _from_tree((*base, "body"), tree)
        pagination = paged[0] if paged else None
        if pagination is not None:
            # Every page's items, gathered: a pill names one (the first); pages is how many were fetched.
            items = item_tree(tree, pagination.records)
            pills += _from_tree(("steps", name, "items", 0), items) if items else [
                {"pill": format_path(("steps", name, "items", 0)), "type": "any", "example": None}]
            pills.append({"pill": format_path(("steps", name, "pages")), "type": "integer", "example": None})
    return pills
