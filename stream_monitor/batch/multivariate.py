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
  ``check-drift`` reads each of them once for its own score and for this (``SharedReads``):
  the fit takes each reference column's piece (``fit_piece``) as the column is compared.
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
from concurrent.futures import Executor, Future
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, cast

import numpy as np
import polars as pl
from numpy.typing import NDArray

from stream_monitor.batch.current import (
    NumericCurrent,
    OrderStatistic,
    exact_column_sums,
    exact_float,
)
from stream_monitor.batch.drift import ColumnDrift, Data, score_numeric_current
from stream_monitor.batch.settings import DriftSettings
from stream_monitor.config import ProfileSettings
from stream_monitor.detectors.radix import sort_finite
from stream_monitor.io import reading
from stream_monitor.profile.build import reconstruction_from_sample
from stream_monitor.profile.model import Profile
from stream_monitor.profile.multivariate import EXPLAINED, Reconstruction, sampled_rows

if TYPE_CHECKING:
    from stream_monitor.batch.drift import CurrentSketches

__all__ = [
    "SIGMAS",
    "MultivariateDrift",
    "ReconstructionCurrent",
    "SharedReads",
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
#: Shares of the current rows that ``SharedReads.score`` hands the pool: small enough that
#: a worker done with its last comparison takes a fair part of what is left.
_SHARES = 8


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
        frame = reference.frame.select(features).collect()
    rows = sampled_rows(frame.height, ProfileSettings().seed)
    pieces = [fit_piece(frame.get_column(name), rows) for name in features]
    return fit_from_pieces(features, pieces, reference.source)


@dataclass(frozen=True)
class FitPiece:
    """What the fit needs of one reference feature, taken from the column alone: the mean
    and standard deviation of its finite values (NaN when it has none) and its values at
    the sampled rows (``sampled_rows``; null as NaN)."""

    mean: float
    std: float
    sample: NDArray[np.float64]


def fit_piece(series: pl.Series, rows: NDArray[np.int64] | None) -> FitPiece:
    """The fit's piece of one reference feature (``rows``: the sampled rows, None for all)."""
    # One chunk: a mean summed chunk by chunk would depend on how the column was read.
    values = series.cast(pl.Float64, strict=False).rechunk()
    finite = values.filter(values.is_finite())
    mean, std = finite.mean(), finite.std(ddof=0)
    sample = values if rows is None else values.gather(rows)
    return FitPiece(
        math.nan if mean is None else float(cast(float, mean)),
        math.nan if std is None else float(cast(float, std)),
        sample.to_numpy().astype(np.float64, copy=False),
    )


def fit_from_pieces(
    features: Sequence[str], pieces: Sequence[FitPiece], source: str
) -> Reconstruction | None:
    """``fit_reconstruction`` from each feature's piece, in the order of ``features``."""
    mean = np.array([p.mean for p in pieces], dtype=np.float64)
    scale = np.array([p.std for p in pieces], dtype=np.float64)
    varies = [i for i in range(len(features)) if np.isfinite(scale[i]) and scale[i] > 0]
    if len(varies) < 2:
        return None
    names = [features[i] for i in varies]
    # A column at a time (column-major): a contiguous copy each, where stacking them into
    # rows interleaves every value (20 -> 4 ms for 200,000 rows of 20 features).
    values = np.empty((pieces[varies[0]].sample.shape[0], len(varies)), order="F")
    for column, i in enumerate(varies):
        values[:, column] = pieces[i].sample
    return reconstruction_from_sample(
        names, mean[varies], scale[varies], values, source=source, settings=ProfileSettings()
    )


class SharedReads:
    """The numeric features of raw reference data, read once for their column scores and the
    multivariate drift together.

    - The current features are read as one frame (``read_current``, the first task); each
      column's comparison takes its current column from it (``current_column``) and the
      multivariate drift scores its rows.
    - Each column's comparison reads its reference column as before and hands it over
      (``offer``): the fit keeps only its piece (``fit_piece``), so the reference is never
      held whole. A comparison that ends without offering (the column was left out, or
      failed) settles its piece as missing (``settle``).
    - ``score`` waits for every piece, fits and scores; with a piece missing it gives None,
      and ``check_drift``, whose features then differ from those planned, scores them
      again with ``multivariate_drift``.

    The fit and the errors are those of ``fit_reconstruction`` and ``compare_reconstruction``
    on the same features.
    """

    def __init__(self, reference: Data, features: Sequence[str], reference_rows: int) -> None:
        self.source = reference.source
        self.features = tuple(features)
        self._rows = sampled_rows(reference_rows, ProfileSettings().seed)
        self._pieces: dict[str, Future[FitPiece | None]] = {n: Future() for n in features}
        self._current: Future[pl.DataFrame] = Future()

    def read_current(self, current: Data) -> None:
        """Read the current features (the first task: the comparisons wait for them)."""
        try:
            frame = _current_values(current, self.features)
        except BaseException as error:
            self._current.set_exception(error)
            raise
        self._current.set_result(frame)

    def current_column(self, name: str) -> pl.Series:
        """The current column ``name`` (one of ``features``), once read."""
        return self._current.result().get_column(name)

    def offer(self, name: str, series: pl.Series) -> None:
        """The reference column ``name``, as its comparison read it."""
        self._pieces[name].set_result(fit_piece(series, self._rows))

    def settle(self, name: str) -> None:
        """End ``name``'s part: a piece not offered is missing."""
        piece = self._pieces[name]
        if not piece.done():
            piece.set_result(None)

    def score(
        self, settings: DriftSettings, pool: Executor | None = None
    ) -> MultivariateDrift | None:
        """Fit on the pieces and score the current rows (None: a piece is missing, or fewer
        than two features vary).

        The fit waits for the last comparison to start, so the scoring comes at the end of
        the job; with a ``pool``, the rows are scored in ``_SHARES`` shares, each by whichever
        worker gets to it first (this one, if none is free)."""
        pieces = [self._pieces[name].result() for name in self.features]
        if any(piece is None for piece in pieces):
            return None
        fitted = fit_from_pieces(self.features, cast(list[FitPiece], pieces), self.source)
        if fitted is None:
            return None
        frame = self._current.result()
        rows = max(frame.height, 1)
        step = rows if pool is None else -(-rows // _SHARES)
        shares = [frame.slice(start, step) for start in range(0, rows, step)]
        states = [ReconstructionCurrent.of(fitted) for _ in shares]
        # The first share here, the others on the pool: each is counted by whoever gets to
        # it first, a free worker (from the first) or this one (from the last, taking back
        # those not started), which then waits for the ones under way.
        later = [
            pool.submit(state.count, fitted, share)
            for state, share in zip(states[1:], shares[1:], strict=True)
            if pool is not None
        ]
        errors: list[NDArray[np.float64] | None] = [states[0].count(fitted, shares[0])]
        errors += [None] * len(later)
        for i in reversed(range(len(later))):
            if later[i].cancel():
                errors[i + 1] = states[i + 1].count(fitted, shares[i + 1])
        for i, future in enumerate(later):
            if errors[i + 1] is None:
                errors[i + 1] = future.result()
        for state in states[1:]:
            states[0].merge(state)
        ordered, _, _ = sort_finite(np.concatenate([e for e in errors if e is not None]))
        return score_reconstruction(fitted, states[0], lambda rank: float(ordered[rank]), settings)


def feature_values(frame: pl.DataFrame, features: Sequence[str]) -> NDArray[np.float64]:
    """The rows of ``frame``'s ``features`` as floats, one column each (null as NaN)."""
    values = frame.select(pl.col(name).cast(pl.Float64, strict=False) for name in features)
    if values.height == 0:
        return np.empty((0, len(features)))
    return values.to_numpy().astype(np.float64, copy=False).reshape(values.height, len(features))


def _current_values(current: Data, features: Sequence[str]) -> pl.DataFrame:
    """The current data's features (as floats a chunk at a time by ``count``: one float
    array of every row and feature would double the memory the frame takes)."""
    ahead = current.read_ahead(features)
    if ahead is not None:
        return ahead
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
        sums = exact_column_sums(squared, np.isfinite(errors))
        self.squared = [a + b for a, b in zip(self.squared, sums, strict=True)]

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
