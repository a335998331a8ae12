"""Ranking providers that list the same host (issue 16 item 6).

Two documents of one API imported under two provider ids both answer URLs on its
host. Where their endpoints fit a URL equally well, the matcher's tie rule decides
(:mod:`plugwire.knowledge.match`): the higher ``rank`` first, then the higher source
(user, plugin, contrib, built-in), then the provider id first in order.
:func:`answers_first` says which provider that is and why, for the import's warning;
:func:`set_rank` writes a rank into the user's catalogue file of a provider.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from plugwire.core.base.errors import UserInputError
from plugwire.knowledge.models import MAX_RANK, MIN_RANK
from plugwire.knowledge.sources import LEARNED_FILE, PRIORITY, user_catalogue_dir

__all__ = ["Contender", "answers_first", "check_rank", "contender", "set_rank"]

_RANK_LINE = re.compile(r"^rank:[^\n]*$", re.MULTILINE)
_PROVIDER_LINE = re.compile(r"^provider:[^\n]*$", re.MULTILINE)


@dataclass(frozen=True)
class Contender:
    """One provider in a tie: its id, the rank the user gave it, its source's priority."""

    provider: str
    rank: int
    priority: int


def contender(entry: Any) -> Contender:
    """Return the :class:`Contender` of a loaded provider (an index's ProviderEntry)."""
    return Contender(entry.provider, entry.rank, max((PRIORITY.get(k, 0) for k in entry.kinds), default=0))


def answers_first(a: Contender, b: Contender) -> tuple[str, str]:
    """Return ``(provider id, why)``: which of two providers answers a URL that both
    fit equally well, by the matcher's tie rule, and the reason in words."""
    if a.rank != b.rank:
        win, lose = (a, b) if a.rank > b.rank else (b, a)
        return win.provider, f"it is ranked higher ({win.rank} against {lose.rank})"
    if a.priority != b.priority:
        win = a if a.priority > b.priority else b
        kind = next(k for k, v in PRIORITY.items() if v == win.priority)
        return win.provider, f"neither is ranked above the other, and it comes from the {kind} catalogue (user > plugin > contrib > built-in)"
    win = min(a, b, key=lambda c: c.provider)
    return win.provider, "neither is ranked above the other and both come from the same source, so the provider id first in order answers"


def check_rank(rank: int, *, field: str = "rank") -> int:
    """Return ``rank`` when it is in the allowed range; raise UserInputError otherwise."""
    if not MIN_RANK <= rank <= MAX_RANK:
        raise UserInputError(
            f"rank {rank} is out of range.", field=field,
            fix=f"give a whole number from {MIN_RANK} to {MAX_RANK} (higher answers first; 0, the default, is no rank)",
        )
    return rank


def _user_files(home: Any, provider: str) -> tuple[Any, list[Path]]:
    """Return the loaded provider and its files in the user's catalogue (not learned.yaml)."""
    from plugwire.knowledge.base import get_knowledge

    index = get_knowledge(home).catalogue().index
    pi = index.by_id.get(provider)
    if pi is None:
        raise UserInputError(
            f"provider {provider!r} is not in the catalogue, so it cannot be ranked.", field="provider",
            fix="name a provider listed by `plugwire knowledge list`",
        )
    entry = index.providers[pi]
    folder = user_catalogue_dir(home).resolve()
    files = [Path(f) for f in entry.files if Path(f).resolve().parent == folder and Path(f).name != LEARNED_FILE]
    if not files:
        where = ", ".join(sorted(set(entry.kinds)))
        raise UserInputError(
            f"provider {provider!r} has no file in your catalogue (it comes from: {where}), so there is nothing to write its rank into.",
            field="provider",
            fix=(f"rank the provider it shares a host with instead (a negative rank puts that one below {provider!r}), "
                 f"or import its document with `plugwire knowledge import FILE --provider {provider} --rank N`"),
        )
    return entry, list(dict.fromkeys(files))


def _with_rank(path: Path, text: str, rank: int) -> str:
    """Return the text of catalogue file ``path`` with its rank set, comments and
    layout kept where the file is YAML with its keys at the start of lines."""
    if path.suffix.lower() == ".json":
        data = json.loads(text)
        data["rank"] = rank
        return json.dumps(data, indent=2, ensure_ascii=False) + "\n"
    import yaml

    if len([d for d in yaml.safe_load_all(text) if d is not None]) != 1:
        raise UserInputError(f"{path} holds several providers, one YAML document each.", field="provider",
                             fix="move the provider to a file of its own in your catalogue, then rank it")
    line = f"rank: {rank}"
    if _RANK_LINE.search(text):
        return _RANK_LINE.sub(line, text, count=1)
    found = _PROVIDER_LINE.search(text)
    if found:
        return text[: found.end()] + "\n" + line + text[found.end():]
    data = yaml.safe_load(text)  # a file in flow style: written out again (its comments are lost)
    data["rank"] = rank
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=120)


def set_rank(home: Any, provider: str, rank: int) -> list[Path]:
    """Give ``provider`` the ``rank`` in every file of the user's catalogue that
    defines it; return those files.

    Each file is rewritten as one transaction: under its lock, the new text is
    written beside it, read back and validated, then renamed over it (a file that
    would not validate is left as it was). Raises UserInputError for a rank out of
    range, a provider the catalogue does not have or that has no file of the user's.
    """
    from filelock import FileLock
    from plugwire.knowledge.loader import read_catalogue

    check_rank(rank)
    _entry, files = _user_files(home, provider)
    for path in files:
        with FileLock(str(path) + ".lock", timeout=30):
            tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")  # hidden: never read as a catalogue file
            try:
                tmp.write_text(_with_rank(path, path.read_text(encoding="utf-8"), rank), encoding="utf-8")
                providers, problems = read_catalogue(tmp, label=str(path))
                if problems or provider not in {p.provider for p in providers}:
                    raise UserInputError(
                        f"{path} would not be a valid catalogue file with the rank set: "
                        f"{problems[0] if problems else 'its provider is gone'}.",
                        field="provider", fix=f"fix the file (`plugwire knowledge validate {path}`), then rank again",
                    )
                os.replace(tmp, path)
            except OSError as exc:
                raise UserInputError(f"cannot rewrite {path} ({exc.strerror}).", field="provider",
                                     fix="make the file and its folder writable, then rank again") from None
            finally:
                tmp.unlink(missing_ok=True)
    return files
