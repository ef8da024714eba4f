"""Multivariate drift in ``check-drift``: NannyML's data reconstruction drift.

A change in how the features move together (a correlation that flips sign) can leave every
feature's own distribution as it was, so no per-feature score sees it. The reference's
numeric features are fitted with PCA (``stream_monitor.profile.multivariate``: standardised by
the reference, the fewest components that explain 65 % of the variance), and each current
row's *reconstruction error*, the distance between its standardised values and their
projection back from those components, is compared with the reference's errors.

- With a profile as the reference, its ``reconstruction`` is used as stored. With raw
  reference data, the numeric features ``check-drift`` compared are fitted as the
  ``profile`` command would fit them (``fit_reconstruction``), from the same sample of rows.
- **Mean** (NannyML's verdict): the current mean error is held to the band
  ``reference mean ± 3 · sd / sqrt(n)``, with ``sd`` the reference errors' standard deviation
  and ``n`` the current rows with every feature (the standard error of the mean of a chunk of
  the current's size, as NannyML's sampling error). The band leaves out the uncertainty of the
  reference mean itself, so when the current is about as large as the reference a stationary
  current falls outside it more often than 3 sd suggests (on the ``stationary`` scenario,
  120k reference rows against chunks of 200k, |z| reached 5.7 in 1 chunk of 24).
- **Distribution**: the current errors are counted into the bins of the reference errors'
  profile and scored like any numeric column scored from a profile (``wasserstein`` on more
  than 1,000 reference rows unless ``numeric_method`` says otherwise), with that method's
  threshold.
- ``drift_detected`` needs both: the mean is significantly off *and* the distance passes the
  threshold, as data quality needs a significant test and a practical effect. The band alone
  flags trivial differences on large chunks (above); the distance alone is not NannyML's.
- ``contributors``: when drift is detected, up to three features whose mean squared residual
  over the current rows grew most against the reference's (``Reconstruction.contributions``,
  as the stream's alerts name them), leaving out those that grew by less than a tenth of the
  largest growth: noise beside the features that broke the pattern.

Multivariate drift does not count toward ``drift_share``; ``--fail-on multivariate`` selects
it. Rows missing any feature have no error and are left out (the features' data quality sees
their nulls).

The current side is a state that merges exactly (``ReconstructionCurrent``: the errors
counted into a ``NumericCurrent`` over the reference errors' bins, and each feature's sum of
squared residuals as an exact integer), so that an engine may compute the errors of its
pieces of the current data apart (``check_drift_sketched``) and get this report to the bit.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import polars as pl
from numpy.typing import NDArray

from stream_monitor.batch.current import NumericCurrent, OrderStatistic, exact_float, exact_sum
from stream_monitor.batch.drift import ColumnDrift, Data, score_numeric_current
from stream_monitor.batch.settings import DriftSettings
from stream_monitor.config import ProfileSettings
from stream_monitor.detectors.radix import sort_finite
from stream_monitor.io import reading
from stream_monitor.profile.build import reconstruction_from_sample
from stream_monitor.profile.model import Profile
from stream_monitor.profile.multivariate import EXPLAINED, Reconstruction, sample_rows

if TYPE_CHECKING:
    from stream_monitor.batch.drift import CurrentSketches

__all__ = [
    "SIGMAS",
    "MultivariateDrift",
    "ReconstructionCurrent",
    "compare_reconstruction",
    "feature_values",
    "fit_reconstruction",
    "multivariate_drift",
    "multivariate_sketched",
    "score_reconstruction",
]

#: Width of the band around the reference mean error, in standard errors (NannyML's 3).
SIGMAS = 3.0
#: Features named in ``contributors``, at most (each grown enough: ``contributions``).
TOP = 3
#: Current rows whose errors are computed at once (a few float64 copies of them are held).
_CHUNK = 65_536


@dataclass(frozen=True)
class MultivariateDrift:
    """The reconstruction error of the current rows against the reference's.

    ``mean_drift_detected`` is NannyML's verdict (``current_mean`` outside
    ``[lower, upper]``), ``distribution`` the error's score on the reference error's bins;
    ``drift_detected`` needs both. ``reference_residuals`` and ``current_residuals`` are each
    feature's mean squared residual.
    """

    features: tuple[str, ...]
    components: int
    explained_variance: float
    reference_rows: int
    current_rows: int
    reference_mean: float
    reference_std: float
    current_mean: float
    standard_error: float
    sigmas: float
    mean_drift_detected: bool
    distribution: ColumnDrift
    reference_residuals: tuple[float, ...]
    current_residuals: tuple[float, ...]
    contributors: tuple[str, ...]

    @property
    def lower(self) -> float:
        """The band's lower end: reference mean minus ``sigmas`` standard errors."""
        return self.reference_mean - self.sigmas * self.standard_error

    @property
    def upper(self) -> float:
        """The band's upper end."""
        return self.reference_mean + self.sigmas * self.standard_error

    @property
    def drift_detected(self) -> bool:
        """Whether the mean left the band and the distribution score passed its threshold."""
        return self.mean_drift_detected and self.distribution.drift_detected


def fit_reconstruction(reference: Data, features: Sequence[str]) -> Reconstruction | None:
    """The reconstruction the ``profile`` command would fit on these numeric features of the
    reference (None with fewer than two that vary): the same sample of rows, standardised
    by each feature's mean and standard deviation over its finite values (these differ from
    a profile's, which are summed a batch at a time, by rounding only: 1e-13)."""
    with reading(reference.source):
        frame = reference.frame.select(
            pl.col(name).cast(pl.Float64, strict=False) for name in features
        ).collect()
    finite = [pl.col(n).filter(pl.col(n).is_finite()) for n in features]
    moments = frame.select(
        *(f.mean().alias(f"mean{i}") for i, f in enumerate(finite)),
        *(f.std(ddof=0).alias(f"std{i}") for i, f in enumerate(finite)),
    ).row(0)
    k = len(features)
    mean = np.array(moments[:k], dtype=np.float64)
    scale = np.array(moments[k:], dtype=np.float64)
    varies = [i for i in range(k) if np.isfinite(scale[i]) and scale[i] > 0]
    if len(varies) < 2:
        return None
    names = [features[i] for i in varies]
    settings = ProfileSettings()
    values = sample_rows(iter([frame]), names, frame.height, settings.seed)
    return reconstruction_from_sample(
        names, mean[varies], scale[varies], values, source=reference.source, settings=settings
    )


def feature_values(frame: pl.DataFrame, features: Sequence[str]) -> NDArray[np.float64]:
    """The rows of ``frame``'s ``features`` as floats, one column each (null as NaN)."""
    values = frame.select(pl.col(name).cast(pl.Float64, strict=False) for name in features)
    if values.height == 0:
        return np.empty((0, len(features)))
    return values.to_numpy().astype(np.float64, copy=False).reshape(values.height, len(features))


def _current_values(current: Data, features: Sequence[str]) -> pl.DataFrame:
    """The current data's features (as floats a chunk at a time by ``count``: one float
    array of every row and feature would double the memory the frame takes)."""
    with reading(current.source):
        return current.frame.select(features).collect()


@dataclass
class ReconstructionCurrent:
    """The current rows' reconstruction errors, as a state that merges exactly.

    ``error`` counts the errors into the reference errors' bins (a row missing a feature
    counts as NaN); ``squared[j]`` is the exact sum (``exact_sum``, in units of 2**-1074) of
    feature ``j``'s squared residual over the rows whose error is finite.
    """

    error: NumericCurrent
    squared: list[int] = field(default_factory=list)

    @classmethod
    def of(cls, fitted: Reconstruction) -> ReconstructionCurrent:
        """An empty state for the current side of ``fitted``."""
        return cls(NumericCurrent.of(fitted.error), [0] * len(fitted.features))

    def update(self, errors: NDArray[np.float64], squared: NDArray[np.float64]) -> None:
        """Count rows: their errors and squared residuals (``Reconstruction.errors``)."""
        self.error.update(errors, 0)
        finite = squared[np.isfinite(errors)]
        for j in range(len(self.squared)):
            self.squared[j] += exact_sum(np.ascontiguousarray(finite[:, j]))

    def merge(self, other: ReconstructionCurrent) -> None:
        """Add ``other``'s rows."""
        self.error.merge(other.error)
        self.squared = [a + b for a, b in zip(self.squared, other.squared, strict=True)]

    def count(
        self, fitted: Reconstruction, values: NDArray[np.float64] | pl.DataFrame
    ) -> NDArray[np.float64]:
        """Count the rows of ``values`` (one column per feature, or a frame holding the
        features, turned into floats a chunk of rows at a time); return their errors."""
        rows = values.height if isinstance(values, pl.DataFrame) else values.shape[0]
        errors = np.empty(rows)
        for start in range(0, rows, _CHUNK):
            if isinstance(values, pl.DataFrame):
                chunk = feature_values(values.slice(start, _CHUNK), fitted.features)
            else:
                chunk = values[start : start + _CHUNK]
            part, squared = fitted.errors(chunk)
            errors[start : start + _CHUNK] = part
            self.update(part, squared)
        return errors


def compare_reconstruction(
    fitted: Reconstruction,
    values: NDArray[np.float64] | pl.DataFrame,
    settings: DriftSettings | None = None,
) -> MultivariateDrift:
    """Score the rows of ``values`` (one column per feature of ``fitted``, in order, or a
    frame holding them).

    >>> from stream_monitor.profile.build import profile_frame
    >>> rng = np.random.default_rng(0)
    >>> a = rng.normal(size=25_000)
    >>> b = 0.8 * a + 0.6 * rng.normal(size=25_000)
    >>> fitted = profile_frame(pl.DataFrame({"a": a[:20_000], "b": b[:20_000]})).reconstruction
    >>> same = compare_reconstruction(fitted, np.column_stack([a, b])[20_000:])
    >>> flipped = compare_reconstruction(fitted, np.column_stack([a, -b])[20_000:])
    >>> same.drift_detected, flipped.drift_detected, sorted(flipped.contributors)
    (False, True, ['a', 'b'])
    >>> print(f"{flipped.reference_mean:.3f} ± {flipped.sigmas * flipped.standard_error:.3f}"
    ...       f" -> {flipped.current_mean:.3f}")
    0.362 ± 0.012 -> 1.063
    """
    state = ReconstructionCurrent.of(fitted)
    errors = state.count(fitted, values)
    ordered, _, _ = sort_finite(errors)
    return score_reconstruction(fitted, state, lambda rank: float(ordered[rank]), settings)


def score_reconstruction(
    fitted: Reconstruction,
    current: ReconstructionCurrent,
    order_statistic: OrderStatistic,
    settings: DriftSettings | None = None,
) -> MultivariateDrift:
    """Score the current rows counted into ``current`` (in any number of pieces, merged);
    ``order_statistic(rank)`` gives the value at that rank among their finite errors."""
    settings = settings or DriftSettings()
    n = current.error.n
    reference = fitted.error
    # From exact sums (the distribution summary's mean): the same however the rows were split.
    current_mean = current.error.mean
    standard_error = reference.std / math.sqrt(n) if n else math.nan
    mean_drifted = bool(n) and abs(current_mean - reference.mean) > SIGMAS * standard_error
    distribution = score_numeric_current(
        reference, current.error, order_statistic, "feature", settings
    )
    assert distribution is not None
    if n:
        # The exact sums over n, correctly rounded.
        current_residuals = np.array([exact_float(total, n) for total in current.squared])
    else:
        current_residuals = np.full(len(fitted.features), np.nan)
    drifted = mean_drifted and distribution.drift_detected
    contributors: list[str] = []
    if drifted:
        # The features' mean squared residuals as one row: the ranking the stream makes.
        contributors = fitted.contributions(current_residuals[None, :], TOP)
    return MultivariateDrift(
        features=fitted.features,
        components=int(fitted.components.shape[0]),
        explained_variance=EXPLAINED,
        reference_rows=reference.finite_count,
        current_rows=n,
        reference_mean=reference.mean,
        reference_std=reference.std,
        current_mean=current_mean,
        standard_error=standard_error,
        sigmas=SIGMAS,
        mean_drift_detected=mean_drifted,
        distribution=distribution,
        reference_residuals=tuple(float(r) for r in fitted.residual),
        current_residuals=tuple(float(r) for r in current_residuals),
        contributors=tuple(contributors),
    )


def _profile_reconstruction(
    profile: Profile, settings: DriftSettings
) -> Reconstruction | str | None:
    """The profile's reconstruction, if it is to be scored; a string says why it is not."""
    fitted = profile.reconstruction
    if not settings.multivariate or fitted is None:
        return None
    excluded = [name for name in fitted.features if name in settings.exclude]
    if excluded:
        return (
            f"no multivariate drift: the profile's reconstruction uses the excluded "
            f"column {excluded[0]!r}"
        )
    return fitted


def multivariate_sketched(
    reference: Profile, current: CurrentSketches, settings: DriftSettings
) -> MultivariateDrift | str | None:
    """``multivariate_drift`` against a profile, of current data read by another engine:
    it counts its pieces' errors into merged states (``CurrentSketches.reconstruct``)."""
    fitted = _profile_reconstruction(reference, settings)
    if not isinstance(fitted, Reconstruction):
        return fitted
    state, order_statistic = current.reconstruct(fitted)
    return score_reconstruction(fitted, state, order_statistic, settings)


def multivariate_drift(
    reference: Data | Profile,
    current: Data,
    numeric_features: Sequence[str],
    settings: DriftSettings,
) -> MultivariateDrift | str | None:
    """The multivariate drift ``check-drift`` reports; a string says why there is none when
    there could have been one; None when it is turned off or there is nothing to fit.

    ``numeric_features`` are the numeric features compared, in the reference's order; with
    raw reference data they are the ones fitted.
    """
    if not settings.multivariate:
        return None
    if isinstance(reference, Profile):
        fitted = _profile_reconstruction(reference, settings)
        if not isinstance(fitted, Reconstruction):
            return fitted
    else:
        if len(numeric_features) < 2:
            return None
        fitted = fit_reconstruction(reference, numeric_features)
        if fitted is None:
            return None
    return compare_reconstruction(fitted, _current_values(current, fitted.features), settings)
