"""Reading and validating catalogue files.

A file is YAML (``.yaml``/``.yml``) or JSON (``.json``) holding one provider; a YAML
file may hold several documents separated by ``---``, one provider each (the
user's ``learned.yaml`` does). Every problem is reported as
``FILE[:LINE]: path.in[2].the.document: message`` and a bad file never prevents
the others from loading.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from plugwire.core.base.errors import UserInputError
from plugwire.knowledge.bounds import MAX_DEPTH, MAX_VALUES, check_tree
from plugwire.knowledge.models import CatalogueFile, Endpoint
from plugwire.knowledge.files import CATALOGUE_SUFFIXES, catalogue_files_in  # re-exported: they were defined here

__all__ = [
    "CATALOGUE_SUFFIXES",
    "CatalogueProblem",
    "catalogue_files_in",
    "format_loc",
    "read_catalogue",
    "validate_files",
]


_AUTH_TAGS = {"none", "basic", "digest", "header", "query", "custom", "oauth2", "oauth2_client_credentials"}

try:  # the C loader parses large files several times faster; fall back when absent
    _Loader: Any = yaml.CSafeLoader
except AttributeError:  # pragma: no cover - depends on how PyYAML was built
    _Loader = yaml.SafeLoader


@dataclass(frozen=True)
class CatalogueProblem:
    """One problem in one catalogue file: where (file, line, path) and what."""

    file: str
    message: str
    loc: str = ""
    line: int | None = None

    def __str__(self) -> str:
        where = self.file if self.line is None else f"{self.file}:{self.line}"
        return f"{where}: {self.loc}: {self.message}" if self.loc else f"{where}: {self.message}"


def format_loc(loc: tuple[Any, ...]) -> str:
    """Return a pydantic error location as ``endpoints[3].request.body_format``.

    The discriminator tag pydantic inserts for auth hints (``auth.0.header.headers``)
    is dropped: the file has no such key.
    """
    out = ""
    prev: Any = None
    for i, part in enumerate(loc):
        if isinstance(part, int):
            out += f"[{part}]"
        elif isinstance(prev, int) and i >= 2 and loc[i - 2] == "auth" and part in _AUTH_TAGS:
            pass
        elif str(part).startswith(("function-", "model-")):
            pass
        else:
            out += f".{part}" if out else str(part)
        prev = part
    return out


def _line_of(node: yaml.Node | None, loc: tuple[Any, ...]) -> int | None:
    """Return the 1-based line of ``loc`` inside a composed YAML node, as deep as it exists."""
    if node is None:
        return None
    line = node.start_mark.line + 1
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                if getattr(key, "value", None) == part:
                    node = value
                    line = key.start_mark.line + 1
                    break
            else:
                return line
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int):
            if part >= len(node.value):
                return line
            node = node.value[part]
            line = node.start_mark.line + 1
        # discriminator tags and validator names are not in the document: keep going
    return line


def _documents(path: Path, text: str) -> list[Any]:
    if path.suffix.lower() == ".json":
        return [json.loads(text)]
    return list(yaml.load_all(text, Loader=_Loader))


def _nodes(path: Path, text: str) -> list[yaml.Node | None]:
    """Return the composed YAML documents (for line numbers; only done when a file has errors)."""
    if path.suffix.lower() == ".json":
        return [None]
    return [n for n in yaml.compose_all(text, Loader=_Loader) if n is not None and not _is_null(n)]


def _is_null(node: yaml.Node) -> bool:
    return isinstance(node, yaml.ScalarNode) and node.tag.endswith(":null")


#: Characters a path segment holds in nearly every catalogue (RFC 3986's, but ':'):
#: none of them is a space to ``str.isspace`` or special to Endpoint's path check.
_QUICK_CHARS = r"[A-Za-z0-9._~!$&'()*+,;=@%-]"
#: The paths :meth:`Endpoint._path_template` accepts unchanged at its first test (plain
#: segments and at most one well-named placeholder), as pydantic-core's own pattern:
#: a subset of them, since only these ASCII characters are taken.
_QUICK_PATH = (
    rf"^(?:/{_QUICK_CHARS}*)+$"
    rf"|^(?:/{_QUICK_CHARS}*)*/{_QUICK_CHARS}*\{{[A-Za-z_][A-Za-z0-9_.\-]*\}}{_QUICK_CHARS}*(?:/{_QUICK_CHARS}*)*$"
)


def _quick_schema(node: Any, found: set[str]) -> Any:
    """Return a copy of a pydantic core schema in which an :class:`Endpoint`'s method
    and path are first tried by pydantic-core alone (an upper-case method; a path of
    :data:`_QUICK_PATH`) and by their Python validator only when that fails: the same
    values accepted and the same results, without two Python calls per endpoint.
    ``found`` collects the fields changed."""
    from pydantic_core import core_schema

    if isinstance(node, list):
        return [_quick_schema(n, found) for n in node]
    if not isinstance(node, dict):
        return node
    out = {k: _quick_schema(v, found) for k, v in node.items()}
    if out.get("type") == "model" and out.get("cls") is Endpoint and out["schema"].get("type") == "model-fields":
        fields = out["schema"]["fields"] = dict(out["schema"]["fields"])
        method, path = fields["method"]["schema"], fields["path"]["schema"]
        if method.get("type") == "function-before" and method["function"].get("function") == Endpoint._upper:
            quick = core_schema.union_schema([method["schema"], method], mode="left_to_right")
            fields["method"] = {**fields["method"], "schema": quick}
            found.add("method")
        if path.get("type") == "function-after" and path["function"].get("function") == Endpoint._path_template:
            quick = core_schema.union_schema([core_schema.str_schema(pattern=_QUICK_PATH), path], mode="left_to_right")
            fields["path"] = {**fields["path"], "schema": quick}
            found.add("path")
    return out


def _json_fast_path() -> Any:
    """Return a validator of ``[<one catalogue JSON document>]`` that parses and
    validates in one pass, or None when its JSON reader's nesting limit is not the
    one this module needs (checked once, so a pydantic-core upgrade cannot loosen
    the bound: the file then takes the full path). Its schema is CatalogueFile's with
    :func:`_quick_schema`'s shortcuts, when pydantic still builds it as expected."""
    from pydantic import TypeAdapter
    from pydantic_core import SchemaValidator, core_schema

    adapter: Any = TypeAdapter(list[CatalogueFile])
    found: set[str] = set()
    quick = _quick_schema(CatalogueFile.__pydantic_core_schema__, found)
    if found == {"method", "path"}:
        adapter = SchemaValidator(core_schema.list_schema(quick))

    def too_deep_for_it(depth: int) -> bool:
        # one level of the wrapping list, then a document ``depth`` deep
        try:
            adapter.validate_json("[" + "[" * depth + "]" * depth + "]")
        except ValidationError as exc:
            return any(e["type"] == "json_invalid" for e in exc.errors(include_input=False, include_url=False))
        return False

    return adapter if too_deep_for_it(MAX_DEPTH + 1) and not too_deep_for_it(MAX_DEPTH) else None


_FAST: list[Any] = []


def _read_json_fast(text: str) -> CatalogueFile | None:
    """Return the provider of a JSON catalogue file that is valid and within the
    bounds, read in one pass; None for any other file (the full path words its
    problems, as before).

    A JSON text cannot share a node (no alias), holds at most one value per
    character, and the wrapped reader refuses more than :data:`MAX_DEPTH` levels
    (see :func:`_json_fast_path`): what :func:`check_tree` would refuse never gets
    through. Twice as quick as json.loads, the check and the validation at 100,000
    endpoints.
    """
    if not _FAST:
        _FAST.append(_json_fast_path())
    adapter = _FAST[0]
    if adapter is None or len(text) > MAX_VALUES:
        return None
    try:
        found = adapter.validate_json("[" + text + "]")
    except ValidationError:
        return None
    return found[0] if len(found) == 1 else None


def read_catalogue(path: Path | str, *, label: str | None = None) -> tuple[list[CatalogueFile], list[CatalogueProblem]]:
    """Read and validate one catalogue file.

    Returns ``(providers, problems)``: every valid document of the file, and one
    :class:`CatalogueProblem` per fault (unreadable file, syntax error, each schema
    error with its path and line). Never raises for a bad file.
    """
    path = Path(path)
    name = label or path.name
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = getattr(exc, "strerror", None) or "not UTF-8 text"
        return [], [CatalogueProblem(name, f"cannot read the file ({reason})")]
    if path.suffix.lower() == ".json":
        fast = _read_json_fast(text)
        if fast is not None:
            return [fast], []
    try:
        docs = _documents(path, text)
        for doc in docs:
            check_tree(doc, "the file", field="catalogue")
    except UserInputError as exc:
        return [], [CatalogueProblem(name, str(exc))]
    except RecursionError:
        return [], [CatalogueProblem(name, f"the file is nested more than {MAX_DEPTH} levels deep")]
    except json.JSONDecodeError as exc:
        return [], [CatalogueProblem(name, f"not valid JSON: {exc.msg}", line=exc.lineno)]
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        problem = getattr(exc, "problem", None) or str(exc)
        return [], [CatalogueProblem(name, f"not valid YAML: {problem}", line=line)]
    providers: list[CatalogueFile] = []
    problems: list[CatalogueProblem] = []
    docs = [d for d in docs if d is not None]
    if not docs:
        return [], [CatalogueProblem(name, "the file is empty; it must hold one provider (format, provider, name, hosts, endpoints)")]
    nodes: list[yaml.Node | None] | None = None
    for index, doc in enumerate(docs):
        prefix = f"document {index + 1}: " if len(docs) > 1 else ""
        if not isinstance(doc, dict):
            problems.append(CatalogueProblem(name, f"{prefix}must be a mapping with format, provider, name, hosts and endpoints"))
            continue
        try:
            providers.append(CatalogueFile.model_validate(doc))
        except ValidationError as exc:
            if nodes is None:
                nodes = _nodes(path, text)
            node = nodes[index] if index < len(nodes) else None
            for err in exc.errors(include_input=False, include_url=False):
                loc = tuple(err.get("loc", ()))
                msg = err.get("msg", "invalid").removeprefix("Value error, ")
                problems.append(CatalogueProblem(name, prefix + msg, loc=format_loc(loc) or "(top level)", line=_line_of(node, loc)))
    return providers, problems


def validate_files(paths: list[Path | str]) -> tuple[int, list[CatalogueProblem]]:
    """Validate catalogue files (a folder stands for its catalogue files).

    Returns ``(number of valid providers, every problem)``; a missing path is a problem.
    """
    count = 0
    problems: list[CatalogueProblem] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            files = catalogue_files_in(path)
            if not files:
                problems.append(CatalogueProblem(str(path), "the folder holds no .yaml, .yml or .json file"))
        elif path.exists():
            files = [path]
        else:
            problems.append(CatalogueProblem(str(path), "no such file"))
            continue
        for f in files:
            found, faults = read_catalogue(f, label=str(raw) if f == path else str(f))
            count += len(found)
            problems.extend(faults)
    return count, problems
