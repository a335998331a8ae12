"""Benchmark of the knowledge base: suggestion latency, catalogue load time and memory
at 1k, 10k and 100k endpoints, against a naive rapidfuzz full scan in the same run.

    python bench/bench_suggest.py [--sizes 1000,10000,100000] [--queries 2000] [--seed 7] [--cold-runs 5]
    python bench/bench_suggest.py --sizes 100000 --instructions

The catalogue of each size is the built-in one, plus real documents imported from
../shared/data/openapi/ (when the importer is present and the folder exists), plus
synthetic providers (~100 endpoints each, their own hosts, realistic shared path
words) up to the size. Queries are drawn from the indexed endpoints: ids filled in
(exact), trailing slash and host case, a typo in one word, version drift, a dropped
parent segment, and the real path on an unknown host; plus generic paths on unknown
hosts. Figures are printed; nothing is asserted.

``--instructions`` counts instead the instructions of one cold load of each size
under valgrind's callgrind (only the load itself is counted: everything imported and
warmed first), a figure that does not move with the machine's load; another checkout
is counted by running this script with ``PYTHONPATH`` at a folder laid out as the
``plugwire`` package of that checkout.
"""

from __future__ import annotations

import argparse
import functools
import gc
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

os.environ.setdefault("PLUGWIRE_TESTING", "1")  # only plugwire's own plugins

from rapidfuzz import fuzz, process  # noqa: E402

from plugwire.knowledge.base import _compiled, load_catalogue  # noqa: E402
from plugwire.knowledge.match import match_url  # noqa: E402
from plugwire.knowledge.normalize import normalize_url  # noqa: E402
from plugwire.knowledge.sources import BUILTIN_DIR, Source  # noqa: E402
from plugwire.knowledge.suggestions import suggest_from_index  # noqa: E402

OPENAPI_DIR = Path(__file__).resolve().parents[2] / "shared" / "data" / "openapi"
WORDS = (
    "users accounts orders invoices items products customers payments refunds events venues tickets "
    "projects issues comments attachments labels milestones teams members roles permissions groups "
    "channels messages threads reactions files folders documents pages blocks databases records tables "
    "fields views webhooks subscriptions plans prices coupons discounts carts checkouts shipments "
    "addresses contacts companies deals pipelines stages tasks notes calls meetings emails templates "
    "campaigns lists segments tags reports dashboards metrics alerts incidents services deployments "
    "builds releases branches commits repositories workflows runs jobs artifacts secrets variables "
    "environments regions zones clusters nodes volumes snapshots backups images containers networks"
).split()


def synthetic_provider(i: int, rng: random.Random) -> dict:
    """Return one synthetic provider document of ~100 endpoints."""
    version = f"v{rng.randint(1, 4)}"
    words = rng.sample(WORDS, 14) + [f"x{i}{w}" for w in rng.sample(WORDS, 2)]  # two words only it has
    endpoints, seen = [], set()
    for res in words:
        sub = rng.choice(WORDS)
        for method, path in (
            ("GET", f"/{version}/{res}"),
            ("POST", f"/{version}/{res}"),
            ("GET", f"/{version}/{res}/{{{res[:-1]}_id}}"),
            ("PATCH", f"/{version}/{res}/{{{res[:-1]}_id}}"),
            ("DELETE", f"/{version}/{res}/{{{res[:-1]}_id}}"),
            ("GET", f"/{version}/{res}/{{{res[:-1]}_id}}/{sub}"),
            ("POST", f"/{version}/{res}/{{{res[:-1]}_id}}/{sub}"),
        ):
            if (method, path) in seen:
                continue
            seen.add((method, path))
            e = {"method": method, "path": path, "summary": f"{method} {res}"}
            if method in ("POST", "PATCH"):
                e["request"] = {"body_format": "json", "body": {res[:-1]: {"name": "Example", "size": 3, "tags": ["a", "b"]}}}
                e["constraints"] = [{"path": f"{res[:-1]}.name", "type": "string", "required": True, "max_length": 120}]
            endpoints.append(e)
    return {"format": 1, "provider": f"synth{i}", "name": f"Synthetic {i}", "hosts": [f"api.synth{i}.example"], "endpoints": endpoints}


def real_documents(folder: Path) -> list[dict]:
    """Return catalogue documents imported from the OpenAPI files (empty without the importer)."""
    try:
        from plugwire.knowledge.openapi import import_openapi
    except ImportError:
        return []
    docs = []
    for path in sorted(folder.glob("*.*")):
        if path.suffix not in (".json", ".yaml", ".yml"):
            continue
        try:
            report = import_openapi(path, provider=f"real-{path.stem.lower()}")
        except Exception as exc:  # a bench reports; it does not stop
            print(f"  import of {path.name} failed: {exc}", file=sys.stderr)
            continue
        docs.append(report.catalogue.model_dump(mode="json", exclude_defaults=True))
    return docs


def build_folder(size: int, real: list[dict], builtin_count: int, rng: random.Random, folder: Path) -> int:
    """Write real and synthetic files to ``folder`` until about ``size`` endpoints; return the count."""
    folder.mkdir(parents=True)
    total = builtin_count
    for doc in real:
        if total + len(doc["endpoints"]) > size:
            break
        (folder / f"{doc['provider']}.json").write_text(json.dumps(doc))
        total += len(doc["endpoints"])
    i = 0
    while total < size:
        doc = synthetic_provider(i, rng)
        doc["endpoints"] = doc["endpoints"][: size - total]
        (folder / f"synth{i}.json").write_text(json.dumps(doc))
        total += len(doc["endpoints"])
        i += 1
    return total


def fill(path: str, rng: random.Random) -> str:
    out = []
    for seg in path.split("/"):
        if "{" in seg:
            seg = str(rng.randint(1000, 99999999)) if rng.random() < 0.7 else f"{rng.getrandbits(64):016x}"
        out.append(seg)
    return "/".join(out)


def typo(word: str, rng: random.Random) -> str:
    if len(word) < 5:
        return word
    i = rng.randrange(1, len(word) - 1)
    return word[:i] + word[i + 1] + word[i] + word[i + 2 :]


def make_queries(index, n: int, rng: random.Random) -> list[tuple[str, str, str]]:
    """Return ``(kind, method, url)`` queries drawn from the index."""
    out = []
    kinds = ["exact"] * 5 + ["slash-case"] * 2 + ["typo", "version", "parent", "unknown-host", "generic"]
    for _ in range(n):
        kind = rng.choice(kinds)
        eid = rng.randrange(index.endpoint_count)
        prov = index.providers[index.ep_provider[eid]]
        host = next((h for h in prov.hosts if "{" not in h), None) or prov.hosts[0].replace("{", "").replace("}", "")
        method, path = index.ep_method[eid], fill(index.ep_path[eid], rng)
        segs = [s for s in path.split("/") if s]
        if kind == "slash-case":
            host, path = host.upper(), path.rstrip("/") + "/"
        elif kind == "typo":
            words = [i for i, s in enumerate(segs) if s.isalpha() and len(s) >= 5]
            if words:
                i = rng.choice(words)
                segs[i] = typo(segs[i], rng)
            path = "/" + "/".join(segs)
        elif kind == "version":
            path = "/" + "/".join(("v9" if s[:1] == "v" and s[1:].isdigit() else s) for s in segs)
        elif kind == "parent" and len(segs) > 2:
            path = "/" + "/".join(segs[:1] + segs[3:])
        elif kind == "unknown-host":
            host = "gateway.intranet.example"
        elif kind == "generic":
            host, method, path = "intranet.example", "GET", rng.choice(["/api/users", "/api/v1/items/42", "/users/7", "/orders"])
        out.append((kind, method, f"https://{host}{path}"))
    return out


def timed(fn, queries) -> tuple[list[float], list[float]]:
    """Return per-query (CPU ms, wall ms). CPU time of this thread is what the code
    costs; wall time also counts waiting for a core on a busy machine."""
    cpu, wall = [], []
    for _, method, url in queries:
        w, c = time.perf_counter(), time.thread_time()
        fn(method, url)
        cpu.append((time.thread_time() - c) * 1000)
        wall.append((time.perf_counter() - w) * 1000)
    return cpu, wall


def pct(values: list[float], p: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, int(round(p / 100 * (len(s) - 1))))]


def count_one_load(folder: Path, work: Path) -> None:
    """Load ``folder`` cold once, the only code callgrind counts (``--toggle-collect``
    names the C function that runs it): imports, the JSON reader and the built-in
    catalogue's first load come before, on a copy of one file of the folder."""
    small = work / "warm-up"
    small.mkdir(parents=True)
    shutil.copy(sorted(folder.glob("*.json"))[-1], small)
    os.environ["PLUGWIRE_CACHE_DIR"] = str(work / "cache-warm-up")
    load_catalogue([Source("builtin", BUILTIN_DIR), Source("plugin", small, owner="bench")])
    _compiled.clear()
    gc.collect()
    os.environ["PLUGWIRE_CACHE_DIR"] = str(work / "cache-counted")
    sources = [Source("builtin", BUILTIN_DIR), Source("plugin", folder, owner="bench")]
    functools.reduce(lambda _a, _b: load_catalogue(sources), [0], None)


def cold_instructions(folder: Path, work: Path) -> float:
    """Return the instructions of one cold load of ``folder`` (see :func:`count_one_load`)."""
    if shutil.which("valgrind") is None:
        raise SystemExit("--instructions needs valgrind (Debian's package valgrind)")
    cmd = ["valgrind", "--tool=callgrind", "--toggle-collect=functools_reduce", "--callgrind-out-file=/dev/null",
           sys.executable, __file__, "--count-one-load", str(folder), "--work", str(work)]
    proc = subprocess.run(cmd, env={**os.environ, "PYTHONHASHSEED": "0"}, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    found = [line for line in proc.stderr.splitlines() if "Collected :" in line]
    if proc.returncode or not found:
        raise SystemExit(f"valgrind gave no count: {proc.stderr[-500:]}")
    return float(found[-1].split(":")[-1])


def bench_size(size: int, real: list[dict], args, work: Path) -> None:
    rng = random.Random(args.seed + size)
    builtin = load_catalogue([Source("builtin", BUILTIN_DIR)], use_cache=False).index.endpoint_count
    folder = work / f"cat-{size}"
    total = build_folder(size, real, builtin, rng, folder)
    sources = [Source("builtin", BUILTIN_DIR), Source("plugin", folder, owner="bench")]
    if args.instructions:
        count = cold_instructions(folder, work / f"count-{size}")
        print(f"\n== {total:,} endpoints ({folder.name}) ==\nload: cold, instructions (callgrind, one load) {count / 1e6:,.0f} M")
        return
    cold_cpus, cold_walls = [], []
    for run in range(args.cold_runs):
        # a cache folder of its own each time, so that every run compiles, indexes and writes the cache
        os.environ["PLUGWIRE_CACHE_DIR"] = str(work / f"cache-{size}-{run}")
        _compiled.clear()  # cold means cold: no file compiled earlier in this process
        gc.collect()
        t, c = time.perf_counter(), time.process_time()
        cold = load_catalogue(sources)
        cold_walls.append(time.perf_counter() - t)
        cold_cpus.append(time.process_time() - c)
        del cold
        gc.collect()
    cold_s, cold_cpu = statistics.median(cold_walls), statistics.median(cold_cpus)
    t, c = time.perf_counter(), time.process_time()
    warm = load_catalogue(sources)
    warm_s, warm_cpu = time.perf_counter() - t, time.process_time() - c
    assert warm.from_cache
    del warm
    gc.collect()
    tracemalloc.start()  # slows allocation down, so memory is measured on a separate load
    warm = load_catalogue(sources)
    mem_mb = tracemalloc.get_traced_memory()[0] / 1e6
    tracemalloc.stop()
    index = warm.index
    queries = make_queries(index, args.queries, rng)
    for _, method, url in queries[:200]:  # warm lazy vocabularies, as a long-running process would be
        suggest_from_index(index, method, url)
    match_ms, match_wall = timed(lambda m, u: match_url(index, m, normalize_url(u)), queries)
    suggest_ms, suggest_wall = timed(lambda m, u: suggest_from_index(index, m, u), queries)
    choices = [f"{index.ep_method[e]} {normalize_url('https://h' + index.ep_path[e]).normalized[len('https://h'):]}" for e in range(index.endpoint_count)]
    naive_q = queries[: max(50, min(len(queries), 200000 // max(1, total)))]
    naive_ms, naive_wall = timed(lambda m, u: process.extractOne(f"{m} {normalize_url(u).normalized.split('/', 3)[-1]}", choices, scorer=fuzz.ratio), naive_q)
    answered: dict[str, list[int]] = {}
    for kind, m, u in queries:
        a = answered.setdefault(kind, [0, 0])
        a[0] += bool(suggest_from_index(index, m, u, limit=1))
        a[1] += 1
    print(f"\n== {total:,} endpoints ({len(index.providers)} providers; {folder.name}) ==")
    spread = f", median of {len(cold_cpus)}: {min(cold_cpus):.2f}-{max(cold_cpus):.2f}" if len(cold_cpus) > 1 else ""
    print(f"load: cold (parse+validate+index) {cold_cpu:.2f} s CPU ({cold_s:.2f} s wall{spread}); "
          f"warm (pickled index) {warm_cpu * 1000:.0f} ms CPU ({warm_s * 1000:.0f} ms wall); index memory {mem_mb:.0f} MB")
    print("CPU ms per query (wall in brackets):")
    print(f"  match   (index + scoring):       p50 {pct(match_ms, 50):.3f} ({pct(match_wall, 50):.3f})  p99 {pct(match_ms, 99):.3f} ({pct(match_wall, 99):.3f})  max {max(match_ms):.2f}")
    print(f"  suggest (+ Suggestion objects):  p50 {pct(suggest_ms, 50):.3f} ({pct(suggest_wall, 50):.3f})  p99 {pct(suggest_ms, 99):.3f} ({pct(suggest_wall, 99):.3f})")
    print(f"  naive rapidfuzz extractOne(ratio) full scan: p50 {statistics.median(naive_ms):.3f} ({statistics.median(naive_wall):.3f})  p99 {pct(naive_ms, 99):.3f} ({pct(naive_wall, 99):.3f})  [{len(naive_q)} queries]")
    print("  queries answered (a suggestion above the cutoff) by kind: " + ", ".join(f"{k} {a}/{n}" for k, (a, n) in sorted(answered.items())))
    by_kind: dict[str, list[float]] = {}
    for (kind, _, _), ms in zip(queries, suggest_ms):
        by_kind.setdefault(kind, []).append(ms)
    print("  suggest CPU p50/p99 by kind: " + ", ".join(f"{k} {pct(v, 50):.3f}/{pct(v, 99):.3f}" for k, v in sorted(by_kind.items())))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000,100000")
    parser.add_argument("--queries", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--cold-runs", type=int, default=1, help="cold loads per size; the median is printed")
    parser.add_argument("--instructions", action="store_true", help="count the instructions of one cold load per size (callgrind) instead")
    parser.add_argument("--count-one-load", type=Path, help=argparse.SUPPRESS)  # the process --instructions runs under callgrind
    parser.add_argument("--work", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.count_one_load:
        count_one_load(args.count_one_load, args.work)
        return
    real = real_documents(OPENAPI_DIR) if OPENAPI_DIR.is_dir() else []
    print(f"real imported documents: {len(real)} ({sum(len(d['endpoints']) for d in real)} endpoints)")
    with tempfile.TemporaryDirectory(prefix="plugwire-bench-") as tmp:
        for size in (int(s) for s in args.sizes.split(",")):
            bench_size(size, real, args, Path(tmp))


if __name__ == "__main__":
    main()
