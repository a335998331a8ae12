"""The JSON API's contract: the models its routes validate request bodies with, and
the OpenAPI 3.1 document (``/api/openapi.json``) built from those same models and
from what each route declares, so the document cannot drift from what is checked.

Each endpoint in :mod:`plugwire.core.server.api` carries an :class:`Operation`
(``endpoint.operation``); :func:`document` reads them off the routes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from pydantic.json_schema import models_json_schema
from pydantic_core import InitErrorDetails, PydanticCustomError

from plugwire.core.base.names import Name
from plugwire.core.base import VERSION
from plugwire.core.connections.options import ConnectionOptions
from plugwire.core.http.exchange import HeaderName, HeaderValue, check_url
from plugwire.core.recipes.model import Step, TriggerSpec
from plugwire.core.wizard.actions import Action

__all__ = ["ERROR", "NewAction", "NewConnection", "NewRecipe", "Operation", "document"]


# -- request bodies ---------------------------------------------------------------------
# The rules of names and URLs, told to the document (the validators are check_name's and
# check_url's; these patterns admit what they admit, white space around included).
_NAME = {"pattern": r"^\s*[A-Za-z0-9][A-Za-z0-9 _.@-]{0,79}\s*$"}
_URL = {"pattern": r"^\s*[Hh][Tt][Tt][Pp][Ss]?://[^\s]+\s*$"}


class NewConnection(ConnectionOptions):
    """A connection to create: its options and its auth type's settings (checked
    against the auth type's own model when it is created)."""

    name: Name = Field(json_schema_extra=_NAME)
    settings: dict[str, Any] = Field(default_factory=dict, description="the auth type's settings, e.g. username and password for basic")


class NewAction(Action):
    """An action to create: a request (every rule of the wizard's request applies) and
    how to run it. Unknown fields are refused; a multipart file is sent inline as
    ``content_base64`` (a ``path`` would read a file of the server's)."""

    model_config = ConfigDict(extra="forbid")

    name: Name = Field(json_schema_extra=_NAME)
    url: str = Field(description="absolute http(s) URL", json_schema_extra=_URL)

    @field_validator("url")
    @classmethod
    def _url_given(cls, v: str) -> str:
        return check_url(v)  # empty too: only the wizard's request may lack a URL for a while

    @model_validator(mode="after")
    def _no_server_files(self) -> "NewAction":
        for n, part in enumerate(self.files):
            if part.path:
                error = PydanticCustomError("server_file", "a file sent through the API travels inline: give content_base64, not a path on the server")
                raise ValidationError.from_exception_data(type(self).__name__, [InitErrorDetails(type=error, loc=("files", n, "path"), input=None)])
        return self


class NewStep(Step):
    """A step of a new recipe; its headers follow the request's header rules."""

    headers: dict[HeaderName, HeaderValue] = Field(default_factory=dict, description="added to (or replacing) the action's headers",
                                                   json_schema_extra={"additionalProperties": False})

    @field_validator("url")
    @classmethod
    def _url(cls, v: str | None) -> str | None:
        if v is None or "{{" in v:  # a URL a pill fills in is checked when the job runs
            return v
        return check_url(v)


class NewRecipe(BaseModel):
    """A recipe to create (stopped; start it with ``POST /api/recipes/{name}/start``)."""

    model_config = ConfigDict(extra="forbid")

    name: Name = Field(json_schema_extra=_NAME)
    description: str = ""
    trigger: TriggerSpec
    steps: list[NewStep] = Field(default_factory=list)


# -- the document ---------------------------------------------------------------------
#: The shape of every error answer.
ERROR: dict[str, Any] = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {"type": "string", "description": "what was wrong, said plainly"},
        "field": {"type": ["string", "null"], "description": "the field at fault (dotted: headers.X-Name, steps[0].action)"},
        "fix": {"type": ["string", "null"], "description": "how to put it right"},
    },
}
_ERRORS = {
    400: "the body is not JSON text (not UTF-8, not JSON, nested too deep) or the request cannot be done",
    401: "missing or wrong API token",
    404: "no such thing",
    409: "the name is taken",
    413: "the body is too large",
    422: "a value does not fit (the field is named)",
    503: "the data store is out of reach for now (try again)",
}


@dataclass(frozen=True)
class Operation:
    """What one route does, for the document: its summary, the model its body is
    validated with (None: no body), its success status and answer, the error statuses
    it may give, its query parameters, and whether it needs the API token."""

    summary: str
    body: type[BaseModel] | None = None
    status: int = 200
    returns: dict[str, Any] = field(default_factory=lambda: {"type": "object"})
    errors: tuple[int, ...] = ()
    query: tuple[tuple[str, dict[str, Any], str], ...] = ()
    auth: bool = True
    media: str = "application/json"
    #: OpenAPI links of the success answer, by name: ``{"operationId", "parameters"}``.
    links: dict[str, dict[str, Any]] = field(default_factory=dict)
    op_id: str = ""  # the operationId; the API sets its handler's name


def _operation(op: Operation, op_id: str, path: str, refs: dict[str, Any]) -> dict[str, Any]:
    errors = set(op.errors) | ({401, 503} if op.auth else set()) | ({400, 413, 422} if op.body else set())
    responses: dict[str, Any] = {str(op.status): {"description": "done", "content": {op.media: {"schema": op.returns}}}}
    if op.links:
        responses[str(op.status)]["links"] = op.links
    # A page (the OAuth2 callback) says its errors as a page too.
    error = {"$ref": "#/components/schemas/Error"} if op.media == "application/json" else {"type": "string"}
    for status in sorted(errors):
        responses[str(status)] = {"description": _ERRORS[status], "content": {op.media: {"schema": error}}}
    out: dict[str, Any] = {
        "operationId": op_id,
        "summary": op.summary,
        "responses": responses,
        "security": [{"bearer": []}] if op.auth else [],
    }
    params = [{"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
              for name in _path_names(path)]
    params += [{"name": name, "in": "query", "required": False, "schema": schema, "description": text} for name, schema, text in op.query]
    if params:
        out["parameters"] = params
    if op.body is not None:
        out["requestBody"] = {"required": True, "content": {"application/json": {"schema": refs[op.body.__name__]}}}
    return out


def _path_names(path: str) -> list[str]:
    return [part[1:-1].split(":")[0] for part in path.split("/") if part.startswith("{") and part.endswith("}")]


def document(routes: list[Any]) -> dict[str, Any]:
    """Return the OpenAPI 3.1 document of ``routes``: Starlette routes whose endpoint
    has ``operations`` (method -> :class:`Operation`); each operation's id is its
    handler's name. Raises ``ValueError`` for a route without them: every route is
    described."""
    described = []
    for route in routes:
        ops = getattr(route.endpoint, "operations", None)
        if not isinstance(ops, dict) or not ops or set(ops) != set(route.methods or ()) - {"HEAD"}:
            raise ValueError(f"route {route.path} does not describe each of its methods: give it operations")
        described += [(route.path, method, op) for method, op in ops.items()]
    models = {op.body for _, _, op in described if op.body is not None}
    keyed = [(m, "validation") for m in sorted(models, key=lambda m: m.__name__)]
    refs_by_key, top = models_json_schema(keyed, ref_template="#/components/schemas/{model}")
    refs = {m.__name__: refs_by_key[(m, "validation")] for m in models}
    paths: dict[str, dict[str, Any]] = {}
    for path, method, op in described:
        paths.setdefault(path, {})[method.lower()] = _operation(op, op.op_id or f"{method.lower()} {path}", path, refs)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "plugwire server API",
            "version": VERSION,
            "description": "Connections, actions, recipes and jobs of one plugwire server. Every /api route needs "
                           "`Authorization: Bearer <api token>`; secrets are masked in every answer. A body that is "
                           "not JSON text is refused with 400, one too large with 413, a value that does not fit "
                           "with 422 naming the field; error answers are {error, field, fix}.",
        },
        "paths": paths,
        "components": {
            "schemas": {**top.get("$defs", {}), "Error": ERROR},
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer", "description": "the server's API token"}},
        },
    }
