"""``import_openapi``: an OpenAPI 3.0/3.1 or Swagger 2.0 document -> a catalogue file."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, TypeVar

from pydantic import ValidationError

from plugwire.core.base.errors import UserInputError, format_validation_error
from plugwire.knowledge.models import FORMAT_VERSION, CatalogueFile, Endpoint
from plugwire.knowledge.openapi.document import Faults, Resolver, load_document
from plugwire.knowledge.openapi.operations import METHODS, OperationBuilder, Skip
from plugwire.knowledge.openapi.servers import auth_hints, hosts_and_base_path

__all__ = ["ImportReport", "import_openapi", "provider_id"]

log = logging.getLogger(__name__)
_T = TypeVar("_T")

_PROVIDER_RE = re.compile(r"^[a-z0-9][a-z0-9_-]*$")
# File names that say nothing about the API they describe.
_GENERIC_STEMS = {"openapi", "swagger", "spec", "spec3", "api", "index", "schema", "definition", "openapi3", "api-docs"}


@dataclass
class ImportReport:
    """What an import produced: the catalogue, and an account of every operation."""

    catalogue: CatalogueFile
    imported: int
    skipped: list[tuple[str, str]] = field(default_factory=list)  # ("METHOD /path", reason)
    faults: list[str] = field(default_factory=list)
    source: str = ""
    operations: int = 0
    merged: list[tuple[str, str]] = field(default_factory=list)  # (item, "METHOD /path" it joined)

    def summary(self) -> dict:
        """Return the report as plain data (no catalogue), for ``--json`` output."""
        return {
            "source": self.source,
            "provider": self.catalogue.provider,
            "operations": self.operations,
            "imported": self.imported,
            "skipped": [{"operation": op, "reason": reason} for op, reason in self.skipped],
            "faults": list(self.faults),
            "merged": [{"item": item, "into": into} for item, into in self.merged],
        }


def provider_id(path: Path, hosts: list[str]) -> str:
    """Return a provider id from the file name, or from the host when the name is generic."""
    stem = re.sub(r"[^a-z0-9_-]+", "-", path.stem.lower()).strip("-_")
    if stem and stem not in _GENERIC_STEMS and "." not in path.stem:
        return stem
    for host in hosts:
        labels = [label for label in host.split(".") if not label.startswith("{")]
        if len(labels) >= 2:
            name = re.sub(r"api$", "", labels[-2]) or labels[-2]
            return re.sub(r"[^a-z0-9_-]+", "-", name).strip("-_") or "imported"
    return stem or "imported"


def import_openapi(
    source: str | Path,
    *,
    provider: str | None = None,
    name: str | None = None,
    progress: Callable[[int, int], None] | None = None,
    host: str | None = None,
    fallback_host: str | None = None,
) -> ImportReport:
    """Import the OpenAPI document at ``source`` into a catalogue file.

    ``provider``/``name`` override the id and human name (otherwise taken from the
    file name or host, and ``info.title``); ``host`` comes first in the hosts (and
    supplies one for documents whose servers name none); ``fallback_host`` is used
    only when the document names no host (relative servers). ``progress(done, total)`` is called as operations are
    processed. Returns an :class:`ImportReport`; faults in the data are reported in
    it rather than raised. Raises UserInputError when the file cannot be read or is
    not OpenAPI, when the provider id is malformed, when no host is known, or when
    no operation could be imported.
    """
    doc, path = load_document(source)
    faults = Faults()
    resolver = Resolver(doc, path, faults)
    _schema_faults(doc, faults)
    hosts, base_path = _guarded(lambda: hosts_and_base_path(doc, faults), ([], ""), faults, "servers")
    if host:
        hosts = [host.strip().lower()] + [h for h in hosts if h != host.strip().lower()]
    if not hosts and fallback_host:
        hosts = [fallback_host.strip().lower()]
    if not hosts:
        raise UserInputError(
            f"spec {path} names no host (no absolute server URL).", field="host", fix="pass --host api.example.com"
        )
    pid = provider or provider_id(path, hosts)
    if not _PROVIDER_RE.match(pid):
        raise UserInputError(
            f"provider {pid!r} is not a valid id.", field="provider", fix="use lower-case letters, digits, '-' and '_'"
        )
    info = doc.get("info") if isinstance(doc.get("info"), dict) else {}
    server_url = _server_url(doc, hosts[0], base_path)
    auth, auth_headers, auth_query = _guarded(lambda: auth_hints(doc, resolver, server_url, faults), ([], set(), set()),
                                              faults, "security schemes")
    components = doc.get("components") if isinstance(doc.get("components"), dict) else {}
    if not components.get("securitySchemes") and not doc.get("securityDefinitions"):
        faults.add("the document declares no security schemes, so the catalogue has no auth hints")
    builder = OperationBuilder(doc, resolver, faults, base_path=base_path, auth_headers=auth_headers, auth_query=auth_query)

    operations = _operations(doc, resolver, faults)
    total = len(operations)
    endpoints: list[Endpoint] = []
    skipped: list[tuple[str, str]] = []
    seen_ids: dict[str, str] = {}
    seen_keys: dict[tuple[str, str], str] = {}
    for done, (route, method, item, op) in enumerate(operations, 1):
        label = f"{method.upper()} {route}"
        op_id = op.get("operationId") if isinstance(op, dict) else None
        if isinstance(op_id, str):
            if op_id in seen_ids:
                faults.add(f"operationId {op_id!r} is used by both {seen_ids[op_id]} and {label}")
            seen_ids.setdefault(op_id, label)
        try:
            if not isinstance(op, dict) or not isinstance(item, dict):
                raise Skip("the operation is not a mapping (or its $ref is unresolvable)")
            data = builder.build(route, method, item, op)
            endpoint = Endpoint.model_validate(data)
            # /users/{id} and /users/{user_id} are one template to a matcher: keep the first.
            key = (endpoint.method, re.sub(r"\{[^{}/]*\}", "{}", endpoint.path))
            if key in seen_keys:
                raise Skip(f"same method and path template as {seen_keys[key]} (differs only in parameter names)")
            seen_keys[key] = label
            endpoints.append(endpoint)
        except Skip as exc:
            skipped.append((label, str(exc)))
        except ValidationError as exc:
            skipped.append((label, f"not a valid catalogue endpoint: {format_validation_error(exc)}"))
        except (AttributeError, TypeError, ValueError, KeyError, IndexError) as exc:
            # A value of a type the document's format does not allow somewhere in this
            # operation (a null for a mapping, a number for a list): the operation is
            # skipped and the rest imported, as for any other fault in the data. The
            # traceback goes to the debug log: the place deserves a check of its own.
            log.debug("%s: skipped for a value of an unexpected type", label, exc_info=True)
            skipped.append((label, f"a value in the operation has a type OpenAPI does not allow there ({type(exc).__name__}: {exc})"))
        if progress is not None:
            progress(done, total)
    if not endpoints:
        raise UserInputError(
            f"spec {path}: none of its {total} operations could be imported.",
            field="spec",
            fix="check the document's paths" + (f" (first problem: {skipped[0][0]}: {skipped[0][1]})" if skipped else ""),
        )
    try:
        catalogue = CatalogueFile(
            format=FORMAT_VERSION,
            provider=pid,
            name=name or str(info.get("title") or pid).strip() or pid,
            description=_first_line(info.get("description")),
            docs_url=_docs_url(doc),
            hosts=hosts,
            auth=auth,
            endpoints=endpoints,
        )
    except ValidationError as exc:
        raise UserInputError(
            f"spec {path} does not make a valid catalogue: {format_validation_error(exc)}.",
            field="spec",
            fix="pass --provider/--host to override what the document says",
        ) from None
    return ImportReport(catalogue=catalogue, imported=len(endpoints), skipped=skipped, faults=faults.items,
                        source=str(path), operations=total)


def _operations(doc: dict, resolver: Resolver, faults: Faults) -> list[tuple[str, str, object, object]]:
    """Return (path, method, path item, operation) for every operation in the document."""
    out = []
    for route, raw in doc["paths"].items():
        item = resolver.node(raw)
        if not isinstance(item, dict):
            faults.add(f"path item {route!r} is unresolvable or not a mapping")
            out.append((str(route), "get", None, None))
            continue
        for method in METHODS:
            if method in item:
                out.append((str(route), method, item, resolver.node(item[method])))
    return out


def _guarded(step: Callable[[], _T], fallback: _T, faults: Faults, what: str) -> _T:
    """Return ``step()``, or ``fallback`` with a fault when a value of the wrong type
    in the document's ``what`` breaks it: the operations are still worth importing."""
    try:
        return step()
    except (AttributeError, TypeError, ValueError, KeyError, IndexError) as exc:
        log.debug("%s: a value of an unexpected type", what, exc_info=True)
        faults.add(f"the document's {what} could not be read (a value of a type OpenAPI does not allow there: "
                   f"{type(exc).__name__}: {exc}); left out")
        return fallback


def _schema_faults(doc: dict, faults: Faults) -> None:
    """Report the named schemas whose ``required`` is not a list of property names
    (``required: true``, JSON Schema draft 3): they are read as requiring nothing."""
    components = doc.get("components") if isinstance(doc.get("components"), dict) else {}
    for where, schemas in (("components.schemas", components.get("schemas")), ("definitions", doc.get("definitions"))):
        for name, schema in (schemas or {}).items() if isinstance(schemas, dict) else ():
            if not isinstance(schema, dict):
                continue
            for prop, sub in [(None, schema), *((schema.get("properties") or {}).items()
                                                 if isinstance(schema.get("properties"), dict) else ())]:
                if isinstance(sub, dict) and "required" in sub and not isinstance(sub["required"], list):
                    at = f"{where}.{name}" + (f".properties.{prop}" if prop is not None else "")
                    faults.add(f"{at}: 'required' is {sub['required']!r}, not a list of property names; "
                               "read as requiring none")


def _server_url(doc: dict, host: str, base_path: str) -> str:
    schemes = doc.get("schemes") or ["https"]
    scheme = "https" if "https" in schemes else str(schemes[0])
    return f"{scheme}://{host}{base_path}/"


def _first_line(text: object) -> str | None:
    if not isinstance(text, str) or not text.strip():
        return None
    line = " ".join(text.strip().split("\n\n")[0].split())
    return line if len(line) <= 300 else line[:299] + "…"


def _docs_url(doc: dict) -> str | None:
    docs = doc.get("externalDocs")
    if isinstance(docs, dict) and isinstance(docs.get("url"), str):
        return docs["url"]
    return None
