"""The compiled index of the catalogue: built once, pickled, queried without scans.

* hosts: exact host -> providers; wildcard templates (``{company}.atlassian.net``)
  keyed by their literal suffix; registrable domains for aliases; the host list for
  a fuzzy fallback.
* per provider, a segment trie of its path templates (literal children, one
  placeholder child, partial-placeholder patterns such as ``{}.json``) for exact
  template matches;
* one global posting list per literal path token (sorted endpoint ids). Endpoint
  ids are allotted provider by provider, so a provider's postings are a slice of
  the global list found by bisection, and unknown hosts use the whole list.
"""

from __future__ import annotations

import bisect
import math
import re
from array import array
from dataclasses import dataclass
from operator import itemgetter
from typing import Any

from plugwire.knowledge.normalize import PH, QuerySegment, is_version, template_tokens, token_pattern
from plugwire.knowledge.sources import MergedProvider, ProviderInfo

__all__ = ["EPS", "Index", "ProviderEntry", "PH_KEY", "RE_KEY", "word_tokens"]

# Trie node keys that cannot collide with a path token (tokens never hold NUL bytes).
#: The fixed number of providers a word's evidence is measured against (see Index.evidence).
EVIDENCE_PROVIDERS = 64
PH_KEY, RE_KEY, EPS = "\x00ph", "\x00re", "\x00ep"

_WORD_RE = re.compile(r"^[a-z][a-z0-9_\-.]*$")  # dotted words too: Slack's chat.postmessage, tickets.json


def word_tokens(tokens: tuple[str, ...]) -> list[str]:
    """Return the literal, non-version tokens of a template: what postings index."""
    return [t for t in tokens if PH not in t and not is_version(t) and _WORD_RE.match(t)]


@dataclass
class ProviderEntry(ProviderInfo):
    """What the index keeps about one provider (endpoint ids ``start <= id < end``)."""

    start: int
    end: int


def _registrable(host: str) -> str | None:
    """Return the registrable-looking domain of a host: the last two labels, three
    when the second-level label is a short public suffix (``co.uk``); None for an IP
    address or a single-label host, which have no domain to share."""
    labels = host.split(".")
    if len(labels) < 2 or all(label.isdigit() for label in labels):
        return None
    if len(labels) >= 3 and len(labels[-2]) <= 3 and len(labels[-1]) == 2:
        return ".".join(labels[-3:])
    return ".".join(labels[-2:])


class Index:
    """Everything a query needs, in plain lists and dicts (cheap to pickle)."""

    def __init__(self, providers: list[MergedProvider]):
        self.providers: list[ProviderEntry] = []
        self.ep_provider = array("I")
        self.ep_method: list[str] = []
        self.ep_path: list[str] = []
        self.ep_summary: list[str] = []
        self.ep_blob: list[bytes] = []
        self.ep_file: list[str] = []
        self.ep_learned: list[bool] = []
        self.ep_tokens: list[tuple[str, ...]] = []
        self.host_exact: dict[str, list[int]] = {}
        self.host_wild: dict[str, list[tuple[tuple[str, ...], int, str]]] = {}
        self.host_domain: dict[str, list[int]] = {}
        self.tries: list[dict] = []
        postings: dict[str, list[int]] = {}
        pf: dict[str, int] = {}
        # Built once per process for 100,000 endpoints (then pickled): the paths' tokens
        # are computed once per distinct path (its methods follow one another in path
        # order, and providers share paths), each distinct token is one shared string,
        # and a token is classified once.
        strings: dict[str, str] = {}
        is_word: dict[str, bool] = {}
        by_path: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {}  # path -> (tokens, distinct words)
        for pi, mp in enumerate(providers):
            start = len(self.ep_method)
            trie: dict = {}
            seen_tokens: set[str] = set()
            keys = sorted(mp.endpoints, key=_path_method)
            # the columns of the keys and values, transposed in C (zip(*rows))
            methods, paths = zip(*keys) if keys else ((), ())
            summaries, blobs, files, learned = zip(*map(mp.endpoints.__getitem__, keys)) if keys else ((),) * 4
            self.ep_method.extend(methods)
            self.ep_path.extend(paths)
            self.ep_summary.extend(summaries)
            self.ep_blob.extend(blobs)
            self.ep_file.extend(files)
            self.ep_learned.extend(learned)
            self.ep_provider.extend([pi] * len(keys))
            # the runs of one path (its methods): [first, end) positions within the provider
            cuts = [i for i in range(1, len(paths)) if paths[i] != paths[i - 1]]
            for lo, hi in zip([0, *cuts], [*cuts, len(paths)]):
                found = by_path.get(paths[lo])
                if found is None:
                    tokens = tuple([strings.setdefault(t, t) for t in template_tokens(paths[lo])])
                    for t in tokens:
                        if t not in is_word:
                            is_word[t] = PH not in t and not is_version(t) and bool(_WORD_RE.match(t))
                    found = by_path[paths[lo]] = (tokens, tuple({t for t in tokens if is_word[t]}))
                tokens, words = found
                ids = range(start + lo, start + hi)
                self.ep_tokens.extend([tokens] * (hi - lo))
                _trie_leaf(trie, tokens).extend(ids)
                seen_tokens.update(words)
                for tok in words:
                    postings.setdefault(tok, []).extend(ids)
            for tok in seen_tokens:
                pf[tok] = pf.get(tok, 0) + 1
            self.tries.append(trie)
            self.providers.append(
                ProviderEntry(mp.provider, mp.name, mp.description, mp.docs_url, mp.hosts, mp.auth, mp.files, mp.kinds, mp.rank,
                              start, len(self.ep_method))
            )
            for host in mp.hosts:
                self._add_host(host, pi)
        # ids were appended in increasing order, so every posting list is sorted
        self.postings: dict[str, array] = {tok: array("I", ids) for tok, ids in postings.items()}
        self.provider_freq = pf
        # typo lookups compare a word with vocabulary words of about its length
        self.vocab: dict[int, list[str]] = {}
        for tok in self.postings:
            self.vocab.setdefault(len(tok), []).append(tok)
        self.by_id = {p.provider: i for i, p in enumerate(self.providers)}
        self._lazy: dict[str, Any] = {}

    def _add_host(self, host: str, pi: int) -> None:
        labels = tuple(host.split("."))
        if any(label.startswith("{") for label in labels):
            last_ph = max(i for i, label in enumerate(labels) if label.startswith("{"))
            suffix = ".".join(labels[last_ph + 1 :])
            self.host_wild.setdefault(suffix, []).append((labels, pi, host))
        else:
            self.host_exact.setdefault(host, []).append(pi)
            dom = _registrable(host)
            if dom is not None:
                lst = self.host_domain.setdefault(dom, [])
                if pi not in lst:
                    lst.append(pi)

    # -- pickling: lazily built caches are not worth storing -------------------------
    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state["_lazy"] = {}
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)

    # -- queries ---------------------------------------------------------------------
    @property
    def endpoint_count(self) -> int:
        """Return the number of endpoints indexed."""
        return len(self.ep_method)

    def wildcard_hosts(self, host: str) -> list[tuple[int, str, dict[str, str]]]:
        """Return ``(provider index, template, {placeholder: label})`` for every
        wildcard host template ``host`` fits."""
        labels = host.split(".")
        out = []
        for cut in range(1, len(labels) + 1):
            suffix = ".".join(labels[cut:])
            for tpl, pi, text in self.host_wild.get(suffix, ()):
                if len(tpl) != len(labels):
                    continue
                values = {}
                for want, have in zip(tpl, labels):
                    if want.startswith("{"):
                        values[want[1:-1]] = have
                    elif want != have:
                        break
                else:
                    out.append((pi, text, values))
        return out

    def domain_providers(self, host: str) -> list[int]:
        """Return providers with a host in the same registrable domain as ``host``."""
        dom = _registrable(host)
        return list(self.host_domain.get(dom, ())) if dom else []

    def host_choices(self) -> list[str]:
        """Return every exact host (for the fuzzy host fallback), built once."""
        hosts = self._lazy.get("hosts")
        if hosts is None:
            hosts = self._lazy["hosts"] = list(self.host_exact)
        return hosts

    def provider_postings(self, token: str, pi: int | None) -> array | list[int]:
        """Return the sorted endpoint ids containing ``token`` (of one provider, or all)."""
        ids = self.postings.get(token)
        if ids is None:
            return ()
        if pi is None:
            return ids
        p = self.providers[pi]
        return ids[bisect.bisect_left(ids, p.start) : bisect.bisect_left(ids, p.end)]

    def vocab_by_length(self) -> dict[int, list[str]]:
        """Return the path-token vocabulary grouped by length (for typo lookups)."""
        return self.vocab

    def idf(self, token: str) -> float:
        """Return how distinctive ``token`` is across providers (higher = rarer).

        Smoothed with 20 notional providers so that a small catalogue does not make
        every word look distinctive.
        """
        n = len(self.providers) + 20
        return math.log(n / (self.provider_freq.get(token, 0) + 1))

    def evidence(self, token: str) -> float:
        """Return what a URL word tells about its provider on an unknown host: like
        :meth:`idf`, but against a fixed number of providers, so that importing
        unrelated documents never makes a word look rarer (issue 16 item 10)."""
        return max(0.0, math.log(EVIDENCE_PROVIDERS / (self.provider_freq.get(token, 0) + 1)))

    def trie_match(self, pi: int, segs: tuple[QuerySegment, ...]) -> list[tuple[int, int]]:
        """Return ``(endpoint id, literal segments matched)`` for every template of
        provider ``pi`` that the URL segments fit exactly."""
        out: list[tuple[int, int]] = []
        _walk(self.tries[pi], segs, 0, 0, out)
        return out


#: A (method, path) key's sort key: path first, then method.
_path_method = itemgetter(1, 0)


def _trie_leaf(trie: dict, tokens: tuple[str, ...]) -> list[int]:
    """Return the list of endpoint ids at the trie node of ``tokens`` (made as needed)."""
    node = trie
    for tok in tokens:
        if tok == PH:
            node = node.setdefault(PH_KEY, {})
        elif PH in tok:
            patterns = node.setdefault(RE_KEY, [])
            for existing, child in patterns:
                if existing == tok:
                    node = child
                    break
            else:
                child = {}
                patterns.append((tok, child))
                node = child
        else:
            node = node.setdefault(tok, {})
    return node.setdefault(EPS, [])


def _walk(node: dict, segs: tuple[QuerySegment, ...], i: int, lits: int, out: list[tuple[int, int]]) -> None:
    if i == len(segs):
        for eid in node.get(EPS, ()):
            out.append((eid, lits))
        return
    seg = segs[i]
    child = node.get(seg.low)
    if child is not None:
        _walk(child, segs, i + 1, lits + 1, out)
    for tok, child in node.get(RE_KEY, ()):
        if token_pattern(tok).match(seg.low):
            # the literal part (".csv" of "{}.csv") counts: /reports/q3.csv is more
            # specifically /reports/{name}.csv than /reports/{name}
            _walk(child, segs, i + 1, lits + 1, out)
    child = node.get(PH_KEY)
    if child is not None:
        _walk(child, segs, i + 1, lits, out)
