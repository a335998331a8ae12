"""JSON text for the job store: orjson's speed with the json module's output."""

from __future__ import annotations

import json
import re
from typing import Any

import orjson

__all__ = ["dumps_json", "loads_json"]

#: The json module's encoder, for what orjson refuses (integers beyond 64 bits,
#: strings with lone surrogates), with the same output for everything else.
_ENCODER = json.JSONEncoder(separators=(",", ":"), default=str)
# Nineteen digits in a row may be an integer orjson reads as a float (below -2**63 or
# above 2**64 - 1); such texts are read by the json module. Also bytes, for bodies.
_LONG_NUMBER = re.compile(r"\d{19}")
_LONG_NUMBER_BYTES = re.compile(rb"\d{19}")
# Dates, times and dataclasses go to ``default=str`` as they would with the json
# module, rather than orjson's own formats: a stored event reads the same either way.
_ORJSON_OPTIONS = orjson.OPT_NON_STR_KEYS | orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS


def dumps_json(value: Any) -> str:
    """Return ``value`` as compact JSON text, as ``json.dumps(value, separators=(",", ":"),
    default=str)`` would (values outside JSON become their ``str``).

    orjson does the work (a fifth of the json module's time, and encoding an event was
    a tenth of a webhook's cost); the json module takes what orjson refuses. One
    difference is kept: a float NaN or infinity becomes ``null`` (valid JSON) where
    the json module would write ``NaN``.
    """
    try:
        return orjson.dumps(value, default=str, option=_ORJSON_OPTIONS).decode("utf-8")
    except TypeError:  # orjson.JSONEncodeError: a 65-bit integer, a lone surrogate...
        return _ENCODER.encode(value)


def loads_json(text: str | bytes) -> Any:
    """Return the value of JSON ``text`` exactly as ``json.loads`` would.

    orjson reads it when it can read it exactly: a number of 19 digits or more (an
    integer beyond 64 bits, which orjson would turn into a float) and whatever orjson
    refuses (NaN, Infinity, a lone surrogate: the json module accepts them) go to the
    json module, which also raises the usual ``ValueError`` for text that is not JSON.
    """
    if not (_LONG_NUMBER_BYTES if isinstance(text, bytes) else _LONG_NUMBER).search(text):
        try:
            return orjson.loads(text)
        except orjson.JSONDecodeError:
            pass
    return json.loads(text)
