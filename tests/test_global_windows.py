"""Global windows without a broker: tier 1 partials per partition, tier 2 merging them.

The verdicts must depend on the records alone: not on batch sizes, not on the order in
which partitions' reports reach tier 2, not on a snapshot and restore in between; and the
merged window must hold exactly the counts of all partitions' rows pooled."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import polars as pl
import pytest

from stream_monitor.config import ProfileSettings
from stream_monitor.detectors.histogram import NumericSketch
from stream_monitor.detectors.window import score_numeric
from stream_monitor.engine.dataset import category_codes, numeric_reference, numeric_values
from stream_monitor.engine.global_windows import GlobalColumn, GlobalWindow, Report
from stream_monitor.engine.partials import PartitionWindows, WindowSpec
from stream_monitor.profile.build import profile_frame
from stream_monitor.profile.model import NumericColumnProfile, Profile
from stream_monitor.synthetic import Drift, traffic

SPEC = WindowSpec(window_ms=60_000, lateness_ms=5_000)
PARTITIONS = 4
ROWS = 24_000  # per partition: 40 minutes at 100 ms a row
DRIFT_AT_MS = 20 * 60_000


@pytest.fixture(scope="module")
def profile() -> Profile:
    reference = traffic(100_000, seed=1).drop("id")
    return profile_frame(reference, ProfileSettings(prediction="predicted_default"))


def arrays(profile: Profile, frame: pl.DataFrame) -> dict[str, np.ndarray]:
    return {
        c.name: numeric_values(frame, c.name)
        if isinstance(c, NumericColumnProfile)
        else category_codes(frame, c)
        for c in profile.columns
    }


@pytest.fixture(scope="module")
def streams(profile: Profile) -> dict[tuple[str, int], tuple[dict[str, np.ndarray], np.ndarray]]:
    """Four partitions; income drifts in all of them from minute 20 of event time. Event
    times are a little out of order within a partition (jitter up to 3 s)."""
    out = {}
    for p in range(PARTITIONS):
        frame = traffic(ROWS, seed=20 + p, drift=Drift("income", ROWS // 2, 0.8)).drop("id")
        rng = np.random.default_rng(p)
        event = np.arange(ROWS, dtype=np.int64) * 100 + p * 7 + rng.integers(0, 3_000, ROWS)
        out[("in", p)] = (arrays(profile, frame), event)
    return out


def run(
    profile: Profile,
    streams: dict[tuple[str, int], tuple[dict[str, np.ndarray], np.ndarray]],
    batches: Iterator[tuple[tuple[str, int], int, int]],
    *,
    restore_after: int | None = None,
) -> list[GlobalWindow]:
    """Feed tier 1 the batches (partition, lo, hi) in the given order and tier 2 every
    report as it comes; return the merged windows of every column, in the order made."""
    tier1 = {p: PartitionWindows(profile, SPEC) for p in streams}
    tier2 = {
        c.name: GlobalColumn(
            c,
            SPEC,
            set(streams),
            {"psi": None} if c.kind == "numeric" else {"jensen_shannon": None},
        )
        for c in profile.columns
    }
    merged: list[GlobalWindow] = []
    for step, (partition, lo, hi) in enumerate(batches):
        values, event = streams[partition]
        windows = tier1[partition]
        windows.update({k: v[lo:hi] for k, v in values.items()}, event[lo:hi])
        closed = windows.take_closed()
        for i, column in enumerate(profile.columns):
            report = Report(partition, windows.closed_through, tuple(w[i] for w in closed))
            merged += tier2[column.name].offer(report)
        if restore_after is not None and step == restore_after:
            for column in profile.columns:
                state = tier2[column.name].snapshot()
                fresh = GlobalColumn(column, SPEC, set(), tier2[column.name].thresholds)
                fresh.restore(state)
                tier2[column.name] = fresh
            for p in tier1:
                fresh1 = PartitionWindows(profile, SPEC)
                fresh1.restore(tier1[p].snapshot())
                tier1[p] = fresh1
    return merged


def round_robin(size: int) -> Iterator[tuple[tuple[str, int], int, int]]:
    for lo in range(0, ROWS, size):
        for p in range(PARTITIONS):
            yield ("in", p), lo, min(ROWS, lo + size)


def skewed() -> Iterator[tuple[tuple[str, int], int, int]]:
    """Partition 0 races ahead, partition 3 lags behind, batch sizes differ per partition."""
    sizes = {0: 5_000, 1: 1_111, 2: 2_500, 3: 777}
    cursors = dict.fromkeys(range(PARTITIONS), 0)
    while any(c < ROWS for c in cursors.values()):
        for p in (0, 0, 1, 2, 3):
            lo = cursors[p]
            if lo < ROWS:
                cursors[p] = min(ROWS, lo + sizes[p])
                yield ("in", p), lo, cursors[p]


def key(windows: list[GlobalWindow]) -> list[tuple[object, ...]]:
    return sorted(
        (
            w.column,
            w.start,
            w.rows,
            w.missing,
            w.partitions,
            w.late_rows,
            tuple(sorted(w.scores.items())),
            tuple((e.type, e.detector, e.score) for e in w.events),
        )
        for w in windows
    )


def test_verdicts_do_not_depend_on_batching_order_or_restores(profile: Profile, streams) -> None:  # type: ignore[no-untyped-def]
    a = run(profile, streams, round_robin(2_000))
    b = run(profile, streams, skewed())
    c = run(profile, streams, round_robin(333), restore_after=100)
    assert key(a) == key(b) == key(c)
    # Every window whose end the last watermark passed is merged, for every column.
    assert {w.start for w in a} == set(range(0, 39 * 60_000, 60_000))
    assert len(a) == 39 * len(profile.columns)


def test_only_the_drifted_column_alerts_and_soon_after_the_change(
    profile: Profile, streams
) -> None:  # type: ignore[no-untyped-def]
    windows = run(profile, streams, round_robin(2_000))
    drifted = [w for w in windows if w.events]
    assert {w.column for w in drifted} == {"income"}
    first = min(w.start for w in drifted)
    assert DRIFT_AT_MS - 60_000 <= first <= DRIFT_AT_MS + 60_000
    psi = [w for w in drifted if any(e.detector == "psi" for e in w.events)]
    assert min(w.start for w in psi) <= DRIFT_AT_MS


def test_a_merged_window_holds_the_pooled_rows_exactly(profile: Profile, streams) -> None:  # type: ignore[no-untyped-def]
    windows = run(profile, streams, skewed())
    column = next(c for c in profile.columns if c.name == "income")
    assert isinstance(column, NumericColumnProfile)
    start = 25 * 60_000
    pooled = NumericSketch(column.edges)
    rows = 0
    for values, event in streams.values():
        inside = (event >= start) & (event < start + 60_000)
        pooled.update_many(values["income"][inside])
        rows += int(inside.sum())
    (window,) = [w for w in windows if w.column == "income" and w.start == start]
    assert window.rows == rows
    assert window.partitions == PARTITIONS
    expected = score_numeric(numeric_reference(column), pooled, {"psi": None})[0].value
    assert window.scores["psi"] == pytest.approx(expected, rel=1e-12)


def test_late_rows_are_counted_not_merged_and_idle_partitions_stop_holding_back(
    profile: Profile,
) -> None:
    spec = WindowSpec(window_ms=1_000, lateness_ms=0)
    column = profile.columns[0]
    name = column.name
    tier1 = PartitionWindows(profile, spec)
    frame = traffic(4, seed=3).drop("id")
    values = arrays(profile, frame)
    tier1.update(values, np.array([100, 900, 2_500, 500], dtype=np.int64))
    assert tier1.late == 1  # 500 arrived after the watermark 2,500 closed [0, 1000)
    (closed,) = tier1.take_closed()
    assert [p.start for p in closed][:1] == [0]
    assert closed[0].rows == 2
    assert 1_000 not in tier1.open
    assert tier1.open[2_000].late == 1
    tier2 = GlobalColumn(
        column,
        spec,
        {("in", 0), ("in", 1)},
        {"psi": None} if column.kind == "numeric" else {"jensen_shannon": None},
    )
    assert tier2.offer(Report(("in", 0), tier1.closed_through, (closed[0],))) == []
    assert tier2.waiting_for() == {("in", 1)}
    (merged,) = tier2.expire({("in", 1)})
    assert (merged.column, merged.start, merged.rows, merged.partitions) == (name, 0, 2, 1)
    # Partition 1 wakes up with a partial for the merged window: late, counted, not merged.
    again = next(iter(tier1.take_closed()), None)
    assert again is None
    late = closed[0]
    assert tier2.offer(Report(("in", 1), 1_000, (late,))) == []
    assert tier2.late_rows == late.rows + late.late
