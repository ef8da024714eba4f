"""Drift scores computed from binned distributions (reference counts vs current counts).

Every function takes count arrays over the same bins and returns a float (``chi_square``:
the statistic and p-value). ``detectors.methods`` names them as score methods, with their
thresholds and verdicts; a ``Score`` carries a method, value, threshold and verdict together.

Conventions (shared with Evidently where it has the same method):

- ``psi``: population stability index, ``sum((q - p) * ln(q / p))`` over proportions, with
  empty bins given the proportion 1e-4 (a millionth of the smallest share, if that is
  smaller), as Evidently does.
- ``jensen_shannon``: the Jensen-Shannon *distance* (square root of the divergence), natural
  logarithm, as ``scipy.spatial.distance.jensenshannon``.
- ``hellinger``: ``sqrt(sum((sqrt(p) - sqrt(q))**2)) / sqrt(2)``, in [0, 1].
- ``ks``: the Kolmogorov-Smirnov statistic between the two binned CDFs, evaluated at the bin
  edges. Against a reference binned on its own quantiles this is a lower bound of the exact
  statistic, within one fine bin's mass of it.
- ``wasserstein``: the Wasserstein-1 distance between the binned distributions (uniform
  within each bin, exact in the under- and overflow tails), divided by the reference
  standard deviation, as Evidently's "normed" Wasserstein.
- ``chi_square``: Pearson's chi-square test of the current counts against the reference
  proportions; its value is the p-value, and drift is a p-value *below* the threshold.
  Reference counts get a pseudo-count of 0.5 per bin, so a category absent from the reference
  gives a finite statistic.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any, NamedTuple

import numpy as np
from numpy.typing import ArrayLike, NDArray

PSI_FLOOR = 1e-4
CHI_SQUARE_PSEUDO_COUNT = 0.5


@dataclass(frozen=True, slots=True)
class Score:
    """One drift score: the method, its value, the threshold it was held to, and the verdict."""

    method: str
    value: float
    threshold: float
    drift_detected: bool
    p_value: float | None = None

    def to_dict(self) -> dict[str, Any]:
        """Return the score as a JSON-ready dict."""
        return asdict(self)


def _proportions(counts: ArrayLike) -> NDArray[np.float64]:
    arr = np.asarray(counts, dtype=np.float64)
    total = np.add.reduce(arr)
    if total <= 0:
        return np.full(arr.shape, np.nan)
    result: NDArray[np.float64] = arr / total
    return result


def _fill_empty(shares: NDArray[np.float64]) -> NDArray[np.float64]:
    """Evidently's proportion for an empty bin: 1e-4, or a millionth of the smallest
    non-empty share when that is 1e-4 or less (so a filled bin never outweighs a real one)."""
    if shares.all():  # nothing to fill (NaN shares too: nothing is filled in those)
        return shares
    occupied = shares[shares > 0]
    smallest = float(occupied.min()) if occupied.size else PSI_FLOOR
    floor = smallest / 1e6 if smallest <= PSI_FLOOR else PSI_FLOOR
    filled: NDArray[np.float64] = np.where(shares == 0, floor, shares)
    return filled


class Shares(NamedTuple):
    """A count array's shares as ``psi``, ``jensen_shannon`` and ``hellinger`` read them:
    computed once for a reference that many windows are scored against."""

    plain: NDArray[np.float64]
    filled: NDArray[np.float64]  # empty bins filled as ``psi`` fills them
    positive: bool  # every bin has a share above 0

    @classmethod
    def of(cls, counts: ArrayLike) -> Shares:
        """The shares of ``counts``."""
        plain = _proportions(counts)
        return cls(plain, _fill_empty(plain), bool((plain > 0).all()))


def psi(reference: ArrayLike, current: ArrayLike) -> float:
    """Population stability index between two count arrays over the same bins.

    The stream and the batch report both use this one definition.

    >>> round(psi([50, 50], [60, 40]), 6)
    0.040547
    """
    return psi_of(Shares.of(reference), current)


def psi_of(reference: Shares, current: ArrayLike) -> float:
    """``psi`` against a reference's ``Shares``."""
    p = reference.filled
    q = _fill_empty(_proportions(current))
    return float(np.add.reduce((q - p) * np.log(q / p)))


def jensen_shannon(reference: ArrayLike, current: ArrayLike) -> float:
    """Jensen-Shannon distance (natural log) between two count arrays.

    >>> round(jensen_shannon([1, 0], [0, 1]), 6)  # sqrt(ln 2)
    0.832555
    """
    return jensen_shannon_of(Shares.of(reference), current)


def jensen_shannon_of(reference: Shares, current: ArrayLike) -> float:
    """``jensen_shannon`` against a reference's ``Shares``."""
    p = reference.plain
    q = _proportions(current)
    m = 0.5 * (p + q)
    if reference.positive and (q > 0).all():
        # Every term defined: the masked form's numbers, without its masks.
        left = p * np.log(p / m)
        right = q * np.log(q / m)
    else:
        with np.errstate(divide="ignore", invalid="ignore"):
            left = np.where(p > 0, p * np.log(p / m), 0.0)
            right = np.where(q > 0, q * np.log(q / m), 0.0)
    divergence = 0.5 * (left.sum() + right.sum())
    return float(np.sqrt(max(divergence, 0.0)))


def hellinger(reference: ArrayLike, current: ArrayLike) -> float:
    """Hellinger distance between two count arrays, in [0, 1].

    >>> hellinger([1, 0], [0, 1])
    1.0
    """
    return hellinger_of(Shares.of(reference), current)


def hellinger_of(reference: Shares, current: ArrayLike) -> float:
    """``hellinger`` against a reference's ``Shares``."""
    p = reference.plain
    q = _proportions(current)
    return float(np.sqrt(np.sum((np.sqrt(p) - np.sqrt(q)) ** 2)) / np.sqrt(2.0))


def ks_binned(reference: ArrayLike, current: ArrayLike) -> float:
    """Largest gap between the two cumulative distributions at the bin edges.

    >>> ks_binned([10, 10, 0], [0, 10, 10])
    0.5
    """
    p = np.cumsum(_proportions(reference))
    q = np.cumsum(_proportions(current))
    return float(np.max(np.abs(p - q)))


def _abs_integral(d0: NDArray[np.float64], d1: NDArray[np.float64]) -> NDArray[np.float64]:
    """Integral over [0, 1] of |d| for d linear from d0 to d1 (elementwise)."""
    a0, a1 = np.abs(d0), np.abs(d1)
    same_sign = d0 * d1 >= 0
    total = a0 + a1
    with np.errstate(divide="ignore", invalid="ignore"):
        crossing = np.where(total > 0, (d0 * d0 + d1 * d1) / (2.0 * total), 0.0)
    result: NDArray[np.float64] = np.where(same_sign, 0.5 * total, crossing)
    return result


def wasserstein_binned(
    edges: ArrayLike,
    reference: ArrayLike,
    current: ArrayLike,
    *,
    reference_tails: tuple[float, float] = (0.0, 0.0),
    current_tails: tuple[float, float] = (0.0, 0.0),
) -> float:
    """Wasserstein-1 distance between two histograms over ``edges`` (with under/overflow).

    Within a bin both distributions are taken as uniform. The tails are given as the sums of
    the distances by which values fall below ``edges[0]`` and above ``edges[-1]``; the tail
    term is exact when only one side has mass there (always so against a reference whose
    first and last edges are its minimum and maximum).

    >>> wasserstein_binned([0.0, 1.0, 2.0], [0, 1, 0, 0], [0, 0, 1, 0])
    1.0
    """
    e = np.asarray(edges, dtype=np.float64)
    r = np.asarray(reference, dtype=np.float64)
    c = np.asarray(current, dtype=np.float64)
    n_r, n_c = r.sum(), c.sum()
    if n_r <= 0 or n_c <= 0:
        return float("nan")
    # CDF difference at edge j: the underflow plus interior bins 1..j (bin j ends at e_j).
    d_at_edges = np.cumsum(r[:-1]) / n_r - np.cumsum(c[:-1]) / n_c
    # At e_0 only the underflow counts; interior bin j spans [e_(j-1), e_j].
    widths = np.diff(e)
    interior = float(np.sum(widths * _abs_integral(d_at_edges[:-1], d_at_edges[1:])))
    below = abs(reference_tails[0] / n_r - current_tails[0] / n_c)
    above = abs(reference_tails[1] / n_r - current_tails[1] / n_c)
    return float(interior + below + above)


def chi_square(reference: ArrayLike, current: ArrayLike) -> tuple[float, float]:
    """Pearson's chi-square statistic and p-value of ``current`` against ``reference``.

    >>> stat, p = chi_square([500, 500], [60, 40])
    >>> round(stat, 4), round(p, 4)
    (4.0, 0.0455)
    """
    r = np.asarray(reference, dtype=np.float64) + CHI_SQUARE_PSEUDO_COUNT
    c = np.asarray(current, dtype=np.float64)
    expected = r / r.sum() * c.sum()
    statistic = float(np.sum((c - expected) ** 2 / expected))
    dof = max(int(c.shape[0]) - 1, 1)
    return statistic, chi_square_sf(dof, statistic)


def chi_square_sf(dof: int, x: float) -> float:
    """P(X > x) for X chi-square distributed with a whole number ``dof`` of degrees of
    freedom: the number ``scipy.special.chdtrc`` gives, to about 1e-13 relative, without
    importing scipy into the streaming monitor.

    With y = x/2 and m = dof // 2, from the series of the regularized upper incomplete gamma
    function at a whole or half-whole order (every term positive, summed in log space so
    that a large ``x`` does not underflow the first terms):

    - even dof: e^-y · Σ_{i<m} y^i / i!
    - odd dof: erfc(√y) + e^-y · Σ_{1≤i≤m} y^(i-1/2) / Γ(i+1/2)

    >>> round(chi_square_sf(1, 4.0), 6), round(chi_square_sf(2, 4.0), 6)
    (0.0455, 0.135335)
    """
    if math.isnan(x):
        return math.nan
    if math.isinf(x):
        return 0.0
    y = x / 2
    if y <= 0:  # also a subnormal x, whose half is 0
        return 1.0
    log_y = math.log(y)
    m = dof // 2
    if dof % 2 == 0:
        return math.fsum(math.exp(i * log_y - y - math.lgamma(i + 1)) for i in range(m))
    tail = math.fsum(
        math.exp((i - 0.5) * log_y - y - math.lgamma(i + 0.5)) for i in range(1, m + 1)
    )
    return math.erfc(math.sqrt(y)) + tail


def make_score(method: str, value: float, threshold: float | None = None) -> Score:
    """Wrap a window value of ``method`` into a ``Score``, with the method's default threshold
    unless one is given (``methods.WINDOW_METHODS``).

    >>> make_score("chi_square", 0.01)
    Score(method='chi_square', value=0.01, threshold=0.05, drift_detected=True, p_value=0.01)
    """
    # methods.py builds its table from this module's functions, so it is imported here.
    from stream_monitor.detectors.methods import WINDOW_METHODS

    return WINDOW_METHODS[method].score(value, threshold)
