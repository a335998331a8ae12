"""Where the API lives and how it authenticates: hosts, base path and auth hints.

Hosts come from ``servers`` (3.x; server variables that fill a whole host label
become ``{placeholders}``, others take their default) or ``host``/``basePath``
(2.0). Documents that write a stand-in label such as ``your-domain.atlassian.net``
get a placeholder too. Auth hints come from the security schemes, in the order of
the document's top-level ``security`` requirement.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urljoin, urlsplit

from plugwire.knowledge.openapi.document import Faults, Resolver

__all__ = ["auth_hints", "hosts_and_base_path"]

_VAR_RE = re.compile(r"\{([^{}]+)\}")
# Labels vendors write where the customer's own subdomain goes.
_STAND_IN = re.compile(r"^(?:your|my)[-_]?([a-z0-9]*)$")
_COMPANY_WORDS = {"", "domain", "site", "subdomain", "instance", "company", "org", "organization", "tenant", "account", "workspace"}
_MAX_SCOPES = 10


def _placeholder(name: str) -> str:
    snake = re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", name).lower()
    snake = re.sub(r"[^a-z0-9_]", "_", snake).strip("_") or "host"
    return "{" + ("x_" + snake if snake[0].isdigit() else snake) + "}"


def _host_template(host: str, variables: dict) -> list[str]:
    """Return the host names one server host stands for (templated where it can be)."""
    labels = []
    parts = host.lower().split(".")
    # A host of variables alone ({hostname}, {sub}.{domain}) has no literal label to
    # recognise it by: it is the variables' defaults (the document's example host).
    all_variables = all(_VAR_RE.fullmatch(label) for label in parts)
    for position, label in enumerate(parts):
        whole = _VAR_RE.fullmatch(label)
        if whole and all_variables:
            label = _default(variables, whole.group(1))
            if label is None:
                return []
        elif whole:
            labels.append(_placeholder(whole.group(1)))
            continue
        if _VAR_RE.search(label):
            # A variable inside a label cannot be a catalogue placeholder: use its default.
            label = _VAR_RE.sub(lambda m: str((variables.get(m.group(1)) or {}).get("default", m.group(1))), label)
        stand_in = _STAND_IN.match(label) if position == 0 else None
        if stand_in and len(host.split(".")) > 2:
            word = stand_in.group(1)
            labels.append("{company}" if word in _COMPANY_WORDS else _placeholder(word))
            continue
        labels.append(label)
    return [".".join(labels)]


def _default(variables: dict, name: str) -> str | None:
    """Return the default of server variable ``name`` (lower-case), or None."""
    variable = variables.get(name)
    value = variable.get("default") if isinstance(variable, dict) else None
    text = str(value).strip().lower() if value is not None else ""
    return text or None


def _servers(servers: object, faults: Faults | None) -> tuple[list[str], list[str]]:
    """Return the hosts and the base paths of a 3.x ``servers`` list."""
    hosts: list[str] = []
    base_paths: list[str] = []
    for server in servers if isinstance(servers, list) else []:
        if not isinstance(server, dict) or not isinstance(server.get("url"), str):
            continue
        variables = server.get("variables") if isinstance(server.get("variables"), dict) else {}
        url = server["url"].strip()
        # "{protocol}://...": a scheme made of a variable is its default (else https).
        url = re.sub(r"^\{([^{}]+)\}://", lambda m, v=variables: (_default(v, m.group(1)) or "https") + "://", url)
        parts = urlsplit(url if "://" in url or url.startswith("/") else "//" + url)
        path = _VAR_RE.sub(lambda m: str((variables.get(m.group(1)) or {}).get("default", "")), parts.path)
        base_paths.append(path)
        if parts.netloc:
            netloc = parts.netloc.rsplit("@", 1)[-1]
            host = netloc.split(":")[0] if not netloc.startswith("[") else netloc
            hosts.extend(_host_template(host, variables))
        elif faults is not None:
            faults.add(f"server {url!r} is relative: it names no host")
    return hosts, base_paths


def hosts_and_base_path(doc: dict, faults: Faults) -> tuple[list[str], str]:
    """Return the document's hosts (lower-case, no port) and its base path ("" or
    "/prefix" without a trailing slash). Problems go to ``faults``.

    Hosts that only some operations use (GitHub uploads release assets to
    uploads.github.com) are added as aliases, after the document's own.
    """
    hosts: list[str] = []
    base_paths: list[str] = []
    if str(doc.get("swagger", "")).startswith("2"):
        host = doc.get("host")
        if isinstance(host, str) and host.strip():
            hosts.extend(_host_template(host.strip().split(":")[0], {}))
        base_paths.append(doc.get("basePath") if isinstance(doc.get("basePath"), str) else "")
    else:
        hosts, base_paths = _servers(doc.get("servers"), faults)
        for item in (doc.get("paths") or {}).values():
            if not isinstance(item, dict):
                continue
            for node in [item, *(op for op in item.values() if isinstance(op, dict))]:
                if "servers" in node:
                    hosts.extend(_servers(node["servers"], None)[0])
    base = _clean_base(base_paths[0]) if base_paths else ""
    if len({_clean_base(b) for b in base_paths}) > 1:
        faults.add(f"servers use different base paths {sorted({_clean_base(b) for b in base_paths})}; using {base or '/'!r}")
    unique = list(dict.fromkeys(h for h in hosts if h))
    return unique, base


def _clean_base(path: str) -> str:
    path = re.sub(r"/{2,}", "/", path or "").rstrip("/")
    return path if not path or path.startswith("/") else "/" + path


def auth_hints(doc: dict, resolver: Resolver, server_url: str | None, faults: Faults) -> tuple[list[dict], set[str], set[str]]:
    """Return the auth hints (catalogue dicts, most recommended first) and the
    header and query parameter names that carry credentials (kept out of samples)."""
    components = doc.get("components") if isinstance(doc.get("components"), dict) else {}
    schemes = components.get("securitySchemes") if "openapi" in doc else doc.get("securityDefinitions")
    schemes = schemes if isinstance(schemes, dict) else {}
    security = doc.get("security") if isinstance(doc.get("security"), list) else []
    if not isinstance(doc.get("security"), (list, type(None))):
        faults.add("the top-level 'security' is not a list of requirements; it was ignored")
    requirements = [req for req in security if isinstance(req, dict)]
    order = []
    for requirement in requirements:
        for name in requirement:
            if name not in schemes:
                faults.add(f"security requirement names {name!r}, which is not a declared security scheme")
            elif name not in order:
                order.append(name)
    order += [name for name in schemes if name not in order]
    preferred = {name: {x for x in scopes if isinstance(x, str)} if isinstance(scopes, list) else set()
                 for req in requirements for name, scopes in req.items()}
    hints: list[dict] = []
    headers: set[str] = set()
    query: set[str] = set()
    for name in order:
        scheme = resolver.node(schemes[name])
        if not isinstance(scheme, dict):
            faults.add(f"security scheme {name!r} is not a mapping (or its $ref is unresolvable)")
            continue
        try:
            found = _hints_for(name, scheme, preferred.get(name, set()), server_url, faults)
        except (AttributeError, TypeError, ValueError) as exc:  # a list where a mapping goes...
            faults.add(f"security scheme {name!r} holds a value of a type OpenAPI does not allow there ({exc}); no auth hint from it")
            continue
        for hint in found:
            if hint["type"] == "header":
                headers.update(h.lower() for h in hint["headers"])
            elif hint["type"] == "query":
                query.update(hint["params"])
            if hint not in hints:
                hints.append(hint)
    return hints, headers, query


def _hints_for(name: str, scheme: dict, preferred: set[str], server_url: str | None, faults: Faults) -> list[dict]:
    kind = str(scheme.get("type", "")).lower()
    note = " ".join(str(scheme.get("description") or "").split())[:200] or None
    extra = {"notes": note} if note else {}
    if kind == "apikey":
        where, key = scheme.get("in"), scheme.get("name")
        if not key or not isinstance(key, str):
            faults.add(f"security scheme {name!r} (apiKey) has no 'name' (a string)")
            return []
        if where == "header":
            return [{"type": "header", "headers": [key], **extra}]
        if where == "query":
            return [{"type": "query", "params": [key], **extra}]
        return [{"type": "custom", "notes": f"API key in the {where} {key!r}." + (f" {note}" if note else "")}]
    if kind == "basic":  # Swagger 2.0
        return [{"type": "basic", **extra}]
    if kind == "http":
        http = str(scheme.get("scheme", "")).lower()
        if http == "basic":
            return [{"type": "basic", **extra}]
        if http == "digest":
            return [{"type": "digest", **extra}]
        if http == "bearer":
            return [{"type": "header", "headers": ["Authorization"], "format": "Bearer {token}", **extra}]
        label = scheme.get("scheme") or "Token"
        return [{"type": "header", "headers": ["Authorization"], "format": f"{label} {{token}}", **extra}]
    if kind == "oauth2":
        return _oauth2(name, scheme, preferred, server_url, faults, extra)
    if kind == "openidconnect":
        url = scheme.get("openIdConnectUrl")
        return [{"type": "custom", "notes": f"OpenID Connect; discovery document at {url}." if url else "OpenID Connect."}]
    faults.add(f"security scheme {name!r} has the unknown type {scheme.get('type')!r}")
    return []


def _oauth2(name: str, scheme: dict, preferred: set[str], server_url: str | None, faults: Faults, extra: dict) -> list[dict]:
    flows = scheme.get("flows") if isinstance(scheme.get("flows"), dict) else None
    if flows is None:  # Swagger 2.0 keeps a single flow on the scheme itself
        legacy = {"accessCode": "authorizationCode", "application": "clientCredentials"}
        flows = {legacy.get(scheme.get("flow"), scheme.get("flow")): scheme}
    out = []
    for flow_name, flow in flows.items():
        if not isinstance(flow, dict):
            continue
        scopes = _scopes(flow.get("scopes"), preferred)
        authorize = _absolute(flow.get("authorizationUrl"), server_url)
        token = _absolute(flow.get("tokenUrl"), server_url)
        if flow_name == "authorizationCode":
            if not authorize or not token:
                faults.add(f"security scheme {name!r}: the authorizationCode flow lacks {'authorizationUrl' if not authorize else 'tokenUrl'}")
                continue
            out.append({"type": "oauth2", "authorize_url": authorize, "token_url": token, "scopes": scopes, **extra})
        elif flow_name == "clientCredentials":
            if not token:
                faults.add(f"security scheme {name!r}: the clientCredentials flow lacks tokenUrl")
                continue
            out.append({"type": "oauth2_client_credentials", "token_url": token, "scopes": scopes, **extra})
        # implicit and password flows have no plugwire auth type; nothing to pre-fill.
    return out


def _scopes(declared: Any, preferred: set[str]) -> list[str]:
    """Return the scopes to pre-fill: all when few, else the ones the document's
    top-level requirement asks for (asking for 70 scopes would be refused)."""
    names = list(declared) if isinstance(declared, dict) else []
    if len(names) <= _MAX_SCOPES:
        return names
    return [s for s in names if s in preferred]


def _absolute(url: Any, server_url: str | None) -> str | None:
    if not isinstance(url, str) or not url.strip():
        return None
    url = url.strip()
    if "://" in url or not server_url:
        return url
    return urljoin(server_url, url)
