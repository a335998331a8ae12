"""The quick paths of a cold catalogue load refuse what the full checks refuse
(issue 16, cold load of 100,000 endpoints): the JSON fast path (one pass of parsing
and validation) and the plain-tree walk of check_tree give the same answers as the
full path, on the shipped catalogue and at the bounds."""

from __future__ import annotations

import json
import random

import pytest
import yaml
from plugwire.core.base.errors import UserInputError
from plugwire.knowledge import bounds, loader
from plugwire.knowledge.bounds import MAX_DEPTH, check_tree
from plugwire.knowledge.sources import BUILTIN_DIR


def _doc(body) -> dict:
    return {"format": 1, "provider": "deep", "name": "Deep", "hosts": ["api.deep.example"],
            "endpoints": [{"method": "POST", "path": "/v1/things", "summary": "Create a thing",
                           "request": {"body_format": "json", "body": body}}]}


def _nested(levels: int) -> list:
    root = inner = []
    for _ in range(levels - 1):
        inner.append([])
        inner = inner[0]
    return root


def _full_path(monkeypatch) -> None:
    monkeypatch.setattr(loader, "_FAST", [None])  # the reader as it was before the fast path


@pytest.mark.parametrize("suffix", [".json", ".yaml"])
def test_a_file_nested_to_the_bound_loads_and_one_level_more_is_refused(tmp_path, suffix):
    # the document, its endpoints, one endpoint and its request are four levels around the body
    for levels, ok in ((MAX_DEPTH, True), (MAX_DEPTH + 1, False)):
        path = tmp_path / f"deep-{levels}{suffix}"
        doc = _doc(_nested(levels - 4))
        path.write_text(json.dumps(doc) if suffix == ".json" else yaml.safe_dump(doc))
        providers, problems = loader.read_catalogue(path)
        if ok:
            assert problems == [] and [p.provider for p in providers] == ["deep"]
        else:
            assert providers == [] and len(problems) == 1
            assert f"nested more than {MAX_DEPTH} levels deep" in str(problems[0])


def test_the_json_fast_path_guards_its_readers_nesting_limit():
    adapter = loader._json_fast_path()
    assert adapter is not None, "pydantic-core's JSON nesting limit changed: cold loads of JSON files are slow again"


def test_every_shipped_catalogue_file_reads_the_same_through_the_json_fast_path(tmp_path, monkeypatch):
    files = sorted(BUILTIN_DIR.glob("*.yaml"))
    assert len(files) > 20
    for f in files:
        path = tmp_path / f"{f.stem}.json"
        path.write_text(json.dumps(yaml.safe_load(f.read_text()), default=str))
        fast = loader._read_json_fast(path.read_text())
        assert fast is not None, f"{f.name} did not take the fast path"
        with monkeypatch.context() as m:
            _full_path(m)
            providers, problems = loader.read_catalogue(path)
        assert problems == [] and [p.model_dump() for p in providers] == [fast.model_dump()]


@pytest.mark.parametrize("text", [
    "",
    "[]",
    '{"format": 1}',
    '{"format": 1, "provider": "a", "name": "A", "hosts": ["a.example"], "endpoints": [{"method": "GET", "path": "/x", "summary": "x"}]}, {}',
    '{"format": 1, "provider": "a", "name": "A", "hosts": ["a.example"], "endpoints": [{"method": "GET", "path": "/x", "summary": "x", "extra": 1}]}',
    '{"format": 1, "provider": "a", "name": "A", "hosts": ["a.example"], "endpoints": [{"method": "GET", "path": "/x", "summary": "\\ud800"}]}',
    '{"format": 1, "provider": "a", "name": "A", "hosts": ["a.example"], "endpoints": [{"method": "GET", "path": "/{a}/{a}", "summary": "x"}]}',
])
def test_json_files_the_fast_path_leaves_get_the_full_paths_answer(tmp_path, monkeypatch, text):
    path = tmp_path / "one.json"
    path.write_text(text)
    answer = loader.read_catalogue(path)
    _full_path(monkeypatch)
    before = loader.read_catalogue(path)
    assert [str(p) for p in answer[1]] == [str(p) for p in before[1]]
    assert [p.model_dump() for p in answer[0]] == [p.model_dump() for p in before[0]]


def _verdict(root, *, full: bool, monkeypatch) -> str | None:
    with monkeypatch.context() as m:
        if full:
            m.setattr(bounds, "_plain_tree_fits", lambda _root: False)
        try:
            check_tree(root, "the file")
        except UserInputError as exc:
            return str(exc)
    return None


def test_check_tree_answers_as_its_full_walk_does(monkeypatch):
    rng = random.Random(11)

    def tree(depth: int):
        if depth and rng.random() < 0.6:
            if rng.random() < 0.5:
                return {str(i): tree(depth - 1) for i in range(rng.randint(0, 3))}
            return [tree(depth - 1) for _ in range(rng.randint(0, 3))]
        return rng.choice([1, "x", None, 2.5])

    shared = [1, 2]
    loop: list = []
    loop.append(loop)
    bomb = yaml.safe_load("a: &a [1,2,3,4,5,6,7,8,9]\n" + "".join(
        f"{n}: &{n} [{', '.join(['*' + p] * 9)}]\n" for p, n in zip("abcdefg", "bcdefgh")))
    cases = [tree(7) for _ in range(200)] + [
        _nested(MAX_DEPTH), _nested(MAX_DEPTH + 1), {"a": _nested(MAX_DEPTH)}, [shared, shared], {"x": loop}, bomb,
        list(range(bounds.MAX_VALUES - 1)), list(range(bounds.MAX_VALUES)),  # the list counts itself too
    ]
    refused = 0
    for root in cases:
        full = _verdict(root, full=True, monkeypatch=monkeypatch)
        assert _verdict(root, full=False, monkeypatch=monkeypatch) == full
        refused += full is not None
    assert refused == 5  # too deep twice, the loop, the bomb, one value too many
