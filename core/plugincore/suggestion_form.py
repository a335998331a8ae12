"""A suggestion's *data*: the JSON form of the Suggestion model
(``Suggestion.model_dump(mode="json")``), built and checked in plain Python so that
``plugwire suggest`` needs no pydantic (see :mod:`.suggesters`)."""

from __future__ import annotations

import math
from typing import Any, Literal

__all__ = [
    "BODY_FORMATS",
    "BodyFormat",
    "CONSTRAINT_FIELDS",
    "REQUEST_FIELDS",
    "SUGGESTION_FIELDS",
    "constraint_data",
    "data_problem",
]

BodyFormat = Literal["none", "json", "form", "multipart", "xml", "text", "binary"]
BODY_FORMATS = frozenset(("none", "json", "form", "multipart", "xml", "text", "binary"))


# Each field of the models, in their order, with the default a missing one takes
# (tests/test_suggest_data.py keeps these equal to the models' fields).
SUGGESTION_FIELDS: dict[str, Any] = {
    "suggester": ..., "score": ..., "reason": ..., "request": ..., "provider": None, "provider_name": None,
    "endpoint": None, "summary": None, "docs_url": None, "constraints": [], "sample_response": None,
    "learned": False, "proven": False, "pagination": None,
}
REQUEST_FIELDS: dict[str, Any] = {
    "method": ..., "url": ..., "headers": {}, "query": {}, "body": None, "body_format": "none", "content_type": None,
}
CONSTRAINT_FIELDS: dict[str, Any] = {
    "path": ..., "type": None, "required": False, "pattern": None, "enum": None, "min_length": None,
    "max_length": None, "minimum": None, "maximum": None, "format": None, "description": None,
}


def constraint_data(given: dict[str, Any]) -> dict[str, Any]:
    """Return a constraint (a dict with at least ``path``) in FieldConstraint's JSON
    form: every field in order, defaults filled in, bounds as floats."""
    out = {name: given.get(name, default) for name, default in CONSTRAINT_FIELDS.items()}
    for bound in ("minimum", "maximum"):
        if isinstance(out[bound], int) and not isinstance(out[bound], bool):
            out[bound] = float(out[bound])
    return out


def _is_str(v: Any) -> bool:
    return type(v) is str


def _is_opt_str(v: Any) -> bool:
    return v is None or type(v) is str


def _is_bool(v: Any) -> bool:
    return type(v) is bool


def _is_opt_int(v: Any) -> bool:
    return v is None or type(v) is int


def _is_opt_float(v: Any) -> bool:
    return v is None or (type(v) is float and math.isfinite(v))


def _is_json(v: Any, depth: int = 0) -> bool:
    """A value that the JSON form keeps as it is: JSON's own types, nothing else."""
    if v is None or type(v) in (str, int, bool):
        return True
    if type(v) is float:
        return math.isfinite(v)
    if depth > 64:
        return False
    if type(v) is list:
        return all(_is_json(x, depth + 1) for x in v)
    if type(v) is dict:
        return all(type(k) is str and _is_json(x, depth + 1) for k, x in v.items())
    return False


def _is_opt_json_list(v: Any) -> bool:
    return v is None or (type(v) is list and _is_json(v))


def _is_json_dict(v: Any) -> bool:
    return type(v) is dict and _is_json(v)


def _is_opt_json_dict(v: Any) -> bool:
    return v is None or _is_json_dict(v)


def _is_str_dict(v: Any) -> bool:
    return type(v) is dict and all(type(k) is str and type(x) is str for k, x in v.items())


def _is_score(v: Any) -> bool:
    return type(v) is float and 0.0 <= v <= 1.0


_SUGGESTION_RULES = {
    "suggester": _is_str, "score": _is_score, "reason": _is_str, "request": None, "provider": _is_opt_str,
    "provider_name": _is_opt_str, "endpoint": _is_opt_str, "summary": _is_opt_str, "docs_url": _is_opt_str,
    "constraints": None, "sample_response": _is_json, "learned": _is_bool, "proven": _is_bool,
    "pagination": _is_opt_json_dict,
}
_REQUEST_RULES = {
    "method": _is_str, "url": _is_str, "headers": _is_str_dict, "query": _is_json_dict, "body": _is_json,
    "body_format": lambda v: type(v) is str and v in BODY_FORMATS, "content_type": _is_opt_str,
}
_CONSTRAINT_RULES = {
    "path": _is_str, "type": _is_opt_str, "required": _is_bool, "pattern": _is_opt_str, "enum": _is_opt_json_list,
    "min_length": _is_opt_int, "max_length": _is_opt_int, "minimum": _is_opt_float, "maximum": _is_opt_float,
    "format": _is_opt_str, "description": _is_opt_str,
}


def _fields_problem(data: Any, rules: dict[str, Any], what: str) -> str | None:
    if type(data) is not dict:
        return f"{what} is a {type(data).__name__}, not a dict"
    if list(data) != list(rules):
        return f"{what}'s fields are not exactly {', '.join(rules)} in that order"
    for name, ok in rules.items():
        if ok is not None and not ok(data[name]):
            return f"{what}'s {name} {data[name]!r:.60} is not of the model's JSON form"
    return None


def data_problem(data: Any) -> str | None:
    """Return None when ``data`` is a suggestion exactly in its JSON form (what
    ``Suggestion.model_validate(data).model_dump(mode="json")`` would give back, key
    order included), else what is not (then only the model can say whether it fits).

    Plain Python and strict: a value the model would accept only after a conversion
    (an int score, a tuple) is reported too, so anything let through needs none.
    """
    problem = _fields_problem(data, _SUGGESTION_RULES, "the suggestion")
    if problem is None:
        problem = _fields_problem(data["request"], _REQUEST_RULES, "its request")
    if problem is None:
        if type(data["constraints"]) is not list:
            return "its constraints are not a list"
        for c in data["constraints"]:
            problem = _fields_problem(c, _CONSTRAINT_RULES, "a constraint")
            if problem is not None:
                break
    return problem
