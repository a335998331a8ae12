"""One OpenAPI operation -> one catalogue endpoint (a dict in the catalogue's shape)."""

from __future__ import annotations

import re
from typing import Any

from plugwire.knowledge.openapi.bodies import body_format, json_text, media_example, pick_media, shape_body, trim
from plugwire.knowledge.openapi.constraints import body_constraints, constraint_for
from plugwire.knowledge.openapi.document import Faults, Resolver, plain
from plugwire.knowledge.openapi.faults import check_path_params, wrapper_mismatch
from plugwire.knowledge.openapi.samples import SampleGenerator, singular
from plugwire.knowledge.openapi.validate import example_problems

__all__ = ["METHODS", "OperationBuilder", "Skip"]

METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
_CATALOGUE_METHODS = {"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"}
_PLACEHOLDER_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.\-]*$")
_EXAMPLE_IN_TEXT = re.compile(r"\bExample:\s*`?([^\s`]+?)`?\.?(?:\s|$)")
# Parameters that carry credentials under a plain name (Slack's `token` header).
_CREDENTIAL_NAMES = {"authorization", "token", "access_token", "api_key", "apikey", "x-api-key", "api-key"}
_SKIP_HEADERS = {"content-type", "accept", "content-length", "authorization"}
_URL_ONLY = re.compile(r"^https?://\S+$")


class Skip(Exception):
    """The operation cannot become a catalogue endpoint; the message says why."""


class OperationBuilder:
    """Turns operations of one document into endpoint dicts."""

    def __init__(self, doc: dict, resolver: Resolver, faults: Faults, *, base_path: str,
                 auth_headers: set[str], auth_query: set[str]):
        self.doc = doc
        self.resolver = resolver
        self.faults = faults
        self.base_path = base_path
        self.auth_headers = auth_headers
        self.auth_query = auth_query
        self.swagger2 = str(doc.get("swagger", "")).startswith("2")
        self.requests = SampleGenerator(resolver)
        self.responses = SampleGenerator(resolver, max_depth=5, top_cap=12, nested_cap=8)
        self.resources = _resources(doc.get("paths") or {})

    def build(self, path: str, method: str, path_item: dict, op: dict) -> dict:
        """Return the endpoint dict for ``method path``; raises Skip with the reason
        when the operation cannot be catalogued."""
        verb = method.upper()
        if verb not in _CATALOGUE_METHODS:
            raise Skip(f"{verb} is not a method the catalogue holds")
        full = _join(self.base_path, path)
        label = f"{verb} {full}"
        for name in re.findall(r"\{([^{}/]*)\}", full):
            if not _PLACEHOLDER_NAME.match(name):
                raise Skip(f"path placeholder {{{name}}} is not a name the catalogue accepts")
        params = self._parameters(path_item, op, label)
        endpoint: dict[str, Any] = {"method": verb, "path": full, "summary": _summary(op, verb, full)}
        description = op.get("description")
        if isinstance(description, str) and description.strip() and not _URL_ONLY.match(description.strip()):
            endpoint["description"] = _shorten(_plain_text(description), 500)
        docs = _docs_url(op)
        if docs:
            endpoint["docs_url"] = docs
        tags = [str(t) for t in op.get("tags") or [] if isinstance(t, (str, int))]
        if tags:
            endpoint["tags"] = tags
        endpoint["path_params"] = self._path_params(full, params, label)
        request, constraints = self._request(verb, full, op, params, label)
        if request:
            endpoint["request"] = request
        if constraints:
            endpoint["constraints"] = constraints
        response = self._response(op, label)
        if response:
            endpoint["response"] = response
        return {k: v for k, v in endpoint.items() if v not in ({}, [], None)}

    def _parameters(self, path_item: dict, op: dict, label: str) -> dict[tuple[str, str], dict]:
        out: dict[tuple[str, str], dict] = {}
        for source in (path_item.get("parameters"), op.get("parameters")):
            for raw in source if isinstance(source, list) else []:
                param = self.resolver.node(raw)
                if not isinstance(param, dict) or not isinstance(param.get("name"), str):
                    self.faults.add(f"{label}: a parameter is unresolvable or has no name")
                    continue
                out[(str(param.get("in")), param["name"])] = param
        return out

    def _param_schema(self, param: dict) -> dict:
        if "schema" in param:
            schema = self.resolver.node(param["schema"])
            return schema if isinstance(schema, dict) else {}
        if "content" in param:  # 3.x parameters may carry a media type instead of a schema
            picked = pick_media(param["content"])
            schema = self.resolver.node(picked[1].get("schema")) if picked and isinstance(picked[1], dict) else None
            return schema if isinstance(schema, dict) else {}
        # Swagger 2.0 keeps the schema keywords on the parameter itself.
        return {k: v for k, v in param.items() if k not in ("name", "in", "required", "description")}

    def _param_example(self, param: dict, *, generate: bool) -> tuple[bool, Any]:
        if "example" in param:
            return True, plain(param["example"])
        if "x-example" in param:
            return True, plain(param["x-example"])
        examples = param.get("examples")
        if isinstance(examples, dict):
            for item in examples.values():
                item = self.resolver.node(item)
                if isinstance(item, dict) and "value" in item:
                    return True, plain(item["value"])
        schema = self._param_schema(param)
        for key in ("example", "default"):
            if schema.get(key) is not None:
                return True, plain(schema[key])
        if isinstance(schema.get("enum"), list) and schema["enum"]:
            return True, plain(schema["enum"][0])
        found = _EXAMPLE_IN_TEXT.search(str(param.get("description") or ""))
        if found:
            return True, found.group(1)
        if not generate:
            return False, None
        return True, self.requests.sample(schema or {"type": "string"}, name=param["name"])

    def _path_params(self, full: str, params: dict, label: str) -> dict:
        declared = {name: p for (where, name), p in params.items() if where == "path"}
        check_path_params(full, set(declared), label, self.faults)
        out = {}
        for name in re.findall(r"\{([^{}/]*)\}", full):
            param = declared.get(name, {"name": name})
            _, example = self._param_example(param, generate=True)
            item = {}
            if isinstance(param.get("description"), str) and param["description"].strip():
                item["description"] = _shorten(" ".join(param["description"].split()), 200)
            if example is not None and not isinstance(example, (dict, list)):
                item["example"] = str(example).lower() if isinstance(example, bool) else str(example)
            out[name] = item
        return out

    def _request(self, verb: str, full: str, op: dict, params: dict, label: str) -> tuple[dict, list]:
        request: dict[str, Any] = {}
        constraints: list[dict] = []
        query, headers = {}, {}
        for (where, name), param in params.items():
            low = name.lower()
            if where == "query" and name not in self.auth_query and low not in _CREDENTIAL_NAMES:
                found, value = self._param_example(param, generate=bool(param.get("required")))
                if found and (param.get("required") or _explicit(param)):
                    query[name] = value
                schema = self._param_schema(param)
                constraints.append(constraint_for(f"query.{name}", schema, required=bool(param.get("required")),
                                                  description=param.get("description")))
            elif where == "header" and low not in self.auth_headers and low not in _SKIP_HEADERS | _CREDENTIAL_NAMES:
                found, value = self._param_example(param, generate=bool(param.get("required")))
                if found and value is not None and (param.get("required") or _explicit(param)):
                    headers[name] = str(value)
        body = self._body(verb, op, params, label)
        if body:
            request.update(body["request"])
            if body["schema"] is not None:
                constraints = body_constraints(body["schema"], self.resolver) + constraints
                mismatch = wrapper_mismatch(full, body["schema"], body["description"], self.resources, self.resolver)
                if mismatch:
                    self.faults.add(f"{label}: {mismatch}")
        if query:
            request["query"] = query
        if headers:
            request["headers"] = headers
        return request, constraints

    def _body(self, verb: str, op: dict, params: dict, label: str) -> dict | None:
        if self.swagger2:
            content, description = self._swagger2_content(op, params)
        else:
            body = self.resolver.node(op.get("requestBody")) if "requestBody" in op else None
            if "requestBody" in op and not isinstance(body, dict):
                self.faults.add(f"{label}: requestBody is unresolvable")
            content = (body or {}).get("content")
            description = (body or {}).get("description")
        picked = pick_media(content) if isinstance(content, dict) else None
        if not picked:
            return None
        content_type, media = picked
        media = media if isinstance(media, dict) else {}
        fmt = body_format(content_type)
        schema = media.get("schema")
        found, value = media_example(media, self.resolver)
        value = json_text(value) if fmt == "json" else value
        problems = example_problems(value, schema, self.resolver) if found and schema is not None else []
        if problems:
            self.faults.add(f"{label}: the request example does not fit its schema: {'; '.join(problems)}")
        if not found and schema is not None:
            value = self.requests.sample(schema)
        if not found and value in ({}, None) and verb in ("GET", "HEAD", "DELETE", "OPTIONS"):
            return None  # Stripe declares empty form bodies on reads; sending one would mislead
        root = _ref_name(schema) or "request"
        shaped = shape_body(value, fmt, schema, self.requests, root)
        request: dict[str, Any] = {"body_format": fmt, "content_type": content_type}
        if shaped is not None:
            request["body"] = shaped
        return {"request": request, "schema": schema, "description": description}

    def _swagger2_content(self, op: dict, params: dict) -> tuple[dict | None, Any]:
        consumes = _media_types(op.get("consumes")) or _media_types(self.doc.get("consumes")) or ["application/json"]
        body = next((p for (where, _), p in params.items() if where == "body"), None)
        if body is not None:
            media: dict[str, Any] = {"schema": body.get("schema", {})}
            if "x-examples" in body and isinstance(body["x-examples"], dict) and body["x-examples"]:
                media["example"] = next(iter(body["x-examples"].values()))
            types = [c for c in consumes if body_format(c) not in ("form", "multipart")] or ["application/json"]
            return {types[0]: media}, body.get("description")
        form = [p for (where, _), p in params.items() if where == "formData"]
        if not form:
            return None, None
        multipart = any(p.get("type") == "file" for p in form) or (
            "application/x-www-form-urlencoded" not in consumes and "multipart/form-data" in consumes)
        props = {p["name"]: {**self._param_schema(p), **({"format": "binary", "type": "string"} if p.get("type") == "file" else {})}
                 for p in form}
        schema = {"type": "object", "properties": props, "required": [p["name"] for p in form if p.get("required")]}
        kind = "multipart/form-data" if multipart else "application/x-www-form-urlencoded"
        return {kind: {"schema": schema}}, None

    def _response(self, op: dict, label: str) -> dict | None:
        responses = op.get("responses") if isinstance(op.get("responses"), dict) else {}
        codes = sorted(str(c) for c in responses if str(c)[:1] == "2")
        if not codes:
            return None
        code = codes[0]
        status = int(code) if code.isdigit() else 200
        response = self.resolver.node(responses[code] if code in responses else responses.get(int(code)))
        if not isinstance(response, dict):
            self.faults.add(f"{label}: response {code} is unresolvable")
            return {"status": status}
        if self.swagger2:
            examples = response.get("examples") if isinstance(response.get("examples"), dict) else {}
            produces = _media_types(op.get("produces")) or _media_types(self.doc.get("produces")) or ["application/json"]
            content = {ct: {"schema": response.get("schema"), **({"example": ex} if (ex := examples.get(ct)) is not None else {})}
                       for ct in (list(examples) or produces[:1])} if (examples or response.get("schema")) else {}
        else:
            content = response.get("content")
        picked = pick_media(content) if isinstance(content, dict) else None
        if not picked:
            return {"status": status}
        content_type, media = picked
        media = media if isinstance(media, dict) else {}
        fmt = body_format(content_type)
        found, value = media_example(media, self.resolver)
        value = json_text(value) if fmt == "json" else value
        if found and value is not None and media.get("schema") is not None:
            problems = example_problems(value, media["schema"], self.resolver)
            if problems:
                self.faults.add(f"{label}: the {code} response example does not fit its schema: {'; '.join(problems)}")
        if not found and media.get("schema") is not None:
            value = self.responses.sample(media["schema"], mode="response")
        body = trim(shape_body(value, fmt if fmt != "form" else "json", media.get("schema"), self.responses,
                               _ref_name(media.get("schema")) or "response"))
        out = {"status": status, "content_type": content_type}
        if body is not None:
            out["body"] = body
        return out


def _media_types(value: Any) -> list[str]:
    """Return a Swagger 2.0 ``consumes``/``produces`` list's media types (strings only)."""
    return [v for v in value if isinstance(v, str)] if isinstance(value, list) else []


def _explicit(param: dict) -> bool:
    schema = param.get("schema") if isinstance(param.get("schema"), dict) else {}
    return "example" in param or "examples" in param or "x-example" in param or "example" in schema


def _join(base: str, path: str) -> str:
    path = path if path.startswith("/") else "/" + path
    return (base.rstrip("/") + path) if base else path


def _ref_name(schema: Any) -> str | None:
    if isinstance(schema, dict) and isinstance(schema.get("$ref"), str):
        return schema["$ref"].rsplit("/", 1)[-1]
    return None


def _shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _summary(op: dict, verb: str, path: str) -> str:
    """Return one line: the summary, else the description's first sentence when it is
    short (Stripe's "Creates a new customer object." beats "PostCustomers"), else the
    operationId."""
    summary = op.get("summary")
    if isinstance(summary, str) and summary.strip():
        return _shorten(_plain_text(summary), 200)
    description = op.get("description")
    if isinstance(description, str) and description.strip() and not _URL_ONLY.match(description.strip()):
        sentence = re.split(r"(?<=[.!?])\s", _plain_text(description), maxsplit=1)[0]
        if len(sentence) <= 160:
            return sentence
    op_id = op.get("operationId")
    if isinstance(op_id, str) and op_id.strip():
        return _shorten(op_id.strip(), 200)
    if isinstance(description, str) and description.strip():
        return _shorten(_plain_text(description), 200)
    return f"{verb} {path}"


def _plain_text(text: str) -> str:
    """Return ``text`` on one line without HTML tags."""
    return " ".join(re.sub(r"<[^>]+>", " ", text).split())


def _docs_url(op: dict) -> str | None:
    docs = op.get("externalDocs")
    if isinstance(docs, dict) and isinstance(docs.get("url"), str) and docs["url"].strip():
        return docs["url"].strip()
    description = op.get("description")
    # Some generated documents (Eventbrite's) put only the docs link in the description.
    if isinstance(description, str) and _URL_ONLY.match(description.strip()):
        return description.strip()
    return None


def _resources(paths: dict) -> set[str]:
    """Return the resource nouns of the document (literal path segments, singular too)."""
    out: set[str] = set()
    for path in paths:
        for segment in str(path).split("/"):
            if segment and "{" not in segment:
                out.add(segment)
                out.add(singular(segment))
    return out

