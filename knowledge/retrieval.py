"""What the matcher retrieves before it scores: which URL segments are words, and
which endpoints are worth aligning when the URL has no word to go by.

``words_first``: the id pattern reads ``saved_searches``, ``ticket_classes`` or
``NotificationChannels`` as ids (an underscore, or a long mixed-case run). A
segment made only of letters (with ``_`` or ``-`` between them) that is a
catalogue word, or a typo of one, is a word first: it feeds candidate retrieval
and is aligned as a word.

``shape_candidates``: on a known host, a URL whose words are all ids or versions
(``/v7.0/81234``) still has a shape; the provider's endpoints with about as many
segments are aligned, so a known host always yields candidates.
"""

from __future__ import annotations

import re

from plugwire.knowledge.distance import closest_words
from plugwire.knowledge.index import Index
from plugwire.knowledge.normalize import ID, LIT, QuerySegment
from plugwire.knowledge.sources import PRIORITY

__all__ = ["SHAPE_CANDIDATES", "shape_candidates", "tie_rank", "words_first"]

#: Endpoints aligned by shape at most (closest segment count first, then index order).
SHAPE_CANDIDATES = 200
_WORDISH_RE = re.compile(r"^[a-z]+(?:[_\-][a-z]+)*$")


def words_first(index: Index, segs: tuple[QuerySegment, ...]) -> tuple[QuerySegment, ...]:
    """Return ``segs`` with each id-classified segment that is a catalogue word, or
    a typo of one, reclassified as a literal word."""
    if not any(s.kind == ID for s in segs):
        return segs  # the common case costs one scan of a few segments
    out = []
    for s in segs:
        if s.kind == ID and _WORDISH_RE.match(s.low) and (s.low in index.postings or closest_words(s.low, index.vocab_by_length())[0]):
            s = QuerySegment(s.raw, s.low, LIT)
        out.append(s)
    return tuple(out)


def shape_candidates(index: Index, pi: int, segs: tuple[QuerySegment, ...]) -> list[int]:
    """Return endpoint ids of provider ``pi`` whose templates have about as many
    segments as the URL (a version or gateway segment more or less), closest first."""
    key = f"shape{pi}"
    by_len = index._lazy.get(key)
    if by_len is None:
        by_len = {}
        p = index.providers[pi]
        for eid in range(p.start, p.end):
            by_len.setdefault(len(index.ep_tokens[eid]), []).append(eid)
        index._lazy[key] = by_len
    n = len(segs)
    out: list[int] = []
    for length in (n, n - 1, n + 1):
        out.extend(by_len.get(length, ()))
        if len(out) >= SHAPE_CANDIDATES:
            break
    return out[:SHAPE_CANDIDATES]


def tie_rank(index: Index, eid: int) -> tuple[int, int]:
    """Return ``(rank, source priority)`` of endpoint ``eid``'s provider: the rank the
    user gave it (``plugwire knowledge rank``; 0 when none), then the priority of the
    source it comes from (user 3, plugin 2, contrib 1, built-in 0; the highest of its
    files). The third and fourth tie-breakers, after the score and the literal
    segments matched: two providers listing one host answer in the user's order."""
    ranks = index._lazy.get("ranks")
    if ranks is None:
        ranks = index._lazy["ranks"] = [
            (p.rank, max((PRIORITY.get(k, 0) for k in p.kinds), default=0)) for p in index.providers
        ]
    return ranks[index.ep_provider[eid]]
