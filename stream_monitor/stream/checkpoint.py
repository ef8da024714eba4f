"""Detector state as bytes: what a checkpoint writes and a restore reads.

A checkpoint is a compressed ``.npz`` archive of the state arrays, with a JSON header in the
member ``__meta__`` (the partition, the next offset to read, counters, the rate limiter). It
never holds pickled objects, so loading one runs no code (``allow_pickle=False``).
"""

from __future__ import annotations

import io
import json
from typing import Any

import numpy as np
from numpy.typing import NDArray

from stream_monitor.errors import StateError

#: Version 2: the detectors of the location and spread channels, quality and multivariate.
CHECKPOINT_VERSION = 2
_META = "__meta__"


def encode(arrays: dict[str, NDArray[Any]], meta: dict[str, Any]) -> bytes:
    """Serialise state arrays and a JSON-ready header.

    >>> blob = encode({"a": np.arange(3)}, {"next_offset": 7})
    >>> arrays, meta = decode(blob)
    >>> arrays["a"].tolist(), meta["next_offset"], meta["version"]
    ([0, 1, 2], 7, 2)
    """
    header = json.dumps({**meta, "version": CHECKPOINT_VERSION}).encode()
    buffer = io.BytesIO()
    members: dict[str, Any] = {**arrays, _META: np.frombuffer(header, dtype=np.uint8)}
    np.savez_compressed(buffer, **members)
    return buffer.getvalue()


def decode(blob: bytes) -> tuple[dict[str, NDArray[Any]], dict[str, Any]]:
    """Read back what ``encode`` wrote."""
    try:
        with np.load(io.BytesIO(blob), allow_pickle=False) as archive:
            arrays = {name: archive[name] for name in archive.files}
    except (ValueError, OSError, EOFError) as error:
        raise StateError(f"not a stream-monitor checkpoint: {error}") from error
    if _META not in arrays:
        raise StateError("not a stream-monitor checkpoint: no header")
    meta: dict[str, Any] = json.loads(arrays.pop(_META).tobytes())
    if meta.get("version", 0) > CHECKPOINT_VERSION:
        raise StateError(
            f"checkpoint version {meta.get('version')} is newer than {CHECKPOINT_VERSION}"
        )
    return arrays, meta
