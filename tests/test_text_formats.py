"""The texts plugwire writes on hot paths, checked against the slower standard ways
they replace: the job store's JSON, the clock, and response header decoding."""

import dataclasses
import json
import re
from datetime import date, datetime, timedelta, timezone

import httpx2

from plugwire.core.base.clock import now_iso
from plugwire.core.base.jsontext import dumps_json, loads_json
from plugwire.core.http.body import header_pairs


def _json_module(value):
    return json.dumps(value, separators=(",", ":"), default=str)


@dataclasses.dataclass
class _Point:
    x: int


def test_stored_json_reads_back_as_the_json_module_would_write_it():
    values = [
        {"payload": {"name": "Hall é", "capacity": 300, "tags": ["a", "b"], "ok": True, "none": None, "f": 1.5}},
        {1: "int key", 2.5: "float key", False: "bool key", None: "none key"},
        {"when": datetime(2026, 1, 31, 9, 0, tzinfo=timezone.utc), "day": date(2026, 1, 31), "point": _Point(3)},
        {"big": 2**70 + 1, "neg": -(2**65) - 3, "u64": 2**64 - 1, "i64": -(2**63), "tuple": (1, 2)},
        {"id": "12345678901234567890123", "n": 123456789012345678901234567890},
        {"surrogate": "\ud800 alone"},
        [],
        "text",
    ]
    for value in values:
        text = dumps_json(value)
        assert loads_json(text) == json.loads(_json_module(value)), value


def test_json_is_read_exactly_as_the_json_module_reads_it():
    texts = ['{"a": 123456789012345678901234567891}', '{"a": -9223372036854775809}', '{"a": 18446744073709551615}',
             '{"a": NaN, "b": Infinity}', '{"a": 1, "a": 2}', '"\\ud800"', '[1.5, 1e400, "é"]', '{"x": {"y": [true, null]}}']
    for text in texts:
        expected = json.loads(text)
        got = loads_json(text)
        assert repr(got) == repr(expected) and type(got) is type(expected), text
        assert repr(loads_json(text.encode())) == repr(expected)
    for bad in ('{"a": }', "{'a': 1}", "[1,]"):
        try:
            json.loads(bad)
        except ValueError as exc:
            expected = type(exc)
        try:
            loads_json(bad)
        except ValueError as exc:
            assert type(exc) is expected
        else:
            raise AssertionError(f"{bad!r} was read")


def test_non_finite_floats_become_null_and_old_texts_with_nan_still_read():
    assert loads_json(dumps_json({"x": float("nan"), "y": float("inf")})) == {"x": None, "y": None}
    assert loads_json('{"x": NaN}')["x"] != loads_json('{"x": NaN}')["x"]  # read by the json module: a NaN


def test_now_iso_is_utc_iso_8601_with_milliseconds():
    before = datetime.now(timezone.utc)
    stamp = now_iso()
    after = datetime.now(timezone.utc)
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+00:00", stamp), stamp
    parsed = datetime.fromisoformat(stamp)
    assert before - timedelta(milliseconds=1) <= parsed <= after
    assert stamp == datetime.fromisoformat(stamp).isoformat(timespec="milliseconds")


def test_header_pairs_decode_as_httpx2_does():
    for raw in (
        [(b"Content-Type", b"application/json"), (b"Set-Cookie", b"a=1"), (b"set-cookie", b"b=2")],
        [(b"X-Name", "caf\u00e9".encode("utf-8")), (b"X-Other", b"plain")],
        [(b"X-Latin", "caf\u00e9".encode("latin-1"))],
    ):
        headers = httpx2.Headers(raw)
        assert header_pairs(headers) == headers.multi_items()
