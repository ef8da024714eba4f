"""A seeded uniform sample of rows that partitions draw on their own and merge exactly.

Each row gets a priority, a 64-bit hash of (seed, partition index, row index in the
partition): the SplitMix64 sequence of a stream seeded from (seed, partition), which behaves
as independent uniform draws. The sample is the ``size`` rows of smallest priority, ties
broken by partition then row. A partition keeps its own ``size`` smallest; merging keeps the
smallest of the union, so the merged sample is the same whatever the order or grouping of
merges: a function of the input, its partitioning and the seed only. Smallest priorities of
independent uniform draws make a uniform sample without replacement (priority sampling with
equal weights, i.e. reservoir sampling that can be split).

A partition need not send its own ``size`` rows when the total row count is known:
``priority_bound`` gives a priority below which at least ``size`` rows of all partitions lie
but for a chance of 1.3 × 10⁻¹⁴, so each partition sends only its rows below it (about
``size / partitions`` each). The smallest ``size`` of those are the same rows; if fewer than
``size`` come back, the caller draws again without the bound.

>>> values = np.arange(30.0)[:, None]
>>> def part(i):
...     return PrioritySample.of(values[i::3].__getitem__, 10, size=4, seed=7, partition=i)
>>> parts = [part(i) for i in range(3)]
>>> left = parts[0].merge(parts[1]).merge(parts[2])
>>> right = parts[2].merge(parts[0].merge(parts[1]))
>>> left.count, left.values.ravel().tolist() == right.values.ravel().tolist()
(4, True)
>>> PrioritySample.union(parts).values.ravel().tolist() == left.values.ravel().tolist()
True
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import polars as pl
from numpy.typing import NDArray

from stream_monitor.spark._frames import map_partitions, partition_index

if TYPE_CHECKING:
    from pyspark.sql import DataFrame

__all__ = [
    "PrioritySample",
    "complete_sample",
    "partition_sample",
    "priorities",
    "priority_bound",
    "sample_frame",
]

#: A partition's rows as the float columns sampled (nulls as NaN).
Select = Callable[[pl.DataFrame], pl.DataFrame]

_GOLDEN = 0x9E3779B97F4A7C15
_M1 = 0xBF58476D1CE4E5B9
_M2 = 0x94D049BB133111EB


def _mix(x: NDArray[np.uint64]) -> NDArray[np.uint64]:
    """SplitMix64's finaliser (arrays wrap modulo 2**64 without a warning)."""
    x = (x ^ (x >> np.uint64(30))) * np.uint64(_M1)
    x = (x ^ (x >> np.uint64(27))) * np.uint64(_M2)
    mixed: NDArray[np.uint64] = x ^ (x >> np.uint64(31))
    return mixed


def priorities(seed: int, partition: int, rows: int) -> NDArray[np.uint64]:
    """The priorities of rows ``0..rows-1`` of ``partition``.

    >>> priorities(0, 0, 3).tolist() == priorities(0, 0, 4)[:3].tolist()
    True
    >>> bool(priorities(0, 1, 3)[0] != priorities(0, 0, 3)[0])
    True
    """
    key = np.array([seed % 2**64], dtype=np.uint64)
    base = _mix(_mix(key) + np.uint64(partition % 2**64))
    steps = np.arange(1, rows + 1, dtype=np.uint64) * np.uint64(_GOLDEN)
    return _mix(base + steps)


def priority_bound(rows: int, size: int) -> int | None:
    """A priority that at least ``size`` of ``rows`` rows lie at or below, but for a chance
    of at most exp(-32), 1.3 × 10⁻¹⁴; None when every row is needed anyway.

    The number of rows below a fraction ``f`` of the priorities is binomial, of mean
    ``m = rows * f``; by Chernoff's bound it falls below ``m - 8 sqrt(m)`` with probability at
    most ``exp(-32)``. So ``sqrt(m) = sqrt(size) + 8``, for which ``m - 8 sqrt(m) > size``.

    >>> priority_bound(10**9, 10**6) / 2**64  # about 0.1 % of the rows, and a margin
    0.001016...
    >>> priority_bound(1_000, 1_000) is None
    True
    """
    expected = (np.sqrt(size) + 8.0) ** 2
    if expected >= rows:
        return None
    # A fraction within 2**-53 of 1 rounds to 1, and 2**64 is no uint64.
    return min(int(expected / rows * 2.0**64), 2**64 - 1)


@dataclass(frozen=True)
class PrioritySample:
    """At most ``size`` rows: their ``values`` (one column per sampled column), priorities,
    partitions and row indices, sorted by (priority, partition, row)."""

    size: int
    values: NDArray[np.float64]
    priority: NDArray[np.uint64]
    partitions: NDArray[np.int64]
    rows: NDArray[np.int64]

    @classmethod
    def of(
        cls,
        take: Callable[[NDArray[np.int64]], NDArray[np.float64]],
        rows: int,
        *,
        size: int,
        seed: int,
        partition: int,
        bound: int | None = None,
    ) -> PrioritySample:
        """The sample of one partition of ``rows`` rows; ``take(indices)`` returns the values
        of those rows, one row each (only the candidates' values are read). With ``bound``,
        only rows of priority at most ``bound`` are kept."""
        prio = priorities(seed, partition, rows)
        chosen = np.arange(rows, dtype=np.int64)
        if bound is not None:
            chosen = chosen[prio <= np.uint64(bound)]
        if chosen.shape[0] > size:
            # The size-th smallest priority and below: a superset when priorities tie.
            cut = np.partition(prio[chosen], size - 1)[size - 1]
            chosen = chosen[prio[chosen] <= cut]
        parts = np.full(chosen.shape[0], partition, dtype=np.int64)
        return cls._smallest(size, take(chosen), prio[chosen], parts, chosen)

    @classmethod
    def _smallest(
        cls,
        size: int,
        values: NDArray[np.float64],
        prio: NDArray[np.uint64],
        parts: NDArray[np.int64],
        rows: NDArray[np.int64],
    ) -> PrioritySample:
        order = np.lexsort((rows, parts, prio))[:size]
        return cls(size, values[order], prio[order], parts[order], rows[order])

    def merge(self, other: PrioritySample) -> PrioritySample:
        """The sample of both partitions' rows together."""
        return PrioritySample.union([self, other])

    @staticmethod
    def union(samples: Sequence[PrioritySample]) -> PrioritySample:
        """The sample of all these partitions' rows together (one sort, however many)."""
        return PrioritySample._smallest(
            min(s.size for s in samples),
            np.concatenate([s.values for s in samples]),
            np.concatenate([s.priority for s in samples]),
            np.concatenate([s.partitions for s in samples]),
            np.concatenate([s.rows for s in samples]),
        )

    @property
    def count(self) -> int:
        """Rows held."""
        return int(self.values.shape[0])


def partition_sample(
    values: pl.DataFrame, *, size: int, seed: int, bound: int | None
) -> PrioritySample:
    """The sample of this partition's rows of ``values`` (float columns), inside
    ``map_partitions``; with ``bound``, of its rows of priority at most ``bound``."""

    def take(rows: NDArray[np.int64]) -> NDArray[np.float64]:
        taken = values[rows].to_numpy().astype(np.float64)
        return taken.reshape(rows.shape[0], values.width)

    return PrioritySample.of(
        take, values.height, size=size, seed=seed, partition=partition_index(), bound=bound
    )


def complete_sample(
    sample: PrioritySample,
    frame: DataFrame,
    select: Select,
    columns: Sequence[str],
    *,
    seed: int,
    rows: int,
) -> PrioritySample:
    """``sample``, drawn under ``priority_bound(rows, sample.size)``, or, when fewer rows
    came back than it needs (a chance of 1.3e-14), the sample drawn again without the
    bound: every partition sends its own smallest, which hold the same smallest overall."""
    if sample.count >= min(rows, sample.size):
        return sample
    size = sample.size

    def unbounded(data: pl.DataFrame) -> PrioritySample:
        return partition_sample(select(data), size=size, seed=seed, bound=None)

    return PrioritySample.union(map_partitions(frame, unbounded, columns))


def sample_frame(
    frame: DataFrame, select: Select, columns: Sequence[str], *, size: int, seed: int, rows: int
) -> PrioritySample:
    """The sample of at most ``size`` of the ``rows`` rows of ``frame``, of the float columns
    ``select`` makes of its ``columns``: one pass (two, at a chance of 1.3e-14)."""
    bound = priority_bound(rows, size)

    def draw(data: pl.DataFrame) -> PrioritySample:
        return partition_sample(select(data), size=size, seed=seed, bound=bound)

    sample = PrioritySample.union(map_partitions(frame, draw, columns))
    return complete_sample(sample, frame, select, columns, seed=seed, rows=rows)
