"""Suggestion quality (issue 16): top-1 and top-3 per URL variant over URLs generated
from every operation of the built-in catalogue and of the real OpenAPI documents in
../shared/data/openapi (imported as ``plugwire knowledge import`` does), plus the
suggest latency on those URLs.

    python bench/bench_quality.py [--seed 16] [--per-variant N] [--show-misses 5]

The URLs come from tests/quality_urls.py (shared with tests/test_suggest_quality.py,
which asserts the targets on a sample). Figures are printed; nothing is asserted.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("PLUGWIRE_TESTING", "1")  # only plugwire's own plugins
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from quality_urls import POINT7, VARIANTS, build_catalogue, generate, rank_of  # noqa: E402

from plugwire.knowledge.suggestions import suggest_from_index  # noqa: E402

TARGETS = {"all": (99.0, 99.5), "typo1": (97.0, None), "version_changed": (98.0, None), "version_missing": (98.0, None),
           "point7": (97.0, None), "self_hosted": (90.0, None)}


def pct(values: list[float], p: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, int(round(p / 100 * (len(s) - 1))))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=16)
    parser.add_argument("--per-variant", type=int, default=None, help="sample this many URLs per variant (default: all)")
    parser.add_argument("--show-misses", type=int, default=5, help="top-1 misses printed per variant")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="plugwire-quality-") as tmp:
        index = build_catalogue(Path(tmp) / "catalogue")
    cases = generate(index, per_variant=args.per_variant, seed=args.seed)
    print(f"{index.endpoint_count:,} endpoints, {len(index.providers)} providers; {len(cases):,} generated URLs")
    rows: dict[str, list[int]] = {}
    misses: dict[str, list[str]] = {}
    cpu: list[float] = []
    for case in cases:
        c = time.thread_time()
        answers = suggest_from_index(index, case.method, case.url)
        cpu.append((time.thread_time() - c) * 1000)
        rank = rank_of(index, case, lambda m, u: answers)
        for key in (case.variant, "all") + (("point7",) if case.variant in POINT7 else ()):
            row = rows.setdefault(key, [0, 0, 0])
            row[0] += rank == 1
            row[1] += rank is not None and rank <= 3
            row[2] += 1
        if rank != 1 and len(misses.setdefault(case.variant, [])) < args.show_misses:
            got = answers[0].endpoint if answers else "nothing"
            misses[case.variant].append(f"{case.method} {case.url}  want {case.source}, got {got}")
    print(f"{'variant':<18} {'urls':>6} {'top-1':>8} {'top-3':>8}  target")
    for key in VARIANTS + ("point7", "all"):
        if key not in rows:
            continue
        t1, t3, n = rows[key]
        want = TARGETS.get(key)
        target = "" if not want else f"top-1 >= {want[0]}%" + (f", top-3 >= {want[1]}%" if want[1] else "")
        print(f"{key:<18} {n:>6} {100 * t1 / n:>7.2f}% {100 * t3 / n:>7.2f}%  {target}")
    print(f"suggest CPU ms per URL: p50 {pct(cpu, 50):.3f}  p99 {pct(cpu, 99):.3f}  max {max(cpu):.2f}")
    for variant, lines in misses.items():
        if lines:
            print(f"\nmisses ({variant}):")
            for line in lines:
                print("  " + line)


if __name__ == "__main__":
    main()
