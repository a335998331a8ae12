"""How long ``plugwire`` takes to start (issue 14): each command run N times as a fresh
process, next to ``python -c pass`` in the same run, round-robin so that a busy
moment of the machine falls on every command alike.

    python bench/bench_startup.py [--runs 21] [--json] [--source DIR]

Prints, per command, the median wall time, its ratio to ``python -c pass`` and the
time over it (what plugwire itself costs). The data folder is a fresh temporary one
holding three connections; the network is never used (``suggest`` answers from the
built-in catalogue). Nothing here is a test: machines are noisy.

``--source DIR`` measures another copy of plugwire (e.g. an older commit laid out as
the package: ``DIR/plugwire`` with ``core``, ``plugins`` and ``knowledge`` inside),
run as ``python -m plugwire`` with ``DIR`` first on the path, for before/after figures.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

#: label -> arguments of the plugwire command (None: bare ``python -c pass``).
COMMANDS: dict[str, list[str] | None] = {
    "python -c pass": None,
    "plugwire --version": ["--version"],  # (before issue 14 there was none: an error, exit 2)
    "plugwire --help": ["--help"],
    "plugwire connections list": ["connections", "list"],
    "plugwire connections --help": ["connections", "--help"],
    "plugwire suggest GET URL": ["suggest", "GET", "https://api.github.com/repos/octocat/hello/issues"],
}

#: The issue's targets, in seconds of wall time on the 2-core machine it was measured on.
TARGETS = {"plugwire --help": 0.25, "plugwire connections list": 0.25, "plugwire suggest GET URL": 0.35}


_SOURCE: str | None = None


def _plugwire() -> list[str]:
    script = Path(sys.executable).with_name("plugwire")
    if script.exists() and _SOURCE is None:
        return [str(script)]
    return [sys.executable, "-m", "plugwire"]


def _seed(env: dict[str, str]) -> None:
    """Three connections in the fresh data folder, as a user would have."""
    for n, name in enumerate(("github", "crm", "billing")):
        subprocess.run(
            [*_plugwire(), "connections", "add", name, "--auth", "query", "--secret", "params.api_key=env:BENCH_KEY",
             "--test-url", f"https://api{n}.example.com/me"],
            env={**env, "BENCH_KEY": f"k{n}-0123456789abcdef"}, check=True, capture_output=True, cwd=env["PLUGWIRE_HOME"],
        )


def run(runs: int) -> dict[str, dict[str, float]]:
    """Return ``{label: {"median", "ratio", "over", "min"}}`` in seconds."""
    folder = Path(tempfile.mkdtemp(prefix="plugwire-bench-startup-"))
    env = {**os.environ, "PLUGWIRE_HOME": str(folder), "COLUMNS": "100"}
    env.pop("PLUGWIRE_DATABASE_URL", None)
    if _SOURCE:
        env["PYTHONPATH"] = _SOURCE
    try:
        _seed(env)
        times: dict[str, list[float]] = {label: [] for label in COMMANDS}
        for label, args in COMMANDS.items():  # one unmeasured round: the OS caches the files
            _once(args, env)
        for _ in range(runs):
            for label, args in COMMANDS.items():
                times[label].append(_once(args, env))
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    base = statistics.median(times["python -c pass"])
    out = {}
    for label, values in times.items():
        med = statistics.median(values)
        out[label] = {"median": med, "ratio": med / base, "over": med - base, "min": min(values)}
    return out


def _once(args: list[str] | None, env: dict[str, str]) -> float:
    cmd = [sys.executable, "-c", "pass"] if args is None else [*_plugwire(), *args]
    start = time.perf_counter()
    # cwd: the data folder, so that `-m plugwire` cannot pick up a checkout's folder.
    proc = subprocess.run(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=env["PLUGWIRE_HOME"])
    elapsed = time.perf_counter() - start
    if proc.returncode != 0 and args != ["--version"]:
        raise SystemExit(f"{' '.join(cmd)} failed ({proc.returncode}): {proc.stderr.decode(errors='replace')}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=21, help="runs of each command (default 21)")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    parser.add_argument("--source", help="a folder holding another copy of the plugwire package to measure")
    opts = parser.parse_args()
    global _SOURCE
    _SOURCE = opts.source
    figures = run(opts.runs)
    if opts.json:
        print(json.dumps(figures, indent=2))
        return
    print(f"{os.cpu_count()} cores, Python {sys.version.split()[0]}, {opts.runs} runs each, median wall time\n")
    print(f"{'command':<30} {'median':>8} {'min':>8} {'x pass':>7} {'over pass':>10}  target")
    for label, f in figures.items():
        target = TARGETS.get(label)
        verdict = "" if target is None else f"{target:.2f} s {'met' if f['median'] <= target else 'MISSED'}"
        print(f"{label:<30} {f['median']:>7.3f}s {f['min']:>7.3f}s {f['ratio']:>6.1f}x {f['over']:>9.3f}s  {verdict}")


if __name__ == "__main__":
    main()
