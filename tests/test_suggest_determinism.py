"""The same URL gets the same answers in every process (issue 16 item 1): the
suggester runs in subprocesses under several PYTHONHASHSEED values, over URLs
generated from the shared OpenAPI documents (typos, where ties between vocabulary
words are most likely, version drift and unknown hosts), and every answer, score
and reason is compared."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from quality_urls import OPENAPI_DIR

TESTS = Path(__file__).resolve().parent
CODE = """
import json, sys
from pathlib import Path
sys.path.insert(0, {tests!r})
from quality_urls import build_catalogue, generate
from plugwire.knowledge.suggestions import suggest_from_index
index = build_catalogue(Path({folder!r}), names=("github.json", "slack.json", "jira.json", "eventbrite.yaml"))
cases = [c for c in generate(index, per_variant=60, seed=3) if c.variant in ("typo1", "typo2", "version_missing", "gateway", "self_hosted")]
print(json.dumps([[(s.endpoint, s.provider, s.score, s.reason) for s in suggest_from_index(index, c.method, c.url)] for c in cases]))
"""


def _answers(seed: str, folder: Path) -> list:
    env = {**os.environ, "PYTHONHASHSEED": seed, "PLUGWIRE_TESTING": "1"}
    done = subprocess.run([sys.executable, "-c", CODE.format(tests=str(TESTS), folder=str(folder))], capture_output=True, text=True, env=env, check=True)
    return json.loads(done.stdout)


def test_answers_are_identical_under_any_hash_seed(tmp_path):
    assert OPENAPI_DIR.is_dir(), f"{OPENAPI_DIR} holds the shared OpenAPI documents"
    runs = {seed: _answers(seed, tmp_path / seed) for seed in ("0", "1", "2", "12345")}
    first = runs["0"]
    assert len(first) > 200 and sum(1 for a in first if a) > 150
    for seed, answers in runs.items():
        assert answers == first, f"PYTHONHASHSEED={seed} answered differently"
