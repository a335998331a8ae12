"""Typo correction of URL words against a vocabulary, deterministic and
transposition-aware.

The distance is the optimal string alignment distance (Damerau-Levenshtein
restricted to adjacent transpositions, rapidfuzz's ``OSA``): ``ntoe`` is one edit
from ``note``, where plain Levenshtein counts two. How many edits a word may carry
scales with its length: one for words of 4 or 5 letters, two from 6 letters on
(``tagz`` -> ``tags``, ``webook_subscriptions`` -> ``webhook_subscriptions``).

A suffix (``.json``, ``.csv``) is its own part of a segment: the stem is corrected
and the suffix kept, so ``reprots.csv`` reads as ``reports.csv``.

Every word at the smallest distance is returned, in alphabetical order: the
alignment with the templates chooses between them (``lnks`` is as close to
``links`` as to ``inks``), never the order of a set, which changes with the
process's hash seed.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

__all__ = ["MIN_LENGTH", "closest_words", "max_edits", "split_suffix", "typo_similarity"]

#: Shorter words are corrected only as a longer word missing one letter (``usr`` ->
#: ``user``): one substitution at 3 letters reaches too many words.
MIN_LENGTH = 4
_SUFFIX_RE = re.compile(r"^(.+?)(\.[a-z0-9]{1,6})$")


def max_edits(word: str) -> int:
    """Return how many edits a typo of ``word``'s length may carry (0: not corrected)."""
    n = len(word)
    if n < MIN_LENGTH - 1:
        return 0
    return 1 if n <= 5 else 2


def split_suffix(word: str) -> tuple[str, str]:
    """Return ``(stem, suffix)``: ``("reports", ".csv")``, or ``(word, "")``."""
    m = _SUFFIX_RE.match(word)
    return (m.group(1), m.group(2)) if m else (word, "")


def closest_words(word: str, vocab: Mapping[int, Iterable[str]]) -> tuple[tuple[str, ...], int]:
    """Return ``(words, edits)``: every vocabulary word at the smallest OSA distance
    from ``word`` within :func:`max_edits`, sorted, or ``((), 0)``.

    ``vocab`` groups the vocabulary by word length. A word with a suffix is also
    tried as its stem (the suffix put back on each answer).
    """
    found, edits = _closest(word, vocab)
    stem, suffix = split_suffix(word)
    if suffix and not found:
        stems, edits = _closest(stem, vocab)
        found = tuple(s + suffix for s in stems)
    return found, edits


def _closest(word: str, vocab: Mapping[int, Iterable[str]]) -> tuple[tuple[str, ...], int]:
    from rapidfuzz import process  # only for a word the vocabulary lacks
    from rapidfuzz.distance import OSA

    limit = max_edits(word)
    if not limit:
        return (), 0
    best, words = limit + 1, []
    n = len(word)
    lengths = range(n + 1, n + 2) if n < MIN_LENGTH else range(n - limit, n + limit + 1)
    for length in lengths:
        choices = vocab.get(length)
        if not choices:
            continue
        # the scan runs in C; every hit within the limit comes back, in no order that matters
        for tok, d, _ in process.extract(word, choices, scorer=OSA.distance, score_cutoff=min(best, limit), limit=None):
            if d < best:
                best, words = d, [tok]
            elif d == best:
                words.append(tok)
    if best > limit:
        return (), 0
    # a word's first letter is rarely the mistyped one: prefer those that keep it
    keep = [w for w in words if w[:1] == word[:1]]
    return tuple(sorted(keep or words)), best


def typo_similarity(edits: int) -> float:
    """Return the alignment similarity of a URL word read as a vocabulary word ``edits`` away."""
    return 0.85 if edits <= 1 else 0.75
