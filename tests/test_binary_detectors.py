"""DDM and HDDMA against river 0.26.1, and the detector contract they keep."""

from __future__ import annotations

import functools
import itertools
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.typing import NDArray
from river.drift import binary as river_binary

from stream_monitor.detectors.ddm import DDM, BinaryDriftAndWarningDetector
from stream_monitor.detectors.hddm_a import HDDMA
from stream_monitor.errors import StateError

# (detector name, parameters): the defaults and a non-default setting of each detector.
CASES = [
    ("DDM", {}),
    ("DDM", {"warm_start": 100, "warning_threshold": 1.5, "drift_threshold": 2.5}),
    ("HDDMA", {}),
    ("HDDMA", {"drift_confidence": 0.01, "warning_confidence": 0.05, "two_sided_test": True}),
]
OURS = {"DDM": DDM, "HDDMA": HDDMA}
# river is untyped; its detectors are used as Any.
RIVERS: dict[str, Any] = {"DDM": river_binary.DDM, "HDDMA": river_binary.HDDMA}


def make(name: str, params: dict[str, Any]) -> BinaryDriftAndWarningDetector:
    detector: BinaryDriftAndWarningDetector = OURS[name](**params)
    return detector


@functools.cache
def error_stream(n: int, seed: int) -> NDArray[np.float64]:
    """A 0/1 error stream whose error rate changes (up and down) at known points."""
    rates = [0.1, 0.3, 0.2, 0.5, 0.05, 0.15, 0.4, 0.1]
    per_rate = np.repeat(rates, -(-n // len(rates)))[:n]
    rng = np.random.default_rng(seed)
    stream: NDArray[np.float64] = (rng.random(n) < per_rate).astype(np.float64)
    stream.flags.writeable = False
    return stream


@functools.cache
def river_positions(
    name: str, params_items: tuple[tuple[str, Any], ...], n: int, seed: int
) -> tuple[list[int], list[int]]:
    """River's drift and warning positions on ``error_stream(n, seed)``, fed value by value."""
    detector = RIVERS[name](**dict(params_items))
    drifts, warnings = [], []
    for i, x in enumerate(error_stream(n, seed).tolist()):
        detector.update(x)
        if detector.drift_detected:
            drifts.append(i)
        if detector.warning_detected:
            warnings.append(i)
    return drifts, warnings


def cases_ids(case: tuple[str, dict[str, Any]]) -> str:
    name, params = case
    return name + ("-defaults" if not params else "-" + "-".join(map(str, params.values())))


@pytest.mark.slow
@pytest.mark.parametrize("case", CASES, ids=cases_ids)
def test_million_values_match_river(case: tuple[str, dict[str, Any]]) -> None:
    """On a million values with changing error rates, drift and warning positions are river's."""
    name, params = case
    stream = error_stream(1_000_000, seed=7)
    drifts, warnings = river_positions(name, tuple(params.items()), 1_000_000, 7)
    assert len(drifts) >= 3  # the stream is long and varied enough to matter

    ours_drifts, ours_warnings = make(name, params).update_many_with_warnings(stream)
    assert ours_drifts.tolist() == drifts
    assert ours_warnings.tolist() == warnings
    assert make(name, params).update_many(stream).tolist() == drifts


@pytest.mark.parametrize("case", CASES, ids=cases_ids)
def test_update_flags_match_river_value_by_value(case: tuple[str, dict[str, Any]]) -> None:
    """Fed one value at a time, drift_detected and warning_detected equal river's after each."""
    name, params = case
    stream = error_stream(20_000, seed=3)
    ours, river = make(name, params), RIVERS[name](**params)
    for x in stream.tolist():
        ours.update(x)
        river.update(x)
        assert ours.drift_detected == river.drift_detected
        assert ours.warning_detected == river.warning_detected


@pytest.mark.parametrize("case", CASES, ids=cases_ids)
def test_short_stream_matches_river(case: tuple[str, dict[str, Any]]) -> None:
    """On 200k values, drift and warning positions are river's (a quick form of the slow test)."""
    name, params = case
    drifts, warnings = river_positions(name, tuple(params.items()), 200_000, 11)
    ours_drifts, ours_warnings = make(name, params).update_many_with_warnings(
        error_stream(200_000, 11)
    )
    assert ours_drifts.tolist() == drifts
    assert ours_warnings.tolist() == warnings


@settings(max_examples=40, deadline=None)
@given(
    case=st.sampled_from(CASES),
    cuts=st.lists(st.integers(0, 30_000), max_size=8),
    with_warnings=st.booleans(),
)
def test_any_split_into_batches_gives_the_same_result(
    case: tuple[str, dict[str, Any]], cuts: list[int], with_warnings: bool
) -> None:
    """Any split of a stream into batches gives the positions and final snapshot of one batch."""
    name, params = case
    stream = error_stream(30_000, seed=5)
    whole = make(name, params)
    expected = whole.update_many_with_warnings(stream)

    split = make(name, params)
    drifts: list[int] = []
    warnings: list[int] = []
    bounds = [0, *sorted(cuts), len(stream)]
    for lo, hi in itertools.pairwise(bounds):
        if with_warnings:
            d, w = split.update_many_with_warnings(stream[lo:hi])
            warnings.extend((w + lo).tolist())
        else:
            d = split.update_many(stream[lo:hi])
        drifts.extend((d + lo).tolist())
    assert drifts == expected[0].tolist()
    if with_warnings:
        assert warnings == expected[1].tolist()
    for key, array in whole.snapshot().items():
        np.testing.assert_array_equal(split.snapshot()[key], array)


@pytest.mark.parametrize("case", CASES, ids=cases_ids)
def test_nan_and_inf_are_skipped_and_counted(case: tuple[str, dict[str, Any]]) -> None:
    """NaN and inf are counted in n_skipped and do not move the positions of the finite values."""
    name, params = case
    stream = error_stream(100_000, seed=9)
    expected_drifts, expected_warnings = make(name, params).update_many_with_warnings(stream)

    rng = np.random.default_rng(1)
    n_bad = 5_000
    bad_at = np.sort(rng.choice(len(stream) + n_bad, n_bad, replace=False))
    keep = np.ones(len(stream) + n_bad, dtype=bool)
    keep[bad_at] = False
    dirty = np.empty(len(stream) + n_bad)
    dirty[keep] = stream
    dirty[bad_at] = rng.choice([np.nan, np.inf, -np.inf], n_bad)

    detector = make(name, params)
    drifts, warnings = detector.update_many_with_warnings(dirty)
    finite_positions = np.flatnonzero(keep)
    assert detector.n_skipped == n_bad
    assert finite_positions[expected_drifts].tolist() == drifts.tolist()
    assert finite_positions[expected_warnings].tolist() == warnings.tolist()


@pytest.mark.parametrize("case", CASES, ids=cases_ids)
def test_snapshot_restore_continues_identically(case: tuple[str, dict[str, Any]]) -> None:
    """A detector restored from a snapshot continues exactly as the one it was taken from."""
    name, params = case
    stream = error_stream(200_000, seed=13)
    expected = make(name, params).update_many_with_warnings(stream)

    first = make(name, params)
    head_drifts, head_warnings = first.update_many_with_warnings(stream[:123_457])
    second = make(name, params)
    second.restore(first.snapshot())
    tail_drifts, tail_warnings = second.update_many_with_warnings(stream[123_457:])
    assert [*head_drifts, *(tail_drifts + 123_457)] == expected[0].tolist()
    assert [*head_warnings, *(tail_warnings + 123_457)] == expected[1].tolist()


def test_snapshot_from_other_parameters_is_refused() -> None:
    """A snapshot taken with other parameters raises StateError on restore."""
    snapshot = DDM(warm_start=30).snapshot()
    with pytest.raises(StateError, match="other parameters"):
        DDM(warm_start=31).restore(snapshot)
    snapshot = HDDMA().snapshot()
    with pytest.raises(StateError, match="other parameters"):
        HDDMA(two_sided_test=True).restore(snapshot)


@pytest.mark.parametrize("name", ["DDM", "HDDMA"])
def test_values_outside_unit_interval_are_refused(name: str) -> None:
    """A finite value outside [0, 1] raises ValueError and leaves the state unchanged."""
    detector = make(name, {})
    detector.update_many(error_stream(1_000, seed=1))
    before = detector.snapshot()
    with pytest.raises(ValueError, match=r"in \[0, 1\]; got 2.0 at position 3"):
        detector.update_many([0.0, 1.0, np.nan, 2.0, 0.0])
    with pytest.raises(ValueError, match=r"got -0.5"):
        detector.update(-0.5)
    for key, array in before.items():
        np.testing.assert_array_equal(detector.snapshot()[key], array)


@pytest.mark.parametrize("name", ["DDM", "HDDMA"])
def test_booleans_are_accepted(name: str) -> None:
    """Boolean error indicators give the same positions as 0/1 floats."""
    stream = error_stream(50_000, seed=2)
    expected = make(name, {}).update_many(stream)
    assert make(name, {}).update_many(stream.astype(bool)).tolist() == expected.tolist()


def test_reset_forgets_everything() -> None:
    """After reset() a detector behaves as a new one."""
    stream = error_stream(50_000, seed=4)
    for name in OURS:
        detector = make(name, {})
        expected = detector.update_many(stream)
        detector.reset()
        assert detector.n_skipped == 0
        assert not detector.drift_detected
        assert not detector.warning_detected
        assert detector.update_many(stream).tolist() == expected.tolist()


def test_invalid_confidences_are_refused() -> None:
    """HDDMA refuses confidences outside (0, 1], for which river would crash."""
    with pytest.raises(ValueError, match="drift_confidence"):
        HDDMA(drift_confidence=0.0)
    with pytest.raises(ValueError, match="warning_confidence"):
        HDDMA(warning_confidence=1.5)
