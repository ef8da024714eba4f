"""Cutting a data set into windows over time or into chunks of rows, for the batch jobs.

``monitor-predictions`` scores its prediction column window by window, and ``check-drift
--chunk-by`` / ``--chunk-rows`` scores every feature chunk by chunk; both cut the rows here,
so that a period such as ``1d`` means the same in both:

- **time windows** on a timestamp column: Polars ``group_by_dynamic`` with ``every = period``,
  windows closed on the left and aligned on the epoch (``1h`` windows start on the hour,
  ``1d`` ones at midnight UTC); only windows holding rows are kept, and rows without a
  timestamp are in none;
- **row chunks**: consecutive runs of ``rows`` rows in file order, the last one shorter.

>>> [(w.start, w.end, w.first, w.stop) for w in row_chunks(5, 2)]
[(0, 2, 0, 2), (2, 4, 2, 4), (4, 5, 4, 5)]
>>> check_duration("1h30m", "--window"), check_duration("1mo", "--window")
('1h30m', '1mo')
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl
from numpy.typing import NDArray

from stream_monitor.errors import ColumnError, ConfigError
from stream_monitor.io import reading

__all__ = ["TimeWindows", "Window", "check_duration", "row_chunks", "time_windows", "timestamps"]

# Polars durations: an integer and a unit, repeated ("1h", "15m", "1h30m", "1mo"). Index
# counts ("10i") are left out: row chunks are counted in rows instead.
_DURATION = re.compile(r"(?:\d+(?:ns|us|µs|ms|mo|s|m|h|d|w|q|y))+")
_DURATION_PART = re.compile(r"(\d+)")


def check_duration(value: object, label: str) -> str:
    """``value`` if it is a Polars duration such as ``15m``, ``1h``, ``1d`` or ``1mo``; else a
    ``ConfigError`` naming ``label``."""
    if not isinstance(value, str) or not _DURATION.fullmatch(value):
        raise ConfigError(f"{label}: {value!r} is not a duration such as 15m, 1h or 1d")
    if not any(int(n) for n in _DURATION_PART.findall(value)):
        raise ConfigError(f"{label}: {value!r} is an empty duration")
    return value


@dataclass(frozen=True)
class Window:
    """One window: ``[start, end)`` as ISO 8601 times (time windows) or row positions from 0
    (row chunks), and its rows ``[first, stop)`` in the order the windowing put them."""

    start: str | int
    end: str | int
    first: int
    stop: int

    @property
    def rows(self) -> int:
        """Number of rows in the window."""
        return self.stop - self.first


@dataclass(frozen=True)
class TimeWindows:
    """Time windows of a column: ``order`` lists the rows with a timestamp, by time (ties in
    file order); each window's ``[first, stop)`` indexes ``order``. ``without`` counts the
    rows left out for a null timestamp."""

    order: NDArray[np.int64]
    windows: tuple[Window, ...]
    without: int


def timestamps(series: pl.Series, source: str | Path) -> pl.Series:
    """The timestamp column as a Polars Datetime, or a ``ColumnError`` naming it."""
    name = series.name
    dtype = series.dtype
    if isinstance(dtype, pl.Datetime):
        return series
    if dtype == pl.Date:
        return series.cast(pl.Datetime("us"))
    if dtype == pl.String:
        try:
            return series.str.to_datetime(strict=True)
        except pl.exceptions.PolarsError as error:
            reason = str(error).splitlines()[0] if str(error) else type(error).__name__
            raise ColumnError(
                f"{source}: timestamp column {name!r} holds strings that are not date-times "
                f"({reason})"
            ) from error
    raise ColumnError(
        f"{source}: timestamp column {name!r} has type {dtype}; expected a datetime, a date, "
        "or date-time strings"
    )


def time_windows(series: pl.Series, every: str, source: str | Path) -> TimeWindows:
    """Tumbling windows of ``every`` over the timestamps in ``series``."""
    ts = timestamps(series, source)
    without = ts.null_count()
    if without == ts.len():
        raise ColumnError(f"{source}: timestamp column {series.name!r} holds no value")
    present = np.flatnonzero(ts.is_not_null().to_numpy())
    instants = ts.filter(ts.is_not_null())
    order = present[np.argsort(instants.to_physical().to_numpy(), kind="stable")].astype(np.int64)
    sorted_ts = ts.gather(order).alias("_time")
    with reading(source):
        bounds = (
            pl.DataFrame([sorted_ts])
            .with_row_index("_row")
            .group_by_dynamic(
                "_time",
                every=every,
                period=every,
                closed="left",
                label="left",
                start_by="window",
                include_boundaries=True,
            )
            .agg(pl.col("_row").first().alias("_first"), pl.len().alias("_rows"))
        )
    windows = tuple(
        Window(lower.isoformat(), upper.isoformat(), int(first), int(first) + int(rows))
        for lower, upper, first, rows in bounds.select(
            "_lower_boundary", "_upper_boundary", "_first", "_rows"
        ).iter_rows()
    )
    return TimeWindows(order, windows, without)


def row_chunks(height: int, rows: int) -> tuple[Window, ...]:
    """Consecutive chunks of ``rows`` rows out of ``height``, the last one shorter."""
    return tuple(
        Window(start, min(start + rows, height), start, min(start + rows, height))
        for start in range(0, height, rows)
    )
