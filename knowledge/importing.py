"""What the Postman and HAR importers share: reading the file, telling the formats
apart, path templating, credential screening, and gathering requests into endpoints
with an account of every item (imported, merged, skipped and why).

The result is an :class:`~plugwire.knowledge.openapi.ImportReport`, as an OpenAPI
import gives, so that the CLI writes and reports all three alike.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from plugwire.core.base.errors import UserInputError, format_validation_error
from plugwire.core.base.redact import is_sensitive_name
from plugwire.knowledge.models import (
    FORMAT_VERSION,
    CatalogueFile,
    Endpoint,
    path_placeholders,
)
from plugwire.knowledge.openapi.importer import ImportReport, provider_id
from pydantic import ValidationError

__all__ = [
    "Gatherer",
    "ItemsReport",
    "detect_format",
    "is_credential_name",
    "looks_like_id",
    "looks_like_secret",
    "merge_into",
    "providers_by_host",
    "read_file",
    "scrub",
    "templated_path",
]

_PROVIDER_RE = re.compile(r"^[a-z0-9][a-z0-9_-]*$")

# An import keeps even less than a request shows: besides the names every part of
# plugwire masks (core.base.redact.is_sensitive_name), anything auth-like (an `auth`
# field, an OAuth `code`, CSRF tokens) stays out of the catalogue.
_IMPORT_EXTRA_EXACT = {"code"}
_IMPORT_EXTRA_PART = re.compile(r"(auth|csrf|xsrf)", re.IGNORECASE)
_NOT_CREDENTIAL = re.compile(r"(author|[-_](type|url|uri|endpoint|expires|expires[-_]in))$", re.IGNORECASE)

_UUID = re.compile(r"^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$", re.IGNORECASE)
_HEX = re.compile(r"^[0-9a-f]{16,}$", re.IGNORECASE)
_TOKENISH = re.compile(r"^[A-Za-z0-9_\-=.~]{16,}$")
_PREFIXED_ID = re.compile(r"^[a-z]{2,8}_[A-Za-z0-9]{8,}$")  # cus_N2x8Kf0aB1, ord_..., the prefix-and-id style
_JWT = re.compile(r"^eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+")


def is_credential_name(name: str) -> bool:
    """Return True when a header, query, form or JSON field named ``name`` usually
    carries a credential (tokens, keys, secrets, passwords, cookies, signatures)."""
    low = name.strip().lower()
    if is_sensitive_name(low) or low in _IMPORT_EXTRA_EXACT:
        return True
    return bool(_IMPORT_EXTRA_PART.search(low)) and not _NOT_CREDENTIAL.search(low)


def looks_like_secret(value: Any) -> bool:
    """Return True for a value shaped like a credential whatever its name (a JWT)."""
    return isinstance(value, str) and bool(_JWT.match(value.strip().removeprefix("Bearer ")))


def scrub(value: Any) -> Any:
    """Return ``value`` (JSON data) with the values of members whose names carry
    credentials, and JWT-shaped strings, blanked: a login's body or response keeps
    its shape (the field names a request needs), not its secrets."""
    if isinstance(value, dict):
        return {k: "" if is_credential_name(str(k)) and not isinstance(v, (dict, list)) else scrub(v) for k, v in value.items()}
    if isinstance(value, list):
        return [scrub(v) for v in value]
    return "" if looks_like_secret(value) else value


def looks_like_id(segment: str) -> bool:
    """Return True when a path segment is an identifier rather than a name: a number,
    a UUID, a long hex string, a prefixed id (``cus_N2x8Kf0aB1``) or a long token
    mixing letters and digits (base64-ish)."""
    seg = unquote(segment)
    if seg.isdigit() or _UUID.match(seg) or _HEX.match(seg) or _PREFIXED_ID.match(seg):
        return True
    if _TOKENISH.match(seg) and any(c.isdigit() for c in seg) and any(c.isalpha() for c in seg):
        # A long slug of words (`order-confirmation-2024`) has separators between runs
        # of letters; an id has digits scattered through it.
        if re.fullmatch(r"[a-z]+([-_][a-z]+)+([-_]\d+)?", seg):
            return False
        # base64 mixes cases and has few digits; a shorter token needs more of them.
        mixed = any(c.isupper() for c in seg) and any(c.islower() for c in seg)
        return (len(seg) >= 20 and mixed) or sum(c.isdigit() for c in seg) >= 3
    return False


def _param_name(previous: str | None, taken: set[str]) -> str:
    base = "id"
    if previous and re.fullmatch(r"[A-Za-z][A-Za-z0-9_-]*", previous):
        word = previous.lower().replace("-", "_")
        if word.endswith("ies"):
            word = word[:-3] + "y"
        elif word.endswith(("sses", "xes", "ches", "shes")):
            word = word[:-2]
        elif word.endswith("s") and not word.endswith("ss"):
            word = word[:-1]
        base = f"{word}_id"
    name, n = base, 2
    while name in taken:
        name, n = f"{base}{n}", n + 1
    return name


def templated_path(segments: list[str], named: dict[int, str] | None = None) -> tuple[str, dict[str, str]]:
    """Return ``(path template, {parameter: example})`` for a path's segments.

    ``named`` gives the parameter name of segments known to be variables (Postman's
    ``:id`` and ``{{var}}``); the other segments that :func:`looks_like_id` become
    ``{<singular of the segment before>_id}``: ``/users/42`` -> ``/users/{user_id}``.
    """
    named = named or {}
    out: list[str] = []
    examples: dict[str, str] = {}
    previous: str | None = None
    for i, seg in enumerate(segments):
        if i in named or (seg and looks_like_id(seg)):
            name = named.get(i) or _param_name(previous, set(examples))
            if name in examples:
                name = _param_name(name, set(examples))
            examples[name] = "" if i in named and seg == f"{{{name}}}" else unquote(seg)
            out.append(f"{{{name}}}")
        else:
            out.append(seg)
        previous = None if out[-1].startswith("{") else seg
    return "/" + "/".join(out), examples


def read_file(source: str | Path, data: Any = None) -> tuple[Any, Path]:
    """Return ``(parsed JSON/YAML, absolute path)``: ``data`` when the caller has it
    already, else the file read. Raises UserInputError when the file is missing,
    unreadable, too large or too deep, or not JSON/YAML."""
    from plugwire.knowledge.openapi.document import (
        _read,  # one reader, one set of bounds and messages
    )

    path = Path(source).expanduser().resolve()
    return (_read(path) if data is None else data), path


def detect_format(data: Any) -> str:
    """Return ``"postman"``, ``"har"`` or ``"openapi"`` from a parsed document's content."""
    if isinstance(data, dict):
        info = data.get("info")
        schema = str(info.get("schema", "")) if isinstance(info, dict) else ""
        if "collection" in schema or (isinstance(info, dict) and isinstance(data.get("item"), list)):
            return "postman"
        if isinstance(data.get("log"), dict) and "entries" in data["log"]:
            return "har"
    return "openapi"


@dataclass
class ItemsReport(ImportReport):
    """An :class:`ImportReport` of a Postman or HAR import; ``merged`` says which
    items were merged into another (same method and path shape) and into which."""


class Gatherer:
    """Collects endpoint data from items; one endpoint per (method, path shape)."""

    def __init__(self) -> None:
        self.endpoints: dict[tuple[str, str], dict] = {}
        self.skipped: list[tuple[str, str]] = []
        self.merged: list[tuple[str, str]] = []
        self.items = 0

    def skip(self, label: str, reason: str) -> None:
        """Record an item skipped for ``reason``."""
        self.items += 1
        self.skipped.append((label, reason))

    def add(self, label: str, data: dict) -> None:
        """Add one item's endpoint data (``method``, ``path`` and the rest of an
        :class:`Endpoint`); a second item of the same shape fills in what the first
        lacked (path examples, a body, a response) and is reported as merged."""
        self.items += 1
        try:
            Endpoint.model_validate(data)
        except ValidationError as exc:
            self.skipped.append((label, f"not a valid catalogue endpoint: {format_validation_error(exc)}"))
            return
        key = (data["method"], re.sub(r"\{[^{}/]*\}", "{}", data["path"]))
        first = self.endpoints.get(key)
        if first is None:
            self.endpoints[key] = data
            return
        for name, value in data.items():
            if name == "path_params":
                # Same shape, maybe other names ({projectId} and {project_id}): by position.
                names = dict(zip(path_placeholders(data["path"]), path_placeholders(first["path"])))
                for param, info in value.items():
                    first.setdefault("path_params", {}).setdefault(names.get(param, param), info)
            elif value not in (None, {}, []) and first.get(name) in (None, {}, []):
                first[name] = value
        self.merged.append((label, f"{first['method']} {first['path']}"))

    def report(self, *, source: Path, provider: str | None, name: str | None, hosts: list[str], auth: list[dict],
               faults: list[str], base_path: str = "") -> ItemsReport:
        """Return the :class:`ItemsReport` of what was gathered. Raises UserInputError
        when nothing could be imported or the provider id is malformed."""
        if not self.endpoints:
            first = f" (first problem: {self.skipped[0][0]}: {self.skipped[0][1]})" if self.skipped else ""
            raise UserInputError(f"{source}: none of its {self.items} requests could be imported{first}.", field="spec",
                                 fix="check the file, or pass --host for requests whose host is a variable")
        pid = provider or provider_id(source, hosts)
        if not _PROVIDER_RE.match(pid):
            raise UserInputError(f"provider {pid!r} is not a valid id.", field="provider",
                                 fix="use lower-case letters, digits, '-' and '_'")
        try:
            catalogue = CatalogueFile(format=FORMAT_VERSION, provider=pid, name=name or pid, hosts=hosts, base_path=base_path,
                                      auth=auth, endpoints=list(self.endpoints.values()))
        except ValidationError as exc:
            raise UserInputError(f"{source} does not make a valid catalogue: {format_validation_error(exc)}.", field="spec",
                                 fix="pass --provider/--host to override what the file says") from None
        return ItemsReport(catalogue=catalogue, imported=len(self.endpoints), skipped=self.skipped, faults=faults,
                           source=str(source), operations=self.items, merged=self.merged)


def _rebased(catalogue: CatalogueFile) -> CatalogueFile:
    """Return ``catalogue`` with its base path moved into every endpoint's path."""
    if not catalogue.base_path:
        return catalogue
    endpoints = [ep.model_copy(update={"path": catalogue.base_path + ep.path}) for ep in catalogue.endpoints]
    return catalogue.model_copy(update={"base_path": "", "endpoints": endpoints})


def merge_into(catalogue: CatalogueFile, existing: CatalogueFile | None, report: ImportReport) -> CatalogueFile:
    """Return ``catalogue`` merged into ``existing`` (the user's file of the same
    provider, when there is one): endpoints of both are kept, an imported endpoint of
    the same (method, full path) takes the place of the old one and is reported in
    ``report.merged``. Two different base paths are folded into the endpoints' paths,
    so that nothing of the existing file is lost."""
    if existing is None:
        return catalogue
    if existing.provider != catalogue.provider:
        raise UserInputError(
            f"the file to merge into holds provider {existing.provider!r}, not {catalogue.provider!r}.", field="output",
            fix=f"pass --provider {existing.provider} to merge into it, or --replace to overwrite it")
    if existing.base_path != catalogue.base_path:
        existing, catalogue = _rebased(existing), _rebased(catalogue)
    mine = {ep.key: ep for ep in catalogue.endpoints}
    kept = []
    for ep in existing.endpoints:
        if ep.key in mine:
            report.merged.append((f"{ep.label} (already in your catalogue)", mine[ep.key].label))
        else:
            kept.append(ep)
    auth = list(existing.auth) + [hint for hint in catalogue.auth if hint not in existing.auth]
    hosts = list(existing.hosts) + [h for h in catalogue.hosts if h not in existing.hosts]
    return catalogue.model_copy(update={"endpoints": kept + list(catalogue.endpoints), "auth": auth, "hosts": hosts,
                                        "name": existing.name, "rank": catalogue.rank or existing.rank})


def providers_by_host(providers: Any) -> dict[str, set[str]]:
    """Return ``{host: {provider ids}}`` for providers that have ``provider`` and
    ``hosts`` (the loaded catalogue's merged providers, or catalogue files)."""
    out: dict[str, set[str]] = {}
    for p in providers:
        for host in p.hosts:
            out.setdefault(host.lower(), set()).add(p.provider)
    return out
