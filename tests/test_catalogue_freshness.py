"""Freshness of the user's catalogue (issue 16 item 9): a query does not list and
stat every user file; a file written through plugwire, or by another process, is
still seen."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import yaml
from plugwire.knowledge.base import get_knowledge
from plugwire.knowledge.sources import FreshnessCheck, Source

PAST = time.time_ns() - 3600 * 10**9  # an hour ago: not within the racy window


def _catalogue(provider: str, paths: list[str]) -> str:
    return yaml.safe_dump({"format": 1, "provider": provider, "name": provider, "hosts": [f"api.{provider}.example"],
                           "endpoints": [{"method": "GET", "path": p, "summary": p} for p in paths]})


def _age(*paths) -> None:
    for path in paths:
        os.utime(path, ns=(PAST, PAST))


def test_an_unchanged_folder_is_not_listed_until_the_interval_passes(tmp_path):
    folder = tmp_path / "catalogue"
    folder.mkdir()
    for i in range(5):
        (folder / f"p{i}.yaml").write_text(_catalogue(f"p{i}", ["/a"]))
    _age(*folder.iterdir(), folder)
    now = [100.0]
    check = FreshnessCheck(full_every=2.0, clock=lambda: now[0])
    source = Source("user", folder)
    first = check.key(source)
    # Edited in place by hand (the folder's time does not move): not looked at yet.
    edited = folder / "p3.yaml"
    edited.write_text(_catalogue("p3", ["/a", "/b"]))
    os.utime(edited, ns=(PAST + 10**9, PAST + 10**9))
    now[0] += 1.9
    assert check.key(source) == first
    now[0] += 0.2
    assert check.key(source) != first  # seen once the interval has passed


def test_a_file_added_removed_or_replaced_is_seen_at_once(tmp_path):
    folder = tmp_path / "catalogue"
    folder.mkdir()
    (folder / "a.yaml").write_text(_catalogue("a", ["/a"]))
    _age(folder / "a.yaml", folder)
    check = FreshnessCheck(full_every=3600.0, clock=lambda: 0.0)
    source = Source("user", folder)
    keys = [check.key(source)]
    (folder / "b.yaml").write_text(_catalogue("b", ["/b"]))
    keys.append(check.key(source))
    tmp = folder / ".a.yaml.tmp"  # how plugwire writes: beside, then renamed into place
    tmp.write_text(_catalogue("a", ["/x"]))
    tmp.replace(folder / "a.yaml")
    keys.append(check.key(source))
    (folder / "b.yaml").unlink()
    keys.append(check.key(source))
    assert len(set(keys)) == 4


def test_a_file_changed_by_another_process_is_seen_by_suggestions(home, run_cli):
    folder = home.path / "catalogue"
    folder.mkdir(parents=True)
    (folder / "shelf.yaml").write_text(_catalogue("shelf", ["/books"]))
    kb = get_knowledge(home)
    assert kb.catalogue().index.by_id.get("shelf") is not None
    script = ("import pathlib, sys; pathlib.Path(sys.argv[1]).write_text(sys.argv[2])")
    subprocess.run([sys.executable, "-c", script, str(folder / "shelf.yaml"), _catalogue("shelf", ["/books", "/magazines"])],
                   check=True)
    subprocess.run([sys.executable, "-c", script, str(folder / "desk.yaml"), _catalogue("desk", ["/drawers"])], check=True)
    index = kb.catalogue().index
    assert "desk" in index.by_id
    shelf = index.providers[index.by_id["shelf"]]
    assert sorted(index.ep_path[shelf.start:shelf.end]) == ["/books", "/magazines"]
    code, out, err = run_cli("suggest", "GET", "https://api.desk.example/drawers", "--json")
    assert code == 0, err
    assert '"desk"' in out
