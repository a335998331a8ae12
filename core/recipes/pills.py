"""The datapills a recipe's step may use, listed for a person choosing one: the
trigger's event fields, then each earlier step's response (status, headers, body fields)."""

from __future__ import annotations

from typing import Any

from plugwire.core.plugincore.triggers import TriggerType
from plugwire.core.recipes.datapills import format_path
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


def offered_pills(kind: TriggerType, config: Any, earlier: list[tuple[str, DataTree | None]]) -> list[dict[str, Any]]:
    """Return ``{"pill", "type", "example"}`` for every pill a step after the steps
    ``earlier`` (``(step name, its action's datatree)``) may use; ``pill`` is the
    path written inside ``{{ }}``."""
    pills = _from_tree(("trigger",), infer(kind.sample_event(config)))
    pills += [{"pill": f"trigger.{p}.NAME", "type": "any key", "example": None} for p in kind.dynamic_paths(config)]
    for name, tree in earlier:
        base = ("steps", name, "response")
        pills.append({"pill": format_path((*base, "status")), "type": "integer", "example": None})
        pills.append({"pill": format_path((*base, "headers")) + ".NAME", "type": "any header", "example": None})
        pills += _from_tree((*base, "body"), tree)
    return pills
