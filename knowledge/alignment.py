"""Aligning URL segments with a template's tokens: the score of a fuzzy match.

Order is kept and gaps are allowed; placeholders take ids, versions may drift
(v2 against v3), a typo counts by its distance (see :mod:`plugwire.knowledge.distance`),
and the last segment counts most (``/venues`` is the collection, ``/venues/{id}``
one venue).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from plugwire.knowledge.normalize import ID, LIT, NUM, PH, VER, QuerySegment, is_version, token_pattern

if TYPE_CHECKING:
    from plugwire.knowledge.index import Index

__all__ = ["VERSION_EVIDENCE", "align"]

VERSION_EVIDENCE = 0.5


_TCLASS: dict[str, tuple[int, float]] = {}
_WORD, _PLACE, _PARTIAL, _VERSION = 0, 1, 2, 3


def _tclass(t: str) -> tuple[int, float]:
    """Return (class, weight) of a template token, cached: tokens repeat across endpoints."""
    found = _TCLASS.get(t)
    if found is None:
        if t == PH:
            found = (_PLACE, 0.5)
        elif PH in t:
            found = (_PARTIAL, 0.5)
        elif is_version(t):
            found = (_VERSION, 0.5)
        else:
            found = (_WORD, 1.0)
        if len(_TCLASS) < 200_000:
            _TCLASS[t] = found
    return found


def _sim(q: QuerySegment, t: str, cls: int, corr: dict[str, tuple[tuple[str, ...], float]], known: set[str] | dict) -> float:
    if cls == _PLACE:
        if q.kind in (ID, NUM):
            return 1.0
        # an API word (or a typo of one) in a placeholder's place is unlikely to be an id
        return 0.2 if q.low in corr or q.low in known else 0.5
    if cls == _PARTIAL:
        return 1.0 if token_pattern(t).match(q.low) else 0.0
    if q.low == t:
        return 1.0
    if cls == _VERSION:
        return 0.7 if q.kind in (VER, NUM) else 0.0
    hit = corr.get(q.low)
    if hit is not None and t in hit[0]:
        return hit[1]
    return 0.0


def align(
    segs: tuple[QuerySegment, ...],
    toks: tuple[str, ...],
    corr: dict[str, tuple[tuple[str, ...], float]],
    known: set[str] | dict = frozenset(),
    index: Index | None = None,
) -> tuple[float, list[tuple[int, QuerySegment]], float]:
    """Align URL segments with template tokens (order kept, gaps allowed).

    Returns ``(path score in [0, 1], [(template segment index, URL segment)],
    information)``: the score is the weighted overlap (Dice) blended with whether
    the last segments align; information is the summed evidence of the aligned words
    (and of a version named exactly)
    (computed only when ``index`` is given, for unknown hosts). ``corr`` maps typos
    to vocabulary words; ``known`` is the vocabulary.
    """
    n, m = len(segs), len(toks)
    if not n or not m:
        return (1.0 if n == m else 0.0), [], 0.0
    wq = [1.0 if s.kind == LIT else 0.5 for s in segs]
    classes = [_tclass(t) for t in toks]
    wt = [c[1] for c in classes]
    # dp[i][j]: best weighted overlap of segs[:i] and toks[:j]
    dp = [[0.0] * (m + 1) for _ in range(n + 1)]
    sims = [[0.0] * m for _ in range(n)]
    for i in range(1, n + 1):
        row, prev = dp[i], dp[i - 1]
        q = segs[i - 1]
        for j in range(1, m + 1):
            s = _sim(q, toks[j - 1], classes[j - 1][0], corr, known)
            sims[i - 1][j - 1] = s
            best = prev[j] if prev[j] > row[j - 1] else row[j - 1]
            if s > 0.0:
                diag = prev[j - 1] + s * (wq[i - 1] + wt[j - 1]) / 2
                if diag > best:
                    best = diag
            row[j] = best
    pairs: list[tuple[int, QuerySegment]] = []
    i, j = n, m
    while i and j:
        s = sims[i - 1][j - 1]
        if s > 0.0 and abs(dp[i][j] - (dp[i - 1][j - 1] + s * (wq[i - 1] + wt[j - 1]) / 2)) < 1e-9:
            pairs.append((j - 1, segs[i - 1]))
            i, j = i - 1, j - 1
        elif dp[i][j] == dp[i - 1][j]:
            i -= 1
        else:
            j -= 1
    pairs.reverse()
    if not pairs:
        return 0.0, [], 0.0
    dice = dp[n][m] / ((sum(wq) + sum(wt)) / 2)
    tail = 1.0 if pairs[-1][0] == m - 1 and pairs[-1][1] is segs[-1] else 0.0
    info = 0.0
    if index is not None:
        for tj, q in pairs:
            if classes[tj][0] == _WORD:
                info += index.evidence(toks[tj])
            elif classes[tj][0] == _VERSION and q.low == toks[tj]:
                info += VERSION_EVIDENCE  # the very version the template names says a little too
    return 0.8 * dice + 0.2 * tail, pairs, info
