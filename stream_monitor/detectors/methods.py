"""Every score method by name: one record each, looked up by name everywhere else.

A ``Method`` says what a score means and how to compute it:

- ``kinds``: the columns it applies to (``numeric``, ``categorical``);
- ``value``: what its verdict holds to the threshold. A ``"p_value"`` method is a test: drift
  when its p-value is *below* the threshold. A ``"distance"`` method: drift when its
  statistic is *above* it;
- ``default_threshold``: of that value;
- ``binned``: the score of a sketch against a reference (``detectors.reference``): what the
  stream computes for a window, and ``check-drift`` against a profile;
- ``exact_numeric`` / ``exact_categorical``: the score of raw values (two sorted samples, or
  counts over the same categories): what ``check-drift`` computes against raw reference data.

Every function returns a ``Measure``: the statistic and, for a test, its p-value.

``METHODS`` holds the methods of ``check-drift`` (with Evidently's meanings). A stream window
scores with ``WINDOW_METHODS``: the methods that have a binned function, held as in
``METHODS`` except one. ``ks`` is the two-sample Kolmogorov-Smirnov *test* in ``METHODS``
(p-value below 0.05, exact on raw data, asymptotic from the binned statistic on a profile);
a stream window holds the binned statistic D itself as a distance, above 0.1, without a
p-value: at tens of thousands of values a side the p-value flags shifts too small to matter.
``z`` needs the categories' names (its share is of all but the first in sorted order), which a
sketch does not carry: it has no binned function and is not offered in the stream.

>>> list(METHODS)
['ks', 'wasserstein', 'psi', 'jensen_shannon', 'hellinger', 'chi_square', 'z']
>>> METHODS["ks"].value, METHODS["ks"].default_threshold
('p_value', 0.05)
>>> WINDOW_METHODS["ks"].value, WINDOW_METHODS["ks"].default_threshold
('distance', 0.1)
>>> method_names("categorical", window=True)
('psi', 'jensen_shannon', 'hellinger', 'chi_square')
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from types import MappingProxyType
from typing import Literal, NamedTuple

import numpy as np
from numpy.typing import NDArray

from stream_monitor.detectors import exact as ex
from stream_monitor.detectors import scores as sc
from stream_monitor.detectors.histogram import CategoricalSketch, NumericSketch
from stream_monitor.detectors.reference import NumericReference, Reference

__all__ = [
    "KINDS",
    "METHODS",
    "WINDOW_METHODS",
    "Kind",
    "Measure",
    "Method",
    "SortedPair",
    "method_names",
]

Kind = Literal["numeric", "categorical"]
KINDS: tuple[Kind, ...] = ("numeric", "categorical")
Sketch = NumericSketch | CategoricalSketch
Counts = NDArray[np.int64]

# Evidently's floor under the reference standard deviation of the normed Wasserstein distance.
_MIN_NORM = 0.001


class Measure(NamedTuple):
    """A score: the statistic and, for a test, its p-value."""

    statistic: float
    p_value: float | None = None


class SortedPair:
    """Two sorted, finite, non-empty samples and their merge (``exact.merge_sorted``), which
    every exact numeric method reads from."""

    def __init__(self, reference: NDArray[np.float64], current: NDArray[np.float64]) -> None:
        self.reference = reference
        self.current = current
        self.merge = ex.merge_sorted(reference, current)


BinnedScore = Callable[[Reference, Sketch], Measure]
ExactNumeric = Callable[[SortedPair], Measure]
ExactCategorical = Callable[[Counts, Counts], Measure]


@dataclass(frozen=True, slots=True)
class Method:
    """One score method; see the module docstring for the fields."""

    name: str
    display_name: str
    kinds: tuple[Kind, ...]
    value: Literal["p_value", "distance"]
    default_threshold: float
    binned: BinnedScore | None = None
    exact_numeric: ExactNumeric | None = None
    exact_categorical: ExactCategorical | None = None

    def value_of(self, measure: Measure) -> float:
        """What the verdict holds to the threshold: the p-value of a test (NaN when there is
        none), else the statistic."""
        if self.value == "p_value":
            return float("nan") if measure.p_value is None else measure.p_value
        return measure.statistic

    def drifted(self, value: float, threshold: float) -> bool:
        """Whether ``value`` (see ``value_of``) signals drift at ``threshold``; NaN never does."""
        if math.isnan(value):
            return False
        return value < threshold if self.value == "p_value" else value > threshold

    def score(self, value: float, threshold: float | None = None) -> sc.Score:
        """``value`` as a ``Score``, held to ``threshold`` (None: the default)."""
        limit = self.default_threshold if threshold is None else threshold
        p_value = value if self.value == "p_value" else None
        return sc.Score(self.name, float(value), float(limit), self.drifted(value, limit), p_value)

    def score_sketch(self, reference: Reference, sketch: Sketch) -> Measure:
        """The binned score of ``sketch`` against ``reference``."""
        if self.binned is None:
            raise ValueError(f"method {self.name!r} cannot score a sketch")
        return self.binned(reference, sketch)

    def score_sorted(self, pair: SortedPair) -> Measure:
        """The exact score of two sorted numeric samples."""
        if self.exact_numeric is None:
            raise ValueError(f"method {self.name!r} does not apply to numeric values")
        return self.exact_numeric(pair)

    def score_counts(self, reference: Counts, current: Counts) -> Measure:
        """The exact score of two count arrays over the same categories."""
        if self.exact_categorical is None:
            raise ValueError(f"method {self.name!r} does not apply to categories")
        return self.exact_categorical(reference, current)


# --- binned: a sketch against a reference ---------------------------------------------------


def _score_bins(reference: Reference, sketch: Sketch) -> tuple[Counts, Counts]:
    """The counts a binned distance is taken over: a numeric column's coarser score bins, a
    categorical column's categories (then "other")."""
    if isinstance(reference, NumericReference):
        return reference.reference_score_counts, reference.score_counts(sketch.counts)
    return reference.counts, sketch.counts


def _current_bins(reference: Reference, sketch: Sketch) -> Counts:
    """The current side of ``_score_bins``."""
    if isinstance(reference, NumericReference):
        return reference.score_counts(sketch.counts)
    return sketch.counts


def _numeric(reference: Reference, sketch: Sketch) -> tuple[NumericReference, NumericSketch]:
    if not isinstance(reference, NumericReference) or not isinstance(sketch, NumericSketch):
        raise ValueError("this method applies to numeric columns only")
    return reference, sketch


def _distance(func: Callable[[sc.Shares, Counts], float]) -> BinnedScore:
    """A distance over the score bins, against the reference's shares (computed once)."""

    def binned(reference: Reference, sketch: Sketch) -> Measure:
        return Measure(func(reference.score_shares, _current_bins(reference, sketch)))

    binned.__doc__ = f"``{func.__name__}`` over the score bins."
    return binned


def _ks_statistic_binned(reference: Reference, sketch: Sketch) -> Measure:
    """The KS statistic between the binned CDFs at the fine edges; no p-value."""
    ref, cur = _numeric(reference, sketch)
    return Measure(sc.ks_binned(ref.counts, cur.counts))


def _ks_binned(reference: Reference, sketch: Sketch) -> Measure:
    """The binned KS statistic and its asymptotic two-sample p-value."""
    statistic = _ks_statistic_binned(reference, sketch).statistic
    n_ref = int(reference.counts.sum())
    return Measure(statistic, ex.ks_p_asymptotic(statistic, n_ref, sketch.n))


def _wasserstein_binned(reference: Reference, sketch: Sketch) -> Measure:
    """The binned Wasserstein-1 distance over the reference standard deviation."""
    ref, cur = _numeric(reference, sketch)
    distance = sc.wasserstein_binned(
        ref.edges, ref.counts, cur.counts, current_tails=(cur.under_distance, cur.over_distance)
    )
    if ref.std > 0:
        return Measure(distance / ref.std)
    return Measure(0.0 if distance == 0 else float("inf"))


def _chi_square_binned(reference: Reference, sketch: Sketch) -> Measure:
    """Pearson's chi-square over the score bins, with a pseudo-count (``scores.chi_square``)."""
    return Measure(*sc.chi_square(*_score_bins(reference, sketch)))


# --- exact: raw values ----------------------------------------------------------------------


def _on_evidently_bins(func: Callable[[Counts, Counts], float]) -> ExactNumeric:
    def exact(pair: SortedPair) -> Measure:
        return Measure(func(*ex.evidently_bins(pair.reference, pair.current)))

    exact.__doc__ = f"``{func.__name__}`` over Evidently's bins of the two samples."
    return exact


def _on_counts(func: Callable[[Counts, Counts], float]) -> ExactCategorical:
    def exact(reference: Counts, current: Counts) -> Measure:
        return Measure(func(reference, current))

    exact.__doc__ = f"``{func.__name__}`` over the categories."
    return exact


def _ks_exact(pair: SortedPair) -> Measure:
    """scipy's two-sample KS statistic and p-value (``exact.ks_merged``)."""
    return Measure(*ex.ks_merged(pair.reference, pair.current, pair.merge))


def _wasserstein_exact(pair: SortedPair) -> Measure:
    """Wasserstein-1 over the reference standard deviation (at least 0.001, as Evidently)."""
    return Measure(pair.merge.area / max(float(np.std(pair.reference)), _MIN_NORM))


def _hellinger_exact(pair: SortedPair) -> Measure:
    """Hellinger over Sturges bins of the distinct values, as Evidently bins it."""
    rs, cs = pair.reference, pair.current
    edges = ex.sturges_edges(min(rs[0], cs[0]), max(rs[-1], cs[-1]), pair.merge.n_distinct)
    return Measure(sc.hellinger(ex.counts_in(rs, edges), ex.counts_in(cs, edges)))


def _chi_square_exact(pair: SortedPair) -> Measure:
    """Evidently's chi-square over its bins of the two samples."""
    return Measure(*ex.chi_square_evidently(*ex.evidently_bins(pair.reference, pair.current)))


def _chi_square_counts(reference: Counts, current: Counts) -> Measure:
    """Evidently's chi-square over the categories."""
    return Measure(*ex.chi_square_evidently(reference, current))


def _z_exact(pair: SortedPair) -> Measure:
    """Evidently's z-test of the share of values above the smaller first value."""
    rs, cs = pair.reference, pair.current
    first = min(rs[0], cs[0])
    x_ref = rs.shape[0] - int(np.searchsorted(rs, first, "right"))
    x_cur = cs.shape[0] - int(np.searchsorted(cs, first, "right"))
    return Measure(*ex.two_proportion_z(x_ref, rs.shape[0], x_cur, cs.shape[0]))


def _z_counts(reference: Counts, current: Counts) -> Measure:
    """Evidently's z-test of the share of all categories but the first."""
    n_ref, n_cur = int(reference.sum()), int(current.sum())
    return Measure(
        *ex.two_proportion_z(n_ref - int(reference[0]), n_ref, n_cur - int(current[0]), n_cur)
    )


# --- the registry ---------------------------------------------------------------------------

_BOTH: tuple[Kind, ...] = ("numeric", "categorical")

METHODS: Mapping[str, Method] = MappingProxyType(
    {
        m.name: m
        for m in (
            Method(
                "ks",
                "Kolmogorov-Smirnov",
                ("numeric",),
                "p_value",
                0.05,
                binned=_ks_binned,
                exact_numeric=_ks_exact,
            ),
            Method(
                "wasserstein",
                "Wasserstein (normed)",
                ("numeric",),
                "distance",
                0.1,
                binned=_wasserstein_binned,
                exact_numeric=_wasserstein_exact,
            ),
            Method(
                "psi",
                "PSI",
                _BOTH,
                "distance",
                0.1,
                binned=_distance(sc.psi_of),
                exact_numeric=_on_evidently_bins(sc.psi),
                exact_categorical=_on_counts(sc.psi),
            ),
            Method(
                "jensen_shannon",
                "Jensen-Shannon distance",
                _BOTH,
                "distance",
                0.1,
                binned=_distance(sc.jensen_shannon_of),
                exact_numeric=_on_evidently_bins(sc.jensen_shannon),
                exact_categorical=_on_counts(sc.jensen_shannon),
            ),
            Method(
                "hellinger",
                "Hellinger distance",
                _BOTH,
                "distance",
                0.1,
                binned=_distance(sc.hellinger_of),
                exact_numeric=_hellinger_exact,
                exact_categorical=_on_counts(sc.hellinger),
            ),
            Method(
                "chi_square",
                "chi-square",
                _BOTH,
                "p_value",
                0.05,
                binned=_chi_square_binned,
                exact_numeric=_chi_square_exact,
                exact_categorical=_chi_square_counts,
            ),
            Method(
                "z",
                "Z-test (two proportions)",
                _BOTH,
                "p_value",
                0.05,
                exact_numeric=_z_exact,
                exact_categorical=_z_counts,
            ),
        )
    }
)

#: The methods of a stream window: those with a binned function; ``ks`` held as a distance.
WINDOW_METHODS: Mapping[str, Method] = MappingProxyType(
    {
        name: (
            replace(m, value="distance", default_threshold=0.1, binned=_ks_statistic_binned)
            if name == "ks"
            else m
        )
        for name, m in METHODS.items()
        if m.binned is not None
    }
)


def method_names(kind: Kind | None = None, *, window: bool = False) -> tuple[str, ...]:
    """The names of the methods that apply to ``kind`` (any kind: None), in registry order;
    with ``window``, of those a stream window offers."""
    table = WINDOW_METHODS if window else METHODS
    return tuple(m.name for m in table.values() if kind is None or kind in m.kinds)
