"""Multivariate (PCA reconstruction) drift on Spark: the profile's fit, and the current errors.

**The fit** (``profile --engine spark``). The Polars engine fits the components on at most
``FIT_ROWS`` rows of the eligible features (every row of a smaller reference), with
``numpy.cov`` and an eigendecomposition, then profiles those rows' reconstruction errors
(``profile.build.reconstruction_from_rows``). Spark draws the rows as a seeded priority
sample of ``FIT_ROWS`` rows (``spark.sample``: one pass, mergeable exactly) and hands them,
in partition then row order, to that same function on the driver: the same math on the
same rows when the reference has at most ``FIT_ROWS`` rows. A covariance from per-partition
sums of outer products would be cheaper to ship but is not ``numpy.cov``'s arithmetic, and
the errors' quantile edges need every sampled error anyway; the rows are at most
``FIT_ROWS`` × features doubles (16 MB for 10 features), like the Polars engine's.

**The current errors** (``check-drift --engine spark``). Each partition computes its rows'
errors with the profile's own kernel (``Reconstruction.errors``: each row on its own, so
the same bits whatever the partitioning) and counts them into a ``ReconstructionCurrent``;
the driver merges the states exactly. The distribution summary's quantiles are order
statistics of the errors, found as any column's (``spark.drift.order_statistics``) over a
frame that computes the errors again on each pass.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

import numpy as np
import polars as pl

from stream_monitor.batch.current import OrderStatistic
from stream_monitor.batch.multivariate import ReconstructionCurrent, feature_values
from stream_monitor.config import ProfileSettings
from stream_monitor.profile import multivariate
from stream_monitor.profile.build import reconstruction_features, reconstruction_from_rows
from stream_monitor.profile.model import Profile
from stream_monitor.profile.multivariate import FEATURE, Reconstruction
from stream_monitor.spark._frames import map_batches, map_partitions
from stream_monitor.spark.sample import sample_frame

if TYPE_CHECKING:
    from pyspark.sql import DataFrame

__all__ = ["reconstruct", "with_reconstruction"]


def with_reconstruction(frame: DataFrame, profile: Profile, settings: ProfileSettings) -> Profile:
    """``profile`` with the PCA reconstruction the Polars engine would fit (when it has two
    or more numeric features that vary): one more pass, drawing the rows to fit on."""
    columns = reconstruction_features(profile, settings)
    if not columns:
        return profile
    names = [c.name for c in columns]

    def select(data: pl.DataFrame) -> pl.DataFrame:
        return data.select(pl.col(name).cast(pl.Float64) for name in names)

    sample = sample_frame(
        frame,
        select,
        names,
        size=multivariate.FIT_ROWS,
        seed=settings.seed,
        rows=profile.metadata.row_count,
    )
    # In the order the rows were read, as the Polars engine reads a file: a reference of at
    # most FIT_ROWS rows in one file is then the same rows in the same order.
    values = sample.values[np.lexsort((sample.rows, sample.partitions))]
    fitted = reconstruction_from_rows(columns, values, profile, settings)
    return replace(profile, reconstruction=fitted)


def reconstruct(
    frame: DataFrame, fitted: Reconstruction
) -> tuple[ReconstructionCurrent, OrderStatistic]:
    """The reconstruction errors of ``frame``'s rows counted into ``fitted``'s state, and the
    order statistics of the finite errors (``CurrentSketches.reconstruct``)."""
    from stream_monitor.spark.drift import order_statistics, summary_ranks

    features = list(fitted.features)

    def count(data: pl.DataFrame) -> ReconstructionCurrent:
        state = ReconstructionCurrent.of(fitted)
        state.count(fitted, feature_values(data, features))
        return state

    parts = map_partitions(frame, count, features)
    state = parts[0]
    for part in parts[1:]:
        state.merge(part)
    error = state.error
    if not error.n:
        return state, _no_rank

    def errors(data: pl.DataFrame) -> pl.DataFrame:
        values, _ = fitted.errors(feature_values(data, features))
        return pl.DataFrame({FEATURE: values})

    computed = map_batches(frame, errors, features, f"`{FEATURE}` double")
    found = order_statistics(
        computed, {FEATURE: (error.min, error.max, error.n)}, {FEATURE: summary_ranks(error.n)}
    )
    return state, found[FEATURE].__getitem__


def _no_rank(rank: int) -> float:
    raise IndexError(f"no finite reconstruction error, so no rank {rank}")
