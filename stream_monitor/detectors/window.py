"""Tumbling windows of a column, counted into the reference's bins and scored per window.

A window closes every ``window`` rows (NaN and null rows included, so that every column of a
stream closes its windows at the same record). The values of the window are counted into the
reference's fine bins; the scores are computed when it closes:

- ``psi``, ``jensen_shannon``, ``hellinger`` and ``chi_square`` on the coarser score bins;
- ``ks`` and ``wasserstein`` on the fine bins, with the exact tail distances.

Each method is looked up by name in ``detectors.methods.WINDOW_METHODS``.

``score_numeric`` and ``score_categorical`` score any sketch against a reference, so a batch
report and the stream give the same number for the same data.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from stream_monitor.detectors import scores as sc
from stream_monitor.detectors.histogram import CategoricalSketch, NumericSketch
from stream_monitor.detectors.methods import WINDOW_METHODS, Kind, method_names
from stream_monitor.detectors.reference import CategoricalReference, NumericReference, Reference
from stream_monitor.errors import StateError

__all__ = [
    "CategoricalReference",
    "HistogramDrift",
    "Neighbours",
    "NumericReference",
    "Reference",
    "WindowResult",
    "mixture",
    "score_categorical",
    "score_numeric",
]

#: Each row's two seasonal slots and the second one's weight (``profile.seasonal.neighbours``).
Neighbours = tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.float64]]


def score_numeric(
    reference: NumericReference, sketch: NumericSketch, thresholds: Mapping[str, float | None]
) -> tuple[sc.Score, ...]:
    """Score a numeric sketch against the reference with each requested method."""
    return _score(reference, sketch, thresholds, "numeric")


def score_categorical(
    reference: CategoricalReference,
    sketch: CategoricalSketch,
    thresholds: Mapping[str, float | None],
) -> tuple[sc.Score, ...]:
    """Score a categorical sketch against the reference with each requested method."""
    return _score(reference, sketch, thresholds, "categorical")


def _score(
    reference: Reference,
    sketch: NumericSketch | CategoricalSketch,
    thresholds: Mapping[str, float | None],
    kind: Kind,
) -> tuple[sc.Score, ...]:
    results = []
    for name, threshold in thresholds.items():
        method = WINDOW_METHODS.get(name)
        if method is None or kind not in method.kinds:
            raise ValueError(f"unknown {kind} drift method {name!r}")
        value = method.value_of(method.score_sketch(reference, sketch))
        results.append(method.score(value, threshold))
    return tuple(results)


def mixture(table: NDArray[np.float64], slot_rows: NDArray[np.float64]) -> NDArray[np.float64]:
    """The reference a window should look like: each slot's shares weighted by the window's
    rows in that slot (``slot_rows`` has one entry per row of ``table``)."""
    shares = table / table.sum(axis=1, keepdims=True)
    weighted: NDArray[np.float64] = slot_rows.astype(np.float64) @ shares
    return weighted


@dataclass(frozen=True, slots=True)
class WindowResult:
    """The scores of one closed window.

    ``end`` is the position, in the batch passed to ``update_many``, of the window's last row.
    """

    end: int
    rows: int
    missing: int
    scores: tuple[sc.Score, ...]
    summary: dict[str, float] = field(default_factory=dict)

    @property
    def drift_detected(self) -> bool:
        """Whether any score of the window signalled drift."""
        return any(s.drift_detected for s in self.scores)


class HistogramDrift:
    """Tumbling row-count windows of one column, scored against a reference.

    Parameters
    ----------
    reference
        A ``NumericReference`` (values are floats) or a ``CategoricalReference`` (values are
        integer codes ``0..K``, with ``K`` for "other" and ``-1`` for null).
    window
        Rows per window.
    methods
        Method name to threshold (``None`` for the method's default).

    Examples
    --------
    >>> import numpy as np
    >>> ref = NumericReference(
    ...     edges=np.array([0.0, 1.0, 2.0]), counts=np.array([0, 50, 50, 0]),
    ...     score_bin_of_fine=np.array([0, 1, 2, 3]), std=0.5)
    >>> detector = HistogramDrift(ref, window=100, methods={"psi": None})
    >>> [w.scores[0].value < 0.1 for w in detector.update_many(np.full(250, 0.5))]
    [False, False]
    >>> detector.rows_in_window
    50
    """

    def __init__(
        self,
        reference: Reference,
        *,
        window: int = 10_000,
        methods: Mapping[str, float | None] | None = None,
        slot_table: NDArray[np.float64] | None = None,
    ) -> None:
        #: Seasonal reference: bin counts per time slot (last row: overall), or None.
        self.slot_table = slot_table
        if window < 1:
            raise ValueError(f"window must be at least 1 row, got {window}")
        self.reference = reference
        self.window = window
        numeric = isinstance(reference, NumericReference)
        default = ("psi",) if numeric else ("jensen_shannon",)
        self.methods: dict[str, float | None] = dict(methods) if methods else dict.fromkeys(default)
        allowed = method_names("numeric" if numeric else "categorical", window=True)
        for method in self.methods:
            if method not in allowed:
                raise ValueError(f"method {method!r} does not apply; choose from {allowed}")
        self.reset()

    def reset(self) -> None:
        """Start a new, empty window."""
        if getattr(self, "sketch", None) is not None:
            self.sketch.reset()  # keeps the sketch's bin lookup grid
        elif isinstance(self.reference, NumericReference):
            self.sketch: NumericSketch | CategoricalSketch = NumericSketch(self.reference.edges)
        else:
            self.sketch = CategoricalSketch(self.reference.n_categories)
        self.rows_in_window = 0
        slots = 0 if self.slot_table is None else self.slot_table.shape[0]
        self.slot_rows = np.zeros(slots, dtype=np.float64)

    def update_many(
        self,
        values: ArrayLike,
        *,
        bins_out: NDArray[np.int64] | None = None,
        slots: Neighbours | None = None,
    ) -> list[WindowResult]:
        """Count a batch; return the results of the windows that closed within it.

        For a numeric column, ``bins_out`` (int64, as long as ``values``) receives each
        value's fine bin, -1 for NaN and infinities. With a seasonal reference, ``slots``
        gives each row's two rows of ``slot_table`` and the second one's weight: a window is
        scored against the mixture of its rows' slots.
        """
        if isinstance(self.sketch, NumericSketch):
            arr: NDArray[Any] = np.ascontiguousarray(values, dtype=np.float64)
        else:
            arr = np.ascontiguousarray(values, dtype=np.int64)
        closed = []
        pos = 0
        n = arr.shape[0]
        while pos < n:
            take = min(n - pos, self.window - self.rows_in_window)
            if isinstance(self.sketch, NumericSketch):
                self.sketch.update_many(arr, pos, pos + take, bins_out=bins_out)
            else:
                self.sketch.update_many(arr, pos, pos + take)
            if slots is not None and self.slot_rows.shape[0]:
                first, second, weight = (part[pos : pos + take] for part in slots)
                size = self.slot_rows.shape[0]
                self.slot_rows += np.bincount(first, weights=1.0 - weight, minlength=size)
                self.slot_rows += np.bincount(second, weights=weight, minlength=size)
            self.rows_in_window += take
            pos += take
            if self.rows_in_window == self.window:
                closed.append(self._close(end=pos - 1))
        return closed

    def score(self) -> tuple[sc.Score, ...]:
        """Score the current (possibly partial) window."""
        reference = self._window_reference()
        if isinstance(self.sketch, NumericSketch):
            assert isinstance(reference, NumericReference)
            return score_numeric(reference, self.sketch, self.methods)
        assert isinstance(reference, CategoricalReference)
        return score_categorical(reference, self.sketch, self.methods)

    def _window_reference(self) -> Reference:
        """The reference, or with seasons, the mixture of the window's slots at its size."""
        if self.slot_table is None or not self.slot_rows.any():
            return self.reference
        expected = mixture(self.slot_table, self.slot_rows)
        total = float(self.reference.counts.sum())
        counts = np.rint(expected * (total / expected.sum())).astype(np.int64)
        return replace(self.reference, counts=counts)

    def _close(self, end: int) -> WindowResult:
        sketch = self.sketch
        if isinstance(sketch, NumericSketch):
            missing = sketch.n_skipped
            summary = sketch.summary()
        else:
            missing = sketch.n_null
            summary = {}
        result = WindowResult(end, self.rows_in_window, missing, self.score(), summary)
        self.reset()
        return result

    def snapshot(self) -> dict[str, NDArray[Any]]:
        """Return the open window's state as plain arrays."""
        snap = self.sketch.snapshot()
        snap["rows_in_window"] = np.array([self.rows_in_window], dtype=np.int64)
        if self.slot_table is not None:
            snap["slot_rows"] = self.slot_rows.copy()
        return snap

    def restore(self, snapshot: dict[str, NDArray[Any]]) -> None:
        """Restore an open window taken by ``snapshot``."""
        state = dict(snapshot)
        rows = int(state.pop("rows_in_window")[0])
        if self.slot_table is not None:
            self.slot_rows = np.array(state.pop("slot_rows"), dtype=np.float64)
        if not 0 <= rows < self.window:
            raise StateError(f"snapshot holds {rows} rows; this window closes at {self.window}")
        self.sketch.restore(state)
        self.rows_in_window = rows
