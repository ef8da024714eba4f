"""The checkpoint container: packed arrays and a JSON header, read back exactly; earlier
``.npz`` checkpoints still read; anything else is a ``StateError``, never code run."""

from __future__ import annotations

import io
import json
import struct
import zlib

import numpy as np
import pytest

from stream_monitor.errors import StateError
from stream_monitor.stream import checkpoint


def _arrays() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(5)
    return {
        "counts": rng.integers(0, 1 << 40, size=(3, 7)),
        "means": rng.normal(size=11),
        "flags": rng.random(5) < 0.5,
        "scalar": np.float64(2.5) * np.ones(()),
        "empty": np.empty((0, 4), dtype=np.int32),
        "small": np.arange(6, dtype=np.uint8).reshape(2, 3),
        "fortran": np.asfortranarray(rng.normal(size=(4, 5))),
        "strided": np.arange(20.0)[::3],
    }


def test_round_trip_keeps_values_dtypes_shapes_and_header() -> None:
    arrays = _arrays()
    blob = checkpoint.encode(arrays, {"next_offset": 41, "window_time": [1, 2]})
    back, meta = checkpoint.decode(blob)
    assert list(back) == list(arrays)
    for name, array in arrays.items():
        assert back[name].dtype == array.dtype, name
        assert back[name].shape == array.shape, name
        np.testing.assert_array_equal(back[name], array)
        assert back[name].flags.writeable, name  # restored detectors update them in place
    assert meta == {"next_offset": 41, "window_time": [1, 2], "version": 2}


def test_an_npz_checkpoint_of_earlier_releases_still_reads() -> None:
    arrays = _arrays()
    header = json.dumps({"next_offset": 9, "version": 2}).encode()
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **arrays, __meta__=np.frombuffer(header, dtype=np.uint8))
    back, meta = checkpoint.decode(buffer.getvalue())
    assert meta == {"next_offset": 9, "version": 2}
    for name, array in arrays.items():
        np.testing.assert_array_equal(back[name], array)


def _packed(index: list[list[object]], data: bytes) -> bytes:
    header = json.dumps({"meta": {"version": 2}, "arrays": index}).encode()
    return checkpoint._MAGIC + struct.pack("<I", len(header)) + header + zlib.compress(data)


@pytest.mark.parametrize(
    "blob",
    [
        _packed([["x", "|O", [1], 0, 8]], bytes(8)),  # an object array: never read back
        _packed([["x", "<f8", [4], 0, 32]], bytes(16)),  # runs past the data
        _packed([["x", "<f8", [3], 0, 16]], bytes(16)),  # shape and size disagree
        checkpoint.encode({"a": np.arange(4)}, {})[:-3],  # truncated
        b"not a checkpoint at all",
    ],
    ids=["object", "overrun", "shape", "truncated", "garbage"],
)
def test_anything_else_is_a_state_error(blob: bytes) -> None:
    with pytest.raises(StateError, match="not a stream-monitor checkpoint"):
        checkpoint.decode(blob)


def test_a_newer_version_is_refused() -> None:
    blob = _packed([], b"").replace(b'"version": 2', b'"version": 9')
    with pytest.raises(StateError, match="version 9 is newer"):
        checkpoint.decode(blob)


def test_object_state_is_refused_when_written() -> None:
    with pytest.raises(TypeError, match="not a plain number"):
        checkpoint.encode({"bad": np.array([object()])}, {})
