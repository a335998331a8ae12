"""Turning a proven request into a catalogue entry the next wizard will suggest.

After *Apply*, the configuration that worked against the live API is recorded in the
user's own catalogue (``$PLUGWIRE_HOME/catalogue/learned.yaml``) through
``plugwire.knowledge.user.learn``: the method, the path as a template (ids turned
back into placeholders), the headers without credentials, and the body's shape with
its values replaced by typed placeholders, so no user data and no secret is kept.
"""

from __future__ import annotations

import logging
import re
from typing import Any
from xml.etree import ElementTree

import httpx2

from plugwire.core.http.capture import is_secret_field, marked_names

__all__ = ["LearnResult", "learn_action", "path_template", "strip_values"]

log = logging.getLogger(__name__)

# Headers that describe the transport or are set from the body format, not configuration.
_TRANSPORT = {"content-type", "content-length", "host", "user-agent", "connection", "accept-encoding", "cookie"}


def strip_values(value: Any, key: str = "", example: Any = None) -> Any:
    """Return ``value``'s shape with every value replaced by a typed placeholder:
    ``""`` for text, ``0`` for numbers, ``False`` for booleans; a list keeps one
    element shape (the merge of all of them).

    ``example`` is the catalogue's own sample of the same request (public example
    values, never the user's): where it has a value of the same type at the same
    place, that value is kept instead of the placeholder, so a learned suggestion
    pre-fills as usefully as the catalogue's did.
    """
    if isinstance(value, dict):
        sub = example if isinstance(example, dict) else {}
        return {k: strip_values(v, k, sub.get(k)) for k, v in value.items()}
    if isinstance(value, list):
        first = example[0] if isinstance(example, list) and example else None
        shapes = [strip_values(v, key, first) for v in value]
        if not shapes:
            return []
        merged = shapes[0]
        for other in shapes[1:]:
            merged = _merge_shapes(merged, other)
        return [merged]
    if value is not None and example is not None and type(example) is type(value):
        return example
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return 0
    if isinstance(value, float):
        return 0.0
    if value is None:
        return None
    return ""


def _merge_shapes(a: Any, b: Any) -> Any:
    if isinstance(a, dict) and isinstance(b, dict):
        out = dict(a)
        for k, v in b.items():
            out[k] = _merge_shapes(out[k], v) if k in out else v
        return out
    return a if a is not None else b


def _strip_xml(text: str) -> str | None:
    try:
        root = ElementTree.fromstring(text)
    except ElementTree.ParseError:
        return None
    for el in root.iter():
        if el.text and el.text.strip():
            el.text = ""
        for k in el.attrib:
            el.attrib[k] = ""
    return ElementTree.tostring(root, encoding="unicode")


def _singular(word: str) -> str:
    w = re.sub(r"[^A-Za-z0-9]+", "_", word).strip("_").lower()
    if w.endswith("ies") and len(w) > 3:
        return w[:-3] + "y"
    if w.endswith(("ses", "xes", "zes", "ches", "shes")):
        return w[:-2]
    if w.endswith("s") and not w.endswith("ss") and len(w) > 1:
        return w[:-1]
    return w


def _plural(word: str) -> bool:
    low = word.lower()
    return len(low) > 3 and low.endswith("s") and not low.endswith("ss") and low not in ("apis", "docs", "news")


def _template_matches(template: str, path: str) -> bool:
    pattern = "^" + re.sub(r"\\\{[^{}/]*\\\}", "[^/]+", re.escape(template.rstrip("/"))) + "/?$"
    return re.match(pattern, path.rstrip("/") or "/") is not None or template.rstrip("/") == path.rstrip("/")


def path_template(url: str, endpoint: str | None = None) -> str:
    """Return the path of ``url`` as a template: the suggestion's endpoint template
    (``"POST /v3/organizations/{organization_id}/venues/"``) when it fits the path,
    otherwise the path with each id-like segment replaced by ``{<previous>_id}``."""
    path = httpx2.URL(url).path or "/"
    if endpoint:
        template = endpoint.split(" ", 1)[-1].strip()
        if template.startswith("/") and _template_matches(template, path):
            return template
    from plugwire.knowledge.normalize import ID, NUM, classify, split_path

    out: list[str] = []
    used: set[str] = set()
    previous = ""
    for seg in split_path(path):
        kind = classify(seg)
        # A short number is a version after "api" (/rest/api/2/) but an id after a
        # collection (/items/77).
        short = seg.isdigit() and len(seg) <= 2
        if kind.kind in (ID, NUM) and (not short or _plural(previous)):
            name = f"{_singular(previous)}_id" if previous else "id"
            base, n = name, 2
            while name in used:
                name, n = f"{base}_{n}", n + 1
            used.add(name)
            out.append("{" + name + "}")
        else:
            out.append(seg)
            previous = seg
    text = "/" + "/".join(out)
    return text + "/" if path.endswith("/") and text != "/" else text


class LearnResult(dict):
    """What was recorded (the arguments given to ``learn``) or why nothing was."""


def learn_action(
    home, action, *, endpoint: str | None = None, provider: str | None = None, example: Any = None
) -> LearnResult:
    """Record ``action``'s proven configuration in the user's catalogue.

    ``example`` is the catalogue sample the wizard started from (a
    :class:`~plugwire.core.plugincore.suggesters.SampleRequest`), whose example values are kept
    where the shapes agree (see :func:`strip_values`).

    Returns a :class:`LearnResult` with ``learned`` True and what was recorded, or
    ``learned`` False and the ``reason`` (the knowledge base is not installed). The
    action stays saved either way; a catalogue that cannot be written raises the
    knowledge base's own ``PlugwireError``.
    """
    try:
        from plugwire.knowledge.user import learn
    except ModuleNotFoundError as exc:
        if exc.name and exc.name.startswith("plugwire.knowledge"):
            return LearnResult(learned=False, reason="the knowledge base (plugwire.knowledge.user) is not installed")
        raise
    url = httpx2.URL(action.url)
    marked = marked_names(action)  # what the user marked secret is never learned either
    headers = {k: v for k, v in action.headers.items() if k.lower() not in _TRANSPORT and not is_secret_field(k, marked)}
    example_query = getattr(example, "query", None) or {}
    example_body = getattr(example, "body", None) if getattr(example, "body_format", None) == action.body_format else None
    query = {k: strip_values(v, k, example_query.get(k)) for k, v in action.query.items() if not is_secret_field(k, marked)}
    # A parameter whose value is gone (the user's own, stripped) would come back as an
    # empty `page=` in every later sample: it is not learned. An example value is kept.
    query = {k: v for k, v in query.items() if not _empty(v)}
    body: Any = None
    if action.body_format in ("json", "form", "multipart"):
        body = strip_values(action.body, example=example_body)
    elif action.body_format == "xml" and isinstance(action.body, str):
        body = _strip_xml(action.body)
    elif action.body_format == "text":
        body = ""
    response_sample = None
    if action.sample_response is not None:
        r = action.sample_response
        shape = strip_values(r.body) if r.format in ("json", "xml") else None
        response_sample = {"status": r.status, "content_type": r.content_type, "body": shape}
    args = dict(
        provider=provider or action.provider,  # None: the catalogue names it after the host
        host=url.host,  # catalogue hosts carry no port
        method=action.method,
        path_template=path_template(action.url, endpoint or action.endpoint),
        headers=headers,
        query=query,
        body=body,
        body_format=action.body_format,
        content_type=action.content_type or _content_type(action),
        response_sample=response_sample,
    )
    learn(home, **args)
    return LearnResult(learned=True, **args)


def _empty(value: Any) -> bool:
    if isinstance(value, list):
        return all(_empty(v) for v in value)
    return value is None or value == ""


def _content_type(action) -> str | None:
    ctype = action.effective_content_type()
    return None if action.body_format == "multipart" else ctype
