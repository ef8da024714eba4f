"""Tier 1 of the global windows: one input partition's mergeable partials per event-time
window, for every profiled column. No I/O here.

Each row falls in the tumbling window ``[k·W, (k+1)·W)`` of its event time (milliseconds).
The partition's watermark is the largest event time it has seen; a window is *closed* once
the watermark reaches its end plus the allowed lateness, and everything up to
``closed_through = ⌊(watermark − lateness) / W⌋ · W`` is closed. A row whose window is
already closed when it arrives is *late*: it is not counted in any window (that window was
published already), but counted, in the ``late`` field of the window the watermark was in
when it arrived, so no row leaves the totals unseen.

The watermark advances row by row (a running maximum), so which rows are late, and every
window's content, depend on the partition's records alone, never on how they were batched.

A window's partial, per column, is the column's sketch on the reference's fine bins
(``NumericSketch``: counts, exact sums, extremes, tail distances; ``CategoricalSketch``:
category counts), with the rows that had no value. Sketches over the same bins merge
exactly, so tier 2 (``engine.global_windows``) can add up the partitions' partials.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl
from numpy.typing import NDArray

from stream_monitor.detectors.histogram import CategoricalSketch, NumericSketch
from stream_monitor.engine.dataset import ColumnArrays, category_codes, numeric_values
from stream_monitor.profile.model import NumericColumnProfile, Profile

#: ``closed_through`` before any row: nothing closed.
NOTHING = np.iinfo(np.int64).min


@dataclass(frozen=True, slots=True)
class WindowSpec:
    """Tumbling event-time windows: their length and the allowed lateness, in milliseconds."""

    window_ms: int
    lateness_ms: int

    def __post_init__(self) -> None:
        if self.window_ms < 1 or self.lateness_ms < 0:
            raise ValueError("window must be positive and lateness non-negative")

    def closed_through(self, watermark: int) -> int:
        """The end of the last closed window for a partition at ``watermark``."""
        if watermark == NOTHING:
            return NOTHING
        return (watermark - self.lateness_ms) // self.window_ms * self.window_ms


@dataclass(frozen=True, slots=True)
class Partial:
    """One column's counts over one partition's window (``start`` is its start in ms).

    ``counts`` are the sketch's bins; ``stats`` the numeric sketch's sums, extremes and tail
    distances (empty for a categorical column); ``missing`` the rows without a value;
    ``late`` the partition's late rows while its watermark was in this window.
    """

    column: str
    start: int
    rows: int
    counts: NDArray[np.int64]
    stats: NDArray[np.float64]
    missing: int
    late: int

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict (floats as exact repr strings are not needed: JSON doubles
        round-trip in Python)."""
        return {
            "column": self.column,
            "start": self.start,
            "rows": self.rows,
            "counts": self.counts.tolist(),
            "stats": self.stats.tolist(),
            "missing": self.missing,
            "late": self.late,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Partial:
        """Read back what ``to_json`` wrote."""
        return cls(
            str(data["column"]),
            int(data["start"]),
            int(data["rows"]),
            np.asarray(data["counts"], dtype=np.int64),
            np.asarray(data["stats"], dtype=np.float64),
            int(data["missing"]),
            int(data["late"]),
        )


def column_values(
    profile: Profile, rows: pl.DataFrame | ColumnArrays
) -> Mapping[str, NDArray[Any]]:
    """Each profile column's values as tier 1 counts them (float64 with NaN for null, or
    category codes with -1 for null)."""
    if isinstance(rows, ColumnArrays):
        return rows.values
    return {
        c.name: numeric_values(rows, c.name)
        if isinstance(c, NumericColumnProfile)
        else category_codes(rows, c)
        for c in profile.columns
    }


def event_times_ms(series: pl.Series, fallback: NDArray[np.int64] | None) -> NDArray[np.int64]:
    """Each row's event time in epoch milliseconds: an ISO 8601 string (a naive time is
    UTC), a datetime, or a number of epoch milliseconds. A missing or unreadable time takes
    ``fallback``'s (the Kafka record timestamp), or else the row before it's.

    >>> s = pl.Series(["2026-01-05T00:00:01Z", None, "2026-01-05T00:00:00.5+00:00"])
    >>> event_times_ms(s, None).tolist()
    [1767571201000, 1767571201000, 1767571200500]
    """
    if series.dtype == pl.String:
        series = series.str.to_datetime(strict=False, time_zone="UTC")
    elif series.dtype == pl.Date:
        series = series.cast(pl.Datetime("ms"))
    if isinstance(series.dtype, pl.Datetime):
        series = series.dt.epoch("ms")
    elif series.dtype.is_numeric():
        series = series.cast(pl.Int64, strict=False)
    else:
        series = pl.Series(series.name, [None] * series.len(), dtype=pl.Int64)
    if fallback is not None:
        series = series.fill_null(pl.Series(fallback))
    out: NDArray[np.int64] = series.fill_null(strategy="forward").fill_null(0).to_numpy()
    return out.astype(np.int64, copy=False)


class _Window:
    """The open window of one partition: a sketch per column."""

    def __init__(self, profile: Profile) -> None:
        self.rows = 0
        self.late = 0
        self.sketches: list[NumericSketch | CategoricalSketch] = [
            NumericSketch(c.edges)
            if isinstance(c, NumericColumnProfile)
            else CategoricalSketch(len(c.categories))
            for c in profile.columns
        ]


class PartitionWindows:
    """Tier 1 for one input partition: open windows, closed ones handed out as partials."""

    def __init__(self, profile: Profile, spec: WindowSpec) -> None:
        self.profile = profile
        self.spec = spec
        self.watermark = NOTHING
        self.open: dict[int, _Window] = {}
        self.late = 0  # every late row so far

    @property
    def closed_through(self) -> int:
        """The end of the last closed window."""
        return self.spec.closed_through(self.watermark)

    def update(self, values: Mapping[str, NDArray[Any]], event_ms: NDArray[np.int64]) -> None:
        """Count a batch: ``values[name]`` is each profile column's array (float64 with NaN
        for null, or category codes with -1 for null), ``event_ms`` each row's event time."""
        n = event_ms.shape[0]
        if n == 0:
            return
        w = self.spec.window_ms
        # The watermark each row arrives at, and the windows closed by then.
        before = np.maximum.accumulate(np.concatenate([[self.watermark], event_ms[:-1]]))
        closed = np.where(
            before == NOTHING,
            NOTHING,
            (before - self.spec.lateness_ms) // w * w,
        )
        starts = event_ms // w * w
        late = starts + w <= closed
        if late.any():
            at = before[late] // w * w  # the window the watermark was in
            for start, count in zip(*np.unique(at, return_counts=True), strict=True):
                self._window(int(start)).late += int(count)
            self.late += int(late.sum())
        keep = ~late
        for start in np.unique(starts[keep]):
            rows = np.flatnonzero(keep & (starts == start))
            window = self._window(int(start))
            window.rows += rows.shape[0]
            for column, sketch in zip(self.profile.columns, window.sketches, strict=True):
                sketch.update_many(np.ascontiguousarray(values[column.name][rows]))
        self.watermark = max(self.watermark, int(event_ms.max()))

    def _window(self, start: int) -> _Window:
        found = self.open.get(start)
        if found is None:
            found = self.open[start] = _Window(self.profile)
        return found

    def take_closed(self) -> list[list[Partial]]:
        """The windows closed by now, oldest first, each as one partial per column; they
        leave the open set."""
        through = self.closed_through
        done = sorted(start for start in self.open if start + self.spec.window_ms <= through)
        out = []
        for start in done:
            window = self.open.pop(start)
            out.append(
                [
                    _partial(c.name, start, window, s)
                    for c, s in zip(self.profile.columns, window.sketches, strict=True)
                ]
            )
        return out

    def snapshot(self) -> dict[str, NDArray[Any]]:
        """The state as plain arrays (for a checkpoint)."""
        out: dict[str, NDArray[Any]] = {
            "meta": np.array([self.watermark, self.late, len(self.open)], dtype=np.int64)
        }
        for i, (start, window) in enumerate(sorted(self.open.items())):
            out[f"w{i}.head"] = np.array([start, window.rows, window.late], dtype=np.int64)
            for j, sketch in enumerate(window.sketches):
                for key, array in sketch.snapshot().items():
                    if key != "edges":
                        out[f"w{i}.c{j}.{key}"] = array
        return out

    def restore(self, state: Mapping[str, NDArray[Any]]) -> None:
        """Replace the state by what ``snapshot`` returned."""
        watermark, late, count = (int(x) for x in state["meta"])
        self.watermark, self.late, self.open = watermark, late, {}
        for i in range(count):
            start, rows, late_rows = (int(x) for x in state[f"w{i}.head"])
            window = self._window(start)
            window.rows, window.late = rows, late_rows
            for j, sketch in enumerate(window.sketches):
                prefix = f"w{i}.c{j}."
                part = {k[len(prefix) :]: v for k, v in state.items() if k.startswith(prefix)}
                if isinstance(sketch, NumericSketch):
                    part["edges"] = sketch.edges
                sketch.restore(part)


def _partial(
    name: str, start: int, window: _Window, sketch: NumericSketch | CategoricalSketch
) -> Partial:
    if isinstance(sketch, NumericSketch):
        return Partial(
            name,
            start,
            window.rows,
            sketch.counts.copy(),
            sketch.stats.copy(),
            sketch.n_skipped,
            window.late,
        )
    return Partial(
        name,
        start,
        window.rows,
        sketch.counts.copy(),
        np.zeros(0),
        sketch.n_null,
        window.late,
    )
