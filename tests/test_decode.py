"""The micro-batch decoder: one parse for clean batches, every bad payload isolated and named."""

from __future__ import annotations

import json

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from stream_monitor.stream.decode import Decoder

SCHEMA = {"x": pl.Float64, "n": pl.Int64, "city": pl.String, "ok": pl.Boolean}


def decoder(**kwargs: object) -> Decoder:
    """A decoder over SCHEMA requiring x."""
    return Decoder(SCHEMA, required=["x"], **kwargs)  # type: ignore[arg-type]


def test_clean_batch_decodes_every_record_in_order() -> None:
    """Clean payloads become rows in payload order, with row_source pointing back."""
    payloads = [
        json.dumps({"x": i / 2, "n": i, "city": f"c{i}", "ok": i % 2 == 0}).encode()
        for i in range(1000)
    ]
    batch = decoder().decode(payloads)
    assert batch.bad == []
    assert batch.row_source == list(range(1000))
    assert batch.frame["n"].to_list() == list(range(1000))
    assert batch.frame["x"].to_list() == [i / 2 for i in range(1000)]


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        (b'{"x": 1.0, "n": ', "invalid_json"),
        (b'{"x": NaN}', "invalid_json"),
        (b'{"x": Infinity}', "invalid_json"),
        (b'{"x": 1.0, "city": "\xff"}', "invalid_utf8"),
        (b'"just a string"', "not_an_object"),
        (b"[1, 2]", "not_an_object"),
        (b'{"x": "1.5"}', "wrong_type"),
        (b'{"x": true}', "wrong_type"),
        (b'{"x": 1.0, "n": 2.5}', "wrong_type"),
        (b'{"x": {"nested": 1}}', "wrong_type"),
        (b'{"n": 3}', "missing_field"),
        (b'{"x": null}', "missing_field"),
        (None, "empty"),
        (b"", "empty"),
        (b"   ", "empty"),
        (b"[]", "empty"),
        (b'{"x": 1.0, "pad": "' + b"y" * 200 + b'"}', "oversized"),
    ],
)
def test_each_bad_payload_is_isolated_with_its_reason(payload: bytes | None, reason: str) -> None:
    """A bad payload among good ones is dead-lettered alone, with the right reason."""
    good = [json.dumps({"x": float(i)}).encode() for i in range(300)]
    payloads: list[bytes | None] = [*good[:150], payload, *good[150:]]
    batch = decoder(max_bytes=150).decode(payloads)
    assert [(b.index, b.reason) for b in batch.bad] == [(150, reason)]
    assert batch.frame["x"].to_list() == [float(i) for i in range(300)]
    assert 150 not in batch.row_source


def test_details_never_echo_the_payload() -> None:
    """Reasons and details name the problem, never the payload's content."""
    secret = "hunter2-secret-value"
    payloads = [f'{{"x": "{secret}"}}'.encode(), f'{{"x": 1, "city": {secret}}}'.encode()]
    for bad in decoder().decode(payloads).bad:
        assert secret not in bad.detail
        assert secret not in bad.reason


def test_arrays_and_multiline_objects_are_records() -> None:
    """An array of objects counts as its records; an object spanning lines is still one record."""
    payloads = [b'[{"x": 1}, {"x": 2}]', b'{\n  "x": 3,\n  "city": "a"\n}', b'{"x": 4}']
    batch = decoder().decode(payloads)
    assert batch.bad == []
    assert batch.frame["x"].to_list() == [1.0, 2.0, 3.0, 4.0]
    assert batch.row_source == [0, 0, 1, 2]


def test_extra_fields_are_ignored_and_missing_optional_fields_are_null() -> None:
    """Fields outside the schema are dropped; absent optional fields become null."""
    batch = decoder().decode([b'{"x": 1, "zzz": [1, 2], "n": 5}', b'{"x": 2}'])
    assert batch.frame.to_dicts() == [
        {"x": 1.0, "n": 5, "city": None, "ok": None},
        {"x": 2.0, "n": None, "city": None, "ok": None},
    ]


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner),
    max_leaves=8,
)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.one_of(
            st.binary(max_size=60),
            st.dictionaries(
                st.sampled_from(["x", "n", "city", "ok", "other"]), JSON_VALUES, max_size=5
            ).map(lambda d: json.dumps(d).encode()),
            st.none(),
        ),
        max_size=40,
    )
)
def test_every_payload_is_accounted_for(payloads: list[bytes | None]) -> None:
    """Whatever arrives, each payload is either decoded into rows or dead-lettered, never both."""
    batch = decoder().decode(payloads)
    bad = {b.index for b in batch.bad}
    good = set(batch.row_source)
    assert bad.isdisjoint(good)
    assert bad | good == set(range(len(payloads)))
    assert batch.frame.height == len(batch.row_source)
    assert batch.row_source == sorted(batch.row_source)
