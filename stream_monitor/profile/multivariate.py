"""Multivariate drift: how well the reference's principal components rebuild each record.

A change in how features move together (a correlation that flips sign, a new cluster) can
leave every column's own distribution as it was. Following NannyML's data reconstruction
drift, the profile fits PCA on the reference's numeric features, each standardised by the
reference's mean and standard deviation, keeping the fewest components that explain
``EXPLAINED`` of the variance. A record's reconstruction error is the Euclidean distance
between its standardised values and their projection back from those components. Its
reference distribution is profiled like any numeric column, so the stream watches it with
the same windows and sequential channels (type ``multivariate_drift``, feature
``reconstruction_error``), and ``check-drift`` scores it like a feature.

A seasonal profile fits no components: the error of cycling features would cycle too, and
it is not (yet) scored per time slot.

A record missing any of the features has no reconstruction error (its nulls are the data
quality measures' business). ``contributions`` names the features whose residuals grew most
against the reference, to say where to look.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import polars as pl
from numba import njit
from numpy.typing import NDArray

from stream_monitor.profile.model import NumericColumnProfile

#: Share of the standardised variance the kept components explain (NannyML's default).
EXPLAINED = 0.65
#: Rows of the reference the components are fitted on, at most.
FIT_ROWS = 200_000
FEATURE = "reconstruction_error"
#: A contributor's residual grew by at least this share of the largest growth: without it,
#: the two features of a flipped pair came with a third that only noise had moved.
MIN_GROWTH_SHARE = 0.1


@dataclass(frozen=True, eq=False)
class Reconstruction:
    """The fitted components, and the reference distribution of the reconstruction error."""

    features: tuple[str, ...]
    mean: NDArray[np.float64]
    scale: NDArray[np.float64]
    components: NDArray[np.float64]
    #: Each feature's mean squared residual on the reference.
    residual: NDArray[np.float64]
    error: NumericColumnProfile

    def errors(
        self, values: NDArray[np.float64]
    ) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """Each row's reconstruction error (NaN if a feature is missing), and its squared
        residual per feature; ``values`` has one column per feature, in order."""
        return reconstruction_errors(values, self.mean, self.scale, self.components, self._leftover)

    @cached_property
    def _leftover(self) -> NDArray[np.float64]:
        return projector(self.components)

    def contributions(self, squared: NDArray[np.float64], top: int = 3) -> list[str]:
        """The features whose mean squared residual over ``squared``'s rows grew most: at
        most ``top``, each grown by at least ``MIN_GROWTH_SHARE`` of the largest growth."""
        recent = np.nanmean(squared, axis=0) if np.isfinite(squared).any() else self.residual
        growth = recent - self.residual
        order = np.argsort(-growth, kind="stable")[:top]
        floor = MIN_GROWTH_SHARE * float(growth.max(initial=0.0))
        return [self.features[i] for i in order if growth[i] > 0 and growth[i] >= floor]

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Reconstruction):
            return NotImplemented
        return (
            self.features == other.features
            and all(
                np.array_equal(getattr(self, k), getattr(other, k))
                for k in ("mean", "scale", "components", "residual")
            )
            and self.error == other.error
        )

    __hash__ = None  # type: ignore[assignment]


def reconstruction_errors(
    values: NDArray[np.float64],
    mean: NDArray[np.float64],
    scale: NDArray[np.float64],
    components: NDArray[np.float64],
    leftover: NDArray[np.float64] | None = None,
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Reconstruction errors and squared residuals per feature (see ``Reconstruction``);
    ``leftover``, the projector on what the components leave out, if already computed.

    Each row is computed on its own, in one compiled pass: a row's error does not depend on
    the rows batched with it (a BLAS product's does, in the last bits, and a product that
    large wakes BLAS threads, which spin on the other cores long after it returns).
    """
    if leftover is None:
        leftover = projector(components)
    # In any layout: a column-major frame's rows are read in place, not copied first.
    values = np.asarray(values, dtype=np.float64)
    n, d = values.shape
    error = np.empty(n, dtype=np.float64)
    squared = np.empty((n, d), dtype=np.float64)
    _errors_kernel(values, mean, scale, leftover, error, squared, np.empty((2, d)))
    return error, squared


def projector(components: NDArray[np.float64]) -> NDArray[np.float64]:
    """The projector on what the components leave out: ``I - C'C``."""
    leftover: NDArray[np.float64] = np.eye(components.shape[1]) - components.T @ components
    return leftover


@njit(cache=True, nogil=True)
def _errors_kernel(
    values: NDArray[np.float64],
    mean: NDArray[np.float64],
    scale: NDArray[np.float64],
    leftover: NDArray[np.float64],
    error: NDArray[np.float64],
    squared: NDArray[np.float64],
    scratch: NDArray[np.float64],
) -> None:
    """Fill ``error`` and ``squared`` (NaN on a row missing a feature): each row's
    standardised values ``z``, its residual ``z @ leftover``, squared, and their sum's root."""
    n, d = values.shape
    z = scratch[0]
    residual = scratch[1]
    for r in range(n):
        total = 0.0
        for j in range(d):
            z[j] = (values[r, j] - mean[j]) / scale[j]
            total += z[j]
        if not np.isfinite(total):
            error[r] = np.nan
            squared[r, :] = np.nan
            continue
        residual[:] = 0.0
        for i in range(d):
            zi = z[i]
            for j in range(d):
                residual[j] += zi * leftover[i, j]
        sum_squares = 0.0
        for j in range(d):
            s = residual[j] * residual[j]
            squared[r, j] = s
            sum_squares += s
        error[r] = np.sqrt(sum_squares)


def eligible(columns: Sequence[NumericColumnProfile]) -> list[NumericColumnProfile]:
    """The numeric features PCA can use: those that vary."""
    return [c for c in columns if c.role == "feature" and c.std > 0 and np.isfinite(c.std)]


def sample_rows(
    batches: Iterator[pl.DataFrame], names: Sequence[str], n_rows: int, seed: int
) -> NDArray[np.float64]:
    """Up to ``FIT_ROWS`` rows (each kept with the same chance) of the named columns."""
    rng = np.random.default_rng(seed)
    keep = _keep_share(n_rows)
    parts = []
    for frame in batches:
        # The rows are drawn before the columns are stacked (stacking every row of a
        # million-row frame first cost more than the fit), and Polars gathers them.
        values = frame.select(pl.col(n).cast(pl.Float64) for n in names)
        if keep < 1.0:
            values = values[_draw(rng, frame.height, keep)]
        parts.append(values.to_numpy(order="c").reshape(values.height, len(names)))
    return np.vstack(parts) if parts else np.empty((0, len(names)))


def sampled_rows(n_rows: int, seed: int) -> NDArray[np.int64] | None:
    """The rows ``sample_rows`` keeps of ``n_rows`` read in one piece (None: every row), so
    that each column may be sampled on its own."""
    keep = _keep_share(n_rows)
    return _draw(np.random.default_rng(seed), n_rows, keep) if keep < 1.0 else None


def _keep_share(n_rows: int) -> float:
    return min(1.0, FIT_ROWS / max(n_rows, 1))


def _draw(rng: np.random.Generator, n: int, keep: float) -> NDArray[np.int64]:
    return np.flatnonzero(rng.random(n) < keep)


def fit(
    mean: NDArray[np.float64], scale: NDArray[np.float64], values: NDArray[np.float64]
) -> NDArray[np.float64]:
    """The components fitted on the complete rows of ``values``, each standardised by the
    features' ``mean`` and ``scale`` (their standard deviation over every reference row)."""
    values = np.asarray(values, dtype=np.float64)  # in any layout: rows are read in place
    cov, rows = standardised_covariance(values, mean, scale)
    if rows < 2:
        raise ValueError("too few complete rows to fit components")
    values_, vectors = np.linalg.eigh(cov)
    order = np.argsort(values_)[::-1]
    share = np.cumsum(values_[order]) / np.sum(values_)
    k = int(np.searchsorted(share, EXPLAINED) + 1)
    # Fix each component's sign (largest loading positive), so a fit is reproducible.
    components = vectors[:, order[:k]].T
    signs = np.sign(components[np.arange(k), np.argmax(np.abs(components), axis=1)])
    fitted: NDArray[np.float64] = components * signs[:, None]
    return fitted


@njit(cache=True, nogil=True)
def standardised_covariance(
    values: NDArray[np.float64], mean: NDArray[np.float64], scale: NDArray[np.float64]
) -> tuple[NDArray[np.float64], int]:
    """The sample covariance of the standardised rows ``z = (values - mean) / scale`` whose
    every ``z`` is finite (``numpy.cov(z, rowvar=False)`` to rounding), and how many rows
    that is; in two compiled passes over the rows, standardising each as it is read.

    ``numpy.cov`` goes through BLAS, whose threads spin on the other cores: 1.4 s for
    200,000 rows of 20 features on a busy 2-core machine, where this takes 30 ms, and its
    sums do not depend on the BLAS build. Standardising and dropping the incomplete rows
    here, not in numpy first, spares two copies of the rows and 20-150 ms that held up the
    fit while the other workers waited for it."""
    n, d = values.shape
    z = np.empty(d)
    total = np.zeros(d)
    kept = 0
    for r in range(n):
        if _standardise(values, r, mean, scale, z):
            kept += 1
            for j in range(d):
                total[j] += z[j]
    out = np.zeros((d, d))
    if kept < 2:
        return out, kept
    centre = total / kept
    for r in range(n):
        if _standardise(values, r, mean, scale, z):
            for j in range(d):
                z[j] -= centre[j]
            for i in range(d):
                zi = z[i]
                for j in range(d):
                    out[i, j] += zi * z[j]
    scaled: NDArray[np.float64] = out / (kept - 1)
    return scaled, kept


@njit(cache=True, nogil=True, inline="always")
def _standardise(
    values: NDArray[np.float64],
    r: int,
    mean: NDArray[np.float64],
    scale: NDArray[np.float64],
    z: NDArray[np.float64],
) -> bool:
    """Row ``r`` standardised into ``z``; whether every value of it is finite."""
    complete = True
    for j in range(values.shape[1]):
        z[j] = (values[r, j] - mean[j]) / scale[j]
        complete &= np.isfinite(z[j])
    return complete
