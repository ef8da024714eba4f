"""Seasonal profiles: the reference counted again per time slot (hour of day or of week).

A column whose distribution follows a daily cycle looks drifted to any detector that reads
the stream in time order against one overall reference: at night it is "low", by day
"high". With ``seasonality: daily`` (24 slots, the UTC hour) or ``weekly`` (168 slots, the
UTC hour of the week, Monday 00:00 first) the profile keeps each column's bin counts per
slot, in the same bins as its overall counts, and the stream scores each record against
its own slot:

- the randomised transform uses the record's slot's cumulative shares, so under the
  reference's own cycle it stays uniform. A slot's counts describe its middle; a record
  between two slot middles is scored against the two slots' mixture, weighted by how near
  it is to each (``neighbours``), so a steep cycle does not make the first and the last
  minutes of every hour look drifted;
- a histogram window is compared with the mixture of slot references weighted by how many
  of its rows fell in each slot (``detectors.window.mixture``).

A record without a readable timestamp is scored against the overall reference. A slot the
reference never saw (or saw fewer than ``MIN_SLOT_ROWS`` times) borrows the overall counts.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass

import numpy as np
import polars as pl
from numpy.typing import NDArray

PERIODS = {"daily": 24, "weekly": 168}
MIN_SLOT_ROWS = 200


@dataclass(frozen=True, eq=False)
class Seasonality:
    """Per-slot bin counts of every profiled column.

    ``counts[name]`` has one row per slot and one column per bin of the column's overall
    counts (numeric: fine bins with under- and overflow; categorical: categories, then
    "other"); nulls are not counted.
    """

    period: str
    timestamp: str
    counts: Mapping[str, NDArray[np.int64]]

    @property
    def slots(self) -> int:
        """How many slots the period has."""
        return PERIODS[self.period]

    def merge(self, other: Seasonality) -> Seasonality:
        """The counts of both sets of rows together (the same period, timestamp and columns).

        >>> a = Seasonality("daily", "t", {"x": np.ones((24, 2), dtype=np.int64)})
        >>> int(a.merge(a).counts["x"].sum())
        96
        """
        if (self.period, self.timestamp, self.counts.keys()) != (
            other.period,
            other.timestamp,
            other.counts.keys(),
        ):
            raise ValueError("only seasonal counts of the same slots and columns merge")
        counts = {name: self.counts[name] + other.counts[name] for name in self.counts}
        return Seasonality(self.period, self.timestamp, counts)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Seasonality):
            return NotImplemented
        return (
            (self.period, self.timestamp) == (other.period, other.timestamp)
            and self.counts.keys() == other.counts.keys()
            and all(np.array_equal(self.counts[k], other.counts[k]) for k in self.counts)
        )

    __hash__ = None  # type: ignore[assignment]


def slot_times(series: pl.Series, period: str) -> NDArray[np.float64]:
    """Each timestamp's time in hours since the start of its period (NaN when missing or
    unreadable); strings are parsed as ISO 8601, a naive time is taken as UTC.

    >>> s = pl.Series(["2026-01-05T10:30:00Z", "2026-01-05T10:30:00+02:00", None, "nope"])
    >>> slot_times(s, "daily").tolist(), slot_times(s, "weekly").tolist()
    ([10.5, 8.5, nan, nan], [10.5, 8.5, nan, nan])
    """
    if series.dtype == pl.Null or series.null_count() == series.len():
        return np.full(series.len(), np.nan)
    if series.dtype == pl.String:
        series = series.str.to_datetime(strict=False, time_zone="UTC")
    elif series.dtype == pl.Date:
        series = series.cast(pl.Datetime("us"))
    if not isinstance(series.dtype, pl.Datetime):
        raise ValueError(f"timestamp column {series.name!r} is {series.dtype}, not a time")
    if series.dtype.time_zone is not None:
        series = series.dt.convert_time_zone("UTC")
    hour = (
        series.dt.hour().cast(pl.Float64)
        + series.dt.minute().cast(pl.Float64) / 60
        + series.dt.second().cast(pl.Float64) / 3600
    )
    if period == "weekly":
        hour = hour + (series.dt.weekday().cast(pl.Float64) - 1) * 24
    result: NDArray[np.float64] = hour.fill_null(np.nan).to_numpy()
    return result


def slots_of(times: NDArray[np.float64]) -> NDArray[np.int64]:
    """The slot each time falls in (``-1`` for NaN)."""
    return np.where(np.isnan(times), -1, np.floor(np.nan_to_num(times))).astype(np.int64)


def neighbours(
    times: NDArray[np.float64], n_slots: int
) -> tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.float64]]:
    """The two slots whose middles surround each time, and the weight of the second.

    A missing time gets slot ``n_slots`` (the overall reference) twice.

    >>> a, b, w = neighbours(np.array([10.5, 10.75, 0.1, np.nan]), 24)
    >>> a.tolist(), b.tolist(), w.tolist()
    ([10, 10, 23, 24], [11, 11, 0, 24], [0.0, 0.25, 0.6, 0.0])
    """
    missing = np.isnan(times)
    pos = np.nan_to_num(times) - 0.5
    low = np.floor(pos)
    weight = np.where(missing, 0.0, np.round(pos - low, 12))
    first = np.where(missing, n_slots, low.astype(np.int64) % n_slots)
    second = np.where(missing, n_slots, (first + 1) % n_slots)
    return first.astype(np.int64), second.astype(np.int64), weight


def count_slots(
    slots: NDArray[np.int64], bins: NDArray[np.int64], n_slots: int, n_bins: int
) -> NDArray[np.int64]:
    """A ``(n_slots, n_bins)`` table counting rows by slot and bin (rows with either < 0 out).

    >>> count_slots(np.array([0, 0, 1, -1]), np.array([1, 1, 0, 0]), 2, 2).tolist()
    [[0, 2], [1, 0]]
    """
    keep = (slots >= 0) & (bins >= 0) & (bins < n_bins)
    flat = np.bincount(slots[keep] * n_bins + bins[keep], minlength=n_slots * n_bins)
    return flat.reshape(n_slots, n_bins).astype(np.int64)


def build(
    period: str,
    timestamp: str,
    batches: Iterator[pl.DataFrame],
    binners: Mapping[str, tuple[int, Callable[[pl.DataFrame], NDArray[np.int64]]]],
) -> Seasonality:
    """Count each column's bins per slot over ``batches`` (frames holding the timestamp and
    the columns); ``binners[name]`` is the column's bin count and its binning function."""
    if period not in PERIODS:
        raise ValueError(f"seasonality must be one of {sorted(PERIODS)}, got {period!r}")
    n_slots = PERIODS[period]
    totals = {name: np.zeros((n_slots, n), dtype=np.int64) for name, (n, _) in binners.items()}
    for frame in batches:
        slots = slots_of(slot_times(frame.get_column(timestamp), period))
        for name, (n, binner) in binners.items():
            totals[name] += count_slots(slots, binner(frame), n_slots, n)
    return Seasonality(period, timestamp, totals)


def slot_tables(overall: NDArray[np.int64], by_slot: NDArray[np.int64]) -> NDArray[np.float64]:
    """Per-slot bin counts as floats, one extra last row holding the overall counts (for
    records without a slot); a slot with fewer than ``MIN_SLOT_ROWS`` rows borrows them."""
    table = np.vstack([by_slot, overall[None, :]]).astype(np.float64)
    thin = table.sum(axis=1) < MIN_SLOT_ROWS
    table[thin] = overall.astype(np.float64)
    return table
