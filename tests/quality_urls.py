"""Concrete URLs generated from catalogue operations, for the suggestion-quality
tests and bench/bench_quality.py (issue 16).

The catalogue is the built-in one plus the real OpenAPI documents of
``../shared/data/openapi`` imported into a user catalogue folder (as ``plugwire
knowledge import`` does), under provider ids the built-in catalogue does not use.
Each operation gives URLs in several variants (clean, trailing slash, host case, a
query, version changed or missing, one or two typos, placeholders left in, a
changed case, a gateway prefix, a self-hosted host). The expected answer of a URL
is the operation it was built from: an answer is right when its method and path
shape (template tokens) are that operation's, whichever provider lists it (the
built-in and the imported GitHub describe the same endpoints).
"""

from __future__ import annotations

import json
import random
import re
from dataclasses import dataclass
from pathlib import Path

from plugwire.knowledge.base import load_catalogue
from plugwire.knowledge.index import Index
from plugwire.knowledge.normalize import PH, is_version, template_tokens
from plugwire.knowledge.sources import BUILTIN_DIR, Source

OPENAPI_DIR = Path(__file__).resolve().parents[2] / "shared" / "data" / "openapi"
SELF_HOSTED = "apis.selfhosted-instance.internal"

#: Every variant; POINT7 are the "what users paste" ones of issue 16 point 7.
VARIANTS = (
    "clean", "slash", "host_case", "query", "version_changed", "version_missing", "typo1", "typo2",
    "placeholder_brace", "placeholder_colon", "placeholder_angle", "case_changed", "gateway", "self_hosted",
)
POINT7 = ("placeholder_brace", "placeholder_colon", "placeholder_angle", "case_changed", "typo2", "gateway", "self_hosted")
_PH_RE = re.compile(r"\{([^{}/]*)\}")


@dataclass(frozen=True)
class Case:
    """One generated URL: its variant, method, URL and expected (method, tokens)."""

    variant: str
    method: str
    url: str
    expected: tuple[str, tuple[str, ...]]
    source: str  # "METHOD /path" of the operation, for messages


def build_catalogue(folder: Path, names: tuple[str, ...] | None = None) -> Index:
    """Import the shared OpenAPI documents into ``folder`` and return the index of
    the built-in catalogue plus them (``names`` limits which files are imported)."""
    from plugwire.knowledge.openapi import import_openapi

    folder.mkdir(parents=True, exist_ok=True)
    for path in sorted(OPENAPI_DIR.glob("*.*")):
        if path.suffix not in (".json", ".yaml", ".yml") or (names and path.name not in names):
            continue
        report = import_openapi(path, provider=f"oa-{path.stem.lower()}")
        doc = report.catalogue.model_dump(mode="json", exclude_defaults=True)
        (folder / f"oa-{path.stem.lower()}.json").write_text(json.dumps(doc))
    return load_catalogue([Source("builtin", BUILTIN_DIR), Source("user", folder)], use_cache=False).index


def _host(index: Index, eid: int) -> str:
    prov = index.providers[index.ep_provider[eid]]
    exact = [h for h in prov.hosts if "{" not in h]
    if exact:
        return exact[0]
    return _PH_RE.sub("acme", prov.hosts[0])  # {company}.atlassian.net -> acme.atlassian.net


def _fill(seg: str, rng: random.Random) -> str:
    return _PH_RE.sub(lambda _: str(rng.randint(1000, 99_999_999)) if rng.random() < 0.7 else f"{rng.getrandbits(64):016x}", seg)


def _typo(word: str, rng: random.Random, taken: set[str]) -> str | None:
    """Return ``word`` with one random edit (deletion, insertion, substitution or
    transposition of neighbours) that is no other word of the vocabulary ``taken``."""
    letters = "abcdefghijklmnopqrstuvwxyz"
    for _ in range(20):
        kind = rng.choice(("deletion", "insertion", "substitution", "transposition"))
        i = rng.randrange(len(word))
        if kind == "deletion":
            out = word[:i] + word[i + 1 :]
        elif kind == "insertion":
            out = word[:i] + rng.choice(letters) + word[i:]
        elif kind == "substitution":
            out = word[:i] + rng.choice(letters.replace(word[i].lower(), "")) + word[i + 1 :]
        else:
            i = min(i, len(word) - 2)
            out = word[:i] + word[i + 1] + word[i] + word[i + 2 :]
        if out.lower() != word.lower() and out.lower() not in taken:
            return out
    return None


def _camel(name: str) -> str:
    parts = [p for p in re.split(r"[_\-]", name) if p]
    return (parts[0] + "".join(p[:1].upper() + p[1:] for p in parts[1:])) if parts else "id"


def _is_word(seg: str) -> bool:
    return "{" not in seg and not is_version(seg.lower()) and bool(re.fullmatch(r"[A-Za-z][A-Za-z_\-]*", seg))


def cases_for(index: Index, eid: int, rng: random.Random, vocab: set[str]) -> list[Case]:
    """Return the generated URLs of endpoint ``eid`` (a variant that does not apply to
    its path, such as version drift on a path without a version, is left out)."""
    method, path = index.ep_method[eid], index.ep_path[eid]
    expected = (method, index.ep_tokens[eid])
    source = f"{method} {path}"
    host = _host(index, eid)
    segs = [s for s in path.split("/") if s]
    filled = [_fill(s, rng) for s in segs]
    words = [i for i, s in enumerate(segs) if _is_word(s) and len(s) >= 4]
    versions = [i for i, s in enumerate(segs) if is_version(s.lower()) and "{" not in s]
    phs = [i for i, s in enumerate(segs) if re.fullmatch(r"\{[^{}/]+\}", s)]
    out: list[Case] = []

    def add(variant: str, parts: list[str], h: str = host, tail: str = "") -> None:
        out.append(Case(variant, method, f"https://{h}/" + "/".join(parts) + tail, expected, source))

    add("clean", filled)
    add("slash", filled, tail="/")
    add("host_case", filled, h=host.upper() if rng.random() < 0.5 else host.title())
    add("query", filled, tail=f"?page={rng.randint(1, 9)}&q=x")
    if versions:
        i = versions[0]
        v = segs[i].lower()
        drift = f"v{int(v[1]) % 9 + 1}" if re.fullmatch(r"v\d", v) else ("v2" if v != "v2" else "v3")
        add("version_changed", filled[:i] + [drift] + filled[i + 1 :])
        add("version_missing", filled[:i] + filled[i + 1 :])
    if words:
        i = rng.choice(words)
        t = _typo(segs[i], rng, vocab)
        if t:
            add("typo1", filled[:i] + [t] + filled[i + 1 :])
        two = list(filled)
        if len(words) >= 2:
            a, b = rng.sample(words, 2)
            ta, tb = _typo(segs[a], rng, vocab), _typo(segs[b], rng, vocab)
            if ta and tb:
                two[a], two[b] = ta, tb
                add("typo2", two)
        elif len(segs[words[0]]) >= 7:
            i = words[0]
            t1 = _typo(segs[i], rng, vocab)
            t2 = t1 and _typo(t1, rng, vocab)
            if t2 and t2.lower() != segs[i].lower():
                two[i] = t2
                add("typo2", two)
        i = rng.choice(words)
        add("case_changed", filled[:i] + [segs[i].upper() if rng.random() < 0.5 else segs[i].title()] + filled[i + 1 :])
    if phs:
        add("placeholder_brace", [s if i in phs else f for i, (s, f) in enumerate(zip(segs, filled))])
        add("placeholder_colon", [":" + _camel(s[1:-1]) if i in phs else f for i, (s, f) in enumerate(zip(segs, filled))])
        add("placeholder_angle", [f"<{s[1:-1]}>" if i in phs else f for i, (s, f) in enumerate(zip(segs, filled))])
    add("gateway", [rng.choice(("gateway", "api-gw", "proxy"))] + filled)
    add("self_hosted", filled, h=SELF_HOSTED)
    return out


def generate(index: Index, *, per_variant: int | None = None, seed: int = 16, providers: tuple[str, ...] | None = None) -> list[Case]:
    """Return generated cases for the endpoints of ``providers`` (default: the
    imported ``oa-*`` ones plus the built-in catalogue), in a stable order;
    ``per_variant`` keeps a seeded sample of that many cases per variant."""
    rng = random.Random(seed)
    vocab = set(index.postings)
    cases: list[Case] = []
    for pi, prov in enumerate(index.providers):
        if providers is not None and prov.provider not in providers:
            continue
        for eid in range(prov.start, prov.end):
            if index.ep_learned[eid] or any(PH in t and t != PH for t in index.ep_tokens[eid][:1]):
                continue
            cases.extend(cases_for(index, eid, rng, vocab))
    if per_variant is None:
        return cases
    out: list[Case] = []
    for variant in VARIANTS:
        mine = [c for c in cases if c.variant == variant]
        out.extend(rng.sample(mine, min(per_variant, len(mine))))
    return out


def rank_of(index: Index, case: Case, suggest) -> int | None:
    """Return the 1-based rank of the expected operation among ``suggest``'s answers
    (a function of method and URL returning Suggestion objects), or None."""
    want = _versionless(case.expected) if case.variant.startswith("version_") else case.expected
    for rank, s in enumerate(suggest(case.method, case.url), 1):
        method, _, path = (s.endpoint or "").partition(" ")
        got = (method, template_tokens(path))
        if (_versionless(got) if case.variant.startswith("version_") else got) == want:
            return rank
    return None


def _versionless(key: tuple[str, tuple[str, ...]]) -> tuple[str, tuple[str, ...]]:
    # a URL whose version changed or went missing names no version: /rest/api/v2/issue
    # is Jira's /rest/api/2/issue as rightly as its /rest/api/3/issue
    return key[0], tuple(t for t in key[1] if not is_version(t))


def score(index: Index, cases: list[Case], suggest) -> dict[str, tuple[int, int, int]]:
    """Return ``{variant: (top-1 right, top-3 right, total)}`` plus ``"all"`` and ``"point7"``."""
    out: dict[str, list[int]] = {}
    for case in cases:
        rank = rank_of(index, case, suggest)
        for key in (case.variant, "all") + (("point7",) if case.variant in POINT7 else ()):
            row = out.setdefault(key, [0, 0, 0])
            row[0] += rank == 1
            row[1] += rank is not None and rank <= 3
            row[2] += 1
    return {k: tuple(v) for k, v in out.items()}
