"""Online histograms over a reference profile's fixed bins.

A numeric column's reference gives ``m`` strictly increasing edges: the reference minimum,
interior quantiles, and the reference maximum. A value falls into one of ``m + 1`` bins::

    0            x < edges[0]                      underflow
    j (1..m-1)   edges[j-1] <= x < edges[j]        the last interior bin is closed: x <= edges[-1]
    m            x > edges[-1]                     overflow

Values are never re-binned: a window only counts into these bins, so its state is a fixed
array. Besides the counts, the sketch keeps the exact sums of the distances by which values
fall below the first edge and above the last, which makes the Wasserstein distance in the
tails exact. Sketches over the same edges merge by addition.

A categorical column's reference gives ``K`` categories; values arrive as integer codes
``0..K-1`` with ``K`` for "other" (any category outside the reference's top K) and ``-1`` for
null, so the categorical sketch is a count array of ``K + 1`` entries.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numba import njit
from numpy.typing import ArrayLike, NDArray

from stream_monitor.detectors._base import as_values
from stream_monitor.errors import StateError

# Float statistics of a numeric sketch. Moments are sums of ``x - pivot`` and its square,
# with the pivot at the middle edge (the reference median): no division per value, and no
# cancellation for data near the reference.
_STATS = ("sum", "sum_sq", "min", "max", "under_distance", "over_distance")
_SUM, _SUM_SQ, _MIN, _MAX, _UNDER, _OVER = range(len(_STATS))

# The bin search starts from a lookup table over a uniform grid of the central edges. The
# grid has up to this many cells; with quantile edges nearly every cell holds at most one
# edge, so a value's bin is found with one table load and two comparisons.
_GRID_CELLS_PER_EDGE = 64
_MAX_GRID_CELLS = 1 << 14


def validate_edges(edges: ArrayLike) -> NDArray[np.float64]:
    """Return ``edges`` as float64 after checking they are finite and strictly increasing."""
    arr = np.ascontiguousarray(edges, dtype=np.float64)
    if arr.ndim != 1 or arr.shape[0] < 2:
        raise ValueError("edges must be a 1-D array of at least 2 values")
    if not np.all(np.isfinite(arr)):
        raise ValueError("edges must be finite")
    if not np.all(np.diff(arr) > 0):
        raise ValueError("edges must be strictly increasing")
    return arr


def build_grid(edges: NDArray[np.float64]) -> tuple[NDArray[np.int32], float, float]:
    """Return ``(table, origin, cells_per_unit)`` of the lookup grid over ``edges[1:-1]``.

    ``table[c]`` is the index of the last edge at or below the start of cell ``c``. The grid
    only narrows the search: every result is checked against the edges themselves, and a value
    the grid places wrongly (from rounding, or a cell holding several edges) falls back to a
    binary search.
    """
    m = edges.shape[0]
    if m < 4:
        return np.zeros(1, dtype=np.int32), float(edges[0]), 0.0
    lo, hi = float(edges[1]), float(edges[m - 2])
    cells = min(_MAX_GRID_CELLS, _GRID_CELLS_PER_EDGE * m)
    width = (hi - lo) / cells
    if not width > 0.0 or not np.isfinite(1.0 / width):
        return np.zeros(1, dtype=np.int32), lo, 0.0
    starts = lo + width * np.arange(cells)
    table = np.searchsorted(edges, starts, side="right") - 1
    return np.clip(table, 0, m - 2).astype(np.int32), lo, 1.0 / width


# nogil: the profile builder counts several columns at once on a thread pool.
@njit(cache=True, nogil=True)
def _count_numeric(
    values: NDArray[np.float64],
    start: int,
    stop: int,
    edges: NDArray[np.float64],
    grid: NDArray[np.int32],
    origin: float,
    scale: float,
    pivot: float,
    counts: NDArray[np.int64],
    stats: NDArray[np.float64],
    bins_out: NDArray[np.int64],
) -> int:
    """Count ``values[start:stop]`` into ``counts``; update the sums; return skipped.

    When ``bins_out`` is as long as ``values``, each value's bin is written to it (-1 for a
    value skipped); pass an empty array otherwise.
    """
    record = bins_out.shape[0] == values.shape[0]
    # The bin search is written out in the loop: numba compiles a helper function here into
    # a loop several times slower. The central range is tested first, as most values land
    # there; its bin comes from the grid and is verified against the edges themselves.
    m = edges.shape[0]
    e_first = edges[0]
    e_second = edges[1]
    e_penult = edges[m - 2]
    e_last = edges[m - 1]
    cells = grid.shape[0]
    s1 = stats[_SUM]
    s2 = stats[_SUM_SQ]
    vmin = stats[_MIN]
    vmax = stats[_MAX]
    under = stats[_UNDER]
    over = stats[_OVER]
    skipped = 0
    for i in range(start, stop):
        x = values[i]
        if x >= e_second and x < e_penult:
            c = min(int((x - origin) * scale), cells - 1)
            b = grid[c]
            b += edges[b + 1] <= x
            b += edges[b + 1] <= x
            if not (edges[b] <= x and x < edges[b + 1]):
                lo = 1
                hi = m - 2
                while hi - lo > 1:
                    mid = (lo + hi) >> 1
                    if edges[mid] <= x:
                        lo = mid
                    else:
                        hi = mid
                b = lo
            b += 1
        elif x < e_second:
            if x < e_first:
                if x == -np.inf:
                    skipped += 1
                    if record:
                        bins_out[i] = -1
                    continue
                b = 0
                under += e_first - x
            else:
                b = 1
        elif x <= e_last:
            b = m - 1
        elif x < np.inf:
            b = m
            over += x - e_last
        else:  # +inf or NaN
            skipped += 1
            if record:
                bins_out[i] = -1
            continue
        counts[b] += 1
        if record:
            bins_out[i] = b
        d = x - pivot
        s1 += d
        s2 += d * d
        vmin = min(vmin, x)
        vmax = max(vmax, x)
    stats[_SUM] = s1
    stats[_SUM_SQ] = s2
    stats[_MIN] = vmin
    stats[_MAX] = vmax
    stats[_UNDER] = under
    stats[_OVER] = over
    return skipped


@njit(cache=True, nogil=True)
def _count_codes(codes: NDArray[np.int64], start: int, stop: int, counts: NDArray[np.int64]) -> int:
    """Count category codes into ``counts``; codes outside ``0..K`` are nulls; return them."""
    k = counts.shape[0]
    nulls = 0
    for i in range(start, stop):
        c = codes[i]
        if c < 0 or c >= k:
            nulls += 1
        else:
            counts[c] += 1
    return nulls


_NO_BINS = np.empty(0, dtype=np.int64)


class NumericSketch:
    """Counts of a numeric column in fixed bins, with exact moments and tail distances.

    Examples
    --------
    >>> import numpy as np
    >>> sketch = NumericSketch([0.0, 1.0, 2.0, 3.0])
    >>> sketch.update_many(np.array([-0.5, 0.0, 0.5, 1.0, 2.9, 3.0, 4.0, np.nan]))
    >>> sketch.counts
    array([1, 2, 1, 2, 1])
    >>> sketch.n, sketch.n_skipped, sketch.under_distance, sketch.over_distance
    (7, 1, 0.5, 1.0)
    """

    def __init__(self, edges: ArrayLike) -> None:
        self.edges = validate_edges(edges)
        self.pivot = float(self.edges[self.edges.shape[0] // 2])
        self._grid, self._origin, self._scale = build_grid(self.edges)
        self.reset()

    @property
    def n_bins(self) -> int:
        """Number of bins, under- and overflow included."""
        return int(self.edges.shape[0] + 1)

    def reset(self) -> None:
        """Empty the sketch."""
        self.counts = np.zeros(self.n_bins, dtype=np.int64)
        self.stats = np.array([0.0, 0.0, np.inf, -np.inf, 0.0, 0.0])
        self.n_skipped = 0

    def update_many(
        self,
        values: ArrayLike,
        start: int = 0,
        stop: int | None = None,
        *,
        bins_out: NDArray[np.int64] | None = None,
    ) -> None:
        """Count ``values[start:stop]``; NaN and infinities are counted in ``n_skipped``.

        ``bins_out``, an int64 array as long as ``values``, receives each counted value's bin
        (-1 for a skipped value) at the value's position.
        """
        arr = as_values(values)
        end = arr.shape[0] if stop is None else stop
        if bins_out is None:
            bins_out = _NO_BINS
        elif bins_out.shape[0] != arr.shape[0] or bins_out.dtype != np.int64:
            raise ValueError("bins_out must be an int64 array as long as values")
        self.n_skipped += int(
            _count_numeric(
                arr,
                start,
                end,
                self.edges,
                self._grid,
                self._origin,
                self._scale,
                self.pivot,
                self.counts,
                self.stats,
                bins_out,
            )
        )

    @property
    def n(self) -> int:
        """Number of finite values counted."""
        return int(self.counts.sum())

    @property
    def mean(self) -> float:
        """Mean of the finite values counted (NaN when empty)."""
        return self.summary()["mean"]

    @property
    def std(self) -> float:
        """Population standard deviation of the finite values counted (NaN when empty)."""
        return self.summary()["std"]

    @property
    def min(self) -> float:
        """Smallest finite value counted (NaN when empty)."""
        return self.summary()["min"]

    @property
    def max(self) -> float:
        """Largest finite value counted (NaN when empty)."""
        return self.summary()["max"]

    def summary(self) -> dict[str, float]:
        """``mean``, ``std``, ``min`` and ``max`` at once (NaN when empty)."""
        n = self.n
        if not n:
            return dict.fromkeys(("mean", "std", "min", "max"), float("nan"))
        m1 = float(self.stats[_SUM]) / n
        return {
            "mean": self.pivot + m1,
            "std": float(np.sqrt(max(float(self.stats[_SUM_SQ]) / n - m1 * m1, 0.0))),
            "min": float(self.stats[_MIN]),
            "max": float(self.stats[_MAX]),
        }

    @property
    def under_distance(self) -> float:
        """Sum of ``edges[0] - x`` over the values below the first edge."""
        return float(self.stats[_UNDER])

    @property
    def over_distance(self) -> float:
        """Sum of ``x - edges[-1]`` over the values above the last edge."""
        return float(self.stats[_OVER])

    def merge(self, other: NumericSketch) -> None:
        """Add ``other``'s values into this sketch."""
        if not np.array_equal(self.edges, other.edges):
            raise StateError("only sketches over the same edges can be merged")
        s, o = self.stats, other.stats
        if other.n:
            s[_SUM] += o[_SUM]
            s[_SUM_SQ] += o[_SUM_SQ]
            s[_MIN] = min(s[_MIN], o[_MIN])
            s[_MAX] = max(s[_MAX], o[_MAX])
            s[_UNDER] += o[_UNDER]
            s[_OVER] += o[_OVER]
        self.counts += other.counts
        self.n_skipped += other.n_skipped

    def snapshot(self) -> dict[str, NDArray[Any]]:
        """Return the state as plain arrays."""
        return {
            "edges": self.edges.copy(),
            "counts": self.counts.copy(),
            "stats": self.stats.copy(),
            "skipped": np.array([self.n_skipped], dtype=np.int64),
        }

    def restore(self, snapshot: dict[str, NDArray[Any]]) -> None:
        """Replace the state by ``snapshot``, which must be over the same edges."""
        if "edges" not in snapshot or not np.array_equal(snapshot["edges"], self.edges):
            raise StateError("snapshot was taken over other edges")
        self.counts = np.array(snapshot["counts"], dtype=np.int64)
        self.stats = np.array(snapshot["stats"], dtype=np.float64)
        self.n_skipped = int(snapshot["skipped"][0])


class CategoricalSketch:
    """Counts of category codes ``0..K`` (``K`` is "other"); other codes count as nulls.

    Examples
    --------
    >>> import numpy as np
    >>> sketch = CategoricalSketch(n_categories=3)
    >>> sketch.update_many(np.array([0, 2, 2, 3, -1]))
    >>> sketch.counts, sketch.n_null
    (array([1, 0, 2, 1]), 1)
    """

    def __init__(self, n_categories: int) -> None:
        if n_categories < 0:
            raise ValueError("n_categories must be non-negative")
        self.n_categories = n_categories
        self.reset()

    def reset(self) -> None:
        """Empty the sketch."""
        self.counts = np.zeros(self.n_categories + 1, dtype=np.int64)
        self.n_null = 0

    def update_many(self, codes: ArrayLike, start: int = 0, stop: int | None = None) -> None:
        """Count ``codes[start:stop]``; codes outside ``0..K`` are counted in ``n_null``."""
        arr = np.ascontiguousarray(codes, dtype=np.int64)
        end = arr.shape[0] if stop is None else stop
        self.n_null += int(_count_codes(arr, start, end, self.counts))

    @property
    def n(self) -> int:
        """Number of non-null values counted."""
        return int(self.counts.sum())

    def merge(self, other: CategoricalSketch) -> None:
        """Add ``other``'s counts into this sketch."""
        if other.n_categories != self.n_categories:
            raise StateError("only sketches over the same categories can be merged")
        self.counts += other.counts
        self.n_null += other.n_null

    def snapshot(self) -> dict[str, NDArray[Any]]:
        """Return the state as plain arrays."""
        return {"counts": self.counts.copy(), "null": np.array([self.n_null], dtype=np.int64)}

    def restore(self, snapshot: dict[str, NDArray[Any]]) -> None:
        """Replace the state by ``snapshot``."""
        counts = np.array(snapshot["counts"], dtype=np.int64)
        if counts.shape != self.counts.shape:
            raise StateError("snapshot was taken over another number of categories")
        self.counts = counts
        self.n_null = int(snapshot["null"][0])
