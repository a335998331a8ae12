"""``plugwire plugins new``: write a plugin package that installs and passes its own
tests as generated.

A package has a ``pyproject.toml`` with the ``plugwire`` entry point, a module
declaring ``PLUGWIRE_PLUGIN_API``, tests that use plugwire's pytest plugin, and a
README. The files come from ``core/plugincore/templates/`` (``common/`` plus one folder per
kind); ``__NAME__``-style tokens in them are replaced.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from plugwire.core.base import VERSION as __version__
from plugwire.core.base.errors import AlreadyExistsError, UserInputError
from plugwire.core.plugincore.hookspecs import PLUGIN_API_VERSION

__all__ = ["KINDS", "Scaffold", "plan", "write_plugin"]

TEMPLATES = Path(__file__).resolve().parent / "templates"
KINDS = ("auth", "trigger", "suggester", "catalogue")
_NAME = re.compile(r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$")
_DESCRIPTIONS = {
    "auth": "plugwire auth type {title}: an API key sent in a header.",
    "trigger": "plugwire trigger {title}: JSON events posted to a recipe's URL.",
    "suggester": "plugwire request suggester for the {title} API.",
    "catalogue": "plugwire endpoint catalogue for the {title} API.",
}


@dataclass(frozen=True)
class Scaffold:
    """What a package will be called: plugin ``name``, distribution and package."""

    name: str
    kind: str

    @property
    def dist(self) -> str:
        return f"plugwire-{self.name}"

    @property
    def package(self) -> str:
        return self.dist.replace("-", "_")

    @property
    def class_prefix(self) -> str:
        return "".join(part.capitalize() for part in self.name.split("-"))

    @property
    def title(self) -> str:
        return " ".join(part.capitalize() for part in self.name.split("-"))

    def tokens(self) -> dict[str, str]:
        return {
            "__DIST__": self.dist,
            "__PKG__": self.package,
            "__NAME__": self.name,
            "__CLASS__": self.class_prefix,
            "__TITLE__": self.title,
            "__KIND__": self.kind,
            "__API__": str(PLUGIN_API_VERSION),
            "__PLUGWIRE_VERSION__": __version__,
            "__DESCRIPTION__": _DESCRIPTIONS[self.kind].format(title=self.title),
        }


def _check(name: str, kind: str) -> Scaffold:
    if kind not in KINDS:
        raise UserInputError(f"--kind {kind!r} is not a kind of plugin.", field="kind", fix=f"use one of: {', '.join(KINDS)}")
    name = name.strip().lower().removeprefix("plugwire-")
    if not _NAME.match(name):
        raise UserInputError(
            f"NAME {name!r} cannot name a plugin package.",
            field="name",
            fix="use lower-case letters and digits, words joined by '-', starting with a letter (e.g. acme-crm)",
        )
    return Scaffold(name, kind)


def plan(name: str, kind: str) -> tuple[Scaffold, dict[str, str]]:
    """Return the package's names and its files (relative path -> text), unwritten.

    Raises ``UserInputError`` naming ``name`` or ``kind`` when either is not usable.
    """
    s = _check(name, kind)
    sources = {
        "pyproject.toml": "common/pyproject.toml.tmpl",
        "README.md": "common/README.md.tmpl",
        f"src/{s.package}/__init__.py": f"{kind}/__init__.py.tmpl",
        f"tests/test_{s.package}.py": f"{kind}/test.py.tmpl",
    }
    if kind == "catalogue":
        sources[f"src/{s.package}/catalogue/{s.name}.yaml"] = "catalogue/catalogue.yaml.tmpl"
    files = {}
    for rel, template in sources.items():
        text = (TEMPLATES / template).read_text(encoding="utf-8")
        for token, value in s.tokens().items():
            text = text.replace(token, value)
        files[rel] = text
    return s, files


def write_plugin(name: str, kind: str, folder: Path | str = ".") -> tuple[Path, list[Path]]:
    """Write the package ``plugwire-NAME`` into ``folder``; returns its root and files.

    Raises ``UserInputError`` for a bad name or kind, ``AlreadyExistsError`` when
    the package folder exists already (nothing is overwritten).
    """
    s, files = plan(name, kind)
    root = Path(folder).expanduser() / s.dist
    if root.exists():
        raise AlreadyExistsError(
            f"{root} exists already; nothing was written.", field="dir", fix="choose another NAME or --dir, or remove the folder"
        )
    written = []
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return root, written
