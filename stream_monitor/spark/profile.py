"""``profile --engine spark``: a reference profile counted on Spark, in two passes.

Without ``--bins-from``, the first pass places the numeric bin edges: each partition reports
its exact row, null and infinity counts and finite minimum and maximum (``_NumericScan``)
and a seeded uniform sample of at most ``quantile_sample`` rows (``PrioritySample``); the
driver merges them exactly and places the edges from the merged sample with the Polars
engine's own ``edges_from_sample``. The sample is not the Polars engine's (that one is drawn
by row position in file order), so the interior edges differ slightly; the end edges, the
exact minimum and maximum, do not. With ``--bins-from``, the edges are that profile's.

The second pass counts, over the edges: each partition counts its rows with the Polars
engine's own per-batch states (``_NumericScan``, ``NumericSketch``, ``_CategoryCounts``) and
the driver merges them, so the counts, null, NaN and infinity counts, minimum, maximum and
categories equal those of the Polars engine over the same edges, exactly. The mean and
standard deviation are sums of doubles, added per partition: they agree to rounding.

Then, as on the Polars engine, the seasonal counts (``spark.seasonal``, one more pass, when
the settings ask for them) and the PCA reconstruction (``spark.multivariate``, one more pass
drawing the rows it is fitted on).
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

import numpy as np
import polars as pl
from numpy.typing import NDArray

from stream_monitor import __version__
from stream_monitor.config import ProfileSettings
from stream_monitor.detectors.histogram import NumericSketch
from stream_monitor.errors import ColumnError, DataFileError
from stream_monitor.profile.build import (
    _categorical,
    _CategoryCounts,
    _check_names,
    _left_out,
    _numeric,
    _NumericScan,
    _Plan,
    _plan,
    edges_from_sample,
    fixed_bins,
)
from stream_monitor.profile.model import (
    PROFILE_FORMAT_VERSION,
    ColumnProfile,
    Profile,
    ProfileMetadata,
)
from stream_monitor.roles import TEXT_DATE_SAMPLE, _text_dates, is_identifier
from stream_monitor.spark._frames import map_partitions, polars_schema
from stream_monitor.spark.multivariate import with_reconstruction
from stream_monitor.spark.sample import (
    PrioritySample,
    complete_sample,
    partition_sample,
    priority_bound,
)
from stream_monitor.spark.seasonal import with_seasons

if TYPE_CHECKING:
    from pyspark.sql import DataFrame

__all__ = ["profile_spark"]

_Edges = dict[str, tuple[NDArray[np.float64], NDArray[np.int64]]]


def profile_spark(
    frame: DataFrame, settings: ProfileSettings, *, source: str, bins_from: Profile | None
) -> Profile:
    """The profile of ``frame``: numeric bins placed from the data, or those of ``bins_from``."""
    from pyspark.sql import functions as sf

    schema = polars_schema(frame)
    _check_names(schema, settings, source)
    named = {settings.target, settings.prediction, *settings.exclude, *settings.kinds}
    roles = _roles(frame, schema, source, skip={n for n in named if n is not None})
    binary = set()
    for name in (settings.target, settings.prediction):
        if name is not None and name not in settings.kinds and schema[name].is_integer():
            outside = frame.where(~sf.col(f"`{name}`").isin(0, 1)).limit(1).count()
            if outside == 0:
                binary.add(name)
    plans, excluded = _plan(schema, settings, source, roles, binary)
    if not plans:
        raise ColumnError(f"{source}: no column left to profile")
    numeric = [p.name for p in plans if p.kind == "numeric"]
    if bins_from is None:
        probs, quantiles, edges, sampled = _sampled_bins(frame, plans, settings, source, excluded)
        plans = [p for p in plans if p.name not in excluded]
        if not plans:
            raise ColumnError(f"{source}: no column left to profile")
        meta = settings.bins, settings.sketch_bins, settings.quantile_sample, settings.seed
    else:
        probs, quantiles, edges = fixed_bins(bins_from, numeric, source)
        fixed = bins_from.metadata
        meta = fixed.bins, fixed.sketch_bins, fixed.quantile_sample, fixed.seed
        sampled = fixed.quantile_sample_rows
    n_rows, columns = _count(frame, plans, edges, probs, quantiles, settings, source, excluded)
    bins, sketch_bins, quantile_sample, seed = meta
    metadata = ProfileMetadata(
        format_version=PROFILE_FORMAT_VERSION,
        created_at=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        source=source,
        row_count=n_rows,
        bins=bins,
        sketch_bins=sketch_bins,
        top_k=settings.top_k,
        quantile_sample=quantile_sample,
        quantile_sample_rows=sampled,
        seed=seed,
        stream_monitor_version=__version__,
        excluded=excluded,
    )
    profile = with_seasons(frame, Profile(columns=tuple(columns), metadata=metadata), settings)
    return with_reconstruction(frame, profile, settings)


def _sampled_bins(
    frame: DataFrame,
    plans: list[_Plan],
    settings: ProfileSettings,
    source: str,
    excluded: dict[str, str],
) -> tuple[NDArray[np.float64], dict[str, NDArray[np.float64]], _Edges, int]:
    """The first pass: the probabilities, quantiles and bins of the numeric columns, and the
    rows sampled. Numeric columns without a finite value are left out (into ``excluded``)."""
    numeric = [p for p in plans if p.kind == "numeric"]
    probs = np.arange(settings.sketch_bins + 1) / settings.sketch_bins
    if not numeric:
        return probs, {}, {}, 0
    size, seed = settings.quantile_sample, settings.seed
    names = [p.name for p in numeric]
    # Known up front (from Parquet metadata, or a scan), so that partitions send only their
    # rows under a common priority bound: about ``size`` rows in all, not ``size`` each.
    expected = int(frame.count())
    bound = priority_bound(expected, size)

    def select(data: pl.DataFrame) -> pl.DataFrame:
        return data.select(p.expr() for p in numeric)

    def scan(data: pl.DataFrame) -> tuple[list[_NumericScan], PrioritySample]:
        values = select(data)
        scans = []
        for series in values.iter_columns():
            state = _NumericScan(0)
            state.update(series, slice(0, 0), np.empty(0, dtype=np.int64))
            scans.append(state)
        return scans, partition_sample(values, size=size, seed=seed, bound=bound)

    parts = map_partitions(frame, scan, names)
    scans = parts[0][0]
    for others, _ in parts[1:]:
        for into, other in zip(scans, others, strict=True):
            into.merge(other)
    if scans[0].rows != expected:
        raise DataFileError(
            f"{source}: read {scans[0].rows} rows, expected {expected}; did it change?"
        )
    if scans[0].rows == 0:
        raise DataFileError(f"{source}: no rows to profile")
    sample = PrioritySample.union([part for _, part in parts])
    sample = complete_sample(sample, frame, select, names, seed=seed, rows=expected)
    quantiles: dict[str, NDArray[np.float64]] = {}
    edges: _Edges = {}
    for i, (plan, state) in enumerate(zip(numeric, scans, strict=True)):
        if not state.has_finite:
            _left_out(plan.name, plan.role, "has no finite value", source, excluded)
            continue
        quantiles[plan.name], edges[plan.name] = edges_from_sample(
            sample.values[:, i], state.min, state.max, probs=probs, bins=settings.bins
        )
    return probs, quantiles, edges, sample.count


def _count(
    frame: DataFrame,
    plans: list[_Plan],
    edges: _Edges,
    probs: NDArray[np.float64],
    quantiles: dict[str, NDArray[np.float64]],
    settings: ProfileSettings,
    source: str,
    excluded: dict[str, str],
) -> tuple[int, list[ColumnProfile]]:
    """The second pass: the rows, and the profile of each column over ``edges``."""

    def count(data: pl.DataFrame) -> tuple[int, list[object]]:
        states: list[object] = []
        for plan in plans:
            series = data.select(plan.expr()).to_series()
            if plan.kind == "numeric":
                scan = _NumericScan(0)
                scan.update(series, slice(0, 0), np.empty(0, dtype=np.int64))
                sketch = NumericSketch(edges[plan.name][0])
                sketch.update_many(series.to_numpy())
                states.append((scan, sketch))
            else:
                counter = _CategoryCounts()
                counter.update(series)
                counter._parts = [counter.result()]
                states.append(counter)
        return data.height, states

    parts = map_partitions(frame, count, [p.name for p in plans])
    n_rows = sum(n for n, _ in parts)
    if n_rows == 0:
        raise DataFileError(f"{source}: no rows to profile")
    merged = parts[0][1]
    for _, states in parts[1:]:
        for into, other in zip(merged, states, strict=True):
            if isinstance(into, tuple):
                assert isinstance(other, tuple)
                into[0].merge(other[0])
                into[1].merge(other[1])
            else:
                assert isinstance(into, _CategoryCounts)
                assert isinstance(other, _CategoryCounts)
                into.merge(other)
    by_name = dict(zip([p.name for p in plans], merged, strict=True))
    columns: list[ColumnProfile] = []
    for plan in plans:
        state = by_name[plan.name]
        if isinstance(state, tuple):
            scan, sketch = state
            if not scan.has_finite:
                _left_out(plan.name, plan.role, "has no finite value", source, excluded)
                continue
            column: ColumnProfile = _numeric(
                plan, scan, sketch, edges[plan.name], probs, quantiles[plan.name]
            )
        else:
            assert isinstance(state, _CategoryCounts)
            if state.null_count == n_rows:
                _left_out(plan.name, plan.role, "is entirely null", source, excluded)
                continue
            column = _categorical(plan, state, n_rows, settings.top_k)
        columns.append(column)
    if not columns:
        raise ColumnError(f"{source}: no column left to profile")
    return n_rows, columns


def _roles(frame: DataFrame, schema: pl.Schema, source: str, *, skip: set[str]) -> dict[str, str]:
    """``roles.detect_roles`` on Spark: exact distinct counts, the first text values."""
    from pyspark.sql import functions as sf

    found: dict[str, str] = {}
    ids = []
    for name, dtype in schema.items():
        if name in skip:
            continue
        if isinstance(dtype, pl.Date | pl.Datetime):
            found[name] = f"timestamp: its type is {dtype}"
        elif dtype.is_integer() or dtype == pl.String:
            ids.append(name)
    if ids:
        exprs = [sf.count(sf.col(f"`{n}`")).alias(f"n{i}") for i, n in enumerate(ids)]
        exprs += [sf.countDistinct(sf.col(f"`{n}`")).alias(f"u{i}") for i, n in enumerate(ids)]
        counts = frame.agg(*exprs).first()
        assert counts is not None
        for i, name in enumerate(ids):
            n, u = int(counts[f"n{i}"]), int(counts[f"u{i}"])
            if schema[name] == pl.String:
                head = frame.select(f"`{name}`").dropna().limit(TEXT_DATE_SAMPLE).collect()
                if _text_dates(pl.Series(name, [row[0] for row in head], dtype=pl.String)):
                    found[name] = "timestamp: its values are text dates or datetimes"
                    continue
            if is_identifier(n, u):
                found[name] = f"identifier: {u / n:.1%} of its {n:,} values are distinct"
    return {name: found[name] for name in schema if name in found}
