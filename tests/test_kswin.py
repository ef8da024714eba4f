"""KSWIN against river 0.26.1, its pieces against CPython and scipy, and the detector contract."""

from __future__ import annotations

import functools
import itertools
import random
import warnings
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.typing import NDArray
from river import drift as river_drift
from scipy import stats

from stream_monitor.detectors import kswin
from stream_monitor.detectors.kswin import KSWIN
from stream_monitor.errors import StateError

# Parameters covering both of CPython's sampling algorithms (pool: the default sizes and
# (300, 140); set: (200, 10) and (40, 5)) and both ways of placing values (counting up to 128,
# binary search above).
RIVER_CASES: list[dict[str, Any]] = [
    {"seed": 1},
    {"seed": 42},
    {"seed": 2024, "alpha": 0.01},
    {"seed": 7, "window_size": 200, "stat_size": 10},
    {"seed": 3, "window_size": 40, "stat_size": 5, "alpha": 0.05},
    {"seed": 11, "window_size": 300, "stat_size": 140, "alpha": 0.001},
]


@functools.cache
def shifting_stream(n: int, seed: int) -> NDArray[np.float64]:
    """Normal values whose mean and spread shift every n // 8 values."""
    rng = np.random.default_rng(seed)
    means = np.repeat([0.0, 0.6, 0.6, -0.4, 1.0, 1.0, 0.0, 0.3], -(-n // 8))[:n]
    scales = np.repeat([1.0, 1.0, 2.0, 1.0, 0.5, 1.0, 1.0, 1.5], -(-n // 8))[:n]
    stream: NDArray[np.float64] = rng.normal(means, scales)
    stream.flags.writeable = False
    return stream


@functools.cache
def discrete_stream(n: int, seed: int) -> NDArray[np.float64]:
    """Small integers (many ties) whose distribution changes every n // 4 values."""
    rng = np.random.default_rng(seed)
    parts = [
        rng.integers(0, 4, n // 4),
        rng.integers(1, 6, n // 4),
        rng.integers(0, 4, n // 4),
        rng.integers(0, 3, n - 3 * (n // 4)),
    ]
    stream: NDArray[np.float64] = np.concatenate(parts).astype(np.float64)
    stream.flags.writeable = False
    return stream


def params_id(params: dict[str, Any]) -> str:
    return "-".join(f"{k}={v}" for k, v in params.items())


def river_trace(
    params: dict[str, Any], stream: NDArray[np.float64]
) -> tuple[list[int], list[float]]:
    """River's drift positions and its p_value after each update."""
    detector: Any = river_drift.KSWIN(**params)  # river is untyped
    drifts, p_values = [], []
    for i, x in enumerate(stream.tolist()):
        detector.update(x)
        if detector.drift_detected:
            drifts.append(i)
        p_values.append(float(detector.p_value))
    return drifts, p_values


@pytest.mark.slow
@pytest.mark.parametrize("params", RIVER_CASES, ids=params_id)
def test_drifts_and_p_values_match_river(params: dict[str, Any]) -> None:
    """On 20k shifting values, drift positions and the p_value after every update are river's."""
    stream = shifting_stream(20_000, seed=params["seed"])
    drifts, p_values = river_trace(params, stream)
    assert len(drifts) >= 5  # enough drifts, hence re-seedings, to matter

    assert KSWIN(**params).update_many(stream).tolist() == drifts
    one_by_one = KSWIN(**params)
    for i, x in enumerate(stream.tolist()):
        one_by_one.update(x)
        assert one_by_one.p_value == p_values[i]
        assert one_by_one.drift_detected == (i in drifts)


@pytest.mark.slow
@pytest.mark.parametrize("params", RIVER_CASES[::2], ids=params_id)
def test_drifts_match_river_on_tied_values(params: dict[str, Any]) -> None:
    """On 20k small integers, full of ties, drift positions are river's."""
    stream = discrete_stream(20_000, seed=params["seed"])
    drifts, p_values = river_trace(params, stream)
    assert len(drifts) >= 3
    detector = KSWIN(**params)
    assert detector.update_many(stream).tolist() == drifts
    assert detector.p_value == p_values[-1]


def test_short_stream_matches_river() -> None:
    """On 3000 shifting values, drift positions are river's (a quick form of the slow test)."""
    stream = np.concatenate([shifting_stream(2_000, 1)[:1_500], discrete_stream(2_000, 1)[:1_500]])
    for params in RIVER_CASES[:1] + RIVER_CASES[3:5]:
        drifts, p_values = river_trace(params, stream)
        detector = KSWIN(**params)
        assert detector.update_many(stream).tolist() == drifts
        assert detector.p_value == p_values[-1]


@pytest.mark.parametrize("seed", [0, 1, 42, -42, 2**70 + 5])
@pytest.mark.parametrize(("n", "k"), [(70, 30), (160, 140), (190, 10), (35, 5), (5, 5), (1, 1)])
def test_sample_matches_cpython(seed: int, n: int, k: int) -> None:
    """Successive draws of sample(range(n), k), and the generator's state after, are CPython's."""
    reference = random.Random(seed)
    mt, index = kswin._mt_state(random.Random(seed))
    out = np.empty(k, dtype=np.int64)
    for _ in range(200):  # enough draws to cross several regenerations of the 624 words
        index = kswin._sample_positions(mt, index, n, k, kswin._use_pool(n, k), out)
        assert out.tolist() == reference.sample(range(n), k)
    words, reference_index = kswin._mt_state(reference)
    np.testing.assert_array_equal(mt, words)
    assert index == reference_index


@pytest.mark.parametrize("n", [*range(1, 41), 77, 500])
def test_p_value_table_matches_scipy(n: int) -> None:
    """The table of p-values by statistic is scipy's, fallbacks to the asymptotic test included."""
    table = kswin._ks_p_values(n)
    a = np.arange(n, dtype=np.float64)
    for h in range(n + 1):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", category=RuntimeWarning)
            result = stats.ks_2samp(a, a + h, method="auto")
        assert result.statistic == h * 1.0 / n
        assert table[h] == result.pvalue


@settings(max_examples=200, deadline=None)
@given(
    st.integers(1, 200).flatmap(
        lambda n: st.tuples(
            st.lists(st.integers(-3, 3), min_size=n, max_size=n),
            st.lists(st.integers(-3, 3) | st.floats(-3, 3), min_size=n, max_size=n),
        )
    )
)
def test_distance_and_p_value_match_scipy_with_ties(pair: tuple[list[float], list[float]]) -> None:
    """On samples full of ties, the integer distance and its tabled p-value are scipy's."""
    a = np.array(pair[0], dtype=np.float64)
    b = np.array(pair[1], dtype=np.float64)
    n = len(a)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", category=RuntimeWarning)
        result = stats.ks_2samp(a, b, method="auto")
    h = kswin._ks_distance_of(a, b)
    assert result.statistic == h * 1.0 / n
    assert kswin._ks_p_values(n)[h] == result.pvalue


@settings(max_examples=30, deadline=None)
@given(
    params=st.sampled_from(RIVER_CASES[:5]),
    cuts=st.lists(st.integers(0, 8_000), max_size=8),
)
def test_any_split_into_batches_gives_the_same_result(
    params: dict[str, Any], cuts: list[int]
) -> None:
    """Any split of a stream into batches gives the positions and final snapshot of one batch."""
    stream = shifting_stream(8_000, seed=5)
    whole = KSWIN(**params)
    expected = whole.update_many(stream)
    split = KSWIN(**params)
    drifts: list[int] = []
    bounds = [0, *sorted(cuts), len(stream)]
    for lo, hi in itertools.pairwise(bounds):
        drifts.extend((split.update_many(stream[lo:hi]) + lo).tolist())
    assert drifts == expected.tolist()
    for key, array in whole.snapshot().items():
        np.testing.assert_array_equal(split.snapshot()[key], array)


def test_nan_and_inf_are_skipped_and_counted() -> None:
    """NaN and inf are counted in n_skipped and do not move the positions of the finite values."""
    stream = shifting_stream(10_000, seed=9)
    expected = KSWIN(seed=4).update_many(stream)
    assert len(expected) >= 3

    rng = np.random.default_rng(1)
    n_bad = 700
    bad_at = np.sort(rng.choice(len(stream) + n_bad, n_bad, replace=False))
    keep = np.ones(len(stream) + n_bad, dtype=bool)
    keep[bad_at] = False
    dirty = np.empty(len(stream) + n_bad)
    dirty[keep] = stream
    dirty[bad_at] = rng.choice([np.nan, np.inf, -np.inf], n_bad)

    detector = KSWIN(seed=4)
    drifts = detector.update_many(dirty)
    assert detector.n_skipped == n_bad
    assert np.flatnonzero(keep)[expected].tolist() == drifts.tolist()


@pytest.mark.parametrize("seed", [8, None])
def test_snapshot_restore_continues_identically(seed: int | None) -> None:
    """A detector restored from a snapshot continues exactly as the one it was taken from."""
    stream = shifting_stream(10_000, seed=13)
    first = KSWIN(seed=seed)
    head = first.update_many(stream[:4_321])
    snapshot = first.snapshot()
    tail = first.update_many(stream[4_321:])
    assert len(head) >= 1
    assert len(tail) >= 1

    second = KSWIN(seed=seed)
    second.restore(snapshot)
    assert second.update_many(stream[4_321:]).tolist() == tail.tolist()
    assert second.p_value == first.p_value


def test_snapshot_from_other_parameters_is_refused() -> None:
    """A snapshot taken with another seed or other sizes raises StateError on restore."""
    snapshot = KSWIN(seed=1).snapshot()
    for other in (KSWIN(seed=2), KSWIN(), KSWIN(seed=1, window_size=101)):
        with pytest.raises(StateError, match="other parameters"):
            other.restore(snapshot)


def test_reset_with_a_seed_repeats_the_run() -> None:
    """With a seed, reset() gives back a detector that repeats the same positions."""
    stream = shifting_stream(6_000, seed=2)
    detector = KSWIN(seed=5)
    expected = detector.update_many(stream)
    detector.reset()
    assert detector.p_value == 0.0
    assert detector.update_many(stream).tolist() == expected.tolist()


def test_unseeded_detector_finds_an_obvious_shift() -> None:
    """Without a seed the draws differ from run to run, but an obvious shift is found at once."""
    rng = np.random.default_rng(0)
    stream = np.concatenate([rng.normal(0, 1, 500), rng.normal(10, 1, 500)])
    for _ in range(5):
        drifts = KSWIN(alpha=1e-6).update_many(stream)
        assert 500 <= drifts[0] < 530  # once enough of the 30 most recent values have shifted


def test_p_value_is_zero_until_the_window_is_full() -> None:
    """As in river, p_value reads 0.0 until the first test, which needs a full window."""
    detector = KSWIN(seed=1)
    detector.update_many(np.zeros(99))
    assert detector.p_value == 0.0
    detector.update(0.0)
    assert detector.p_value == 1.0


def test_invalid_parameters_are_refused() -> None:
    """Parameters river would crash on, or that scipy's exact test does not cover, are refused."""
    with pytest.raises(ValueError, match="alpha"):
        KSWIN(alpha=1.5)
    with pytest.raises(ValueError, match="at least 2 \\* stat_size"):
        KSWIN(window_size=50, stat_size=30)
    with pytest.raises(ValueError, match="stat_size must be in"):
        KSWIN(stat_size=0)
    with pytest.raises(ValueError, match="stat_size must be in"):
        KSWIN(window_size=30_000, stat_size=10_001)
