"""Each file of the user's catalogue is compiled once per version of it and kept in
the cache folder, so that a reload after an import or a learn (a new process, the
user's folder changed) reads only the file that changed, not every file again."""

from __future__ import annotations

import yaml
from plugwire.knowledge import base
from plugwire.knowledge.base import load_catalogue
from plugwire.knowledge.sources import BUILTIN_DIR, Source


def _write(folder, provider: str, paths: list[str]) -> None:
    doc = {"format": 1, "provider": provider, "name": provider.title(), "hosts": [f"api.{provider}.example"],
           "endpoints": [{"method": "GET", "path": p, "summary": f"Get {p}"} for p in paths]}
    (folder / f"{provider}.yaml").write_text(yaml.safe_dump(doc))


def _new_process(monkeypatch) -> list[str]:
    """Forget what this process compiled, and record every file read from now on."""
    base._compiled.clear()
    base._compiled_keys.clear()
    read: list[str] = []
    real = base.compile_file

    def compile_file(path, source):
        read.append(path.name)
        return real(path, source)

    monkeypatch.setattr(base, "compile_file", compile_file)
    return read


def _paths(catalogue, provider: str) -> list[str]:
    index = catalogue.index
    p = index.providers[index.by_id[provider]]
    return [index.ep_path[e] for e in range(p.start, p.end)]


def test_a_reload_reads_only_the_user_files_that_changed(tmp_path, monkeypatch):
    monkeypatch.setenv("PLUGWIRE_CACHE_DIR", str(tmp_path / "cache"))
    folder = tmp_path / "catalogue"
    folder.mkdir()
    for name in ("alpha", "beta", "gamma"):
        _write(folder, name, [f"/v1/{name}"])
    sources = [Source("builtin", BUILTIN_DIR), Source("user", folder)]

    read = _new_process(monkeypatch)
    first = load_catalogue(sources)
    assert {"alpha.yaml", "beta.yaml", "gamma.yaml"} <= set(read)
    assert _paths(first, "beta") == ["/v1/beta"]

    # another process after an import changed one file and removed another
    _write(folder, "beta", ["/v1/beta", "/v2/beta"])
    (folder / "gamma.yaml").unlink()
    read = _new_process(monkeypatch)
    second = load_catalogue(sources)
    assert not second.from_cache
    assert [n for n in read if n in ("alpha.yaml", "beta.yaml", "gamma.yaml")] == ["beta.yaml"]
    assert _paths(second, "beta") == ["/v1/beta", "/v2/beta"] and _paths(second, "alpha") == ["/v1/alpha"]
    assert "gamma" not in second.index.by_id
    [store] = (tmp_path / "cache").glob("compiled-*")
    assert len(list(store.iterdir())) == 2  # the removed file's entry is gone

    # a damaged entry is read again from the file, never an error
    for entry in store.iterdir():
        entry.write_bytes(b"not a pickle")
    _write(folder, "alpha", ["/v1/alpha", "/v1/alpha/{id}"])
    read = _new_process(monkeypatch)
    third = load_catalogue(sources)
    assert {"alpha.yaml", "beta.yaml"} <= set(read)
    assert _paths(third, "alpha") == ["/v1/alpha", "/v1/alpha/{id}"]


def test_a_bad_user_file_stays_a_problem_when_read_from_the_store(tmp_path, monkeypatch):
    monkeypatch.setenv("PLUGWIRE_CACHE_DIR", str(tmp_path / "cache"))
    folder = tmp_path / "catalogue"
    folder.mkdir()
    _write(folder, "alpha", ["/v1/alpha"])
    (folder / "broken.yaml").write_text("format: 1\nprovider: Broken Id\n")
    sources = [Source("user", folder)]
    _new_process(monkeypatch)
    problems = [str(p) for p in load_catalogue(sources).problems]
    assert problems and all("broken.yaml" in p for p in problems)
    _write(folder, "beta", ["/v1/beta"])  # the folder changed: the index is rebuilt, broken.yaml comes from the store
    read = _new_process(monkeypatch)
    again = load_catalogue(sources)
    assert read == ["beta.yaml"]
    assert [str(p) for p in again.problems] == problems
