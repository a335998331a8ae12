"""Turning matches into suggestions: in the JSON form of
:class:`plugwire.core.plugincore.suggesters.Suggestion` (plain data, no pydantic:
``plugwire suggest`` prints it as it is), or as the models.

The sample request keeps the user's scheme, host and port, fills the template's
placeholders with the ids found in the user's URL (placeholders the URL does not
give stay as ``{name}`` and the reason says what to fill in), and merges the
user's query string over the sample query. The reason names the host rule, the
template, and every difference between the URL and the template.
"""

from __future__ import annotations

import json
import re
import weakref
from functools import lru_cache
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from plugwire.core.plugincore.suggesters import constraint_data
from plugwire.knowledge.base import get_knowledge
from plugwire.knowledge.index import Index
from plugwire.knowledge.match import CUTOFF, Match, match_url
from plugwire.knowledge.content_types import DEFAULT_CONTENT_TYPES
from plugwire.knowledge.normalize import PH, NormalizedUrl, QuerySegment, is_placeholder, is_version, normalize_url
from plugwire.knowledge.sources import LEARNED_PREFIX, MERGED_KEY

if TYPE_CHECKING:
    from plugwire.core.plugincore.suggesters import Suggestion

__all__ = [
    "SUGGESTER_NAME",
    "suggest_data_from_catalogue",
    "suggest_data_from_index",
    "suggest_from_catalogue",
    "suggest_from_index",
    "suggestion_data",
]

SUGGESTER_NAME = "knowledge"
_PLACEHOLDER_RE = re.compile(r"\{([^{}/]*)\}")
_LEARNED_BONUS = 0.02
_TWINS = 3  # extra matches looked at for a learned endpoint's catalogue twin


def suggest_from_catalogue(method: str, url: str, *, limit: int = 5, provider: str | None = None) -> list[Suggestion]:
    """Return up to ``limit`` suggestions from the whole endpoint catalogue (built-in,
    contrib, plugin and the user's own files) for ``method`` and ``url``, best first;
    ``provider`` (a connection's catalogue provider) stands in for an unknown host.

    This is what the built-in knowledge suggester answers, offered to any plugin
    through ``plugwire.suggest_from_catalogue``. Raises ``UserInputError`` (field
    ``url``) when the URL is not absolute http(s).
    """
    return _models(suggest_data_from_catalogue(method, url, limit=limit, provider=provider))


def suggest_data_from_catalogue(method: str, url: str, *, limit: int = 5, provider: str | None = None) -> list[dict[str, Any]]:
    """Return what :func:`suggest_from_catalogue` returns, each suggestion in its JSON
    form (``Suggestion.model_dump(mode="json")``), without importing pydantic
    (``plugwire.suggest_data_from_catalogue`` for plugins)."""
    return suggest_data_from_index(get_knowledge().catalogue().index, method, url, limit=limit, provider=provider)


def suggest_from_index(
    index: Index, method: str, url: str, *, limit: int = 5, cutoff: float = CUTOFF, provider: str | None = None
) -> list[Suggestion]:
    """Return up to ``limit`` suggestions for ``method`` and ``url``, best first.

    ``provider`` names the catalogue provider of the connection, if known.
    Raises ``UserInputError`` (field ``url``) when the URL is not absolute http(s).
    """
    return _models(suggest_data_from_index(index, method, url, limit=limit, cutoff=cutoff, provider=provider))


def _models(data: list[dict[str, Any]]) -> list[Suggestion]:
    from plugwire.core.plugincore.suggesters import Suggestion

    return [Suggestion.model_validate(d) for d in data]


def suggest_data_from_index(
    index: Index, method: str, url: str, *, limit: int = 5, cutoff: float = CUTOFF, provider: str | None = None
) -> list[dict[str, Any]]:
    """Return what :func:`suggest_from_index` returns, in the suggestions' JSON form."""
    nurl = normalize_url(url)
    # a few more than asked: a learned match and its catalogue twin become one suggestion
    matches = match_url(index, method, nurl, limit=limit + _TWINS, cutoff=cutoff, provider=provider)
    out = []
    for found in _pair_twins(index, matches[:limit], matches):
        if isinstance(found, tuple):
            out.append(_merged(index, *found, method.upper(), nurl))
        else:
            out.append(suggestion_data(index, found, method.upper(), nurl))
    # stable: equal scores keep the matcher's tie-break order (literal segments matched,
    # source priority, index order), a learned endpoint first
    out.sort(key=lambda s: (-s["score"], not s["learned"]))
    return out


def _merged(index: Index, learned: Match, twin: Match, method: str, nurl: NormalizedUrl) -> dict[str, Any]:
    """Return one suggestion for a learned endpoint and its catalogue twin: the
    catalogue's endpoint, constraints and docs with the learned sample request."""
    mine = suggestion_data(index, learned, method, nurl)
    theirs = suggestion_data(index, twin, method, nurl)
    origin = f"{theirs['provider_name']}'s catalogue ({theirs['endpoint']})"
    said = mine["reason"].rstrip(".")
    if theirs["constraints"]:
        said += f"; its field constraints come from {origin}"
    theirs.update(
        score=max(mine["score"], theirs["score"]), reason=said + ".", request=mine["request"], learned=True, proven=True,
        sample_response=mine["sample_response"] if mine["sample_response"] is not None else theirs["sample_response"],
    )
    return theirs


def _pair_twins(index: Index, head: list[Match], pool: list[Match]) -> list[Match | tuple[Match, Match]]:
    """Pair each learned match of ``head`` with a catalogue match of ``pool`` from
    another provider for the same method and path shape (a request proven on a host
    before its OpenAPI document was imported), so that the two are suggested as one."""
    catalogue: dict[tuple, Match] = {}
    for m in pool:
        if not index.ep_learned[m.eid]:
            catalogue.setdefault((index.ep_method[m.eid], index.ep_tokens[m.eid]), m)
    out: list[Match | tuple[Match, Match]] = []
    used: set[int] = set()
    for m in head:
        twin = catalogue.get((index.ep_method[m.eid], index.ep_tokens[m.eid])) if index.ep_learned[m.eid] else None
        if twin is not None and twin.eid not in used and index.ep_provider[twin.eid] != index.ep_provider[m.eid]:
            used.add(twin.eid)
            out.append((m, twin))
        elif m.eid not in used:
            out.append(m)
    return [p for p in out if isinstance(p, tuple) or p.eid not in used]


@lru_cache(maxsize=8192)
def _segment_patterns(path: str) -> tuple[tuple[tuple[str, ...], re.Pattern | None], ...]:
    """Return, per template segment, its placeholder names and the regex capturing them."""
    out = []
    for seg in (s for s in path.split("/") if s):
        pieces = _PLACEHOLDER_RE.split(seg)  # literal, name, literal, ...
        if len(pieces) == 1:
            out.append(((), None))
            continue
        pattern = "^" + "".join(re.escape(p) if i % 2 == 0 else "(.+?)" for i, p in enumerate(pieces)) + "$"
        out.append((tuple(pieces[1::2]), re.compile(pattern, re.IGNORECASE)))
    return tuple(out)


def _fill(path: str, bindings: list[tuple[int, QuerySegment]]) -> tuple[str, dict[str, str]]:
    """Return the template path with bound placeholders replaced, and the values used."""
    patterns = _segment_patterns(path)
    values: dict[str, str] = {}
    for tj, seg in bindings:
        if tj >= len(patterns) or patterns[tj][1] is None or is_placeholder(seg.raw):
            continue  # a placeholder left in the URL ({owner}, :owner) is still to fill in
        names, pattern = patterns[tj]
        found = pattern.match(seg.raw)
        if found:
            values.update(zip(names, found.groups()))
    if not values:
        return path, values
    filled = _PLACEHOLDER_RE.sub(lambda m: quote(values[m.group(1)], safe="@:-._~") if m.group(1) in values else m.group(0), path)
    return filled, values


def _differences(index: Index, m: Match, nurl: NormalizedUrl) -> list[str]:
    toks = index.ep_tokens[m.eid]
    raw = [s for s in index.ep_path[m.eid].split("/") if s]
    aligned_t = {tj for tj, _ in m.bindings}
    aligned_q = {id(q) for _, q in m.bindings}
    out = []
    for tj, q in m.bindings:
        t = toks[tj]
        if PH in t or q.low == t:
            continue
        if is_version(t):
            out.append(f"version {q.raw} in the URL, {raw[tj]} in the template")
        else:
            out.append(f"'{q.raw}' read as '{raw[tj]}'")
    missing = [raw[j] for j in range(len(toks)) if j not in aligned_t]
    extra = [q.raw for q in nurl.segments if id(q) not in aligned_q]
    if missing:
        out.append(f"the template has {'/'.join(missing)} where the URL has nothing")
    if extra:
        out.append(f"the URL's {'/'.join(extra)} is not in the template")
    return out


#: Parsed endpoint records per index (weakly: a replaced catalogue takes its own along).
_PARSED: "weakref.WeakKeyDictionary[Index, dict[int, dict[str, Any]]]" = weakref.WeakKeyDictionary()
_PARSED_MAX = 8192


def _endpoint(index: Index, eid: int) -> tuple[dict[str, Any], str | None, str | None]:
    """Return endpoint ``eid``'s record, parsed once (the endpoint was validated when
    its file was loaded: plain JSON is enough), with its sample body and response as
    JSON text. The record is shared between calls: never modify it, and build the
    body and response from their text, so that each suggestion has its own."""
    cache = _PARSED.get(index)
    if cache is None:
        cache = _PARSED.setdefault(index, {})
    found = cache.get(eid)
    if found is None:
        if len(cache) >= _PARSED_MAX:  # bounded: the endpoints asked about lately
            cache.clear()
        ep = json.loads(index.ep_blob[eid])
        body = (ep.get("request") or {}).get("body")
        response = ep.get("response")
        found = cache[eid] = (
            ep,
            None if body is None else json.dumps(body),
            None if response is None else json.dumps({"status": 200, "content_type": None, "body": None, **response}),
        )
    return found


def suggestion_data(index: Index, m: Match, method: str, nurl: NormalizedUrl) -> dict[str, Any]:
    """Return the suggestion for one match of ``method`` and ``nurl``, in its JSON form
    (every field of :class:`Suggestion`, in order, as ``model_dump(mode="json")``)."""
    ep, body_text, response_text = _endpoint(index, m.eid)
    prov = index.providers[index.ep_provider[m.eid]]
    path = index.ep_path[m.eid]
    filled, values = _fill(path, m.bindings)
    req = ep.get("request") or {}
    query = _sample_query(req.get("query") or {}, ep.get("constraints") or ())
    query.update(dict(nurl.query))  # what the user typed is theirs, even empty
    origin = nurl.origin
    if m.host is not None and m.host.corrected:
        origin = origin.replace(f"://{nurl.host}", f"://{m.host.corrected}", 1)
    body_format = req.get("body_format", "none")
    learned = index.ep_learned[m.eid]
    score = min(1.0, m.score + (_LEARNED_BONUS if learned else 0.0))
    # Built in the model's JSON form, fresh containers for each suggestion: the body and
    # the sample response are parsed from text (in C: faster than copying them), so no
    # caller can change the cached endpoint through a suggestion.
    return {
        "suggester": SUGGESTER_NAME,
        "score": float(round(max(0.0, score), 4)),
        "reason": _reason(index, m, method, nurl, ep, prov.name, values, learned),
        "request": {
            "method": ep["method"],
            "url": origin + filled,
            "headers": dict(req.get("headers") or {}),
            "query": query,
            "body": None if body_text is None else json.loads(body_text),
            "body_format": body_format,
            "content_type": req.get("content_type") or DEFAULT_CONTENT_TYPES[body_format],
        },
        "provider": prov.provider,
        "provider_name": prov.name,
        "endpoint": f"{ep['method']} {path}",
        "summary": ep["summary"],
        "docs_url": ep.get("docs_url") or prov.docs_url,
        "constraints": [constraint_data(c) for c in ep.get("constraints") or ()],
        "sample_response": None if response_text is None else json.loads(response_text),
        "learned": learned,
        "proven": learned,
        "pagination": None if ep.get("pagination") is None else json.loads(json.dumps(ep["pagination"])),
    }


def _sample_query(query: dict[str, Any], constraints: Any) -> dict[str, Any]:
    """Return the sample's query without empty optional parameters: an empty
    ``page=`` sent to the API is a value the user never chose. A parameter a
    constraint marks required stays, empty, for the user to fill in."""
    required = {c["path"][len("query."):] for c in constraints if c.get("required") and c.get("path", "").startswith("query.")}
    return {k: v for k, v in query.items() if k in required or not _empty(v)}


def _empty(value: Any) -> bool:
    if isinstance(value, list):
        return all(_empty(v) for v in value)
    return value is None or value == ""


def _netloc(nurl: NormalizedUrl) -> str:
    return nurl.host + (f":{nurl.port}" if nurl.port else "")


def _reason(index: Index, m: Match, method: str, nurl: NormalizedUrl, ep: dict[str, Any], provider_name: str, values: dict[str, str], learned: bool) -> str:
    path = index.ep_path[m.eid]
    parts = []
    # A provider learn() named after an unlisted host has no name of its own: say plainly
    # where the configuration came from instead of "host 127.0.0.1 is listed for 127.0.0.1".
    unnamed = (
        learned and m.host is not None and m.host.strong
        and index.providers[index.ep_provider[m.eid]].provider.startswith(LEARNED_PREFIX)
    )
    if unnamed:
        parts.append(f"learned from your earlier request to {_netloc(nurl)}")
    elif m.host is not None and m.host.corrected:
        parts.append(
            f"host {nurl.host} is not listed; it looks like a typo of {m.host.corrected} ({provider_name}), "
            f"so the sample request uses {m.host.corrected}"
        )
    elif m.host is not None:
        parts.append(m.host.reason)
    else:
        parts.append(f"host {nurl.host} was not recognised, so the path was matched across all providers (score lowered)")
    whose = "the learned" if unnamed else f"{provider_name}'s"
    diffs = [] if m.exact else _differences(index, m, nurl)
    if not diffs:
        parts.append(f"the path fits {whose} template {path}")
        parts.extend(m.differences)  # a placeholder that took what may be a mistyped word says so
    else:
        closest = f"no template fits the path exactly; the closest {'learned template' if unnamed else 'of ' + provider_name} is {path}"
        parts.append(closest + (f" ({'; '.join(diffs)})" if diffs else ""))
    if not m.method_ok:
        parts.append(f"that endpoint is {ep['method']}, not {method} (score lowered)")
    open_names = [n for n in _PLACEHOLDER_RE.findall(path) if n not in values]
    if open_names:
        hints = []
        for n in open_names:
            description = ((ep.get("path_params") or {}).get(n) or {}).get("description")
            hints.append(f"{{{n}}}" + (f" ({description})" if description else ""))
        parts.append("fill in " + ", ".join(hints))
    merged = ep.get(MERGED_KEY)
    if merged:
        parts.append(
            f"the sample's values were learned from {'that' if unnamed else 'a'} request that succeeded against the live API; "
            f"its field constraints come from {merged}"
        )
    elif learned and not unnamed:
        parts.append("learned from a request that succeeded against the live API")
    text = "; ".join(parts)
    return text[0].upper() + text[1:] + "."
