"""A longer run of the fuzzing campaign than the suite's.

The suite runs every test marked ``fuzz`` with the derandomized "suite" hypothesis
profile (60 examples each, the same examples every run). This script runs them with
the "long" profile: 5,000 fresh random examples each (``--examples N`` to change),
and the schemathesis run against the server's JSON API with more examples too.
A failure prints hypothesis' reproduction blob; add it to the test as ``@example``.

    python bench/fuzz_long.py [--examples N] [pytest args...]
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main(argv: list[str]) -> int:
    examples = "5000"
    if argv[:1] == ["--examples"] and len(argv) >= 2:
        examples, argv = argv[1], argv[2:]
    env = {**os.environ, "PLUGWIRE_FUZZ_PROFILE": "long", "PLUGWIRE_FUZZ_EXAMPLES": examples}
    command = [sys.executable, "-m", "pytest", "-m", "fuzz", "-q", "-p", "no:cacheprovider",
               "--timeout", "3600", *argv]
    started = time.perf_counter()
    code = subprocess.call(command, cwd=ROOT, env=env)
    print(f"fuzzing campaign: {examples} examples per property, {time.perf_counter() - started:.0f} s, exit {code}")
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
