"""Building a reference profile from a data file, in two streaming passes.

The first pass reads the numeric columns, a batch at a time. It keeps a seeded uniform sample
of at most ``quantile_sample`` rows (every row when the data is smaller), the exact finite
minimum and maximum, and the null and infinity counts. The quantile edges follow from the
sample, with the exact minimum and maximum as first and last edges. The second pass reads
every profiled column: it counts each numeric value into a ``NumericSketch`` over the edges,
so the counts, mean and standard deviation are exact over all rows (only the placement of the
interior edges comes from the sample), and counts the values of the categorical columns. The
columns of a batch are counted side by side on a small thread pool. Memory holds the sample,
a batch or two, and the distinct categories; never a whole column.

Column kinds come from the Polars schema (numbers are numeric, booleans boolean, strings,
categoricals and enums categorical) unless the settings override them. Identifier and
timestamp columns (``stream_monitor.roles``) are excluded, with the reason in the metadata.
A target, or prediction, of integers that are only 0 and 1 is a class label: it is profiled
as categorical (categories ``"0"`` and ``"1"``), so that every job that reads the profile,
the stream's concept monitor included, treats it as classification; a JSON 0 or 1 decodes
into those categories as it does into any text column.
Columns of any other type, and features with no value at all, are left out with a
``ProfileWarning``; a target or prediction column that cannot be profiled is a
``ColumnError``. ``docs/profile-format.md``
says why the quantiles are sampled and bounds the error.
"""

from __future__ import annotations

import datetime as dt
import os
import warnings
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import polars as pl
from numpy.typing import NDArray

from stream_monitor import __version__
from stream_monitor.config import ProfileSettings
from stream_monitor.detectors.histogram import NumericSketch
from stream_monitor.errors import ColumnError, DataFileError
from stream_monitor.io import count_rows, iter_batches, iter_file_batches, reading, scan_data
from stream_monitor.profile import multivariate, seasonal
from stream_monitor.profile.model import (
    PROFILE_FORMAT_VERSION,
    CategoricalColumnProfile,
    ColumnKind,
    ColumnProfile,
    ColumnRole,
    NumericColumnProfile,
    Profile,
    ProfileMetadata,
)
from stream_monitor.roles import detect_roles

__all__ = [
    "ProfileWarning",
    "build_profile",
    "edges_from_sample",
    "profile_frame",
    "quantile_edges",
    "reconstruction_features",
    "reconstruction_from_rows",
    "reconstruction_from_sample",
    "season_plan",
]

BOOLEAN_CATEGORIES = ("false", "true")

# Threads that count columns side by side: Polars and numpy release the GIL while they work.
_WORKERS = min(8, os.cpu_count() or 1)
EXCLUDED_BY_CONFIG = "excluded by configuration"


class ProfileWarning(UserWarning):
    """A column of the source was left out of the profile without being excluded."""


@dataclass(frozen=True)
class _Plan:
    """A column to profile: its name, kind, role and source type."""

    name: str
    kind: ColumnKind
    role: ColumnRole
    dtype: pl.DataType

    def expr(self) -> pl.Expr:
        """The expression that reads the column in the form its pass needs."""
        column = pl.col(self.name)
        if self.kind == "numeric":
            return column.cast(pl.Float64)
        if self.dtype == pl.Boolean or isinstance(self.dtype, pl.String | pl.Categorical | pl.Enum):
            return column  # counted as is; the distinct values are cast to strings
        return column.cast(pl.String)


def _inferred_kind(dtype: pl.DataType) -> ColumnKind | None:
    if dtype.is_numeric():
        return "numeric"
    if dtype == pl.Boolean:
        return "boolean"
    if isinstance(dtype, pl.String | pl.Categorical | pl.Enum):
        return "categorical"
    return None


def _check_names(schema: pl.Schema, settings: ProfileSettings, source: str) -> None:
    """Every column the settings name must be in the data."""
    named = [(settings.target, "target column"), (settings.prediction, "prediction column")]
    named += [(name, "excluded column") for name in settings.exclude]
    named += [(name, "column in profile.kinds") for name in settings.kinds]
    for name, what in named:
        if name is not None and name not in schema:
            raise ColumnError(f"{source}: {what} {name!r} not found; columns: {', '.join(schema)}")


def _binary_labels(lazy: pl.LazyFrame, schema: pl.Schema, settings: ProfileSettings) -> set[str]:
    """The target and prediction columns of integers that are only 0 and 1 (kinds not set)."""
    names = [
        name
        for name in (settings.target, settings.prediction)
        if name is not None and name not in settings.kinds and schema[name].is_integer()
    ]
    if not names:
        return set()
    values = lazy.select(
        pl.col(name).drop_nulls().is_in([0, 1]).all().alias(name) for name in names
    ).collect()
    return {name for name in names if values.get_column(name).item()}


def _plan(
    schema: pl.Schema,
    settings: ProfileSettings,
    source: str,
    roles: dict[str, str],
    binary: set[str],
) -> tuple[list[_Plan], dict[str, str]]:
    """Decide each column's kind and role; return the plans and the excluded columns.

    ``roles`` holds the identifier and timestamp columns found, with why; ``binary`` the 0/1
    integer target and prediction, profiled as categorical."""
    plans: list[_Plan] = []
    excluded: dict[str, str] = {}
    for name, dtype in schema.items():
        role: ColumnRole = "feature"
        if name == settings.target:
            role = "target"
        elif name == settings.prediction:
            role = "prediction"
        if name in settings.exclude:
            excluded[name] = EXCLUDED_BY_CONFIG
            continue
        if name == settings.timestamp:
            excluded[name] = "timestamp: the event time of the seasonal slots"
            continue
        if name in roles:
            excluded[name] = roles[name]
            continue
        kind = (
            "categorical" if name in binary else settings.kinds.get(name) or _inferred_kind(dtype)
        )
        if dtype == pl.Null:
            _left_out(name, role, "is entirely null", source, excluded)
        elif kind is None:
            _left_out(name, role, f"has type {dtype}, which is not profiled", source, excluded)
        else:
            plans.append(_Plan(name, kind, role, dtype))
    return plans, excluded


def _left_out(name: str, role: ColumnRole, why: str, source: str, excluded: dict[str, str]) -> None:
    """Leave a feature out with a warning; a target or prediction cannot be left out."""
    if role != "feature":
        raise ColumnError(f"{source}: {role} column {name!r} {why}")
    excluded[name] = why
    warnings.warn(
        f"{source}: column {name!r} {why}; left out of the profile "
        "(exclude it in the config to silence this)",
        ProfileWarning,
        stacklevel=2,
    )


class _RowSample:
    """A seeded uniform sample of row positions, without replacement, in file order."""

    def __init__(self, n_rows: int, size: int, seed: int) -> None:
        self.size = min(n_rows, size)
        self._rows: NDArray[np.int64] | None = None
        if self.size < n_rows:
            self._rows = _sample_positions(n_rows, self.size, np.random.default_rng(seed))

    def take(self, offset: int, height: int) -> tuple[slice, NDArray[np.int64] | None]:
        """Return where the batch's sampled rows go in the sample, and their batch positions.

        The positions are None when every row of the batch is sampled.
        """
        if self._rows is None:
            return slice(offset, offset + height), None
        lo, hi = np.searchsorted(self._rows, [offset, offset + height])
        return slice(int(lo), int(hi)), self._rows[lo:hi] - offset


def _sample_positions(n: int, size: int, rng: np.random.Generator) -> NDArray[np.int64]:
    """``size`` distinct positions out of ``range(n)``, uniformly at random, sorted.

    ``rng.choice(n, size, replace=False)`` holds a permutation of all ``n`` positions, so a
    large file with a small sample draws positions with replacement instead, keeps the
    distinct ones and then picks ``size`` of them at random: every set of ``size`` positions
    remains equally likely, in memory proportional to the sample.
    """
    if n <= 4 * size:
        return np.sort(rng.choice(n, size=size, replace=False, shuffle=False))
    rows = _distinct(rng.integers(0, n, size=size + size // 4))
    while rows.shape[0] < size:
        more = rng.integers(0, n, size=size - rows.shape[0] + 64)
        rows = _distinct(np.concatenate([rows, more]))
    if rows.shape[0] > size:
        rows = np.sort(rng.choice(rows, size=size, replace=False, shuffle=False))
    return rows


def _distinct(values: NDArray[np.int64]) -> NDArray[np.int64]:
    """Sorted distinct values (``np.unique`` is many times slower on a million integers)."""
    values = np.sort(values)
    keep = np.empty(values.shape[0], dtype=bool)
    keep[:1] = True
    np.not_equal(values[1:], values[:-1], out=keep[1:])
    return values[keep]


class _NumericScan:
    """First-pass state of a numeric column: its sample, finite range, nulls and infinities."""

    def __init__(self, sample_size: int) -> None:
        self.sample = np.empty(sample_size, dtype=np.float64)
        self.min = np.inf
        self.max = -np.inf
        self.rows = 0
        self.null_count = 0
        self.pos_inf_count = 0
        self.neg_inf_count = 0

    def update(self, series: pl.Series, into: slice, positions: NDArray[np.int64] | None) -> None:
        self.rows += series.len()
        self.null_count += series.null_count()
        values = series.to_numpy()  # float64; nulls become NaN
        self.sample[into] = values if positions is None else values[positions]
        if not values.size:
            return
        # fmin/fmax skip NaN; only a batch holding an infinity needs the slower masked pass.
        lo, hi = float(np.fmin.reduce(values)), float(np.fmax.reduce(values))
        if np.isinf(lo) or np.isinf(hi):
            self.pos_inf_count += int(np.count_nonzero(values == np.inf))
            self.neg_inf_count += int(np.count_nonzero(values == -np.inf))
            finite = values[np.isfinite(values)]
            if not finite.size:
                return
            lo, hi = float(finite.min()), float(finite.max())
        if not np.isnan(lo):
            self.min = min(self.min, lo)
            self.max = max(self.max, hi)

    def merge(self, other: _NumericScan) -> None:
        """Add the counts and range of ``other`` (the sample is not merged)."""
        self.rows += other.rows
        self.null_count += other.null_count
        self.pos_inf_count += other.pos_inf_count
        self.neg_inf_count += other.neg_inf_count
        self.min = min(self.min, other.min)
        self.max = max(self.max, other.max)

    @property
    def has_finite(self) -> bool:
        return bool(self.min <= self.max)


class _CategoryCounts:
    """First-pass state of a categorical column: value counts, merged as batches arrive."""

    _MERGE_EVERY = 16

    def __init__(self) -> None:
        self.null_count = 0
        self._parts: list[pl.DataFrame] = []

    def update(self, series: pl.Series) -> None:
        self.null_count += series.null_count()
        counts = series.rename("value").drop_nulls().value_counts(name="n")
        self._parts.append(
            counts.select(pl.col("value").cast(pl.String), pl.col("n").cast(pl.Int64))
        )
        if len(self._parts) >= self._MERGE_EVERY:
            self._parts = [self.result()]

    def merge(self, other: _CategoryCounts) -> None:
        """Add the counts of ``other``."""
        self.null_count += other.null_count
        self._parts.append(other.result())

    def result(self) -> pl.DataFrame:
        """The counts so far: columns ``value`` (distinct) and ``n``."""
        if not self._parts:
            return pl.DataFrame(schema={"value": pl.String, "n": pl.Int64})
        return pl.concat(self._parts).group_by("value").agg(pl.col("n").sum())


def edges_from_sample(
    sample: NDArray[np.float64],
    minimum: float,
    maximum: float,
    *,
    probs: NDArray[np.float64],
    bins: int,
) -> tuple[NDArray[np.float64], tuple[NDArray[np.float64], NDArray[np.int64]]]:
    """The quantiles at ``probs`` and the bins (``quantile_edges``) of a numeric column.

    ``sample`` holds the column's values in a uniform sample of rows (NaN, null as NaN, and
    infinities are skipped); ``minimum`` and ``maximum`` are its exact finite extremes, which
    become the first and last quantiles. Every engine places its edges here, whatever the way
    it drew the sample.

    >>> sample = np.array([3.0, np.nan, 1.0, 2.0, np.inf])
    >>> quantiles, (edges, _) = edges_from_sample(
    ...     sample, 0.5, 4.0, probs=np.array([0.0, 0.5, 1.0]), bins=2
    ... )
    >>> quantiles
    array([0.5, 2. , 4. ])
    >>> edges
    array([0.5, 2. , 4. ])
    """
    finite = np.sort(sample[np.isfinite(sample)])
    if not finite.size:
        # Finite values so rare that none was sampled: the extremes are the only ones known.
        finite = np.array([minimum, maximum])
    quantiles = np.quantile(finite, probs)
    quantiles[0], quantiles[-1] = minimum, maximum
    return quantiles, quantile_edges(quantiles, bins)


def quantile_edges(
    quantiles: NDArray[np.float64], bins: int
) -> tuple[NDArray[np.float64], NDArray[np.int64]]:
    """Return the fine edges of a quantile grid and the map from fine bins to score bins.

    ``quantiles`` holds the quantiles at ``i / sketch_bins`` for ``i = 0..sketch_bins``;
    ``bins`` (which divides ``sketch_bins``) is the number of score bins, whose edges are every
    ``sketch_bins / bins``-th quantile. Ties collapse; a constant column gets one bin.

    Examples
    --------
    >>> edges, score_of = quantile_edges(np.array([0.0, 1.0, 1.0, 2.0, 3.0]), bins=2)
    >>> edges
    array([0., 1., 2., 3.])
    >>> score_of  # underflow; [0, 1) in score bin 1; [1, 2) and [2, 3] in score bin 2; overflow
    array([0, 1, 2, 2, 3])
    >>> quantile_edges(np.array([5.0, 5.0, 5.0]), bins=1)[0]
    array([5., 5.])
    """
    step = (quantiles.shape[0] - 1) // bins
    edges = _strict_edges(quantiles)
    score_edges = _strict_edges(quantiles[::step])
    # Each fine bin lies inside one score bin: the one its lower edge falls in.
    inner = np.searchsorted(score_edges, edges[:-1], side="right")
    score_of = np.concatenate([[0], inner, [score_edges.shape[0]]]).astype(np.int64)
    return edges, score_of


def _strict_edges(values: NDArray[np.float64]) -> NDArray[np.float64]:
    """Sorted distinct values; a single value ``v`` becomes the one-bin ``[v, next double]``."""
    edges = np.unique(values)
    if edges.shape[0] == 1:
        v = float(edges[0])
        above = np.nextafter(v, np.inf)
        edges = np.array([v, above] if np.isfinite(above) else [np.nextafter(v, -np.inf), v])
    return edges


# Reads the given columns in batches; the names are categorical columns (a hint for Parquet).
_Batches = Callable[[list[pl.Expr], list[str]], Iterator[pl.DataFrame]]


def build_profile(
    path: str | Path, settings: ProfileSettings | None = None, *, bins_from: Profile | None = None
) -> Profile:
    """Profile the CSV, Parquet or NDJSON file at ``path``; with ``bins_from``, over the bin
    edges of that profile's numeric columns instead of quantiles of this data."""
    frame = scan_data(path, parse_dates=True)

    def batches(exprs: list[pl.Expr], categorical: list[str]) -> Iterator[pl.DataFrame]:
        return iter_file_batches(path, exprs, categorical=categorical, parse_dates=True)

    profile = _profile(frame, settings, source=str(path), batches=batches, bins_from=bins_from)
    return _with_reconstruction(_with_seasons(profile, settings, batches), settings, batches)


def profile_frame(
    frame: pl.LazyFrame | pl.DataFrame,
    settings: ProfileSettings | None = None,
    *,
    source: str = "<frame>",
) -> Profile:
    """Profile a Polars frame; ``source`` names it in errors and in the metadata."""
    lazy = frame.lazy()

    def batches(exprs: list[pl.Expr], _: list[str]) -> Iterator[pl.DataFrame]:
        return iter_batches(lazy, exprs, source=source)

    profile = _profile(lazy, settings, source=source, batches=batches)
    return _with_reconstruction(_with_seasons(profile, settings, batches), settings, batches)


def _with_reconstruction(
    profile: Profile, settings: ProfileSettings | None, batches: _Batches
) -> Profile:
    """The profile with the PCA reconstruction of its numeric features (when it has two or
    more that vary): one more pass, over a sample of rows."""
    settings = settings or ProfileSettings()
    columns = reconstruction_features(profile, settings)
    if not columns:
        return profile
    names = [c.name for c in columns]
    meta = profile.metadata
    with reading(meta.source):
        values = multivariate.sample_rows(
            batches([pl.col(n) for n in names], []), names, meta.row_count, settings.seed
        )
    return replace(
        profile, reconstruction=reconstruction_from_rows(columns, values, profile, settings)
    )


def reconstruction_features(
    profile: Profile, settings: ProfileSettings
) -> list[NumericColumnProfile]:
    """The numeric features of ``profile`` its PCA reconstruction is fitted on; none when the
    settings turn it off, fewer than two vary, or the profile is seasonal (the error of
    cycling features cycles too, and is not scored per slot)."""
    numeric = [c for c in profile.columns if isinstance(c, NumericColumnProfile)]
    columns = multivariate.eligible(numeric)
    if not settings.multivariate or len(columns) < 2 or profile.seasonality is not None:
        return []
    return columns


def reconstruction_from_rows(
    columns: Sequence[NumericColumnProfile],
    values: NDArray[np.float64],
    profile: Profile,
    settings: ProfileSettings,
) -> multivariate.Reconstruction | None:
    """The reconstruction fitted on ``values`` (sampled rows, one column per feature of
    ``columns``), with the profile of those rows' errors; None when too few rows are
    complete. Every engine fits here, whatever the way it drew the rows."""
    return reconstruction_from_sample(
        [c.name for c in columns],
        np.array([c.mean for c in columns]),
        np.array([c.std for c in columns]),
        values,
        source=profile.metadata.source,
        settings=settings,
    )


def reconstruction_from_sample(
    names: Sequence[str],
    mean: NDArray[np.float64],
    scale: NDArray[np.float64],
    values: NDArray[np.float64],
    *,
    source: str,
    settings: ProfileSettings,
) -> multivariate.Reconstruction | None:
    """The reconstruction of the features ``names`` (their means and standard deviations
    over every reference row) fitted on the sampled rows ``values``, with the profile of
    those rows' errors; None when too few rows are complete."""
    try:
        components = multivariate.fit(mean, scale, values)
    except ValueError:
        return None
    errors, squared = multivariate.reconstruction_errors(values, mean, scale, components)
    error_settings = ProfileSettings(
        bins=settings.bins, sketch_bins=settings.sketch_bins, multivariate=False
    )
    error_profile = profile_frame(
        pl.DataFrame({multivariate.FEATURE: errors}).with_columns(pl.all().fill_nan(None)),
        error_settings,
        source=f"{source} (reconstruction errors)",
    ).column(multivariate.FEATURE)
    assert isinstance(error_profile, NumericColumnProfile)
    return multivariate.Reconstruction(
        tuple(names), mean, scale, components, np.nanmean(squared, axis=0), error_profile
    )


_Binners = dict[str, tuple[int, Callable[[pl.DataFrame], NDArray[np.int64]]]]


def _with_seasons(profile: Profile, settings: ProfileSettings | None, batches: _Batches) -> Profile:
    """The profile with per-slot counts, if the settings ask for a seasonality: one more
    pass, counting each value into the bins the profile just fixed."""
    plan = season_plan(profile, settings)
    if plan is None:
        return profile
    period, timestamp, binners = plan
    exprs = [pl.col(n) for n in dict.fromkeys([timestamp, *profile.names])]
    source = profile.metadata.source
    with reading(source):
        try:
            season = seasonal.build(period, timestamp, batches(exprs, []), binners)
        except ValueError as error:
            raise ColumnError(f"{source}: {error}") from error
    return replace(profile, seasonality=season)


def season_plan(
    profile: Profile, settings: ProfileSettings | None
) -> tuple[str, str, _Binners] | None:
    """The period, timestamp column and per-column binning functions of the seasonal counts
    the settings ask for (None when they ask for none); every engine counts with these."""
    if settings is None or settings.seasonality is None or settings.timestamp is None:
        return None
    from stream_monitor.engine.dataset import category_codes

    binners: _Binners = {}
    for column in profile.columns:
        if isinstance(column, NumericColumnProfile):

            def numeric(frame: pl.DataFrame, c: NumericColumnProfile = column) -> NDArray[np.int64]:
                values = frame.get_column(c.name).cast(pl.Float64).to_numpy()
                bins = np.empty(values.shape[0], dtype=np.int64)
                NumericSketch(c.edges).update_many(values, bins_out=bins)
                return bins

            binners[column.name] = (column.counts.shape[0], numeric)
        else:

            def categorical(
                frame: pl.DataFrame, c: CategoricalColumnProfile = column
            ) -> NDArray[np.int64]:
                return category_codes(frame, c)

            binners[column.name] = (column.counts.shape[0], categorical)
    if settings.timestamp not in profile.metadata.excluded:
        source = profile.metadata.source
        raise ColumnError(f"{source}: timestamp column {settings.timestamp!r} not found")
    return settings.seasonality, settings.timestamp, binners


def fixed_bins(
    bins_from: Profile, names: list[str], source: str
) -> tuple[
    NDArray[np.float64],
    dict[str, NDArray[np.float64]],
    dict[str, tuple[NDArray[np.float64], NDArray[np.int64]]],
]:
    """The quantile probabilities, quantiles and bins of the numeric columns ``names`` as
    ``bins_from`` holds them (``profile --bins-from``)."""
    quantiles: dict[str, NDArray[np.float64]] = {}
    edges: dict[str, tuple[NDArray[np.float64], NDArray[np.int64]]] = {}
    probs: NDArray[np.float64] | None = None
    for name in names:
        if name not in bins_from.names:
            raise ColumnError(
                f"{source}: numeric column {name!r} is not in the --bins-from profile "
                f"{bins_from.metadata.source}"
            )
        column = bins_from.column(name)
        if not isinstance(column, NumericColumnProfile):
            raise ColumnError(
                f"{source}: column {name!r} is numeric, but {column.kind} in the --bins-from "
                f"profile {bins_from.metadata.source}"
            )
        probs = np.array(column.quantile_probs)
        quantiles[name] = np.array(column.quantiles)
        edges[name] = (np.array(column.edges), np.array(column.score_bin_of_fine))
    if probs is None:
        probs = np.arange(bins_from.metadata.sketch_bins + 1) / bins_from.metadata.sketch_bins
    return probs, quantiles, edges


def _profile(
    lazy: pl.LazyFrame,
    settings: ProfileSettings | None,
    *,
    source: str,
    batches: _Batches,
    bins_from: Profile | None = None,
) -> Profile:
    settings = settings or ProfileSettings()
    with reading(source):
        schema = lazy.collect_schema()
    _check_names(schema, settings, source)
    named = {settings.target, settings.prediction, *settings.exclude, *settings.kinds}
    roles = detect_roles(lazy, source=source, skip={n for n in named if n is not None})
    with reading(source):
        binary = _binary_labels(lazy, schema, settings)
    plans, excluded = _plan(schema, settings, source, roles, binary)
    if not plans:
        raise ColumnError(f"{source}: no column left to profile")
    n_rows = count_rows(lazy, source=source)
    if n_rows == 0:
        raise DataFileError(f"{source}: no rows to profile")

    sample = _RowSample(n_rows, settings.quantile_sample, settings.seed)
    probs = np.arange(settings.sketch_bins + 1) / settings.sketch_bins
    with ThreadPoolExecutor(max_workers=_WORKERS) as pool:
        numeric = [p for p in plans if p.kind == "numeric"]
        if numeric:
            # Loading the cached Numba kernel takes a few tenths of a second: do it meanwhile.
            pool.submit(_load_numeric_kernel)
        scans = _first_pass(batches, numeric, sample, n_rows, source)
        for plan in numeric:
            if not scans[plan.name].has_finite:
                _left_out(plan.name, plan.role, "has no finite value", source, excluded)
        plans = [p for p in plans if p.name not in excluded]
        if not plans:
            raise ColumnError(f"{source}: no column left to profile")
        numeric = [p for p in plans if p.kind == "numeric"]
        if bins_from is None:
            grid = list(pool.map(lambda p: _edges(scans[p.name], probs, settings.bins), numeric))
            quantiles = {p.name: q for p, (q, _) in zip(numeric, grid, strict=True)}
            edges = {p.name: e for p, (_, e) in zip(numeric, grid, strict=True)}
        else:
            probs, quantiles, edges = fixed_bins(bins_from, [p.name for p in numeric], source)
        sketches = {name: NumericSketch(e) for name, (e, _) in edges.items()}
        counters = {p.name: _CategoryCounts() for p in plans if p.kind != "numeric"}
        _second_pass(batches, plans, sketches, counters, pool, n_rows, source)
    for plan in plans:
        if plan.name in counters and counters[plan.name].null_count == n_rows:
            _left_out(plan.name, plan.role, "is entirely null", source, excluded)
    plans = [p for p in plans if p.name not in excluded]
    if not plans:
        raise ColumnError(f"{source}: no column left to profile")

    columns: list[ColumnProfile] = [
        _numeric(
            plan,
            scans[plan.name],
            sketches[plan.name],
            edges[plan.name],
            probs,
            quantiles[plan.name],
        )
        if plan.kind == "numeric"
        else _categorical(plan, counters[plan.name], n_rows, settings.top_k)
        for plan in plans
    ]
    metadata = ProfileMetadata(
        format_version=PROFILE_FORMAT_VERSION,
        created_at=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        source=source,
        row_count=n_rows,
        bins=settings.bins,
        sketch_bins=settings.sketch_bins,
        top_k=settings.top_k,
        quantile_sample=settings.quantile_sample,
        quantile_sample_rows=sample.size,
        seed=settings.seed,
        stream_monitor_version=__version__,
        excluded=excluded,
    )
    return Profile(columns=tuple(columns), metadata=metadata)


def _edges(
    scan: _NumericScan, probs: NDArray[np.float64], bins: int
) -> tuple[NDArray[np.float64], tuple[NDArray[np.float64], NDArray[np.int64]]]:
    return edges_from_sample(scan.sample, scan.min, scan.max, probs=probs, bins=bins)


def _first_pass(
    batches: _Batches, plans: list[_Plan], sample: _RowSample, n_rows: int, source: str
) -> dict[str, _NumericScan]:
    """Read the numeric columns once: their samples, finite ranges, nulls and infinities."""
    scans = {p.name: _NumericScan(sample.size) for p in plans}
    if not plans:
        return scans
    seen = 0
    for batch in batches([p.expr() for p in plans], []):
        into, positions = sample.take(seen, batch.height)
        for name, scan in scans.items():
            scan.update(batch[name], into, positions)
        seen += batch.height
    _check_rows(seen, n_rows, source)
    return scans


def _second_pass(
    batches: _Batches,
    plans: list[_Plan],
    sketches: dict[str, NumericSketch],
    counters: dict[str, _CategoryCounts],
    pool: ThreadPoolExecutor,
    n_rows: int,
    source: str,
) -> None:
    """Count every numeric value into its column's sketch, and every category.

    The columns of a batch are counted on the pool's threads; a column's next batch waits
    for its current one, so each sketch and counter is only ever updated by one thread.
    """
    columns = [p.expr() for p in plans if p.name in sketches or p.name in counters]
    seen = 0
    for batch in batches(columns, list(counters)):
        tasks = [
            pool.submit(sketch.update_many, batch[n].to_numpy()) for n, sketch in sketches.items()
        ]
        tasks += [pool.submit(counter.update, batch[n]) for n, counter in counters.items()]
        for task in tasks:
            task.result()
        seen += batch.height
    _check_rows(seen, n_rows, source)


def _load_numeric_kernel() -> None:
    NumericSketch([0.0, 1.0]).update_many(np.zeros(1))


def _check_rows(seen: int, expected: int, source: str) -> None:
    if seen != expected:
        raise DataFileError(f"{source}: read {seen} rows, expected {expected}; did it change?")


def _numeric(
    plan: _Plan,
    scan: _NumericScan,
    sketch: NumericSketch,
    edges: tuple[NDArray[np.float64], NDArray[np.int64]],
    probs: NDArray[np.float64],
    quantiles: NDArray[np.float64],
) -> NumericColumnProfile:
    """The profile of a numeric column from its two passes."""
    n_rows = scan.rows
    not_finite = scan.null_count + scan.pos_inf_count + scan.neg_inf_count
    return NumericColumnProfile(
        name=plan.name,
        role=plan.role,
        dtype=str(plan.dtype),
        count=n_rows,
        null_count=scan.null_count,
        nan_count=n_rows - sketch.n - not_finite,
        pos_inf_count=scan.pos_inf_count,
        neg_inf_count=scan.neg_inf_count,
        min=scan.min,
        max=scan.max,
        mean=sketch.mean,
        std=sketch.std,
        edges=edges[0],
        counts=sketch.counts,
        quantile_probs=probs,
        quantiles=quantiles,
        score_bin_of_fine=edges[1],
    )


def _categorical(
    plan: _Plan, counter: _CategoryCounts, n_rows: int, top_k: int
) -> CategoricalColumnProfile:
    """The top-``top_k`` categories by count, ties broken by the category string."""
    counts = counter.result()
    if plan.kind == "boolean":
        by_value = dict(zip(counts["value"].to_list(), counts["n"].to_list(), strict=True))
        categories = BOOLEAN_CATEGORIES
        category_counts = np.array([by_value.get(c, 0) for c in categories], dtype=np.int64)
    else:
        top = counts.sort(["n", "value"], descending=[True, False]).head(top_k)
        categories = tuple(top["value"].to_list())
        category_counts = top["n"].to_numpy().astype(np.int64)
    non_null = int(counts["n"].sum())
    return CategoricalColumnProfile(
        name=plan.name,
        role=plan.role,
        kind="boolean" if plan.kind == "boolean" else "categorical",
        dtype=str(plan.dtype),
        count=n_rows,
        null_count=counter.null_count,
        n_distinct=counts.height,
        categories=categories,
        category_counts=category_counts,
        other_count=non_null - int(category_counts.sum()),
    )
