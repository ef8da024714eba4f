"""The contract every drift detector keeps, and the helpers its kernels share.

A detector is a thin Python object around a compiled kernel. Its parameters are stored as
given; its learned state is a handful of plain numpy arrays, so it can be snapshotted,
restored and (for histograms) merged without pickling objects.

``update_many(values)`` runs a whole batch in one compiled call and returns the positions in
``values`` at which drift was signalled. ``update(x)`` and ``drift_detected`` behave as river's
do. NaN and infinite values are counted in ``n_skipped`` and never reach the statistics.

Each detector also exposes ``threshold``: the value of the parameter that decides how readily
it fires, whatever the paper calls it (ADWIN's ``delta``, DDM's ``drift_threshold``, ...).
Page-Hinkley's parameter is named ``threshold`` already; the others read theirs through a
property. ``detectors.registry`` names that parameter for each detector.
"""

from __future__ import annotations

import abc
from collections.abc import Callable
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from stream_monitor.errors import StateError

Snapshot = dict[str, NDArray[Any]]


def drain(
    kernel: Callable[[int, NDArray[np.int64]], tuple[int, int]], n_values: int
) -> NDArray[np.int64]:
    """Collect the drift positions a kernel writes, resuming it whenever its buffer fills.

    ``kernel(start, out)`` processes values from ``start`` on, writes drift positions into
    ``out``, and returns ``(written, next_start)``; it stops early when ``out`` is full. A
    fixed buffer keeps the compiled loop free of allocations.
    """
    out = np.empty(_OUT_CAPACITY, dtype=np.int64)
    written, start = kernel(0, out)
    if start >= n_values:
        return out[:written].copy()
    parts = [out[:written].copy()]
    while start < n_values:
        written, start = kernel(start, out)
        parts.append(out[:written].copy())
    return np.concatenate(parts)


_OUT_CAPACITY = 256


def as_values(values: ArrayLike) -> NDArray[np.float64]:
    """Return ``values`` as a contiguous 1-D float64 array, copying only when needed."""
    arr = np.ascontiguousarray(values, dtype=np.float64)
    if arr.ndim != 1:
        raise ValueError(f"values must be a 1-D array, got {arr.ndim} dimensions")
    return arr


class DriftDetector(abc.ABC):
    """A detector over a stream of floats.

    Subclasses implement ``_fresh_state()``, which returns the named state arrays (one of them,
    ``flags``, is an int64 array starting ``[drift flag, skipped count, ...]``), and
    ``_run(values)``, which runs the kernel over ``self._state``.
    """

    def __init__(self) -> None:
        self._one = np.empty(1, dtype=np.float64)
        self.reset()

    # -- the contract ------------------------------------------------------------------
    def update_many(self, values: ArrayLike) -> NDArray[np.int64]:
        """Feed a batch; return the int64 positions in ``values`` where drift was signalled."""
        return self._run(as_values(values))

    def update(self, x: float) -> None:
        """Feed one value, as river's ``update`` does; read ``drift_detected`` afterwards."""
        self._one[0] = x
        self._run(self._one)

    @property
    def drift_detected(self) -> bool:
        """Whether the last finite value fed in signalled drift."""
        return bool(self._state["flags"][0])

    @property
    def n_skipped(self) -> int:
        """How many NaN or infinite values were counted and skipped since the last reset."""
        return int(self._state["flags"][1])

    def reset(self) -> None:
        """Forget everything learned; parameters are kept."""
        self._state: dict[str, NDArray[Any]] = self._fresh_state()

    def snapshot(self) -> Snapshot:
        """Return a copy of the learned state as a dict of numpy arrays."""
        snap = {name: array.copy() for name, array in self._state.items()}
        snap["params"] = self._params_array()
        return snap

    def restore(self, snapshot: Snapshot) -> None:
        """Replace the learned state by ``snapshot``; the detector then continues identically."""
        fresh = self._fresh_state()
        expected = set(fresh) | {"params"}
        if set(snapshot) != expected:
            raise StateError(
                f"{type(self).__name__} snapshot must have arrays {sorted(expected)}, "
                f"got {sorted(snapshot)}"
            )
        if not np.array_equal(snapshot["params"], self._params_array()):
            raise StateError(f"{type(self).__name__} snapshot was taken with other parameters")
        state = {}
        for name, ref in fresh.items():
            arr = np.asarray(snapshot[name])
            if arr.dtype != ref.dtype or arr.shape != ref.shape:
                raise StateError(
                    f"{type(self).__name__} snapshot array {name!r} has dtype {arr.dtype} and "
                    f"shape {arr.shape}; expected {ref.dtype} and {ref.shape}"
                )
            state[name] = arr.copy()
        self._state = state

    # -- for subclasses ----------------------------------------------------------------
    @abc.abstractmethod
    def _fresh_state(self) -> dict[str, NDArray[Any]]:
        """Return the state arrays of a detector that has seen nothing."""

    @abc.abstractmethod
    def _run(self, values: NDArray[np.float64]) -> NDArray[np.int64]:
        """Run the kernel over ``values`` and return the drift positions."""

    @abc.abstractmethod
    def _params_array(self) -> NDArray[np.float64]:
        """Return the parameters packed as floats, to check snapshots against."""

    def __repr__(self) -> str:
        params = ", ".join(f"{k}={v!r}" for k, v in self._params().items())
        return f"{type(self).__name__}({params})"

    @abc.abstractmethod
    def _params(self) -> dict[str, Any]:
        """Return the constructor parameters by name."""
