"""Benchmark of ``plugwire knowledge import`` and of the user catalogue's freshness check.

    python bench/bench_import.py [--repeat 3] [--generated 2000,10000] [--user-files 1000]

1. Import throughput (operations/s): every shared OpenAPI document in
   ../shared/data/openapi/ and generated documents of N operations (each with a path
   parameter, a query parameter, a JSON body from a $ref'd schema and a response
   example), imported with ``import_openapi`` (read, resolve, build, validate), best
   of ``--repeat``; then the whole folder in one ``plugwire knowledge import FOLDER``
   process (start-up, import, write) as a user runs it.
2. Freshness with ``--user-files`` catalogue files in the user's folder: the cost per
   query of ``KnowledgeBase``'s check (``sources.FreshnessCheck``: the folder's stat,
   the files at most every 2 s) against the check it replaced (list the folder and
   stat every file on every query), measured in the same run, alone and as the whole
   ``KnowledgeBase.catalogue()`` call a suggestion makes.

Figures are printed; nothing is asserted.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("PLUGWIRE_TESTING", "1")  # only plugwire's own plugins

from plugwire.knowledge.base import KnowledgeBase  # noqa: E402
from plugwire.knowledge.openapi import import_openapi  # noqa: E402
from plugwire.knowledge.sources import FreshnessCheck, Source, source_files  # noqa: E402

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data" / "openapi"
WORDS = ["accounts", "orders", "invoices", "widgets", "members", "reports", "events", "files", "teams", "projects"]


def generated(n: int) -> dict:
    """Return an OpenAPI 3.0 document of ``n`` operations (four per path)."""
    paths: dict = {}
    schemas: dict = {}
    for i in range(0, n, 4):
        word = f"{WORDS[i % len(WORDS)]}{i // 4}"
        schema = f"{word.title()}"
        schemas[schema] = {"type": "object", "required": ["name"], "properties": {
            "name": {"type": "string", "example": f"{word} one"}, "count": {"type": "integer", "minimum": 0},
            "created": {"type": "string", "format": "date-time"}, "kind": {"type": "string", "enum": ["a", "b"]}}}
        ref = {"$ref": f"#/components/schemas/{schema}"}
        ok = {"200": {"description": "ok", "content": {"application/json": {"schema": ref}}}}
        body = {"content": {"application/json": {"schema": ref}}}
        pid = [{"name": "id", "in": "path", "required": True, "schema": {"type": "string"}}]
        paths[f"/{word}"] = {
            "get": {"summary": f"List {word}", "parameters": [{"name": "limit", "in": "query", "schema": {"type": "integer"}}],
                    "responses": ok},
            "post": {"summary": f"Create {word}", "requestBody": body, "responses": ok}}
        paths[f"/{word}/{{id}}"] = {"parameters": pid, "get": {"summary": f"Get {word}", "responses": ok},
                                    "patch": {"summary": f"Update {word}", "requestBody": body, "responses": ok}}
    return {"openapi": "3.0.3", "info": {"title": f"Generated {n}", "version": "1"},
            "servers": [{"url": f"https://api.gen{n}.example/v1"}],
            "components": {"schemas": schemas, "securitySchemes": {"key": {"type": "apiKey", "in": "header", "name": "X-Key"}}},
            "security": [{"key": []}], "paths": paths}


def throughput(files: list[Path], repeat: int) -> None:
    print("== import_openapi throughput (best of %d) ==" % repeat)
    total_ops, total_s = 0, 0.0
    for path in files:
        best, report = float("inf"), None
        for _ in range(repeat):
            t = time.perf_counter()
            report = import_openapi(path)
            best = min(best, time.perf_counter() - t)
        total_ops += report.operations
        total_s += best
        print(f"  {path.name:32} {report.operations:6} ops  {best:7.3f} s  {report.operations / best:9,.0f} ops/s")
    print(f"  {'all':32} {total_ops:6} ops  {total_s:7.3f} s  {total_ops / total_s:9,.0f} ops/s")


def one_process(folder: Path, work: Path) -> None:
    env = {**os.environ, "PLUGWIRE_HOME": str(work / "home"), "PLUGWIRE_CACHE_DIR": str(work / "cache")}
    exe = Path(sys.executable).with_name("plugwire")
    t = time.perf_counter()
    out = subprocess.run([str(exe), "knowledge", "import", str(folder), "--replace", "--json"], env=env,
                         capture_output=True, text=True, check=False)
    wall = time.perf_counter() - t
    result = json.loads(out.stdout)
    ops = sum(r.get("operations", 0) for r in result["files"])
    print(f"== one `plugwire knowledge import FOLDER` process: {len(result['files'])} files "
          f"({result['failed_files']} failed), {ops} operations in {wall:.2f} s wall: {ops / wall:,.0f} ops/s ==")


def freshness(n: int, work: Path, calls: int) -> None:
    folder = work / "home-fresh" / "catalogue"
    folder.mkdir(parents=True)
    for i in range(n):
        (folder / f"p{i:04}.yaml").write_text(
            f"format: 1\nprovider: p{i:04}\nname: P{i}\nhosts: [api.p{i}.example]\n"
            f"endpoints:\n- method: GET\n  path: '/things/{{id}}'\n  summary: Get a thing\n")
    past = time.time_ns() - 3600 * 10**9  # out of FreshnessCheck's racy window
    for p in [*folder.iterdir(), folder]:
        os.utime(p, ns=(past, past))
    sources = [Source("user", folder)]
    kb = KnowledgeBase(folder.parent, sources=lambda: sources, use_cache=False)
    check = FreshnessCheck()
    for name, fn in (("list + stat every file (before)", lambda: _every_file(sources)),
                     ("FreshnessCheck (folder stat)", lambda: check.keys(sources))):
        fn()
        times = []
        for _ in range(calls):
            t = time.perf_counter()
            fn()
            times.append((time.perf_counter() - t) * 1000)
        print(f"  {name:34} p50 {statistics.median(times):.4f} ms  max {max(times):.3f} ms")
    # The whole per-query call, KnowledgeBase.catalogue(), as it is and with the check it replaced.
    before = _EveryFile(folder.parent, sources=lambda: sources, use_cache=False)
    for name, base in (("catalogue(), listing every file", before), ("catalogue() (FreshnessCheck)", kb)):
        base.catalogue()
        times = []
        for _ in range(calls):
            t = time.perf_counter()
            base.catalogue()
            times.append((time.perf_counter() - t) * 1000)
        print(f"  {name:34} p50 {statistics.median(times):.4f} ms  max {max(times):.3f} ms")


def _every_file(sources: list[Source]) -> tuple:
    """The freshness key before issue 16: every source's folder listed and every file stat-ed."""
    out = []
    for s in sources:
        files = []
        for f in source_files(s):
            st = f.stat()
            files.append((str(f), st.st_mtime_ns, st.st_size))
        out.append((s.kind, s.owner, str(s.path), tuple(files)))
    return tuple(out)


class _EveryFile(KnowledgeBase):
    """KnowledgeBase with the freshness key it had before issue 16 (the baseline)."""

    def _freshness(self, sources):
        return _every_file(sources)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=3, help="imports of each document; the best counts")
    parser.add_argument("--generated", default="2000,10000", help="sizes (operations) of generated documents")
    parser.add_argument("--user-files", type=int, default=1000, help="user catalogue files for the freshness check")
    parser.add_argument("--calls", type=int, default=300, help="freshness checks timed")
    parser.add_argument("--only-freshness", action="store_true", help="skip the import figures")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        if args.only_freshness:
            print(f"== freshness check per query, {args.user_files} user catalogue files ==")
            return freshness(args.user_files, work, args.calls)
        docs = work / "docs"
        docs.mkdir()
        files = sorted(SHARED.glob("*.json")) + sorted(SHARED.glob("*.yaml")) if SHARED.is_dir() else []
        for f in files:
            (docs / f.name).symlink_to(f)
        for n in (int(x) for x in args.generated.split(",") if x):
            path = docs / f"generated-{n}.json"
            path.write_text(json.dumps(generated(n)))
            files.append(path)
        throughput(files, args.repeat)
        one_process(docs, work)
        print(f"== freshness check per query, {args.user_files} user catalogue files ==")
        freshness(args.user_files, work, args.calls)


if __name__ == "__main__":
    main()
