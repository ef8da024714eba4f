"""ADWIN and Page-Hinkley fire at exactly river's indices, batch after batch."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.typing import NDArray
from river import drift
from strategies import drifting_stream, split_points, streams

import stream_monitor.detectors as det
from stream_monitor.errors import StateError

STREAMS = streams()


def river_indices(detector: Any, values: NDArray[np.float64]) -> NDArray[np.int64]:
    """Feed river one value at a time and collect the positions where it signals drift."""
    hits = []
    for i, x in enumerate(values.tolist()):
        detector.update(x)
        if detector.drift_detected:
            hits.append(i)
    return np.array(hits, dtype=np.int64)


PAIRS = [
    ("ADWIN", {}),
    ("ADWIN", {"delta": 0.05, "clock": 8, "max_buckets": 3, "min_window_length": 10}),
    ("ADWIN", {"delta": 1e-5, "clock": 1, "grace_period": 100}),
    ("PageHinkley", {}),
    ("PageHinkley", {"min_instances": 100, "delta": 0.05, "threshold": 20.0, "mode": "up"}),
    ("PageHinkley", {"threshold": 200.0, "alpha": 0.999, "mode": "down"}),
]


@pytest.mark.parametrize("stream", sorted(STREAMS))
@pytest.mark.parametrize(("name", "params"), PAIRS)
def test_indices_match_river(name: str, params: dict[str, Any], stream: str) -> None:
    """On a million-value stream, drift is signalled at exactly the positions river signals it."""
    values = STREAMS[stream]
    if name == "ADWIN" and params.get("clock") == 1:
        values = values[:200_000]  # clock=1 scans every value; a shorter stream keeps it quick
    expected = river_indices(getattr(drift, name)(**params), values)
    ours = getattr(det, name)(**params).update_many(values)
    np.testing.assert_array_equal(ours, expected)


def test_streams_exercise_detections() -> None:
    """The parity streams include detections, so parity is not vacuous."""
    assert len(det.ADWIN().update_many(STREAMS["abrupt_mean_shift"])) >= 1
    assert len(det.ADWIN().update_many(STREAMS["gradual_drift"])) >= 10
    # ADWIN's false-alarm rate is bounded, not zero: one false alarm in a million is in spec.
    assert len(det.ADWIN().update_many(STREAMS["no_drift"])) <= 1


def test_adwin_window_state_matches_river() -> None:
    """ADWIN's window width, total and variance equal river's bit for bit after a long run."""
    values = STREAMS["gradual_drift"][:300_000]
    theirs = drift.ADWIN()
    for x in values.tolist():
        theirs.update(x)
    ours = det.ADWIN()
    ours.update_many(values)
    assert (ours.width, ours.total, ours.variance) == (theirs.width, theirs.total, theirs.variance)
    assert ours.estimation == theirs.estimation


@pytest.mark.parametrize("name", ["ADWIN", "PageHinkley"])
def test_per_value_update_matches_river(name: str) -> None:
    """``update(x)`` and ``drift_detected`` behave as river's do, value by value."""
    values = STREAMS["abrupt_mean_shift"][495_000:505_000] * 3
    ours, theirs = getattr(det, name)(), getattr(drift, name)()
    flags = []
    for x in values.tolist():
        ours.update(x)
        theirs.update(x)
        flags.append((ours.drift_detected, theirs.drift_detected))
    assert all(a == b for a, b in flags)
    assert any(a for a, _ in flags)


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**16), data=st.data(), name=st.sampled_from(["ADWIN", "PageHinkley"]))
def test_any_batch_split_gives_same_result(seed: int, data: st.DataObject, name: str) -> None:
    """Any split of a stream into batches gives the same indices and the same final state."""
    values = drifting_stream(seed, 4_000)
    cuts = data.draw(split_points(len(values)))
    whole = getattr(det, name)()
    expected = whole.update_many(values)
    split = getattr(det, name)()
    found = []
    for lo, hi in zip([0, *cuts], [*cuts, len(values)], strict=True):
        found.append(split.update_many(values[lo:hi]) + lo)
    np.testing.assert_array_equal(np.concatenate(found), expected)
    for key, array in whole.snapshot().items():
        np.testing.assert_array_equal(split.snapshot()[key], array)


@pytest.mark.parametrize("name", ["ADWIN", "PageHinkley"])
def test_nan_and_inf_are_skipped_and_counted(name: str) -> None:
    """NaN and infinities are counted and never reach the statistics."""
    clean = drifting_stream(7, 8_000)
    dirty = clean.copy()
    holes = np.random.default_rng(1).choice(len(clean), 500, replace=False)
    dirty = np.insert(clean, np.sort(holes), np.nan)
    dirty[::997] = np.inf
    finite_positions = np.flatnonzero(np.isfinite(dirty))
    expected = getattr(det, name)().update_many(dirty[finite_positions])
    detector = getattr(det, name)()
    found = detector.update_many(dirty)
    np.testing.assert_array_equal(found, finite_positions[expected])
    assert detector.n_skipped == int(np.sum(~np.isfinite(dirty)))
    assert len(expected) > 0


@pytest.mark.parametrize("name", ["ADWIN", "PageHinkley"])
def test_snapshot_restore_continues_identically(name: str) -> None:
    """A detector restored from a snapshot continues exactly like the original."""
    values = drifting_stream(3, 20_000)
    original = getattr(det, name)()
    original.update_many(values[:9_000])
    snap = original.snapshot()
    restored = getattr(det, name)()
    restored.restore(snap)
    np.testing.assert_array_equal(
        restored.update_many(values[9_000:]), original.update_many(values[9_000:])
    )


def test_restore_rejects_other_parameters() -> None:
    """A snapshot only restores into a detector with the same parameters."""
    snap = det.ADWIN(delta=0.01).snapshot()
    with pytest.raises(StateError, match="other parameters"):
        det.ADWIN(delta=0.02).restore(snap)
    with pytest.raises(StateError, match="must have arrays"):
        det.PageHinkley().restore(snap)


def test_reset_forgets_everything() -> None:
    """After ``reset()`` a detector gives the same indices as a new one."""
    values = drifting_stream(5, 8_000)
    used = det.PageHinkley()
    used.update_many(values)
    used.reset()
    np.testing.assert_array_equal(used.update_many(values), det.PageHinkley().update_many(values))


@pytest.mark.parametrize(
    ("params", "message"),
    [({"max_buckets": 1}, "max_buckets"), ({"clock": 0}, "clock"), ({"delta": 0.0}, "delta")],
)
def test_adwin_rejects_bad_parameters(params: dict[str, Any], message: str) -> None:
    """Parameters on which river crashes are refused with a clear error."""
    with pytest.raises(ValueError, match=message):
        det.ADWIN(**params)


def test_update_many_rejects_2d_input() -> None:
    """``update_many`` takes a 1-D array only."""
    with pytest.raises(ValueError, match="1-D"):
        det.PageHinkley().update_many(np.zeros((2, 2)))
