"""Histogram sketches and binned scores agree with numpy and scipy on the same bins."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.typing import NDArray
from scipy import stats
from scipy.spatial.distance import jensenshannon
from scipy.special import chdtrc

from stream_monitor.detectors import (
    CategoricalReference,
    CategoricalSketch,
    HistogramDrift,
    NumericReference,
    NumericSketch,
)
from stream_monitor.detectors import scores as sc
from stream_monitor.errors import StateError

RNG = np.random.default_rng(11)
REF = RNG.lognormal(0.0, 1.0, 200_000)
EDGES = np.unique(np.quantile(REF, np.linspace(0, 1, 101)))


def numpy_counts(values: NDArray[np.float64], edges: NDArray[np.float64]) -> NDArray[np.int64]:
    """Counts in the sketch's layout, computed independently with numpy."""
    finite = values[np.isfinite(values)]
    inner, _ = np.histogram(finite, bins=edges)
    under = np.sum(finite < edges[0])
    over = np.sum(finite > edges[-1])
    return np.concatenate([[under], inner, [over]]).astype(np.int64)


@pytest.mark.parametrize(
    "values",
    [
        RNG.lognormal(0.2, 1.1, 300_000),
        np.concatenate([RNG.lognormal(0, 1, 1000), [np.nan, np.inf, -np.inf, -5.0, 1e9]]),
        np.repeat(EDGES, 3),  # every value exactly on an edge
        RNG.pareto(0.5, 50_000),  # heavy tail far beyond the reference
    ],
)
def test_sketch_counts_equal_numpy_histogram(values: NDArray[np.float64]) -> None:
    """Counts, tail distances and moments equal numpy's on the same non-uniform edges."""
    sketch = NumericSketch(EDGES)
    sketch.update_many(values)
    np.testing.assert_array_equal(sketch.counts, numpy_counts(values, EDGES))
    finite = values[np.isfinite(values)]
    assert sketch.n_skipped == int(np.sum(~np.isfinite(values)))
    assert sketch.under_distance == pytest.approx(np.sum(EDGES[0] - finite[finite < EDGES[0]]))
    assert sketch.over_distance == pytest.approx(np.sum(finite[finite > EDGES[-1]] - EDGES[-1]))
    assert sketch.mean == pytest.approx(finite.mean(), rel=1e-9)
    assert sketch.std == pytest.approx(finite.std(), rel=1e-6)
    assert (sketch.min, sketch.max) == (finite.min(), finite.max())


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.floats(-1e6, 1e6, allow_nan=False), min_size=2, max_size=40, unique=True),
    st.lists(st.floats(allow_nan=True, allow_infinity=True), max_size=300),
)
def test_sketch_counts_match_numpy_for_any_edges(edges: list[float], values: list[float]) -> None:
    """For any strictly increasing edges and any values, the counts equal numpy's."""
    e = np.array(sorted(edges))
    v = np.array(values, dtype=np.float64)
    sketch = NumericSketch(e)
    sketch.update_many(v)
    np.testing.assert_array_equal(sketch.counts, numpy_counts(v, e))


def test_sketches_merge_by_addition() -> None:
    """Two sketches merged equal one sketch of all their values."""
    a, b = RNG.normal(1, 2, 5000), RNG.normal(3, 1, 7000)
    left, right, both = NumericSketch(EDGES), NumericSketch(EDGES), NumericSketch(EDGES)
    left.update_many(a)
    right.update_many(b)
    both.update_many(np.concatenate([a, b]))
    left.merge(right)
    np.testing.assert_array_equal(left.counts, both.counts)
    assert left.mean == pytest.approx(both.mean)
    assert left.std == pytest.approx(both.std)
    with pytest.raises(StateError):
        left.merge(NumericSketch(EDGES[:-1]))


P = np.array([120, 300, 280, 200, 100])
Q = np.array([90, 260, 300, 250, 100])


def test_psi_matches_formula() -> None:
    """PSI equals the textbook sum over proportions."""
    p, q = P / P.sum(), Q / Q.sum()
    assert sc.psi(P, Q) == pytest.approx(np.sum((q - p) * np.log(q / p)), rel=1e-12)


def test_psi_floors_empty_bins() -> None:
    """An empty bin is given the 1e-4 proportion, as Evidently does."""
    p = np.array([0.5, 0.5, 1e-4])
    q = np.array([0.4, 0.4, 0.2])
    assert sc.psi([50, 50, 0], [40, 40, 20]) == pytest.approx(np.sum((q - p) * np.log(q / p)))


def test_jensen_shannon_matches_scipy() -> None:
    """The Jensen-Shannon distance equals scipy's (natural log)."""
    assert sc.jensen_shannon(P, Q) == pytest.approx(jensenshannon(P, Q), rel=1e-12)
    assert sc.jensen_shannon([1, 0, 3], [0, 2, 3]) == pytest.approx(
        jensenshannon([1, 0, 3], [0, 2, 3])
    )


def test_hellinger_matches_definition() -> None:
    """Hellinger distance equals its definition on proportions."""
    p, q = P / P.sum(), Q / Q.sum()
    expected = np.sqrt(0.5 * np.sum((np.sqrt(p) - np.sqrt(q)) ** 2))
    assert sc.hellinger(P, Q) == pytest.approx(expected, rel=1e-12)


def test_chi_square_matches_scipy() -> None:
    """Chi-square statistic and p-value equal scipy's on the smoothed reference proportions."""
    stat, p_value = sc.chi_square(P, Q)
    ref = P + sc.CHI_SQUARE_PSEUDO_COUNT
    expected = stats.chisquare(Q, ref / ref.sum() * Q.sum())
    assert stat == pytest.approx(expected.statistic, rel=1e-12)
    assert p_value == pytest.approx(expected.pvalue, rel=1e-9)


@given(dof=st.integers(1, 1_000), x=st.floats(0.0, 5_000.0))
def test_chi_square_sf_equals_scipy_chdtrc(dof: int, x: float) -> None:
    """The chi-square p-value computed without scipy is scipy's ``chdtrc``."""
    expected = float(chdtrc(dof, x))
    assert sc.chi_square_sf(dof, x) == pytest.approx(expected, rel=1e-11, abs=1e-290)


def test_chi_square_sf_edges() -> None:
    """No evidence at 0, all of it at infinity, and NaN stays NaN, as in scipy."""
    assert sc.chi_square_sf(3, 0.0) == 1.0
    assert sc.chi_square_sf(3, float("inf")) == 0.0
    assert np.isnan(sc.chi_square_sf(3, float("nan")))


def test_binned_ks_is_close_to_exact_ks() -> None:
    """On 100 quantile bins the binned KS statistic is within one bin's mass below scipy's."""
    current = RNG.lognormal(0.15, 1.0, 100_000)
    ref_sketch, cur_sketch = NumericSketch(EDGES), NumericSketch(EDGES)
    ref_sketch.update_many(REF)
    cur_sketch.update_many(current)
    binned = sc.ks_binned(ref_sketch.counts, cur_sketch.counts)
    exact = stats.ks_2samp(REF, current).statistic
    assert exact - 0.011 <= binned <= exact + 1e-12


def test_binned_ks_equals_ecdf_gap_at_edges() -> None:
    """The binned KS statistic is the largest ECDF gap over the bin edges, computed with numpy."""
    current = RNG.lognormal(0.3, 0.8, 20_000)
    ref_sketch, cur_sketch = NumericSketch(EDGES), NumericSketch(EDGES)
    ref_sketch.update_many(REF)
    cur_sketch.update_many(current)
    gaps = [
        abs(np.mean(e > REF) - np.mean(current < e)) for e in EDGES
    ]  # F(e-) at each edge: bins are closed on the left
    gaps += [abs(np.mean(EDGES[-1] >= REF) - np.mean(current <= EDGES[-1]))]
    assert sc.ks_binned(ref_sketch.counts, cur_sketch.counts) == pytest.approx(max(gaps))


@pytest.mark.parametrize("shift", [0.0, 0.3, 2.0])
def test_binned_wasserstein_integrates_binned_cdfs(shift: float) -> None:
    """Wasserstein from the sketch equals a numerical integral of the binned CDFs' gap.

    It also stays within 6% of a reference standard deviation of scipy's exact distance: the
    approximation is uniform mass within each quantile bin.
    """
    ref = RNG.normal(10.0, 2.0, 100_000)
    cur = RNG.normal(10.0 + shift, 2.0, 100_000)
    edges = np.unique(np.quantile(ref, np.linspace(0, 1, 101)))
    r, c = NumericSketch(edges), NumericSketch(edges)
    r.update_many(ref)
    c.update_many(cur)
    binned = sc.wasserstein_binned(
        edges, r.counts, c.counts, current_tails=(c.under_distance, c.over_distance)
    )
    # Independent: piecewise-linear CDFs through the edges, integrated on a fine grid.
    grid = np.linspace(edges[0], edges[-1], 400_001)
    cdf_r = np.interp(grid, edges, np.cumsum(r.counts[:-1]) / r.n)
    cdf_c = np.interp(grid, edges, np.cumsum(c.counts[:-1]) / c.n)
    inside = np.trapezoid(np.abs(cdf_r - cdf_c), grid)
    tails = (c.under_distance + c.over_distance) / c.n
    assert binned == pytest.approx(inside + tails, rel=1e-4, abs=1e-6)
    exact = stats.wasserstein_distance(ref, cur)
    assert abs(binned - exact) / ref.std() < 0.06


def test_wasserstein_tails_are_exact() -> None:
    """Mass entirely beyond the reference's range contributes its exact distance."""
    edges = np.array([0.0, 1.0])
    ref = NumericSketch(edges)
    ref.update_many(np.array([0.0, 1.0]))
    cur = NumericSketch(edges)
    cur.update_many(np.array([3.0, 5.0]))
    binned = sc.wasserstein_binned(
        edges, ref.counts, cur.counts, current_tails=(cur.under_distance, cur.over_distance)
    )
    # Reference: uniform on [0, 1] under the binning; current: 3 and 5.
    assert binned == pytest.approx(0.5 + 3.0)


def _reference(values: NDArray[np.float64]) -> NumericReference:
    edges = np.unique(np.quantile(values, np.linspace(0, 1, 101)))
    sketch = NumericSketch(edges)
    sketch.update_many(values)
    fine_to_score = np.concatenate([[0], 1 + np.arange(len(edges) - 1) * 10 // 100, [11]])
    return NumericReference(
        edges, sketch.counts, fine_to_score.astype(np.int64), float(values.std())
    )


def test_windows_close_every_n_rows_with_scores() -> None:
    """Windows close at fixed row counts across batches, NaN rows included."""
    ref = _reference(RNG.normal(0, 1, 100_000))
    detector = HistogramDrift(ref, window=1000, methods={"psi": None, "ks": 0.2})
    batch = RNG.normal(0, 1, 2500)
    batch[5] = np.nan
    first = detector.update_many(batch)
    assert [w.end for w in first] == [999, 1999]
    assert first[0].missing == 1
    assert detector.rows_in_window == 500
    second = detector.update_many(RNG.normal(3, 1, 1500))
    assert [w.end for w in second] == [499, 1499]
    assert [w.drift_detected for w in first + second] == [False, False, True, True]
    assert {s.method for s in second[0].scores} == {"psi", "ks"}
    assert second[0].scores[1].threshold == 0.2


def test_window_scores_equal_direct_scores() -> None:
    """A window's PSI equals PSI computed with numpy over the same score bins."""
    values = RNG.normal(0, 1, 50_000)
    ref = _reference(values)
    current = RNG.normal(0.2, 1.1, 5000)
    (window,) = HistogramDrift(ref, window=5000, methods={"psi": None}).update_many(current)
    score_edges = ref.edges[::10]
    r_counts, _ = np.histogram(values, bins=score_edges)
    c_inner, _ = np.histogram(current, bins=score_edges)
    c_counts = np.concatenate(
        [[np.sum(current < ref.edges[0])], c_inner, [np.sum(current > ref.edges[-1])]]
    )
    r_full = np.concatenate([[0], r_counts, [0]])
    assert window.scores[0].value == pytest.approx(sc.psi(r_full, c_counts), rel=1e-12)


def test_categorical_window_scores() -> None:
    """Categorical windows count codes, treat -1 as null, and score with chi-square and JS."""
    ref = CategoricalReference(np.array([500, 300, 200, 0]))
    detector = HistogramDrift(ref, window=100, methods={"chi_square": None, "jensen_shannon": None})
    codes = np.array([0] * 50 + [1] * 30 + [2] * 19 + [-1])
    (window,) = detector.update_many(codes)
    assert window.missing == 1
    chi, js = window.scores
    assert chi.p_value is not None
    assert chi.p_value > 0.05
    assert not chi.drift_detected
    assert js.value == pytest.approx(jensenshannon([500, 300, 200, 0], [50, 30, 19, 0]))
    (shifted,) = detector.update_many(np.array([3] * 60 + [0] * 40))
    assert shifted.drift_detected


def test_categorical_sketch_merge_and_snapshot() -> None:
    """Categorical sketches merge by addition and restore from a snapshot."""
    a, b = CategoricalSketch(3), CategoricalSketch(3)
    a.update_many(np.array([0, 1, 1, 9]))
    b.update_many(np.array([2, 3, -1]))
    a.merge(b)
    np.testing.assert_array_equal(a.counts, [1, 2, 1, 1])
    assert a.n_null == 2
    c = CategoricalSketch(3)
    c.restore(a.snapshot())
    np.testing.assert_array_equal(c.counts, a.counts)


def test_window_snapshot_restore() -> None:
    """An open window restored from a snapshot closes with the same scores."""
    ref = _reference(RNG.normal(0, 1, 10_000))
    values = RNG.normal(0.5, 1, 1500)
    a = HistogramDrift(ref, window=1000, methods={"psi": None, "wasserstein": None})
    a.update_many(values[:700])
    b = HistogramDrift(ref, window=1000, methods={"psi": None, "wasserstein": None})
    b.restore(a.snapshot())
    assert a.update_many(values[700:]) == b.update_many(values[700:])


def test_verdict_directions() -> None:
    """Distances drift above the threshold; p-values drift below it; NaN never drifts."""
    assert sc.make_score("psi", 0.2).drift_detected
    assert not sc.make_score("psi", 0.05).drift_detected
    assert sc.make_score("chi_square", 0.01).drift_detected
    assert not sc.make_score("chi_square", 0.5, 0.01).drift_detected
    assert not sc.make_score("ks", float("nan")).drift_detected


@given(
    st.lists(st.integers(0, 1), min_size=1, max_size=40),
    st.lists(st.integers(0, 10_000), min_size=41, max_size=41),
    st.booleans(),
)
def test_score_counts_by_runs_are_the_bincount_sums(
    steps: list[int], counts: list[int], shuffle: bool
) -> None:
    """Score bins summed over runs of fine bins give bincount's sums; a mapping that is not
    runs of consecutive score bins goes through bincount itself."""
    mapping = np.cumsum([0, *steps])
    if shuffle:
        mapping = mapping[::-1].copy()
    fine = np.array(counts[: mapping.shape[0]], dtype=np.int64)
    reference = NumericReference(
        np.arange(mapping.shape[0] - 1, dtype=np.float64), fine, mapping, std=1.0
    )
    want = np.bincount(mapping, weights=fine, minlength=int(mapping.max()) + 1).astype(np.int64)
    np.testing.assert_array_equal(reference.score_counts(fine), want)
    np.testing.assert_array_equal(reference.reference_score_counts, want)
