"""The compiled flat-JSON decoder against Polars: the same arrays, or a refusal."""

from __future__ import annotations

import io
import json
import random
import struct

import numpy as np
import polars as pl
import pytest

from stream_monitor.engine.dataset import ColumnArrays
from stream_monitor.stream.decode import Decoder
from stream_monitor.stream.flatjson import BOOLEAN, NUMBER, TEXT, FlatJsonDecoder
from stream_monitor.stream.floats import decimal_to_double

FIELDS = [
    ("x", NUMBER, ()),
    ("y", NUMBER, ()),
    ("city", TEXT, ("Oslo", "Rome", "São Paulo", "1", "true")),
    ("flag", BOOLEAN, ("false", "true")),
]
SCHEMA = {"x": pl.Float64, "y": pl.Float64, "city": pl.String, "flag": pl.Boolean}


def polars_arrays(payloads: list[bytes]) -> dict[str, np.ndarray]:
    """What the frame path computes: Polars' values, then the engine's codes."""
    # JSON allows a newline only as whitespace, so flattening one changes nothing.
    lines = b"\n".join(p.replace(b"\n", b" ") for p in payloads)
    frame = pl.read_ndjson(io.BytesIO(lines), schema=SCHEMA)
    out: dict[str, np.ndarray] = {}
    for name, kind, categories in FIELDS:
        series = frame[name]
        if kind == NUMBER:
            out[name] = series.to_numpy()
            continue
        text = series.cast(pl.String).str.to_lowercase() if kind == BOOLEAN else series
        codes = [
            -1 if v is None else (categories.index(v) if v in categories else len(categories))
            for v in text.to_list()
        ]
        out[name] = np.array(codes, dtype=np.int64)
    return out


def random_number(rng: random.Random) -> str:
    kind = rng.randrange(6)
    if kind == 0:
        bits = rng.getrandbits(64)
        value = struct.unpack("d", struct.pack("Q", bits))[0]
        return repr(value) if np.isfinite(value) else "0"
    if kind == 1:
        return repr(rng.uniform(-1e6, 1e6))
    if kind == 2:
        return str(rng.randrange(-(10**12), 10**12))
    if kind == 3:  # more digits than a double holds
        return f"{rng.randrange(10**20, 10**22)}.{rng.randrange(10**5)}"
    if kind == 4:
        return f"{rng.randrange(1, 10**17)}e{rng.randrange(-300, 290)}"
    return f"-0.{rng.randrange(10**8):08d}E+{rng.randrange(3)}"


def random_record(rng: random.Random) -> bytes:
    parts = []
    names = ["x", "y", "city", "flag", "other", "note"]
    rng.shuffle(names)
    for name in names[: rng.randrange(len(names) + 1)]:
        if name in ("x", "y"):
            value = random_number(rng) if rng.random() < 0.9 else "null"
        elif name == "city":
            value = rng.choice(['"Oslo"', '"Rome"', '"São Paulo"', '"Lima"', "null", "1", "12"])
        elif name == "flag":
            value = rng.choice(["true", "false", "null"])
        elif name == "other":
            value = random_number(rng)
        else:
            value = rng.choice(['"a \\"quoted\\" note"', '"\\u00e9t\\u00e9"', "true", "null"])
        space = rng.choice(["", " ", "\t", " \n "])
        parts.append(f'{space}"{name}"{space}:{space}{value}{space}')
    return ("{" + ",".join(parts) + "}").encode()


def test_decimal_conversion_is_correctly_rounded() -> None:
    """Every conversion the compiled path is sure of equals Python's float() of the digits."""
    rng = random.Random(3)
    sure = 0
    for _ in range(50_000):
        text = random_number(rng).lstrip("-").lower()
        mantissa, _, exponent = text.partition("e")
        whole, _, fraction = mantissa.partition(".")
        digits = (whole + fraction).lstrip("0") or "0"
        if len(digits) > 19:
            continue
        q = (int(exponent) if exponent else 0) - len(fraction)
        value, ok = decimal_to_double(np.uint64(int(digits)), q)
        if ok:
            sure += 1
            assert value == float(text), text
    assert sure > 40_000


def test_random_flat_records_decode_as_polars_does() -> None:
    """Batches of random flat records give Polars' values and codes, value for value."""
    rng = random.Random(7)
    decoder = FlatJsonDecoder(FIELDS)
    for _ in range(40):
        payloads = [random_record(rng) for _ in range(rng.randrange(1, 400))]
        got = decoder.decode(payloads)
        assert got is not None
        want = polars_arrays(payloads)
        for name in want:
            np.testing.assert_array_equal(got[name], want[name], err_msg=name)


def test_records_in_one_order_decode_as_polars_does() -> None:
    """Records that mostly repeat one order of fields (the decoder tries the field that came
    next in the record before) give Polars' values, also where the order breaks, a field is
    missing, or an unknown field's name starts with a known one's."""
    rng = random.Random(11)
    decoder = FlatJsonDecoder(FIELDS)
    usual = ["x", "y", "city", "flag"]
    for _ in range(20):
        payloads = []
        for _ in range(rng.randrange(1, 300)):
            names = list(usual)
            change = rng.random()
            if change < 0.1:
                names[rng.randrange(4)] = rng.choice(["xx", "cit", "flag2", "y "])
            elif change < 0.2:
                del names[rng.randrange(4)]
            elif change < 0.25:
                rng.shuffle(names)
            values = {"x": "1.25", "y": random_number(rng), "city": '"Rome"', "flag": "true"}
            parts = [f'"{n}":{values.get(n, "3")}' for n in names]
            payloads.append(("{" + ",".join(parts) + "}").encode())
        got = decoder.decode(payloads)
        assert got is not None
        want = polars_arrays(payloads)
        for name in want:
            np.testing.assert_array_equal(got[name], want[name], err_msg=name)


@pytest.mark.parametrize(
    "payload",
    [
        b'{"x": "1.5"}',  # a string in a number column
        b'{"x": true}',  # a boolean in a number column
        b'{"x": 1, "x": 2}',  # a field given twice
        b'{"city": "Os\\u006co"}',  # an escape in a known string
        b'{"city": 1.5}',  # a non-integer number as text
        b'{"flag": "yes"}',  # text in a boolean column
        b'{"city": true}',  # a boolean in a text column
        b'{"x": [1]}',  # an array in a known field
        b'{"other": {"a": 1}}',  # an object in an unknown field
        b'{"x": 1e400}',  # overflows a double
        b'{"x": 01}',  # not JSON
        b'{"x": NaN}',
        b'{"x": 1,}',
        b'{"x": 1} x',
        b'[{"x": 1}]',
        b"",
        b'{"c\\u0069ty": "Oslo"}',  # an escape in a key
        b'{"city": "\xff"}',  # not UTF-8
        b'{"x": 1}\x00{"x": 2}',  # a NUL byte: what joins payloads in the compiled pass
        b'{"x": 1}\x00',
        b'\x00{"x": 1}',
        b'{"city": "Os\x00lo"}',
    ],
)
def test_refuses_what_it_cannot_be_sure_of(payload: bytes) -> None:
    """A batch holding one payload outside the strict subset is left to the full decoder."""
    decoder = FlatJsonDecoder(FIELDS)
    assert decoder.decode([b'{"x": 1}', payload]) is None


def test_decoder_gives_the_same_rows_and_dead_letters_either_way() -> None:
    """With the compiled path or without it, a batch yields the same rows, the same sources
    and the same missing-field dead letters."""
    rng = random.Random(11)
    payloads = [random_record(rng) for _ in range(2_000)]
    payloads = [p for p in payloads if b"note" not in p and b'"city": 1' not in p]
    fast = Decoder(SCHEMA, required=["x"], flat=FlatJsonDecoder(FIELDS))
    slow = Decoder(SCHEMA, required=["x"])
    a, b = fast.decode(payloads), slow.decode(payloads)
    assert isinstance(a.rows, ColumnArrays)
    assert a.height == b.height > 0
    assert a.row_source == b.row_source
    assert [(r.index, r.reason, r.fields) for r in a.bad] == [
        (r.index, r.reason, r.fields) for r in b.bad
    ]
    assert len(a.bad) > 0
    want = polars_arrays([payloads[i] for i in b.row_source])
    for name in want:
        np.testing.assert_array_equal(a.rows.values[name], want[name], err_msg=name)


def test_a_refused_batch_still_decodes_through_polars() -> None:
    """One bad payload sends its batch down the full path: rows decoded, the bad one named."""
    decoder = Decoder(SCHEMA, flat=FlatJsonDecoder(FIELDS))
    batch = decoder.decode([b'{"x": 1.5}', b'{"x": "oops"}', json.dumps({"x": 2}).encode()])
    assert batch.columns is None
    assert batch.frame["x"].to_list() == [1.5, 2.0]
    assert [(b.index, b.reason) for b in batch.bad] == [(1, "wrong_type")]


def test_refuses_tombstones_and_oversized_payloads() -> None:
    """A tombstone or a payload over the size limit sends the batch to the full decoder."""
    decoder = FlatJsonDecoder(FIELDS)
    assert decoder.decode([b'{"x": 1}', None]) is None
    assert decoder.decode([b'{"x": 1}', b'{"x": 22}'], max_bytes=8) is None
    assert decoder.decode([b'{"x": 1}', b'{"x": 22}'], max_bytes=9) is not None
