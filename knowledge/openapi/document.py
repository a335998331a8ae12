"""Reading an OpenAPI / Swagger document and resolving its ``$ref``s.

Refs are resolved lazily, when the importer walks to them, rather than by inlining
the whole document first: GitHub's description is 4 MB and mostly refs, and an
eager dereference of a recursive schema would never end. External file refs are
read relative to the document that contains them; each external document's own
refs are rewritten to absolute form when it is loaded, so a ref string is
meaningful wherever it is met.
"""

from __future__ import annotations

import datetime as _dt
import json
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import yaml

from plugwire.core.base.errors import UserInputError
from plugwire.knowledge.bounds import MAX_BYTES, check_tree, too_deep

__all__ = ["Faults", "Resolver", "load_document", "plain", "required_names"]

# The C loader is ten times faster on Stripe's 4 MB YAML; the pure one is the fallback.
_BASE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _YamlLoader(_BASE_LOADER):
    """The safe loader, except that a timestamp no calendar has (hour 25, February 30)
    stays the string it is written as: an example value, not a reason to lose the
    whole document."""


def _timestamp(loader: Any, node: Any) -> Any:
    try:
        return loader.construct_yaml_timestamp(node)
    except (ValueError, OverflowError):
        return loader.construct_scalar(node)


_YamlLoader.add_constructor("tag:yaml.org,2002:timestamp", _timestamp)
_YAML_LOADER = _YamlLoader


class Faults:
    """Problems found in the data, each reported once, in the order met."""

    def __init__(self) -> None:
        self._seen: set[str] = set()
        self.items: list[str] = []

    def add(self, message: str) -> None:
        """Record ``message`` unless the same text was already recorded."""
        if message not in self._seen:
            self._seen.add(message)
            self.items.append(message)


def _parse(text: str, where: str) -> Any:
    """Return the parsed JSON or YAML in ``text``, within the bounds of
    :mod:`plugwire.knowledge.bounds`; raises UserInputError naming ``where``."""
    doc = _parse_text(text, where)
    check_tree(doc, where)
    return doc


def _parse_text(text: str, where: str) -> Any:
    stripped = text.lstrip()
    if stripped.startswith(("{", "[")):
        try:
            return json.loads(text)
        except ValueError:
            pass  # YAML flow style also starts with "{"; let the YAML parser say what is wrong
        except RecursionError:
            raise too_deep(where, "spec") from None
    try:
        return yaml.load(text, Loader=_YAML_LOADER)
    except RecursionError:  # the pure-Python loader recurses; libyaml stops at 1000 levels
        raise too_deep(where, "spec") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise UserInputError(
            f"{where} is neither valid JSON nor valid YAML{at}: {getattr(exc, 'problem', None) or exc}.",
            field="spec",
            fix="give an OpenAPI 3.x or Swagger 2.0 document in JSON or YAML",
        ) from None


def _read(path: Path) -> Any:
    try:
        if path.is_file() and path.stat().st_size > MAX_BYTES:
            raise UserInputError(
                f"spec {path} is larger than {MAX_BYTES // 2**20} MB.", field="spec", fix="split the document into smaller ones"
            )
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise UserInputError(f"spec {path} does not exist.", field="spec", fix="give the path of an OpenAPI document") from None
    except IsADirectoryError:
        raise UserInputError(f"spec {path} is a folder.", field="spec", fix="give the path of an OpenAPI document file") from None
    except UnicodeDecodeError:
        raise UserInputError(f"spec {path} is not UTF-8 text.", field="spec", fix="give a JSON or YAML document") from None
    except OSError as exc:
        raise UserInputError(f"spec {path} cannot be read ({exc.strerror}).", field="spec", fix="check the path and its permissions") from None
    return _parse(text, f"spec {path}")


def load_document(source: str | Path) -> tuple[dict, Path]:
    """Read the OpenAPI document at ``source`` (a file path).

    Returns ``(document, absolute_path)``. Raises UserInputError when the file is
    missing, unreadable, not JSON/YAML, or not an OpenAPI 3.x / Swagger 2.0 document.
    """
    text = str(source)
    if text.startswith(("http://", "https://")):
        raise UserInputError(
            f"spec {text} is a URL; plugwire imports documents from files.",
            field="spec",
            fix="download the document first (e.g. curl -o spec.json URL) and import the file",
        )
    path = Path(source).expanduser().resolve()
    doc = _read(path)
    if not isinstance(doc, dict):
        raise UserInputError(f"spec {path} is not a mapping at its top level.", field="spec", fix="give an OpenAPI document")
    version = str(doc.get("openapi") or doc.get("swagger") or "")
    if not (version.startswith("3.") or version.startswith("2.")):
        raise UserInputError(
            f"spec {path} has no 'openapi: 3.x' or 'swagger: \"2.0\"' field.",
            field="spec",
            fix="give an OpenAPI 3.0/3.1 or Swagger 2.0 document",
        )
    if not isinstance(doc.get("paths"), dict):
        raise UserInputError(f"spec {path} has no 'paths' mapping.", field="spec", fix="give a document that describes operations")
    return doc, path


def required_names(schema: Any) -> list[str]:
    """Return the property names a schema's ``required`` lists; nothing for any other
    value (``required: true`` on a schema or property, as JSON Schema draft 3 wrote it)."""
    value = schema.get("required") if isinstance(schema, dict) else None
    return [r for r in value if isinstance(r, str)] if isinstance(value, list) else []


def plain(value: Any) -> Any:
    """Return ``value`` with YAML's dates and datetimes turned into ISO strings (a copy).

    Samples end up in JSON and YAML files and in HTTP bodies; both need plain types.
    """
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, _dt.datetime):
        text = value.isoformat()
        return text.replace("+00:00", "Z")
    if isinstance(value, _dt.date):
        return value.isoformat()
    return value


class Resolver:
    """Follows ``$ref``s within the document and into files beside it.

    ``resolve(ref)`` returns the target node or None; a ref that cannot be followed
    is recorded in ``faults`` once.
    """

    def __init__(self, doc: dict, path: Path, faults: Faults):
        self.root = doc
        self.path = path
        self.faults = faults
        self._docs: dict[str, Any] = {str(path): doc}
        self._cache: dict[str, Any] = {}

    def resolve(self, ref: str) -> Any:
        """Return the node ``ref`` points at, or None when it cannot be resolved."""
        try:
            return self._cache[ref]
        except KeyError:
            pass
        target = self._lookup(ref)
        self._cache[ref] = target
        return target

    def deref(self, node: Any, stack: tuple[str, ...] = ()) -> tuple[Any, tuple[str, ...]]:
        """Follow ``node``'s ``$ref`` chain.

        Returns ``(target, stack)`` where ``stack`` gained every ref followed; the
        target is None when a ref is unresolvable or leads back into ``stack``
        (a cycle, which the caller cuts). Sibling keys of a ``$ref`` (OpenAPI 3.1)
        override the target's.
        """
        hops = 0
        while isinstance(node, dict) and isinstance(node.get("$ref"), str):
            ref = node["$ref"]
            if ref in stack or hops > 50:
                return None, stack
            target = self.resolve(ref)
            if target is None:
                return None, stack
            if len(node) > 1 and isinstance(target, dict):
                target = {**target, **{k: v for k, v in node.items() if k != "$ref"}}
            stack = stack + (ref,)
            node = target
            hops += 1
        return node, stack

    def node(self, node: Any) -> Any:
        """Return ``node`` with its ``$ref`` chain followed (None when unresolvable)."""
        return self.deref(node)[0]

    def _lookup(self, ref: str) -> Any:
        location, _, pointer = ref.partition("#")
        if location.startswith(("http://", "https://")):
            self.faults.add(f"$ref {ref!r} points at a URL; remote documents are not fetched, so it stays unresolved")
            return None
        doc = self.root if not location else self._external(location, ref)
        if doc is None:
            return None
        node = doc
        for raw in pointer.split("/")[1:] if pointer else []:
            part = unquote(raw).replace("~1", "/").replace("~0", "~")
            if isinstance(node, dict) and part in node:
                node = node[part]
            elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
                node = node[int(part)]
            else:
                self.faults.add(f"$ref {ref!r} cannot be resolved: nothing at {pointer!r}")
                return None
        return node

    def _external(self, location: str, ref: str) -> Any:
        file = Path(location) if Path(location).is_absolute() else self.path.parent / location
        key = str(file.resolve())
        if key in self._docs:
            return self._docs[key]
        try:
            doc = _read(file)
        except UserInputError as exc:
            self.faults.add(f"$ref {ref!r} cannot be resolved: {exc}")
            self._docs[key] = None
            return None
        _absolutise(doc, key)
        self._docs[key] = doc
        return doc


def _absolutise(node: Any, file: str) -> None:
    """Rewrite the refs inside an external document so they name their file."""
    base = Path(file).parent
    stack = [node]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            ref = item.get("$ref")
            if isinstance(ref, str) and not ref.startswith(("http://", "https://")):
                location, _, pointer = ref.partition("#")
                target = file if not location else str((base / location).resolve())
                item["$ref"] = f"{target}#{pointer}"
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
