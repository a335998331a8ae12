"""Mutation run over the modules that keep plugwire's promises (issue 17).

Each mutant changes one thing in one function (a comparison, a boolean operator, a
``not``, a constant, an arithmetic operator, a returned value, a ``raise`` or a call
statement removed), and the tests that cover that module are run against it. A
mutant the tests catch is *killed*; one they pass is a *survivor*: a line whose
breaking no test notices. Survivors are printed with their line and change.

Why not mutmut or cosmic-ray (both install from PyPI here): cosmic-ray writes each
mutant into the source file on disk, and mutmut 3 into a ``mutants/`` copy that it
puts first on ``sys.path``. Here the package is imported through an editable finder
that maps ``plugwire.core`` to ``core/`` (pyproject's package-dir), so mutmut's copy
is never the module imported, and cosmic-ray would rewrite files of a working tree
that several people run tests in at the same time. This script never writes the
tree: the mutant is handed to Python by an import hook (a ``sitecustomize`` on
``PYTHONPATH``, so subprocesses the tests start, such as the server and its job
writer, import the mutant too), and nothing reaches ``__pycache__``.

    nice -n 10 .venv/bin/python bench/mutation.py netpolicy webhook-signatures
    .venv/bin/python bench/mutation.py --list retry       # the mutants, not run
    .venv/bin/python bench/mutation.py --show 5 webhook-signatures   # one mutant's diff
    .venv/bin/python bench/mutation.py webhook-signatures --only 5 \
        --tests tests/test_bite_signatures.py             # does this test kill #5?

Bounded: only the named test files run, with ``-x`` (a kill stops at the first
failure), and a mutant that runs past three times the clean run (at least 60 s)
counts as killed by timeout. Exit status 0; the figures are the output.
"""

from __future__ import annotations

import argparse
import ast
import copy
import difflib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# name -> (source file, functions to mutate (None: every function), test files).
TARGETS: dict[str, tuple[str, tuple[str, ...] | None, tuple[str, ...]]] = {
    "webhook-signatures": (
        "plugins/triggers/webhook.py", ("_sent_bytes", "_verify_hmac", "_verify_standard", "receive"),
        ("tests/test_bite_signatures.py", "tests/test_triggers.py", "tests/test_hostile_webhooks.py"),
    ),
    "netpolicy": ("core/http/netpolicy.py", None, ("tests/test_bite_netpolicy.py", "tests/test_netpolicy.py",
                                                 "tests/test_policy_pinning.py")),
    "pinning": ("core/http/pinning.py", None, ("tests/test_mut_pinning.py", "tests/test_policy_pinning.py",
                                             "tests/test_bite_netpolicy.py", "tests/test_netpolicy.py")),
    "redact": ("core/base/redact.py", None, ("tests/test_mut_redact.py", "tests/test_log_redaction.py",
                                          "tests/test_send_secrets.py", "tests/test_bite_job_scrub.py")),
    "capture": ("core/http/capture.py", None, ("tests/test_mut_capture.py", "tests/test_send_secrets.py",
                                             "tests/test_bite_job_scrub.py")),
    # mask is what the public views of connections and recipes show (the job scrub is redact's).
    "secrets-mask": ("core/base/secrets.py", ("mask",), ("tests/test_mut_secrets_mask.py", "tests/test_plugin_core.py",
                                                      "tests/test_recipes.py", "tests/test_tls.py")),
    "oauth2-tokens": ("plugins/auth/oauth2_tokens.py", None, ("tests/test_mut_oauth2_tokens.py", "tests/test_bite_oauth2_lock.py",
                                                          "tests/test_token_refresh_race.py", "tests/test_oauth2.py")),
    # The renewal itself (the lock per connection, the store read again under it) is the bearer auth's.
    "oauth2-bearer": ("plugins/auth/oauth2_bearer.py", None, ("tests/test_mut_oauth2_bearer.py", "tests/test_bite_oauth2_lock.py",
                                                          "tests/test_token_refresh_race.py", "tests/test_oauth2.py")),
    "jobwriter": ("core/storage/jobwriter.py", None, ("tests/test_mut_jobwriter.py", "tests/test_bite_writer.py",
                                                    "tests/test_jobs.py")),
    # The Apply rule is also what proves an action saved elsewhere (core/wizard/prove.py).
    "apply": ("core/wizard/apply.py", None, ("tests/test_mut_apply.py", "tests/test_wizard.py",
                                           "tests/test_action_proof.py", "tests/test_pagination_wizard.py")),
    # test_wizard_bodies holds RetryPolicy's and parse_retry_after's own tests.
    "retry": ("core/http/retry.py", None, ("tests/test_mut_retry.py", "tests/test_wizard_bodies.py",
                                         "tests/test_pagination.py", "tests/test_server.py")),
}

_SWAP = {
    ast.Eq: ast.NotEq, ast.NotEq: ast.Eq, ast.Lt: ast.LtE, ast.LtE: ast.Lt, ast.Gt: ast.GtE, ast.GtE: ast.Gt,
    ast.In: ast.NotIn, ast.NotIn: ast.In, ast.Is: ast.IsNot, ast.IsNot: ast.Is,
    ast.And: ast.Or, ast.Or: ast.And, ast.Add: ast.Sub, ast.Sub: ast.Add, ast.Mult: ast.Div, ast.Div: ast.Mult,
}
_SYMBOL = {
    ast.Eq: "==", ast.NotEq: "!=", ast.Lt: "<", ast.LtE: "<=", ast.Gt: ">", ast.GtE: ">=", ast.In: "in",
    ast.NotIn: "not in", ast.Is: "is", ast.IsNot: "is not", ast.And: "and", ast.Or: "or", ast.Add: "+",
    ast.Sub: "-", ast.Mult: "*", ast.Div: "/",
}

# The import hook, run by every Python process of a mutant's test run.
_SITECUSTOMIZE = '''
import importlib.machinery, importlib.util, os, sys
_NAME, _SOURCE, _SEEN = os.environ["MUTANT_MODULE"], os.environ["MUTANT_SOURCE"], os.environ["MUTANT_SEEN"]

class _Loader(importlib.machinery.SourceFileLoader):
    def get_code(self, fullname):
        # Compiled from the mutant every time: never from or into __pycache__.
        with open(_SOURCE, encoding="utf-8") as f:
            code = compile(f.read(), self.path, "exec", dont_inherit=True)
        with open(_SEEN, "a") as f:
            f.write(f"{os.getpid()}\\n")
        return code

class _Finder:
    @staticmethod
    def find_spec(fullname, path=None, target=None):
        if fullname != _NAME:
            return None
        sys.meta_path.remove(_Finder)
        try:
            spec = importlib.util.find_spec(fullname)
        finally:
            sys.meta_path.insert(0, _Finder)
        return importlib.util.spec_from_file_location(fullname, spec.origin, loader=_Loader(fullname, spec.origin))

sys.meta_path.insert(0, _Finder)
'''


@dataclass(frozen=True)
class Mutant:
    """One change: its number in the module, the line, and what was changed."""

    index: int
    line: int
    function: str
    change: str


def module_name(path: str) -> str:
    """Return the import name of a source file (``core/x/y.py`` is ``plugwire.core.x.y``)."""
    parts = Path(path).with_suffix("").parts
    return ".".join(("plugwire", *parts)) if parts[0] in {"core", "plugins", "knowledge"} else ".".join(parts)


def _functions(tree: ast.Module, wanted: tuple[str, ...] | None):
    """Yield the functions (and methods) to mutate, outermost first."""
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and (wanted is None or node.name in wanted):
            yield node


def _body_nodes(func: ast.FunctionDef | ast.AsyncFunctionDef):
    """Yield the nodes of a function's body, skipping its docstring and nested functions."""
    body = func.body
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) and isinstance(body[0].value.value, str):
        body = body[1:]
    stack = list(reversed(body))
    while stack:
        node = stack.pop()
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)):
            continue  # a nested function is mutated as a function of its own when named
        yield node
        stack.extend(reversed([c for c in ast.iter_child_nodes(node) if not isinstance(c, ast.expr_context)]))


def _sites(node: ast.AST) -> list[tuple[str, object]]:
    """The mutations possible at one node, as (description, how) pairs."""
    out: list[tuple[str, object]] = []
    if isinstance(node, ast.Compare):
        for i, op in enumerate(node.ops):
            if type(op) in _SWAP:
                out.append((f"{_SYMBOL[type(op)]} -> {_SYMBOL[_SWAP[type(op)]]}", ("cmp", i)))
    elif isinstance(node, (ast.BoolOp, ast.BinOp)) and type(node.op) in _SWAP:
        out.append((f"{_SYMBOL[type(node.op)]} -> {_SYMBOL[_SWAP[type(node.op)]]}", ("op",)))
    elif isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
        out.append(("not x -> x", ("unnot",)))
    elif isinstance(node, ast.Constant) and isinstance(node.value, bool):
        out.append((f"{node.value} -> {not node.value}", ("const", not node.value)))
    elif isinstance(node, ast.Constant) and type(node.value) in (int, float):
        out.append((f"{node.value!r} -> {node.value + 1!r}", ("const", node.value + 1)))
    elif isinstance(node, ast.Return) and node.value is not None and not (
            isinstance(node.value, ast.Constant) and node.value.value is None):
        out.append(("return X -> return None", ("retnone",)))
    elif isinstance(node, ast.Raise):
        out.append(("raise removed", ("pass",)))
    elif isinstance(node, ast.Expr) and isinstance(node.value, (ast.Call, ast.Await)):
        out.append(("call statement removed", ("pass",)))
    return out


def _apply(node: ast.AST, how: tuple) -> ast.AST:
    """Change ``node`` in place (or return its replacement) as ``how`` says."""
    kind = how[0]
    if kind == "cmp":
        node.ops[how[1]] = _SWAP[type(node.ops[how[1]])]()
    elif kind == "op":
        node.op = _SWAP[type(node.op)]()
    elif kind == "unnot":
        return node.operand
    elif kind == "const":
        node.value = how[1]
    elif kind == "retnone":
        node.value = ast.Constant(None)
    elif kind == "pass":
        return ast.Pass()
    return node


def _enumerate(tree: ast.Module, wanted: tuple[str, ...] | None):
    """Yield (function, node, description, how) for every mutation of the module, in a fixed order."""
    seen: set[int] = set()
    for func in _functions(tree, wanted):
        for node in _body_nodes(func):
            if id(node) in seen:
                continue
            seen.add(id(node))
            for description, how in _sites(node):
                yield func.name, node, description, how


def mutants(path: Path, wanted: tuple[str, ...] | None) -> list[Mutant]:
    """List the mutants of a source file."""
    tree = ast.parse(path.read_text())
    return [Mutant(i, node.lineno, fn, d) for i, (fn, node, d, _) in enumerate(_enumerate(tree, wanted))]


def mutant_source(path: Path, wanted: tuple[str, ...] | None, index: int) -> str:
    """Return the module's source with mutant ``index`` applied."""
    tree = ast.parse(path.read_text())
    for i, (_, node, _, how) in enumerate(_enumerate(tree, wanted)):
        if i == index:
            replacement = _apply(node, how)
            if replacement is not node:
                _replace(tree, node, replacement)
            return ast.unparse(ast.fix_missing_locations(tree))
    raise IndexError(index)


def _replace(tree: ast.AST, old: ast.AST, new: ast.AST) -> None:
    """Put ``new`` where ``old`` is in ``tree`` (a field or an item of a list field)."""
    for parent in ast.walk(tree):
        for field, value in ast.iter_fields(parent):
            if value is old:
                setattr(parent, field, copy.copy(new))
                return
            if isinstance(value, list) and any(v is old for v in value):
                value[[id(v) for v in value].index(id(old))] = new
                return
    raise LookupError("node not in tree")


def _pytest(tests: tuple[str, ...], env: dict[str, str], timeout: float) -> tuple[bool, float]:
    """Run the tests; return (passed, seconds). A run past ``timeout`` counts as failed."""
    # --assert=plain: pytest's assertion rewriter sits first on sys.meta_path and, as
    # plugwire ships a pytest plugin, would import plugwire's modules itself, unmutated.
    command = [sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider", "--no-header", "--assert=plain",
               *tests]
    start = time.monotonic()
    try:
        done = subprocess.run(command, check=False, cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL, timeout=timeout)
    except subprocess.TimeoutExpired:
        return False, time.monotonic() - start
    return done.returncode == 0, time.monotonic() - start


def run_target(name: str, limit: int | None = None, only: list[int] | None = None,
               tests: tuple[str, ...] | None = None) -> dict:
    """Run the mutants of one target (the first ``limit``, or those numbered in ``only``)
    against its tests (or ``tests``); return its figures and survivors."""
    rel, wanted, own_tests = TARGETS[name]
    tests = tests or own_tests
    path = ROOT / rel
    listed = mutants(path, wanted)
    listed = [m for m in listed if m.index in only] if only else listed[:limit]
    work = Path(tempfile.mkdtemp(prefix="plugwire-mutation-"))
    try:
        return _run_in(work, name, path, wanted, tests, listed)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _run_in(work: Path, name: str, path: Path, wanted: tuple[str, ...] | None, tests: tuple[str, ...],
            listed: list[Mutant]) -> dict:
    """Run the clean tests and then each mutant, with the hook and mutant kept in ``work``."""
    rel = str(path.relative_to(ROOT))
    (work / "sitecustomize.py").write_text(_SITECUSTOMIZE)
    source, seen = work / "mutant.py", work / "seen"
    env = dict(os.environ, MUTANT_MODULE=module_name(rel), MUTANT_SOURCE=str(source), MUTANT_SEEN=str(seen),
               PYTHONPATH=os.pathsep.join(filter(None, [str(work), os.environ.get("PYTHONPATH")])),
               PYTHONDONTWRITEBYTECODE="1")
    # The clean run: the unchanged module, written back from its syntax tree as every
    # mutant is, through the same hook; it must pass and load the module.
    source.write_text(ast.unparse(ast.parse(path.read_text())))
    ok, clean = _pytest(tests, env, timeout=600)
    if not ok or not seen.exists():
        return {"target": name, "error": "the tests fail, or never import the module, without a mutant"}
    timeout = max(60.0, 3 * clean)
    result = {"target": name, "file": rel, "tests": list(tests), "clean_seconds": round(clean, 1),
              "mutants": len(listed), "killed": 0, "timeouts": 0, "survivors": []}
    start = time.monotonic()
    for mutant in listed:
        source.write_text(mutant_source(path, wanted, mutant.index))
        seen.unlink(missing_ok=True)
        passed, took = _pytest(tests, env, timeout)
        if passed:
            result["survivors"].append({**mutant.__dict__, "loaded": seen.exists()})
        elif took >= timeout:
            result["timeouts"] += 1
        else:
            result["killed"] += 1
        print(f"  {name} #{mutant.index} line {mutant.line} {mutant.change}: "
              f"{'SURVIVED' if passed else 'killed'} ({took:.1f} s)", flush=True)
    result["seconds"] = round(time.monotonic() - start, 1)
    return result


def report(result: dict) -> str:
    """Format one target's figures and survivors for the terminal."""
    if "error" in result:
        return f"{result['target']}: {result['error']}"
    lines = [(f"{result['target']} ({result['file']}): {result['mutants']} mutants, {result['killed']} killed, "
              f"{result['timeouts']} by timeout, {len(result['survivors'])} survived, in {result['seconds']} s "
              f"(clean run {result['clean_seconds']} s; tests: {' '.join(result['tests'])})")]
    for s in result["survivors"]:
        lines.append(f"  survivor #{s['index']}: {result['file']}:{s['line']} in {s['function']}: {s['change']}"
                     + ("" if s["loaded"] else " (module not imported by the tests)"))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Run the named targets (all of them without names) and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("targets", nargs="*", help=f"targets to run (default: all): {', '.join(TARGETS)}")
    parser.add_argument("--list", action="store_true", help="list the mutants without running them")
    parser.add_argument("--limit", type=int, help="run only the first N mutants of each target")
    parser.add_argument("--only", type=lambda v: [int(n) for n in v.split(",")], metavar="N[,N...]",
                        help="run only the mutants with these numbers (one target)")
    parser.add_argument("--tests", action="append", metavar="FILE",
                        help="run this test file (or node id) instead of the target's; repeatable")
    parser.add_argument("--show", type=int, metavar="N", help="print mutant N's change as a diff, not run")
    parser.add_argument("--json", type=Path, help="also write the figures to this JSON file")
    args = parser.parse_args(argv)
    names = args.targets or list(TARGETS)
    unknown = [n for n in names if n not in TARGETS]
    if unknown:
        parser.error(f"unknown target {', '.join(unknown)}: choose among {', '.join(TARGETS)}")
    if (args.only or args.show is not None) and len(args.targets) != 1:
        parser.error("--only and --show number the mutants of one target: name exactly one")
    if args.list:
        for name in names:
            rel, wanted, _ = TARGETS[name]
            for m in mutants(ROOT / rel, wanted):
                print(f"{name} #{m.index} {rel}:{m.line} in {m.function}: {m.change}")
        return 0
    if args.show is not None:
        for name in names:
            rel, wanted, _ = TARGETS[name]
            # Both sides written back from the syntax tree, so only the change differs.
            before = ast.unparse(ast.parse((ROOT / rel).read_text())).splitlines(keepends=True)
            after = mutant_source(ROOT / rel, wanted, args.show).splitlines(keepends=True)
            sys.stdout.writelines(difflib.unified_diff(before, after, f"{rel} (unparsed)", f"{rel} #{args.show}"))
        return 0
    results = []
    for name in names:
        results.append(run_target(name, args.limit, args.only, tuple(args.tests or ())))
        print(report(results[-1]), flush=True)
    print("\n".join(["", "Summary:", *(report(r) for r in results)]))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
