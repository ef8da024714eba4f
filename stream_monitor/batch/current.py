"""The current side of ``check-drift`` against a profile, as states that merge exactly.

A current column scored against a profile column needs only what these states hold, so the
rows can be counted in any number of pieces (file batches, Spark partitions) and merged:

- ``NumericCurrent``: the counts in the profile's fine bins, the nulls, NaN and infinities,
  the finite minimum and maximum, the values outside the reference range, and the sums of
  the moments and tail distances. The sums are kept *exactly*, as integers in units of the
  smallest double (``exact_sum``), so that they do not depend on how the rows were split or in
  which order the pieces merged: every engine gets the same mean, standard deviation and
  Wasserstein tails, to the last bit.
- ``CategoricalCurrent``: the count of each value (as text, booleans as ``true`` and
  ``false``) and the nulls.

The quantiles of the current summary are order statistics, which do not merge; the scorer
asks for them by rank (``OrderStatistic``), and each engine answers from its data.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import polars as pl
from numba import njit
from numpy.typing import NDArray

from stream_monitor.detectors.histogram import NumericSketch
from stream_monitor.profile.model import CategoricalColumnProfile, NumericColumnProfile

__all__ = [
    "CategoricalCurrent",
    "NumericCurrent",
    "OrderStatistic",
    "exact_column_sums",
    "exact_float",
    "exact_sum",
]

#: ``rank -> value``: the value at 0-based ``rank`` among the sorted finite current values.
OrderStatistic = Callable[[int], float]

# Every finite double is an integer multiple of 2**-1074, the smallest subnormal.
_UNIT_EXPONENT = 1074
# A mantissa's halves: the high 27 bits and the low 26. A slot's int64 sum of halves stays
# exact for 2**36 values; ``exact_sum`` empties the slots every ``_BLOCK`` values.
_HALF_BITS = 26
_LOW_MASK = (1 << _HALF_BITS) - 1
_BLOCK = 1 << 32
_EXPONENTS = 2048
_LANES = 4  # a power of two
_TILE_ROWS = 1024  # rows of ``exact_column_sums`` read into the cache together


def exact_sum(values: NDArray[np.float64]) -> int:
    """The exact sum of the finite ``values``, in units of ``2**-1074`` (an integer).

    A compiled pass adds each double's 53-bit integer mantissa, in two 26/27-bit halves, to
    an integer slot of its exponent (``_slot_sums``); the slots are shifted into place as
    Python integers. Exact sums add exactly, so pieces of a column may be summed apart and
    in any order.

    >>> parts = [np.array([0.1, 1e20]), np.array([-1e20, 0.2])]
    >>> whole = exact_float(exact_sum(np.array([0.1, 0.2])))
    >>> exact_float(sum(exact_sum(p) for p in parts)) == whole, sum([0.1, 1e20, -1e20, 0.2])
    (True, 0.2)
    >>> exact_float(exact_sum(np.array([1e-310, 3e-310, -2.5])))
    -2.5
    """
    values = np.ascontiguousarray(values, dtype=np.float64)
    total = 0
    lanes = np.zeros((2, _LANES, _EXPONENTS), dtype=np.int64)
    for start in range(0, values.shape[0], _BLOCK):
        _slot_sums(values[start : start + _BLOCK], lanes[0], lanes[1])
        total += _slots_total(lanes[0], lanes[1])
        lanes[:] = 0
    return total


def exact_column_sums(values: NDArray[np.float64], rows: NDArray[np.bool_]) -> list[int]:
    """``exact_sum`` of each column of ``values`` over the ``rows`` kept, in one pass over
    the rows (not one strided copy and pass per column).

    >>> values = np.array([[0.1, 1e20], [np.nan, 1.0], [0.2, -1e20]])
    >>> sums = exact_column_sums(values, np.array([True, False, True]))
    >>> sums == [exact_sum(values[[0, 2], j]) for j in range(2)], exact_float(sums[1])
    (True, 0.0)
    """
    values = np.ascontiguousarray(values, dtype=np.float64)
    d = values.shape[1]
    totals = [0] * d
    lanes = np.zeros((2, d, _LANES, _EXPONENTS), dtype=np.int64)
    for start in range(0, values.shape[0], _BLOCK):
        stop = start + _BLOCK
        bits = values[start:stop].view(np.int64)
        _column_slot_sums(bits, rows[start:stop], lanes[0], lanes[1])
        for j in range(d):
            totals[j] += _slots_total(lanes[0, j], lanes[1, j])
        lanes[:] = 0
    return totals


def _slots_total(high_lanes: NDArray[np.int64], low_lanes: NDArray[np.int64]) -> int:
    """The slots' sum, in units of ``2**-1074``."""
    total = 0
    high, low = high_lanes.sum(axis=0), low_lanes.sum(axis=0)
    for slot in np.flatnonzero((high != 0) | (low != 0)):
        units = (int(high[slot]) << _HALF_BITS) + int(low[slot])
        # A double of biased exponent e >= 1 is its mantissa times 2**(e - 1) units
        # (a subnormal sits in slot 1 with no implicit bit).
        total += units << (int(slot) - 1)
    return total


@njit(cache=True, nogil=True)
def _column_slot_sums(
    bits: NDArray[np.int64],
    rows: NDArray[np.bool_],
    high: NDArray[np.int64],
    low: NDArray[np.int64],
) -> None:
    """``_slot_sums`` of each column ``j`` of the doubles' ``bits`` into ``high[j]`` and
    ``low[j]``, over the rows kept.

    A tile of rows at a time, a column at a time within it: the column's slots stay in the
    cache, and so do the tile's rows, which a column's strided reads would otherwise fetch
    from memory once per column (1M rows of 20 columns: 127 -> 80 ms)."""
    n, d = bits.shape
    for start in range(0, n, _TILE_ROWS):
        stop = min(start + _TILE_ROWS, n)
        for j in range(d):
            high_j, low_j = high[j], low[j]
            for i in range(start, stop):
                if rows[i]:
                    slot, h, lo = _halves(bits[i, j])
                    lane = i & (_LANES - 1)
                    high_j[lane, slot] += h
                    low_j[lane, slot] += lo


@njit(cache=True, nogil=True)
def _halves(b: int) -> tuple[int, int, int]:
    """The slot of the double of bits ``b`` (its biased exponent; 1 for a subnormal, whose
    mantissa has no implicit bit; 0, left unread, for an infinity or NaN) and its signed
    mantissa's high 27 and low 26 bits."""
    exponent = (b >> 52) & 0x7FF
    if exponent == 0x7FF:  # infinity or NaN
        return 0, 0, 0
    mantissa = b & 0xFFFFFFFFFFFFF
    if exponent == 0:
        exponent = 1
    else:
        mantissa |= 1 << 52
    sign = (b >> 63) | 1  # -1 or 1
    return exponent, sign * (mantissa >> _HALF_BITS), sign * (mantissa & _LOW_MASK)


@njit(cache=True, nogil=True)
def _slot_sums(
    values: NDArray[np.float64], high: NDArray[np.int64], low: NDArray[np.int64]
) -> None:
    """Add each finite value's signed mantissa halves to ``high`` and ``low`` at its slot
    (``_halves``). Consecutive values go to different rows (lanes), so that adding to one
    slot need not wait for the last add (twice as fast on normal data, whose values share a
    few exponents)."""
    bits = values.view(np.int64)
    for i in range(bits.shape[0]):
        slot, h, lo = _halves(bits[i])
        lane = i & (_LANES - 1)
        high[lane, slot] += h
        low[lane, slot] += lo


def exact_float(total: int, divisor: int = 1) -> float:
    """``total / divisor`` (``total`` in units of ``2**-1074``), correctly rounded."""
    try:
        return total / (divisor << _UNIT_EXPONENT)
    except OverflowError:
        return math.copysign(math.inf, total)


@dataclass
class NumericCurrent:
    """What the scorer needs of a current numeric column, against one profile column.

    Sums are exact integers (``exact_sum``): ``sum_d`` and ``sum_d2`` of ``d = x - pivot``
    and of ``d * d`` (each rounded once, whichever engine computes it), with the sketch's
    pivot; ``under`` and ``over`` of the distances below the first edge and above the last.
    """

    edges: NDArray[np.float64]
    reference_min: float
    reference_max: float
    counts: NDArray[np.int64] = field(init=False)
    nulls: int = 0
    nan: int = 0
    inf: int = 0
    outside: int = 0
    min: float = math.inf
    max: float = -math.inf
    sum_d: int = 0
    sum_d2: int = 0
    under: int = 0
    over: int = 0

    def __post_init__(self) -> None:
        self.counts = np.zeros(self.edges.shape[0] + 1, dtype=np.int64)

    @classmethod
    def of(cls, column: NumericColumnProfile) -> NumericCurrent:
        """An empty state for the current side of ``column``."""
        return cls(np.asarray(column.edges), column.min, column.max)

    @property
    def pivot(self) -> float:
        """The sketch's pivot: the middle edge."""
        return float(self.edges[self.edges.shape[0] // 2])

    @property
    def n(self) -> int:
        """Finite values counted."""
        return int(self.counts.sum())

    def update(self, values: NDArray[np.float64], nulls: int) -> None:
        """Count the non-null ``values`` (NaN and infinities included) and ``nulls`` more."""
        sketch = NumericSketch(self.edges)
        sketch.update_many(values)
        self.counts += sketch.counts
        self.nulls += nulls
        finite = values[np.isfinite(values)]
        self.inf += int(np.count_nonzero(np.isinf(values)))
        self.nan += values.shape[0] - finite.shape[0] - int(np.count_nonzero(np.isinf(values)))
        if not finite.size:
            return
        self.min = min(self.min, float(finite.min()))
        self.max = max(self.max, float(finite.max()))
        self.outside += int(
            np.count_nonzero(finite < self.reference_min)
            + np.count_nonzero(finite > self.reference_max)
        )
        d = finite - self.pivot
        self.sum_d += exact_sum(d)
        self.sum_d2 += exact_sum(d * d)
        first, last = float(self.edges[0]), float(self.edges[-1])
        self.under += exact_sum(first - finite[finite < first])
        self.over += exact_sum(finite[finite > last] - last)

    def merge(self, other: NumericCurrent) -> None:
        """Add ``other``'s rows, counted over the same edges."""
        if not np.array_equal(self.edges, other.edges):
            raise ValueError("only states over the same edges merge")
        self.counts += other.counts
        self.nulls += other.nulls
        self.nan += other.nan
        self.inf += other.inf
        self.outside += other.outside
        self.min = min(self.min, other.min)
        self.max = max(self.max, other.max)
        self.sum_d += other.sum_d
        self.sum_d2 += other.sum_d2
        self.under += other.under
        self.over += other.over

    @property
    def mean(self) -> float:
        """Mean of the finite values (NaN when there is none)."""
        n = self.n
        return self.pivot + exact_float(self.sum_d, n) if n else math.nan

    @property
    def std(self) -> float:
        """Population standard deviation of the finite values (NaN when there is none)."""
        n = self.n
        if not n:
            return math.nan
        # n² var = n Σd² - (Σd)², exactly, in units of 2**-1074 squared for the second term.
        scaled = n * self.sum_d2 * (1 << _UNIT_EXPONENT) - self.sum_d * self.sum_d
        if scaled <= 0:
            return 0.0
        return math.sqrt(exact_float(scaled, n * n << _UNIT_EXPONENT))

    def sketch(self) -> NumericSketch:
        """The sketch the scores read: the counts, and the sums as doubles."""
        sketch = NumericSketch(self.edges)
        stats = [
            exact_float(self.sum_d),
            exact_float(self.sum_d2),
            self.min,
            self.max,
            exact_float(self.under),
            exact_float(self.over),
        ]
        sketch.restore(
            {
                "edges": self.edges,
                "counts": self.counts,
                "stats": np.array(stats, dtype=np.float64),
                "skipped": np.array([self.nan + self.inf], dtype=np.int64),
            }
        )
        return sketch


@dataclass
class CategoricalCurrent:
    """The count of each value of a current column, as text, and its nulls."""

    counts: dict[str, int] = field(default_factory=dict)
    nulls: int = 0

    def update(self, series: pl.Series) -> None:
        """Count the values of ``series``."""
        frame = (
            series.cast(pl.String)
            .rename("value")
            .to_frame()
            .group_by("value")
            .agg(pl.len().alias("n"))
        )
        for value, n in frame.iter_rows():
            if value is None:
                self.nulls += int(n)
            else:
                self.counts[str(value)] = self.counts.get(str(value), 0) + int(n)

    def merge(self, other: CategoricalCurrent) -> None:
        """Add ``other``'s counts."""
        for value, n in other.counts.items():
            self.counts[value] = self.counts.get(value, 0) + n
        self.nulls += other.nulls

    def codes(self, column: CategoricalColumnProfile) -> NDArray[np.int64]:
        """Counts in ``CategoricalSketch``'s layout: one per category, then the rest."""
        named = [self.counts.get(category, 0) for category in column.categories]
        other = sum(self.counts.values()) - sum(named)
        return np.array([*named, other], dtype=np.int64)
