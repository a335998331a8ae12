"""Matching a method and a normalised URL against the index.

1. The host picks the providers: exact host, wildcard template, alias (``www.``
   or the same registrable domain), then a fuzzy host match. An unrecognised host
   falls back to matching the path across every provider, scored lower and only
   when the path is distinctive enough.
2. Within a provider, the segment trie gives exact template matches. When there is
   none with the right method, candidates come from the posting lists of the
   URL's words (typos corrected against the vocabulary) and are aligned segment by
   segment: placeholders take ids, versions may drift (v2 against v3), segments may
   be missing or extra, and the last segment counts most (``/venues`` is the
   collection, ``/venues/{id}`` one venue).

A method mismatch lowers the score; it never hides an endpoint.

Ties are broken by a stated rule, never by the order of a set (which changes
with the process's hash seed): score, then the number of literal segments
matched, then the rank the user gave the endpoint's provider (``plugwire knowledge
rank``, for two providers that list one host; higher first, 0 when none), then the
source priority of the endpoint's provider (user, plugin, contrib, built-in), then the
endpoint's place in the index (providers by id, then path and method).
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass, field

from plugwire.knowledge.distance import closest_words, max_edits, typo_similarity
from plugwire.knowledge.index import PH_KEY, RE_KEY, Index, word_tokens
from plugwire.knowledge.normalize import LIT, PH, VER, NormalizedUrl, QuerySegment
from plugwire.knowledge.alignment import VERSION_EVIDENCE, align
from plugwire.knowledge.retrieval import shape_candidates, tie_rank, words_first

__all__ = ["CUTOFF", "HostRule", "Match", "align", "match_url", "resolve_host"]

#: Below this score the knowledge base suggests nothing.
CUTOFF = 0.5
METHOD_MISMATCH = 0.6  # the right method on a close path beats the wrong one on the exact path
_NEAR_METHODS = ({"PUT", "PATCH"}, {"GET", "HEAD"})
FUZZY_CAP = 0.9  # a fuzzy path match never scores like an exact template
UNKNOWN_HOST = 0.8
INFO_FULL = 6.5  # summed evidence of matched words for full confidence on an unknown host
INFO_FULL_WHOLE = 2.5  # the same when the whole path aligned word for word (no gap, typo or drift)
CANDIDATES = 30  # candidates aligned per provider after the cheap posting-list ranking
GLOBAL_DF_CAP = 4000  # a word in more endpoints than this cannot seed unknown-host candidates
HOST_FUZZY_CUTOFF = 88.0
GATEWAY = 0.92  # the path fits exactly once a prefix the provider never uses is set aside
SWALLOWED = 0.8  # a placeholder that took a typo of a word a literal template has: that template competes


@dataclass(frozen=True)
class HostRule:
    """How the URL's host led to a provider: ``factor`` scales the score."""

    provider: int
    factor: float
    reason: str
    strong: bool  # exact or wildcard: no need to look beyond this provider
    corrected: str | None = None  # the listed host a mistyped one was read as (api.githib.com -> api.github.com)


@dataclass
class Match:
    """One endpoint the URL may mean, with the evidence for the reason text."""

    eid: int
    score: float
    host: HostRule | None
    exact: bool
    method_ok: bool
    bindings: list[tuple[int, QuerySegment]] = field(default_factory=list)  # template segment -> URL segment
    differences: list[str] = field(default_factory=list)
    path_score: float = 1.0
    lits: int = 0  # literal segments matched exactly (the second tie-breaker)


def resolve_host(index: Index, host: str) -> list[HostRule]:
    """Return the providers the host belongs to, most certain rule first (empty when unknown)."""
    rules: list[HostRule] = []
    for pi in index.host_exact.get(host, ()):
        rules.append(HostRule(pi, 1.0, f"host {host} is listed for {index.providers[pi].name}", True))
    for pi, tpl, values in () if rules else index.wildcard_hosts(host):
        bound = ", ".join(f"{k}={v}" for k, v in values.items())
        rules.append(HostRule(pi, 1.0, f"host {host} fits {tpl} ({bound})", True))
    if rules:
        return _unique(rules)
    alt = host[4:] if host.startswith("www.") else f"www.{host}"
    for pi in index.host_exact.get(alt, ()):
        rules.append(HostRule(pi, 0.97, f"host {host} is an alias of {alt} ({index.providers[pi].name})", True))
    if rules:
        return _unique(rules)
    for pi in index.domain_providers(host):
        known = next(h for h in index.providers[pi].hosts if "{" not in h)
        rules.append(HostRule(pi, 0.9, f"host {host} is on the same domain as {known} ({index.providers[pi].name})", False))
    if rules:
        return _unique(rules)
    from rapidfuzz import fuzz, process  # only for an unlisted host: most questions never get here

    hit = process.extractOne(host, index.host_choices(), scorer=fuzz.ratio, score_cutoff=HOST_FUZZY_CUTOFF)
    if hit:
        # A name is corrected, an address is not: 10.0.0.2 is another machine, not a typo of 10.0.0.1.
        corrected = None if host.replace(".", "").isdigit() or ":" in host else hit[0]
        for pi in index.host_exact[hit[0]]:
            rules.append(HostRule(pi, 0.8, f"host {host} is not listed but is close to {hit[0]} ({index.providers[pi].name})", False, corrected))
    return _unique(rules)


def _unique(rules: list[HostRule]) -> list[HostRule]:
    seen: set[int] = set()
    return [r for r in rules if not (r.provider in seen or seen.add(r.provider))]


def match_url(
    index: Index, method: str, url: NormalizedUrl, *, limit: int = 5, cutoff: float = CUTOFF, provider: str | None = None
) -> list[Match]:
    """Return up to ``limit`` matches scoring at least ``cutoff``, best first.

    ``provider`` is the catalogue provider the connection is for, if any: when the
    host itself is not recognised (a self-hosted instance, a gateway), that
    provider's endpoints are matched as if the host were listed, slightly lower.
    """
    method = method.upper()
    segs = words_first(index, url.segments)
    found: dict[int, Match] = {}
    rules = resolve_host(index, url.host)
    pi = index.by_id.get(provider) if provider else None
    if pi is not None and not any(r.strong for r in rules):
        name = index.providers[pi].name
        rules = [HostRule(pi, 0.95, f"the connection is for {name} (host {url.host} is not listed for it)", True)]
    for rule in rules:
        exact = _exact(index, rule, method, segs) or _behind_gateway(index, rule, method, segs)
        for m in exact:
            _keep(found, m)
        if not any(m.method_ok for m in exact) or any(m.differences for m in exact):
            for m in _fuzzy(index, rule.provider, method, segs, rule, cutoff):
                _keep(found, m)
    if not rules or (not any(r.strong for r in rules) and not any(m.score >= cutoff for m in found.values())):
        for m in _fuzzy(index, None, method, segs, None, cutoff):
            _keep(found, m)
    # rounded: two readings of equal worth must not be told apart by float noise
    best = heapq.nlargest(limit, (m for m in found.values() if m.score >= cutoff), key=lambda m: (round(m.score, 9), m.lits, tie_rank(index, m.eid), -m.eid))
    return best


def method_factor(wanted: str, have: str) -> float:
    """Return the score factor of an endpoint whose method is ``have`` for a request of ``wanted``."""
    if wanted == have:
        return 1.0
    if any(wanted in pair and have in pair for pair in _NEAR_METHODS):
        return 0.85
    return METHOD_MISMATCH


def _keep(found: dict[int, Match], m: Match) -> None:
    old = found.get(m.eid)
    if old is None or m.score > old.score:
        found[m.eid] = m


def _exact(index: Index, rule: HostRule, method: str, segs: tuple[QuerySegment, ...]) -> list[Match]:
    hits = index.trie_match(rule.provider, segs)
    if not hits:
        return []
    most = max(lits for _, lits in hits)
    out = []
    for eid, lits in hits:
        # a template that names a segment literally beats one whose placeholder took it
        path_score = 1.0 if lits == most else max(0.8, 0.95 - 0.05 * (most - lits - 1))
        notes = _swallowed(index, rule.provider, eid, segs)
        if notes:
            path_score *= SWALLOWED
        ok = index.ep_method[eid] == method
        score = path_score * rule.factor * method_factor(method, index.ep_method[eid])
        out.append(Match(eid, score, rule, True, ok, list(enumerate(segs)), notes, path_score, lits))
    return out


def _behind_gateway(index: Index, rule: HostRule, method: str, segs: tuple[QuerySegment, ...]) -> list[Match]:
    """Return exact matches of the path without its first one or two segments, when
    those are words no template of the provider starts with (``/proxy/teams/7``
    behind a gateway is ``/teams/{team_id}``); each says what was set aside."""
    root = index.tries[rule.provider]
    for k in (1, 2):
        if len(segs) <= k or any(q.kind != LIT or q.low in root or _near_literal(root, q) for q in segs[:k]):
            return []  # a mistyped first word (/ogs/7/teams) is a typo, not a prefix
        out = []
        prefix = "/".join(q.raw for q in segs[:k])
        for m in _exact(index, rule, method, segs[k:]):
            m.score *= GATEWAY
            m.path_score *= GATEWAY
            m.differences.insert(0, f"the URL's /{prefix} before it is set aside (a gateway or proxy prefix, it seems)")
            out.append(m)
        if out:
            return out
    return []


def _swallowed(index: Index, pi: int, eid: int, segs: tuple[QuerySegment, ...]) -> list[str]:
    """Return a note per URL word a placeholder of ``eid`` took although a sibling
    template names that word, or a word one or two edits from it, at that place
    (``/teams/memebrs`` on ``/teams/{id}`` beside ``/teams/members``)."""
    notes = []
    node = index.tries[pi]
    for tok, q in zip(index.ep_tokens[eid], segs):
        if tok == PH:
            if q.kind == LIT and q.low in node:
                # the literal reading exists but failed further on: a later word may be mistyped
                notes.append(f"'{q.raw}' was taken as a placeholder value, not as the word it also is here")
            elif q.kind == LIT:
                close = _near_literal(node, q)
                if close:
                    notes.append(f"'{q.raw}' was taken as a placeholder value, not as the word '{close}' it is close to")
            node = node.get(PH_KEY, {})
        elif PH in tok:
            node = next((child for t, child in node.get(RE_KEY, ()) if t == tok), {})
        else:
            node = node.get(tok, {})
    return notes


def _near_literal(node: dict, q: QuerySegment) -> str | None:
    """Return the literal child of trie ``node`` that URL word ``q`` is a typo of, if any."""
    if not max_edits(q.low):
        return None
    # literal children of about the word's length; most nodes have none, so an exact
    # match rarely pays for a distance at all
    near: dict[int, list[str]] = {}
    for k in node:
        if k[:1] != "\x00" and abs(len(k) - len(q.low)) <= 2:
            near.setdefault(len(k), []).append(k)
    close = closest_words(q.low, near)[0] if near else ()
    return close[0] if close else None


def _corrections(index: Index, words: list[str], pi: int | None) -> dict[str, tuple[tuple[str, ...], float]]:
    """Map each URL word missing from the vocabulary to ``(the closest known tokens,
    their alignment similarity)``; every token at the smallest distance is kept, so
    that the templates, not the order of a set, choose between them."""
    vocab = index.vocab_by_length() if pi is None else _provider_vocab(index, pi)
    known = index.postings if pi is None else _provider_words(index, pi)
    out = {}
    for w in words:
        if w in known:
            continue
        close, edits = closest_words(w, vocab)
        if close:
            out[w] = (close, typo_similarity(edits))
    return out


def _provider_words(index: Index, pi: int) -> set[str]:
    key = f"words{pi}"
    words = index._lazy.get(key)
    if words is None:
        p = index.providers[pi]
        words = set()
        for eid in range(p.start, p.end):
            words.update(word_tokens(index.ep_tokens[eid]))
        index._lazy[key] = words
    return words


def _provider_vocab(index: Index, pi: int) -> dict[int, list[str]]:
    key = f"vocab{pi}"
    vocab = index._lazy.get(key)
    if vocab is None:
        vocab = {}
        for tok in _provider_words(index, pi):
            vocab.setdefault(len(tok), []).append(tok)
        index._lazy[key] = vocab
    return vocab


def _candidates(index: Index, words: list[str], pi: int | None) -> list[tuple[int, float]]:
    """Rank endpoints by the summed idf of the URL words they contain.

    Returns the best ``(endpoint id, weight)`` pairs; the weight bounds the
    information an alignment with that endpoint can find.
    """
    lists = sorted(((index.provider_postings(w, pi), w) for w in dict.fromkeys(words)), key=lambda x: len(x[0]))
    weight: dict[int, float] = {}
    for ids, w in lists:
        if not ids:
            continue
        idf = index.idf(w)
        if pi is None and len(ids) > GLOBAL_DF_CAP and not weight:
            return []  # only common words: the path is too generic to guess a provider
        if len(ids) <= GLOBAL_DF_CAP or not weight:
            for eid in ids[:GLOBAL_DF_CAP]:
                weight[eid] = weight.get(eid, 0.0) + idf
        else:
            # a common word only re-ranks what rarer words found (no walk of its long list)
            for eid in weight:
                if w in index.ep_tokens[eid]:
                    weight[eid] += idf
    best = heapq.nlargest(CANDIDATES, weight.items(), key=lambda kv: (kv[1], -kv[0]))
    return best


def _fuzzy(
    index: Index, pi: int | None, method: str, segs: tuple[QuerySegment, ...], rule: HostRule | None, cutoff: float
) -> list[Match]:
    words = [s.low for s in segs if s.kind == LIT]
    corr = _corrections(index, words, pi)
    known = index.postings if pi is None else _provider_words(index, pi)
    words = [c for w in words for c in (corr[w][0] if w in corr else (w,))]
    if pi is None:
        # even a perfect alignment scores no more than the words' information allows
        bonus = VERSION_EVIDENCE * sum(1 for s in segs if s.kind == VER)
        info_max = bonus + sum(index.evidence(w) for w in set(words) if w in index.postings)
        if FUZZY_CAP * UNKNOWN_HOST * min(1.0, info_max / INFO_FULL_WHOLE) < cutoff:
            return []
    cands = _candidates(index, words, pi)
    if not cands and pi is not None:
        # no word to go by (/v7.0/81234): on a known host the path's shape still narrows it
        cands = [(eid, 0.0) for eid in shape_candidates(index, pi, segs)]
    out = []
    for eid, weight in cands:
        mf = method_factor(method, index.ep_method[eid])
        if rule is None:
            # the words an endpoint shares with the URL bound what an alignment can find
            factor = FUZZY_CAP * mf * UNKNOWN_HOST
            # (idf >= evidence while the catalogue has fewer than EVIDENCE_PROVIDERS - 20
            # providers; past that the bound is loose only where words are common anyway)
            if factor * min(1.0, (weight + bonus) / INFO_FULL_WHOLE) < cutoff:
                continue
        else:
            factor = FUZZY_CAP * mf * rule.factor
            if factor < cutoff:
                continue
        path_score, pairs, info = align(segs, index.ep_tokens[eid], corr, known, index if pi is None else None)
        if path_score <= 0:
            continue
        if rule is None:
            # decided by the URL's own evidence: its words' rarity, and whether the
            # template and the path agree segment for segment
            whole = path_score >= 1.0 - 1e-9
            score = factor * path_score * min(1.0, info / (INFO_FULL_WHOLE if whole else INFO_FULL))
        else:
            score = factor * path_score
        lits = sum(1 for tj, q in pairs if q.low == index.ep_tokens[eid][tj])
        out.append(Match(eid, score, rule, False, index.ep_method[eid] == method, pairs, [], path_score, lits))
    return out
