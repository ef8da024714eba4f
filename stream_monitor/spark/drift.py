"""The current data of ``check-drift --engine spark``: ``CurrentSketches`` over a Spark frame.

One pass counts every compared column of every partition into ``NumericCurrent`` and
``CategoricalCurrent`` states (the Polars engine's own code, on each partition as a Polars
frame), merged exactly on the driver. The current summary's quantiles are order statistics;
``order_statistics`` finds them exactly in a few more passes, narrowing each rank's range
by histograms until few enough values remain to be collected and sorted.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import polars as pl
from numpy.typing import NDArray

from stream_monitor.batch.current import CategoricalCurrent, NumericCurrent, OrderStatistic
from stream_monitor.batch.drift import CurrentState, _numeric_series
from stream_monitor.profile.model import ColumnProfile, NumericColumnProfile
from stream_monitor.spark._frames import map_partitions, polars_schema

if TYPE_CHECKING:
    from pyspark.sql import DataFrame

    from stream_monitor.batch.multivariate import ReconstructionCurrent
    from stream_monitor.profile.multivariate import Reconstruction

__all__ = ["SparkCurrent", "order_statistics", "summary_ranks"]

#: Values of one range collected to the driver, at most; larger ranges are narrowed first.
COLLECT_LIMIT = 1_000_000
#: Buckets a range is cut into at each narrowing pass.
BUCKETS = 1024


@dataclass(frozen=True)
class SparkCurrent:
    """Current data in a Spark frame, answering as ``CurrentSketches``."""

    frame: DataFrame
    source: str

    def schema(self) -> pl.Schema:
        return polars_schema(self.frame)

    def rows(self) -> int:
        return int(self.frame.count())

    def all_null(self, name: str) -> bool:
        from pyspark.sql import functions as sf

        row = self.frame.select(sf.count(sf.col(f"`{name}`")).alias("n")).first()
        return row is None or int(row["n"]) == 0

    def sketch(self, columns: Sequence[ColumnProfile]) -> dict[str, CurrentState]:
        profiles = list(columns)
        source = self.source

        def count(frame: pl.DataFrame) -> list[NumericCurrent | CategoricalCurrent]:
            states: list[NumericCurrent | CategoricalCurrent] = []
            for column in profiles:
                series = frame.get_column(column.name)
                if isinstance(column, NumericColumnProfile):
                    numeric = NumericCurrent.of(column)
                    numeric.update(*_numeric_series(series, source))
                    states.append(numeric)
                else:
                    categorical = CategoricalCurrent()
                    categorical.update(series)
                    states.append(categorical)
            return states

        parts = map_partitions(self.frame, count, [c.name for c in profiles])
        merged = parts[0]
        for part in parts[1:]:
            for into, other in zip(merged, part, strict=True):
                into.merge(other)  # type: ignore[arg-type]
        numeric = {
            c.name: state
            for c, state in zip(profiles, merged, strict=True)
            if isinstance(state, NumericCurrent)
        }
        ranks = {name: summary_ranks(state.n) for name, state in numeric.items() if state.n}
        found = order_statistics(
            self.frame,
            {name: (numeric[name].min, numeric[name].max, numeric[name].n) for name in ranks},
            ranks,
        )
        out: dict[str, CurrentState] = {}
        for column, state in zip(profiles, merged, strict=True):
            if isinstance(state, NumericCurrent):
                out[column.name] = (state, found.get(column.name, {}).__getitem__)
            else:
                out[column.name] = state
        return out

    def reconstruct(self, fitted: Reconstruction) -> tuple[ReconstructionCurrent, OrderStatistic]:
        from stream_monitor.spark.multivariate import reconstruct

        return reconstruct(self.frame, fitted)


def summary_ranks(n: int) -> list[int]:
    """The ranks the summary's quantiles read (``drift._quantiles_at``)."""
    from stream_monitor.batch.drift import _QUANTILES, _quantiles_at

    wanted: set[int] = set()

    def at(rank: int) -> float:
        wanted.add(rank)
        return 0.0

    _quantiles_at(n, at, _QUANTILES)
    return sorted(wanted)


@dataclass
class _Range:
    """Finite values of a column in ``[lo, hi]``; ``offset`` of them lie below ``lo``."""

    column: str
    lo: float
    hi: float
    count: int
    offset: int
    ranks: list[int] = field(default_factory=list)

    @property
    def collect(self) -> bool:
        return self.count <= COLLECT_LIMIT or not (self.hi - self.lo) > 0 or not self._scale

    @property
    def _scale(self) -> float:
        scale = BUCKETS / (self.hi - self.lo)
        return scale if math.isfinite(scale) else 0.0


def _in_range(values: NDArray[np.float64], r: _Range) -> NDArray[np.float64]:
    kept: NDArray[np.float64] = values[(values >= r.lo) & (values <= r.hi)]
    return kept


def _buckets(values: NDArray[np.float64], r: _Range) -> NDArray[np.int64]:
    """Each value's bucket: monotone in the value, so a bucket holds a range of values."""
    raw = np.floor((values - r.lo) * r._scale)
    return np.clip(raw, 0, BUCKETS - 1).astype(np.int64)


def order_statistics(
    frame: DataFrame,
    bounds: dict[str, tuple[float, float, int]],
    ranks: dict[str, list[int]],
) -> dict[str, dict[int, float]]:
    """The values at ``ranks[column]`` (0-based) among each column's sorted finite values;
    ``bounds[column]`` is its (min, max, number of finite values)."""
    found: dict[str, dict[int, float]] = {name: {} for name in ranks}
    pending = [
        _Range(name, lo, hi, n, 0, list(ranks[name])) for name, (lo, hi, n) in bounds.items()
    ]
    while pending:
        ranges = list(pending)
        # Decided here, on the driver: the executors' module globals are their own.
        collecting = [r.collect for r in ranges]

        def scan(
            data: pl.DataFrame, ranges: list[_Range] = ranges, collecting: list[bool] = collecting
        ) -> list[object]:
            out: list[object] = []
            for r, collect in zip(ranges, collecting, strict=True):
                values = data.get_column(r.column).cast(pl.Float64).drop_nulls().to_numpy()
                values = _in_range(values, r)
                if collect:
                    out.append(values)
                    continue
                b = _buckets(values, r)
                lows = np.full(BUCKETS, np.inf)
                highs = np.full(BUCKETS, -np.inf)
                np.minimum.at(lows, b, values)
                np.maximum.at(highs, b, values)
                out.append((np.bincount(b, minlength=BUCKETS), lows, highs))
            return out

        parts = map_partitions(frame, scan, sorted({r.column for r in ranges}))
        pending = []
        for i, r in enumerate(ranges):
            pieces = [part[i] for part in parts]
            if collecting[i]:
                values = np.sort(np.concatenate([np.asarray(p) for p in pieces]))
                for rank in r.ranks:
                    found[r.column][rank] = float(values[rank - r.offset])
                continue
            counts = np.sum([p[0] for p in pieces], axis=0)  # type: ignore[index]
            lows = np.min([p[1] for p in pieces], axis=0)  # type: ignore[index]
            highs = np.max([p[2] for p in pieces], axis=0)  # type: ignore[index]
            before = np.concatenate([[0], np.cumsum(counts)]) + r.offset
            narrowed: dict[int, _Range] = {}
            for rank in r.ranks:
                k = int(np.searchsorted(before, rank, side="right")) - 1
                if lows[k] == highs[k]:
                    found[r.column][rank] = float(lows[k])
                    continue
                if k not in narrowed:
                    narrowed[k] = _Range(
                        r.column, float(lows[k]), float(highs[k]), int(counts[k]), int(before[k])
                    )
                narrowed[k].ranks.append(rank)
            for sub in narrowed.values():
                if sub.count == r.count and sub.lo == r.lo and sub.hi == r.hi:
                    sub.count = 0  # no narrowing left to do: collect it
                pending.append(sub)
    return found
