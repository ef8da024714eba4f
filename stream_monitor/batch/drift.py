"""Drift between a reference and a current data set, column by column.

This is what ``stream-monitor check-drift`` computes; ``drift_report`` turns the result into
the JSON report and ``docs/drift-report.md`` describes it. Nothing here writes files: data
comes in as Polars LazyFrames (``Data``), read through ``stream_monitor.io``, or as a
reference ``Profile``.

Two kinds of reference:

- **Raw data** gives exact scores. A numeric column's finite values are sorted once, and one
  compiled merge of the two sorted columns yields the Kolmogorov-Smirnov statistic (equal to
  ``scipy.stats.ks_2samp``'s, with its p-value) and the Wasserstein-1 distance (equal to
  ``scipy.stats.wasserstein_distance``). PSI, Jensen-Shannon and chi-square use Evidently's
  bins: Sturges equal-width bins over both columns when the reference has more than 20
  distinct values, else one bin per distinct value; PSI fills empty bins as Evidently does.
  Hellinger bins by Sturges over the distinct values, as Evidently's does. These statistics
  are pure functions of the two samples, in ``detectors.exact``.
- **A profile** gives scores from its sketches: the current column is counted into the
  profile's bins (``NumericSketch`` / ``CategoricalSketch``) and scored as the stream scores a
  window (``detectors.window``), so the batch report and the stream agree. KS and Wasserstein
  are then binned approximations, and the KS p-value is the asymptotic one of the binned
  statistic.

Null, NaN and infinite values are left out of every score and counted as missing.

**Data quality** is drift too. Beside its distribution, each column gets shares that should
not grow (``DataQuality``): nulls and NaN among its rows, infinities among its rows, finite
values outside the reference's [min, max] (numeric), values of a category the reference never
saw (categorical). Each share is held to the reference's by a one-sided Fisher exact test
(``share_increase_p_value``, threshold 0.001) *and* a least practical effect (at least one
percentage point more, or twice the reference share and a tenth of a point more), so that
sampling noise does not fire on any sample size and trivial changes do not fire on huge ones.
The reference's own share outside its range, or of unseen categories, is taken leave-one-out:
the values that would be outside the range of the others (a unique minimum or maximum), or of
a category seen once (Good-Turing's estimate of the unseen share). A column with no value at
all in the current data always has drifted in quality. The checks and their rule live in
``batch.quality``, which ``monitor-predictions`` uses too.

Choice of method when none is configured, after Evidently's ``get_default_stattest``, with
``n`` the reference's non-missing values and ``k`` the distinct values of both columns:

=================  ==========================================  ===================
column             ``n <= 1000``                               ``n > 1000``
=================  ==========================================  ===================
numeric, k > 5     ``ks`` (p-value < 0.05)                     ``wasserstein`` (> 0.1)
numeric, k <= 5    ``chi_square`` (k > 2) or ``z`` (k <= 2)     ``jensen_shannon`` (> 0.1)
categorical        ``chi_square`` (k > 2) or ``z`` (k <= 2)     ``jensen_shannon`` (> 0.1)
=================  ==========================================  ===================

With a profile, ``k`` of a numeric column is unknown, so numeric columns get ``ks`` or
``wasserstein`` by ``n`` alone.

For a test (``ks``, ``chi_square``, ``z``) the score is its statistic and the verdict is a
p-value below the threshold; for a distance, a score above it.
"""

from __future__ import annotations

import copy
import html
import math
import os
import warnings
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from enum import Enum
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Protocol, cast, runtime_checkable

import numpy as np
import polars as pl
from numpy.typing import ArrayLike, NDArray

from stream_monitor.batch.current import CategoricalCurrent, NumericCurrent, OrderStatistic
from stream_monitor.batch.quality import (
    DataQuality,
    NonFinite,
    QualityCheck,
    categorical_quality,
    left_out_of_range,
    numeric_quality,
    outside,
    profile_categorical_reference,
    profile_numeric_reference,
)
from stream_monitor.batch.settings import (
    CATEGORICAL_METHODS,
    NUMERIC_METHODS,
    DriftSettings,
)
from stream_monitor.batch.windows import Window, row_chunks, time_windows
from stream_monitor.detectors.exact import (
    counts_in,
    ks_2samp_sorted,
    ks_statistic,
    merge_sorted,
    n_distinct,
    share_increase_p_value,
    sturges_edges,
    two_proportion_z,
    wasserstein_sorted,
)
from stream_monitor.detectors.methods import METHODS as SCORE_METHODS
from stream_monitor.detectors.methods import Measure, SortedPair
from stream_monitor.detectors.radix import sort_finite
from stream_monitor.detectors.window import CategoricalReference
from stream_monitor.engine.dataset import numeric_reference, numeric_values
from stream_monitor.errors import ColumnError, ConfigError, DataFileError
from stream_monitor.io import count_rows, reading, write_text_atomic
from stream_monitor.profile.build import EXCLUDED_BY_CONFIG
from stream_monitor.profile.model import (
    CategoricalColumnProfile,
    ColumnProfile,
    ColumnRole,
    NumericColumnProfile,
    Profile,
)
from stream_monitor.roles import check_excluded, detect_roles

if TYPE_CHECKING:
    from stream_monitor.batch.multivariate import (
        MultivariateDrift,
        ReconstructionCurrent,
        SharedReads,
    )
    from stream_monitor.profile.multivariate import Reconstruction
    from stream_monitor.readahead import ReadAhead

__all__ = [
    "CategoricalHistogram",
    "CategoricalSummary",
    "ColumnDrift",
    "ConceptDrift",
    "Data",
    "DataQuality",
    "DriftChunk",
    "DriftResult",
    "DriftWarning",
    "NumericHistogram",
    "NumericSummary",
    "QualityCheck",
    "check_drift",
    "compare_categorical",
    "compare_numeric",
    "default_method",
    "ks_2samp_sorted",
    "share_increase_p_value",
    "sturges_edges",
    "two_proportion_z",
    "wasserstein_sorted",
]

Kind = Literal["numeric", "categorical"]

# The exact statistics live in ``detectors.exact``; their tests still reach them here.
_merge, _ks_statistic, _counts_in = merge_sorted, ks_statistic, counts_in

# Columns compared at once. numpy's sort, Polars and the merge kernel release the GIL; each
# numeric column in flight holds about four float64 copies of itself.
_WORKERS = min(4, os.cpu_count() or 1)


#: Reference sides read for the multivariate drift per comparison submitted between them:
#: the more, the earlier the fit has its pieces (and the scoring of the current rows shares
#: the workers with the last comparisons), the more sorted reference columns wait at once
#: (4: the fit starts about halfway through; 1M + 1M rows x 22, 2 cores, against 2: about
#: 4 % faster at the median of 22 interleaved runs, peak memory +20 MB).
_SIDES_PER_COMPARISON = 4


class _Side(Enum):
    """A task on the pool that is no column's (``SharedReads``)."""

    TASK = 1


#: Set (to anything) to hold every drift report to its JSON Schema before it is written.
SELF_CHECK_ENV = "STREAM_MONITOR_SELF_CHECK"

# Evidently's default method switches at this many reference values.
_SMALL_SAMPLE = 1000
# ... and treats a numeric column with at most this many distinct values as discrete.
_FEW_VALUES = 5
_TOP_SUMMARY = 5
_TOP_HISTOGRAM = 20
_OTHER = "other"
_QUANTILES = (0.05, 0.5, 0.95)
#: Most chunks of ``chunk_by`` / ``chunk_rows``: a timeline a reader can follow, and a report
#: of bounded size.
MAX_CHUNKS = 1000


class DriftWarning(UserWarning):
    """A column was left out of the comparison (no value, or a type that is not compared)."""


@dataclass(frozen=True)
class Data:
    """A data set to compare: a lazy frame and the name it goes by in errors and reports.

    ``columnar`` says that reading one column at a time is cheap (Parquet): columns are then
    read as they are compared (but for the current numeric features the multivariate drift
    needs, which are read together, once: ``SharedReads``). Otherwise the needed columns
    are read once, together.
    """

    frame: pl.LazyFrame
    source: str
    columnar: bool = False
    #: Columns read ahead (``stream_monitor.readahead``), taken instead of read.
    ahead: ReadAhead | None = None

    def read_ahead(self, names: Sequence[str]) -> pl.DataFrame | None:
        """The columns ``names``, if they were read ahead (each is handed over once)."""
        return None if self.ahead is None else self.ahead.take(names)


@dataclass(frozen=True)
class NumericSummary:
    """Count of finite values, missing (null, NaN, ±inf) values, and statistics of the finite
    ones (NaN when there is none). ``std`` is the population standard deviation; quantiles are
    numpy's linear ones."""

    count: int
    missing: int
    mean: float
    std: float
    min: float
    max: float
    p05: float
    p50: float
    p95: float


@dataclass(frozen=True)
class CategoricalSummary:
    """Count of non-null values, nulls, distinct values, and the top five with their shares."""

    count: int
    missing: int
    n_distinct: int
    top: tuple[tuple[str, float], ...]


@dataclass(frozen=True)
class NumericHistogram:
    """Shares of each side's finite values in the bins ``edges[i] .. edges[i + 1]``."""

    edges: tuple[float, ...]
    reference: tuple[float, ...]
    current: tuple[float, ...]


@dataclass(frozen=True)
class CategoricalHistogram:
    """Shares of each side's non-null values per category; the last may gather the rest."""

    categories: tuple[str, ...]
    reference: tuple[float, ...]
    current: tuple[float, ...]


@dataclass(frozen=True)
class ColumnDrift:
    """One column's drift: method, score, threshold, verdict, and what each side looks like.

    For a test ``score`` is its statistic (KS D, chi-square, |z|) and ``p_value`` decides;
    for a distance ``p_value`` is None and ``score`` decides. A non-finite score is NaN, as is
    the score of a column with no value to compare in the current data (its distribution does
    not drift; its ``data_quality`` does). ``drift_detected`` is the distribution's verdict;
    ``drifted`` is that or the data quality's.
    """

    name: str
    role: ColumnRole
    kind: Kind
    method: str
    score: float
    threshold: float
    p_value: float | None
    drift_detected: bool
    reference: NumericSummary | CategoricalSummary
    current: NumericSummary | CategoricalSummary
    histogram: NumericHistogram | CategoricalHistogram
    data_quality: DataQuality | None = None

    @property
    def quality_drift_detected(self) -> bool:
        """Whether the data quality drifted."""
        return self.data_quality is not None and self.data_quality.drift_detected

    @property
    def drifted(self) -> bool:
        """Whether the distribution or the data quality drifted."""
        return self.drift_detected or self.quality_drift_detected


@dataclass(frozen=True)
class ConceptDrift:
    """Whether the model's errors changed: classification error rates compared with a
    two-proportion z-test, or regression residuals compared with the KS test.

    ``reference_error`` and ``current_error`` are the error rates (classification) or the mean
    absolute residuals (regression).
    """

    kind: Literal["classification", "regression"]
    method: str
    score: float
    threshold: float
    p_value: float
    drift_detected: bool
    reference_error: float
    current_error: float


class _Verdicts:
    """The verdicts of a set of features against the share threshold: of the whole current
    data (``DriftResult``) or of one chunk of it (``DriftChunk``)."""

    features: tuple[ColumnDrift, ...]
    drift_share_threshold: float

    @property
    def n_features(self) -> int:
        """Number of features compared (the target and the prediction are not features)."""
        return len(self.features)

    @property
    def n_drifted_features(self) -> int:
        """Number of features whose distribution or data quality drifted."""
        return sum(f.drifted for f in self.features)

    @property
    def n_quality_drifted_features(self) -> int:
        """Number of features whose data quality drifted."""
        return sum(f.quality_drift_detected for f in self.features)

    @property
    def drift_share(self) -> float:
        """Share of the features that drifted (0 when there is none)."""
        return self.n_drifted_features / self.n_features if self.n_features else 0.0

    @property
    def dataset_drift(self) -> bool:
        """Whether the drift share reached the threshold."""
        return self.n_features > 0 and self.drift_share >= self.drift_share_threshold

    @property
    def drifted_features(self) -> tuple[str, ...]:
        """Names of the features whose distribution or data quality drifted, in order."""
        return tuple(f.name for f in self.features if f.drifted)


@dataclass(frozen=True)
class DriftChunk(_Verdicts):
    """One chunk of the current data (``chunk_by`` / ``chunk_rows``), every feature scored
    against the reference exactly as ``check_drift`` scores the whole current data: the
    chunk's ``features`` are what ``check_drift`` gives with the chunk's rows alone as the
    current data.

    ``start`` and ``end`` are ISO 8601 times (``[start, end)``) of a time chunk, or row
    positions in the file (``[start, end)``, from 0) of a row chunk.
    """

    index: int
    start: str | int
    end: str | int
    rows: int
    features: tuple[ColumnDrift, ...]
    drift_share_threshold: float


@dataclass(frozen=True)
class DriftResult(_Verdicts):
    """Everything ``check-drift`` found; ``drift_report.build_report`` makes it JSON.

    ``excluded`` maps each column left out on purpose to why: by configuration, or as an
    identifier or a timestamp (``stream_monitor.roles``), in the reference's column order.
    ``chunks`` holds the verdicts of each chunk of the current data when it was cut
    (``chunking`` says how: ``{"by": "rows", "rows": N}`` or ``{"by": "time", "column": C,
    "period": P, "rows_without_timestamp": K}``), and is empty otherwise.
    """

    scores_from: Literal["exact", "sketch"]
    reference_source: str
    reference_kind: Literal["data", "profile"]
    reference_rows: int
    current_source: str
    current_rows: int
    features: tuple[ColumnDrift, ...]
    label: ColumnDrift | None
    prediction: ColumnDrift | None
    concept: ConceptDrift | None
    drift_share_threshold: float
    notes: tuple[str, ...] = field(default=())
    excluded: Mapping[str, str] = field(default_factory=dict)
    #: PCA reconstruction drift (``batch.multivariate``); not counted in ``drift_share``.
    multivariate: MultivariateDrift | None = None
    chunking: Mapping[str, Any] | None = None
    chunks: tuple[DriftChunk, ...] = ()

    @property
    def data_quality_drift(self) -> bool:
        """Whether the data quality of any compared column (target and prediction too)
        drifted."""
        columns = (*self.features, self.label, self.prediction)
        return any(c is not None and c.quality_drift_detected for c in columns)

    @cached_property
    def _report(self) -> dict[str, Any]:
        # Built once, so that the JSON and the HTML of one result carry one generated_at.
        from stream_monitor.batch.drift_report import build_report, validate_report

        report = build_report(self)
        if os.environ.get(SELF_CHECK_ENV):
            # Holding every report to its schema costs 0.3 s (jsonschema), a tenth of a
            # million-row run: the test suite turns it on, for every report its runs write.
            validate_report(report)
        return report

    def to_dict(self) -> dict[str, Any]:
        """The JSON report that ``check-drift --json_path`` writes (``docs/drift-report.md``,
        ``drift_report.schema.json``), as a new dict."""
        return copy.deepcopy(self._report)

    def save_json(self, path: str | Path) -> None:
        """Write the JSON report to ``path``, replacing it atomically."""
        from stream_monitor.batch.drift_report import dumps_report

        write_text_atomic(path, dumps_report(self._report), "JSON report")

    def to_html(self) -> str:
        """The self-contained HTML report that ``check-drift --report_path`` writes."""
        from stream_monitor.batch.report_html import render_html

        return render_html(self._report)

    def save_html(self, path: str | Path) -> None:
        """Write the HTML report to ``path``, replacing it atomically."""
        write_text_atomic(path, self.to_html(), "HTML report")

    def _repr_html_(self) -> str:
        """The HTML report in a notebook: in a sandboxed frame, where its own
        Content-Security-Policy and script apply to it alone."""
        page = html.escape(self.to_html(), quote=True)
        return (
            f'<iframe srcdoc="{page}" sandbox="allow-scripts" title="drift report" '
            'style="width:100%;height:720px;border:1px solid #e3e7ec"></iframe>'
        )


def _verdict(method: str, score: float, p_value: float | None, threshold: float) -> bool:
    spec = SCORE_METHODS[method]
    return spec.drifted(spec.value_of(Measure(score, p_value)), threshold)


def default_method(kind: Kind, n_reference: int, n_values: int | None) -> str:
    """The method chosen when none is configured (see the module docstring).

    ``n_values`` is the number of distinct values of both sides, None when unknown.

    >>> default_method("numeric", 500, 100), default_method("numeric", 50_000, 100)
    ('ks', 'wasserstein')
    >>> default_method("numeric", 50_000, 3), default_method("categorical", 500, 2)
    ('jensen_shannon', 'z')
    """
    small = n_reference <= _SMALL_SAMPLE
    discrete = kind == "categorical" or (n_values is not None and n_values <= _FEW_VALUES)
    if not discrete:
        return "ks" if small else "wasserstein"
    if not small:
        return "jensen_shannon"
    return "chi_square" if n_values is None or n_values > 2 else "z"


def _method_for(
    name: str, kind: Kind, settings: DriftSettings, n_reference: int, n_values: int | None
) -> str:
    """The column's configured method (checked to fit its kind), or the default one."""
    configured = settings.method(name, kind)
    if configured is not None:
        return _allowed(name, kind, configured)
    return default_method(kind, n_reference, n_values)


def _allowed(name: str, kind: Kind, method: str) -> str:
    allowed = NUMERIC_METHODS if kind == "numeric" else CATEGORICAL_METHODS
    if method not in allowed:
        raise ConfigError(
            f"drift.columns.{name}: method {method!r} does not apply to the {kind} column "
            f"{name!r}; use one of {', '.join(allowed)}"
        )
    return method


# --- summaries and histograms --------------------------------------------------------------


def _quantiles_sorted(s: NDArray[np.float64], probs: Sequence[float]) -> list[float]:
    """``np.quantile(s, probs)`` (linear) of a sorted array, without numpy's partition."""
    return _quantiles_at(s.shape[0], lambda rank: float(s[rank]), probs)


def _quantiles_at(n: int, at: OrderStatistic, probs: Sequence[float]) -> list[float]:
    """``np.quantile`` (linear) of ``n`` values known by rank: ``at(rank)``."""
    out = []
    for q in probs:
        virtual = (n - 1) * q
        below = min(max(math.floor(virtual), 0), n - 1)
        above = min(below + 1, n - 1)
        t = virtual - below
        a, b = at(below), at(above)
        diff = b - a
        out.append(b - diff * (1 - t) if t >= 0.5 else a + diff * t)
    return out


def _numeric_summary(s: NDArray[np.float64], missing: int) -> NumericSummary:
    if not s.size:
        nan = float("nan")
        return NumericSummary(0, missing, nan, nan, nan, nan, nan, nan, nan)
    p05, p50, p95 = _quantiles_sorted(s, _QUANTILES)
    return NumericSummary(
        count=int(s.shape[0]),
        missing=missing,
        mean=float(np.mean(s)),
        std=float(np.std(s)),
        min=float(s[0]),
        max=float(s[-1]),
        p05=p05,
        p50=p50,
        p95=p95,
    )


def _profile_summary(column: NumericColumnProfile) -> NumericSummary:
    probs = np.asarray(column.quantile_probs)
    p05, p50, p95 = (float(np.interp(q, probs, column.quantiles)) for q in _QUANTILES)
    finite = column.finite_count
    return NumericSummary(
        count=finite,
        missing=column.count - finite,
        mean=column.mean,
        std=column.std,
        min=column.min,
        max=column.max,
        p05=p05,
        p50=p50,
        p95=p95,
    )


def _shares(counts: NDArray[np.int64] | NDArray[np.float64]) -> tuple[float, ...]:
    total = float(np.sum(counts))
    if total <= 0:
        return tuple(0.0 for _ in range(len(counts)))
    return tuple(float(c) / total for c in counts)


def _numeric_histogram(
    rs: NDArray[np.float64], cs: NDArray[np.float64], max_bins: int
) -> NumericHistogram:
    """Sturges bins over both sides (the reference alone when the current one is empty)."""
    lo, hi = (min(rs[0], cs[0]), max(rs[-1], cs[-1])) if cs.size else (rs[0], rs[-1])
    edges = sturges_edges(lo, hi, rs.shape[0] + cs.shape[0])
    if edges.shape[0] - 1 > max_bins:
        edges = np.unique(np.linspace(lo, hi, max_bins + 1))
    return NumericHistogram(
        tuple(edges.tolist()), _shares(counts_in(rs, edges)), _shares(counts_in(cs, edges))
    )


def _top(counts: Mapping[str, int], n: int) -> list[tuple[str, int]]:
    """The ``n`` largest counts, ties broken by the category string."""
    return sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:n]


def _categorical_summary(counts: Mapping[str, int], missing: int) -> CategoricalSummary:
    total = sum(counts.values())
    top = tuple((name, n / total) for name, n in _top(counts, _TOP_SUMMARY) if n > 0)
    return CategoricalSummary(
        count=total,
        missing=missing,
        n_distinct=sum(1 for n in counts.values() if n > 0),
        top=top,
    )


def _categorical_histogram(
    reference: Mapping[str, int],
    current: Mapping[str, int],
    *,
    reference_other: int = 0,
    current_other: int = 0,
) -> CategoricalHistogram:
    """The top 20 categories by their share summed over both sides, then "other"."""
    n_ref = sum(reference.values()) + reference_other
    n_cur = sum(current.values()) + current_other
    keys = sorted(set(reference) | set(current))
    weight = {
        key: reference.get(key, 0) / max(n_ref, 1) + current.get(key, 0) / max(n_cur, 1)
        for key in keys
    }
    shown = sorted(keys, key=lambda key: (-weight[key], key))[:_TOP_HISTOGRAM]
    ref_rest = n_ref - sum(reference.get(key, 0) for key in shown)
    cur_rest = n_cur - sum(current.get(key, 0) for key in shown)
    categories = list(shown)
    ref_counts = [reference.get(key, 0) for key in shown]
    cur_counts = [current.get(key, 0) for key in shown]
    if ref_rest or cur_rest:
        other = _OTHER
        while other in categories:  # a real category named "other" keeps its name
            other = f"({other})"
        categories.append(other)
        ref_counts.append(ref_rest)
        cur_counts.append(cur_rest)
    return CategoricalHistogram(
        tuple(categories),
        _shares(np.asarray(ref_counts, dtype=np.int64)),
        _shares(np.asarray(cur_counts, dtype=np.int64)),
    )


# --- one column against raw reference data --------------------------------------------------


def _finite_sorted(values: ArrayLike, nulls: int = 0) -> tuple[NDArray[np.float64], NonFinite]:
    """The finite values, sorted, and the others counted: NaN with ``nulls``, infinities."""
    ordered, nan, inf = sort_finite(np.asarray(values, dtype=np.float64))
    return ordered, NonFinite(nulls + nan, inf)


def compare_numeric(
    reference: ArrayLike,
    current: ArrayLike,
    *,
    name: str = "value",
    role: ColumnRole = "feature",
    settings: DriftSettings | None = None,
) -> ColumnDrift:
    """Compare two numeric samples exactly; NaN and infinities count as missing.

    >>> rng = np.random.default_rng(0)
    >>> result = compare_numeric(rng.normal(0, 1, 5000), rng.normal(0.5, 1, 5000))
    >>> result.method, round(result.score, 3), result.drift_detected
    ('wasserstein', 0.524, True)
    """
    rs, r_missing = _finite_sorted(reference)
    cs, c_missing = _finite_sorted(current)
    if not rs.size or not cs.size:
        raise ValueError(f"column {name!r}: both samples need a finite value")
    return _compare_sorted(rs, r_missing, cs, c_missing, name, role, settings or DriftSettings())


def _raw_numeric_quality(
    rs: NDArray[np.float64],
    r_missing: NonFinite,
    cs: NDArray[np.float64],
    c_missing: NonFinite,
    settings: DriftSettings,
) -> DataQuality:
    return numeric_quality(
        rs.shape[0] + r_missing.total,
        r_missing,
        (left_out_of_range(rs), rs.shape[0]),
        cs.shape[0] + c_missing.total,
        c_missing,
        outside(cs, rs[0], rs[-1]),
        settings.quality_rule,
    )


def _unscored_numeric(
    rs: NDArray[np.float64],
    r_missing: NonFinite,
    c_missing: NonFinite,
    name: str,
    role: ColumnRole,
    settings: DriftSettings,
) -> ColumnDrift:
    """A numeric column with no finite current value: no score, its data quality only."""
    method = _method_for(name, "numeric", settings, rs.shape[0], n_distinct(rs))
    cs = np.empty(0, dtype=np.float64)
    return ColumnDrift(
        name=name,
        role=role,
        kind="numeric",
        method=method,
        score=float("nan"),
        threshold=settings.threshold(method, name),
        p_value=None,
        drift_detected=False,
        reference=_numeric_summary(rs, r_missing.total),
        current=_numeric_summary(cs, c_missing.total),
        histogram=_numeric_histogram(rs, cs, settings.histogram_bins),
        data_quality=_raw_numeric_quality(rs, r_missing, cs, c_missing, settings),
    )


def _compare_sorted(
    rs: NDArray[np.float64],
    r_missing: NonFinite,
    cs: NDArray[np.float64],
    c_missing: NonFinite,
    name: str,
    role: ColumnRole,
    settings: DriftSettings,
) -> ColumnDrift:
    pair = SortedPair(rs, cs)
    method = _method_for(name, "numeric", settings, rs.shape[0], pair.merge.n_distinct)
    threshold = settings.threshold(method, name)
    score, p_value = SCORE_METHODS[method].score_sorted(pair)
    return ColumnDrift(
        name=name,
        role=role,
        kind="numeric",
        method=method,
        score=float(score),
        threshold=threshold,
        p_value=p_value,
        drift_detected=_verdict(method, score, p_value, threshold),
        reference=_numeric_summary(rs, r_missing.total),
        current=_numeric_summary(cs, c_missing.total),
        histogram=_numeric_histogram(rs, cs, settings.histogram_bins),
        data_quality=_raw_numeric_quality(rs, r_missing, cs, c_missing, settings),
    )


def compare_categorical(
    reference: Mapping[str, int],
    current: Mapping[str, int],
    *,
    reference_missing: int = 0,
    current_missing: int = 0,
    name: str = "value",
    role: ColumnRole = "feature",
    settings: DriftSettings | None = None,
) -> ColumnDrift:
    """Compare two categorical samples given as counts per category (nulls apart).

    >>> result = compare_categorical({"a": 700, "b": 300}, {"a": 600, "b": 400})
    >>> result.method, round(result.score, 3), round(result.p_value, 6), result.drift_detected
    ('z', 4.688, 3e-06, True)
    """
    settings = settings or DriftSettings()
    keys = sorted(k for k in set(reference) | set(current) if reference.get(k) or current.get(k))
    r = np.array([reference.get(k, 0) for k in keys], dtype=np.int64)
    c = np.array([current.get(k, 0) for k in keys], dtype=np.int64)
    if not r.sum() or not c.sum():
        raise ValueError(f"column {name!r}: both samples need a value")
    method = _method_for(name, "categorical", settings, int(r.sum()), len(keys))
    threshold = settings.threshold(method, name)
    # The categories are in sorted order: z's share is of all but the first (Evidently's).
    score, p_value = SCORE_METHODS[method].score_counts(r, c)
    return ColumnDrift(
        name=name,
        role=role,
        kind="categorical",
        method=method,
        score=float(score),
        threshold=threshold,
        p_value=p_value,
        drift_detected=_verdict(method, score, p_value, threshold),
        reference=_categorical_summary(reference, reference_missing),
        current=_categorical_summary(current, current_missing),
        histogram=_categorical_histogram(reference, current),
        data_quality=_raw_categorical_quality(
            reference, reference_missing, current, current_missing, settings
        ),
    )


def _raw_categorical_quality(
    reference: Mapping[str, int],
    reference_missing: int,
    current: Mapping[str, int],
    current_missing: int,
    settings: DriftSettings,
) -> DataQuality:
    """Unseen categories: the reference's seen once (Good-Turing), the current's not seen."""
    ref_unseen = sum(1 for n in reference.values() if n == 1)
    cur_unseen = sum(n for key, n in current.items() if not reference.get(key))
    return categorical_quality(
        (sum(reference.values()), reference_missing),
        ref_unseen,
        (sum(current.values()), current_missing),
        cur_unseen,
        settings.quality_rule,
    )


def _unscored_categorical(
    reference: Mapping[str, int],
    reference_missing: int,
    current_missing: int,
    name: str,
    role: ColumnRole,
    settings: DriftSettings,
) -> ColumnDrift:
    """A categorical column with no current value: no score, its data quality only."""
    method = _method_for(name, "categorical", settings, sum(reference.values()), len(reference))
    return ColumnDrift(
        name=name,
        role=role,
        kind="categorical",
        method=method,
        score=float("nan"),
        threshold=settings.threshold(method, name),
        p_value=None,
        drift_detected=False,
        reference=_categorical_summary(reference, reference_missing),
        current=_categorical_summary({}, current_missing),
        histogram=_categorical_histogram(reference, {}),
        data_quality=_raw_categorical_quality(
            reference, reference_missing, {}, current_missing, settings
        ),
    )


# --- one column against a profile -------------------------------------------------------


def compare_numeric_sketch(
    column: NumericColumnProfile,
    values: NDArray[np.float64],
    nulls: int,
    role: ColumnRole,
    settings: DriftSettings,
) -> ColumnDrift | None:
    """Score the current values (``nulls`` more were null) counted into the profile's bins;
    with none finite, no score (NaN) and the data quality only."""
    current = NumericCurrent.of(column)
    current.update(values, nulls)
    cs, _, _ = sort_finite(values)
    return score_numeric_current(column, current, lambda rank: float(cs[rank]), role, settings)


def score_numeric_current(
    column: NumericColumnProfile,
    current: NumericCurrent,
    order_statistic: OrderStatistic,
    role: ColumnRole,
    settings: DriftSettings,
) -> ColumnDrift | None:
    """Score a current numeric column, counted into ``current`` (its rows in any number of
    pieces, merged), against its profile; ``order_statistic(rank)`` gives its quantiles."""
    name = column.name
    sketch = current.sketch()
    reference = numeric_reference(column)
    c_missing = NonFinite(current.nulls + current.nan, current.inf)
    n = current.n
    quality = numeric_quality(
        *profile_numeric_reference(column),
        n + c_missing.total,
        c_missing,
        (current.outside, n),
        settings.quality_rule,
    )
    method = _method_for(name, "numeric", settings, column.finite_count, None)
    spec = SCORE_METHODS[method]
    if spec.binned is None:
        raise ConfigError(
            f"drift.columns.{name}: method {method!r} on the numeric column {name!r} needs raw "
            "reference data, not a profile"
        )
    threshold = settings.threshold(method, name)
    score, p_value = spec.score_sketch(reference, sketch) if n else (float("nan"), None)
    if n:
        p05, p50, p95 = _quantiles_at(n, order_statistic, _QUANTILES)
        summary = NumericSummary(
            n, c_missing.total, current.mean, current.std, current.min, current.max, p05, p50, p95
        )
    else:
        summary = _numeric_summary(np.empty(0), c_missing.total)
    return ColumnDrift(
        name=name,
        role=role,
        kind="numeric",
        method=method,
        score=float(score),
        threshold=threshold,
        p_value=p_value,
        drift_detected=_verdict(method, score, p_value, threshold),
        reference=_profile_summary(column),
        current=summary,
        histogram=_sketch_histogram(column, reference.score_counts(sketch.counts), current),
        data_quality=quality,
    )


def _sketch_histogram(
    column: NumericColumnProfile, current: NDArray[np.int64], state: NumericCurrent
) -> NumericHistogram:
    """Shares in the profile's score bins; the current values below the reference minimum or
    above its maximum get a bin of their own, reaching to the current minimum or maximum."""
    edges = column.score_edges.tolist()
    ref = column.score_counts.tolist()
    cur = current.tolist()
    if not state.n:
        return NumericHistogram(
            tuple(edges), _shares(np.asarray(ref[1:-1])), tuple(0.0 for _ in ref[1:-1])
        )
    if cur[-1] > 0:
        edges.append(state.max)
    else:
        ref, cur = ref[:-1], cur[:-1]
    if cur[0] > 0:
        edges.insert(0, state.min)
    else:
        ref, cur = ref[1:], cur[1:]
    return NumericHistogram(
        tuple(edges), _shares(np.asarray(ref)), _shares(np.asarray(cur, dtype=np.int64))
    )


def score_categorical_current(
    column: CategoricalColumnProfile,
    current: CategoricalCurrent,
    role: ColumnRole,
    settings: DriftSettings,
) -> ColumnDrift | None:
    """Score the current column's value counts (its rows in any number of pieces, merged)
    in the profile's categories; with no value, no score (NaN) and the data quality only."""
    name = column.name
    sketch = column.sketch()
    sketch.restore({"counts": current.codes(column), "null": np.array([current.nulls])})
    configured = settings.method(name, "categorical")
    k = len(column.categories)
    ref_counts = column.counts
    n_values = int(np.count_nonzero(ref_counts + sketch.counts))
    method = (
        _allowed(name, "categorical", configured)
        if configured is not None
        else default_method("categorical", int(ref_counts.sum()), n_values)
    )
    threshold = settings.threshold(method, name)
    spec = SCORE_METHODS[method]
    p_value: float | None = None
    if not sketch.n:
        score = float("nan")
    elif spec.binned is None:
        # z: as with raw data, the share of values other than the first category in sorted
        # order ("other", which holds unnamed categories, sorts last), which a sketch's codes
        # do not know: that category is put first and the counts tested.
        first = min(range(k), key=column.categories.__getitem__) if k else k
        order = np.array([first, *(i for i in range(k + 1) if i != first)])
        score, p_value = spec.score_counts(ref_counts[order], sketch.counts[order])
    else:
        score, p_value = spec.score_sketch(CategoricalReference(ref_counts), sketch)
    current_counts, current_missing = current.counts, current.nulls
    quality = categorical_quality(
        *profile_categorical_reference(column),
        (sum(current_counts.values()), current_missing),
        int(sketch.counts[k]),
        settings.quality_rule,
    )
    named = dict(zip(column.categories, column.category_counts.tolist(), strict=True))
    current_named = {key: current_counts.get(key, 0) for key in column.categories}
    return ColumnDrift(
        name=name,
        role=role,
        kind="categorical",
        method=method,
        score=float(score),
        threshold=threshold,
        p_value=p_value,
        drift_detected=_verdict(method, score, p_value, threshold),
        reference=CategoricalSummary(
            count=column.count - column.null_count,
            missing=column.null_count,
            n_distinct=column.n_distinct,
            top=tuple(
                (key, n / max(column.count - column.null_count, 1))
                for key, n in _top(named, _TOP_SUMMARY)
                if n > 0
            ),
        ),
        current=_categorical_summary(current_counts, current_missing),
        histogram=_categorical_histogram(
            named,
            current_named,
            reference_other=column.other_count,
            current_other=int(sketch.counts[k]),
        ),
        data_quality=quality,
    )


# --- reading columns ---------------------------------------------------------------------


def _frame_value_counts(
    frame: pl.DataFrame | pl.LazyFrame, name: str
) -> tuple[dict[str, int], int]:
    """Counts of each value of ``name`` as a string (booleans as ``true`` / ``false``), and
    the number of nulls."""
    counts = (
        frame.lazy()
        .select(pl.col(name).cast(pl.String).alias("value"))
        .group_by("value")
        .agg(pl.len().alias("n"))
        .collect()
    )
    result: dict[str, int] = {}
    missing = 0
    for value, n in counts.iter_rows():
        if value is None:
            missing = int(n)
        else:
            result[str(value)] = int(n)
    return result, missing


def _read_series(data: Data, name: str) -> pl.Series:
    """The column ``name`` of ``data``, in file order."""
    ahead = data.read_ahead([name])
    if ahead is not None:
        return ahead.get_column(name)
    with reading(data.source):
        return data.frame.select(pl.col(name)).collect().get_column(name)


def _numeric_series(series: pl.Series, source: str) -> tuple[NDArray[np.float64], int]:
    """The non-null values of ``series`` as float64 (NaN and infinities included), and its
    nulls. Dropping the nulls in Polars spares numpy a pass that writes NaN in their place."""
    converted = series.cast(pl.Float64, strict=False)
    if converted.null_count() > series.null_count():
        raise ColumnError(
            f"{source}: column {series.name!r} holds values that are not numbers "
            f"(its type is {series.dtype})"
        )
    values: NDArray[np.float64] = converted.drop_nulls().to_numpy()
    return values, series.null_count()


def _all_null(data: Data, name: str) -> bool:
    """Whether the column holds no value at all."""
    if data.frame.collect_schema()[name] == pl.Null:
        return True
    with reading(data.source):
        return not data.frame.select(pl.col(name).is_not_null().any()).collect().item()


def _read_counts(data: Data, name: str) -> tuple[dict[str, int], int]:
    with reading(data.source):
        return _frame_value_counts(data.frame, name)


# --- planning ------------------------------------------------------------------------------

_DtypeClass = Literal["numeric", "boolean", "string", "null"]


def _dtype_class(dtype: pl.DataType) -> _DtypeClass | None:
    if dtype == pl.Null:
        return "null"
    if dtype.is_numeric():
        return "numeric"
    if dtype == pl.Boolean:
        return "boolean"
    if isinstance(dtype, pl.String | pl.Categorical | pl.Enum):
        return "string"
    return None


def _profile_class(column: ColumnProfile) -> _DtypeClass:
    if isinstance(column, NumericColumnProfile):
        return "numeric"
    if column.kind == "boolean":
        return "boolean"
    numeric = column.dtype.startswith(("Int", "UInt", "Float", "Decimal"))
    return "numeric" if numeric else "string"


@dataclass(frozen=True)
class _Column:
    """A column to compare: its name, role and kind, and its profile when the reference is one."""

    name: str
    role: ColumnRole
    kind: Kind
    profile: ColumnProfile | None = None


@dataclass
class _Plan:
    """The columns to compare, the columns left out (why), notes for the report, whether
    concept drift is computed, and the columns excluded on purpose (why)."""

    columns: list[_Column]
    left_out: list[str]
    notes: list[str]
    concept: bool
    excluded: dict[str, str] = field(default_factory=dict)


def _role(name: str, settings: DriftSettings) -> ColumnRole:
    if name == settings.target:
        return "target"
    if name == settings.prediction:
        return "prediction"
    return "feature"


def _left_out(column: str, role: ColumnRole, why: str, left_out: list[str]) -> None:
    """A feature is left out, saying why; a target or prediction cannot be."""
    if role != "feature":
        raise ColumnError(f"{why}; the {role} column cannot be left out")
    left_out.append(f"{why}; left out of the comparison")


def _mismatch(name: str, ref: str, ref_type: object, cur: str, cur_type: object) -> ColumnError:
    return ColumnError(
        f"column {name!r} has type {ref_type} in {ref} but {cur_type} in {cur}; "
        "set its kind in the drift.kinds config to compare it as one"
    )


def _check_named(
    names: Sequence[str], settings: DriftSettings, reference: str, current: pl.Schema, cur: str
) -> None:
    for key, named in (("columns", settings.columns), ("kinds", settings.kinds)):
        for name in named:
            if name not in names:
                raise ColumnError(
                    f"{reference}: the drift.{key} setting names column {name!r}, "
                    "which is not a column"
                )
    for role in ("target", "prediction"):
        wanted = getattr(settings, role)
        if wanted is None:
            continue
        if wanted not in names:
            raise ColumnError(f"{reference}: {role} column {wanted!r} not found")
        if wanted not in current:
            raise ColumnError(f"{cur}: {role} column {wanted!r} not found")


def _user_named(s: DriftSettings) -> set[str]:
    """Columns the settings give a role, kind or method: never guessed to be ids or times."""
    named = {*s.exclude, *s.kinds, *s.columns}
    return named | {n for n in (s.target, s.prediction) if n is not None}


def _plan_data(
    reference: Data, ref_schema: pl.Schema, current: Data, cur_schema: pl.Schema, s: DriftSettings
) -> _Plan:
    _check_named(list(ref_schema), s, reference.source, cur_schema, current.source)
    roles = detect_roles(reference.frame, source=reference.source, skip=_user_named(s))
    excluded: dict[str, str] = {}
    columns: list[_Column] = []
    left_out: list[str] = []
    for name, ref_type in ref_schema.items():
        if name in s.exclude:
            excluded[name] = EXCLUDED_BY_CONFIG
            continue
        if name in roles:
            excluded[name] = roles[name]
            continue
        role = _role(name, s)
        if name not in cur_schema:
            raise ColumnError(
                f"{current.source}: column {name!r} of the reference {reference.source} is missing"
            )
        cur_type = cur_schema[name]
        ref_class, cur_class = _dtype_class(ref_type), _dtype_class(cur_type)
        if ref_class == "null":
            _left_out(name, role, f"{reference.source}: column {name!r} has no value", left_out)
            continue
        if ref_class != cur_class and _all_null(current, name):
            # No value now (a CSV reader calls such a column text): its data quality drifted.
            cur_class = ref_class
        override = s.kinds.get(name)
        if override is None and ref_class != cur_class:
            raise _mismatch(name, reference.source, ref_type, current.source, cur_type)
        if override is not None:
            kind: Kind = override
        elif ref_class is None:
            why = f"{reference.source}: column {name!r} has type {ref_type}, which is not compared"
            _left_out(name, role, why, left_out)
            continue
        else:
            kind = "numeric" if ref_class == "numeric" else "categorical"
        columns.append(_Column(name, role, kind))
    concept = {"target", "prediction"} <= {c.role for c in columns}
    return _Plan(columns, left_out, [], concept=concept, excluded=excluded)


def _plan_profile(
    profile: Profile,
    source: str,
    current: Data | CurrentSketches,
    cur_schema: pl.Schema,
    s: DriftSettings,
) -> _Plan:
    all_null = current.all_null if isinstance(current, CurrentSketches) else None
    _check_named(profile.names, s, source, cur_schema, current.source)
    known = {*profile.names, *profile.metadata.excluded, *cur_schema}
    check_excluded(s.exclude, known, source)
    # The profile's own exclusions (by its configuration, as identifiers or timestamps) hold.
    excluded = {n: why for n, why in profile.metadata.excluded.items() if n not in s.exclude}
    # The profile's own target and prediction hold their roles unless the settings name
    # others; missing from the current data, they only cost their drift (labels often come
    # later than the traffic), where a column named in the settings must be there.
    implicit: dict[str, ColumnRole] = {}
    for own, wanted in ((profile.target, s.target), (profile.prediction, s.prediction)):
        if own is not None and wanted is None and own.name not in s.exclude:
            implicit[own.name] = own.role
    columns: list[_Column] = []
    left_out: list[str] = []
    notes: list[str] = []
    for column in profile.columns:
        name = column.name
        if name in s.exclude:
            excluded[name] = EXCLUDED_BY_CONFIG
            continue
        role = implicit.get(name) or _role(name, s)
        if name not in cur_schema:
            if name in implicit:
                drift = "label" if role == "target" else "prediction"
                notes.append(
                    f"{current.source}: the profile's {role} column {name!r} is missing, "
                    f"so there is no {drift} drift"
                )
                continue
            raise ColumnError(
                f"{current.source}: column {name!r} of the reference {source} is missing"
            )
        kind: Kind = "numeric" if isinstance(column, NumericColumnProfile) else "categorical"
        override = s.kinds.get(name)
        if override is not None and override != kind:
            raise ConfigError(
                f"drift.kinds.{name}: the profile {source} holds column {name!r} as {kind}; "
                "rebuild the profile to change its kind"
            )
        cur_type = cur_schema[name]
        if _dtype_class(cur_type) != _profile_class(column) and not (
            all_null(name) if all_null is not None else _all_null(cast(Data, current), name)
        ):
            raise _mismatch(name, source, column.dtype, current.source, cur_type)
        columns.append(_Column(name, role, kind, column))
    if {"target", "prediction"} <= {c.role for c in columns}:
        notes.append(
            "no concept drift: it needs raw reference data, as a profile keeps no model "
            "errors or residuals"
        )
    for name in s.exclude:
        if name not in excluded and name in profile.metadata.excluded:
            excluded[name] = EXCLUDED_BY_CONFIG
    return _Plan(columns, left_out, notes, concept=False, excluded=excluded)


# --- the job ---------------------------------------------------------------------------------


def _schema(data: Data) -> pl.Schema:
    with reading(data.source):
        return data.frame.collect_schema()


def _rows(data: Data) -> int:
    rows = count_rows(data.frame, source=data.source)
    if rows == 0:
        raise DataFileError(f"{data.source}: no rows to compare")
    return rows


def _in_memory(data: Data, names: Sequence[str]) -> Data:
    """Read the needed columns of a non-columnar file once, together."""
    if data.columnar:
        return data
    with reading(data.source):
        frame = data.frame.select(list(names)).collect()
    return Data(frame.lazy(), data.source, columnar=True)


@dataclass(frozen=True)
class _RawNumeric:
    """A numeric column of raw reference data: its finite values, sorted, and the others."""

    values: NDArray[np.float64]
    missing: NonFinite


@dataclass(frozen=True)
class _RawCategorical:
    """A categorical column of raw reference data: its counts per value, and its nulls."""

    counts: dict[str, int]
    missing: int


_ReferenceSide = _RawNumeric | _RawCategorical | NumericColumnProfile | CategoricalColumnProfile


@dataclass(frozen=True)
class _Chunks:
    """How the current rows are cut: the rows in chunk order (None: file order), and the
    chunks, whose ``[first, stop)`` index those rows."""

    order: NDArray[np.int64] | None
    windows: tuple[Window, ...]


def _compare_column(
    column: _Column,
    reference: Data | Profile,
    current: Data,
    settings: DriftSettings,
    chunks: _Chunks | None = None,
    shared: tuple[SharedReads, Future[_ReferenceSide | str]] | None = None,
) -> tuple[ColumnDrift | str, tuple[ColumnDrift, ...]]:
    """The column's drift, or why it was left out; and a feature's drift in each chunk.

    The reference side is read once; the whole current column and each chunk of it are
    scored by the same ``_score``, so that a chunk scores as it would as the current data.
    A feature read for the multivariate drift (``shared``) comes with its reference side
    read apart (``_shared_reference_side``), and takes its current column from the
    features read together."""
    side = _reference_side(column, reference) if shared is None else shared[1].result()
    if isinstance(side, str):
        return side, ()
    if shared is None:
        series = _read_series(current, column.name)
    else:
        series = shared[0].current_column(column.name)
    whole = _score(column, side, series, current.source, settings)
    if isinstance(whole, str) or chunks is None or column.role != "feature":
        return whole, ()
    ordered = series if chunks.order is None else series.gather(chunks.order)
    each: list[ColumnDrift] = []
    for window in chunks.windows:
        drift = _score(
            column, side, ordered.slice(window.first, window.rows), current.source, settings
        )
        assert not isinstance(drift, str)  # a feature with no value is scored: its quality drifted
        each.append(drift)
    return whole, tuple(each)


def _shared_reference_side(
    column: _Column, reference: Data, shared: SharedReads
) -> _ReferenceSide | str:
    """``_reference_side`` of a feature read for the multivariate drift, which is handed the
    reference column; its piece is settled however this ends."""
    try:
        return _reference_side(column, reference, shared)
    finally:
        shared.settle(column.name)


def _reference_side(
    column: _Column, reference: Data | Profile, shared: SharedReads | None = None
) -> _ReferenceSide | str:
    """What the current column is scored against, or why the column is left out; a numeric
    column read for ``shared`` is handed to it."""
    profile = column.profile
    if isinstance(profile, NumericColumnProfile | CategoricalColumnProfile):
        return profile
    assert isinstance(reference, Data)
    name = column.name
    if column.kind == "numeric":
        series = _read_series(reference, name)
        rs, r_missing = _finite_sorted(*_numeric_series(series, reference.source))
        if not rs.size:
            return f"{reference.source}: column {name!r} has no finite value"
        if shared is not None:
            shared.offer(name, series)
        return _RawNumeric(rs, r_missing)
    ref_counts, ref_missing = _read_counts(reference, name)
    if not ref_counts:
        return f"{reference.source}: column {name!r} has no value"
    return _RawCategorical(ref_counts, ref_missing)


def _score(
    column: _Column,
    side: _ReferenceSide,
    series: pl.Series,
    source: str,
    settings: DriftSettings,
) -> ColumnDrift | str:
    """The drift of the current column ``series`` from the reference, or why it was left out."""
    name, role = column.name, column.role
    drift: ColumnDrift | None
    if isinstance(side, NumericColumnProfile):
        values, nulls = _numeric_series(series, source)
        drift = compare_numeric_sketch(side, values, nulls, role, settings)
        why = f"{source}: column {name!r} has no finite value"
    elif isinstance(side, CategoricalColumnProfile):
        state = CategoricalCurrent()
        state.update(series)
        drift = score_categorical_current(side, state, role, settings)
        why = f"{source}: column {name!r} has no value"
    elif isinstance(side, _RawNumeric):
        rs, r_missing = side.values, side.missing
        cs, c_missing = _finite_sorted(*_numeric_series(series, source))
        why = f"{source}: column {name!r} has no finite value"
        if cs.size:
            drift = _compare_sorted(rs, r_missing, cs, c_missing, name, role, settings)
        else:
            drift = _unscored_numeric(rs, r_missing, c_missing, name, role, settings)
    else:
        ref_counts, ref_missing = side.counts, side.missing
        cur_counts, cur_missing = _frame_value_counts(series.to_frame(), name)
        why = f"{source}: column {name!r} has no value"
        if cur_counts:
            drift = compare_categorical(
                ref_counts,
                cur_counts,
                reference_missing=ref_missing,
                current_missing=cur_missing,
                name=name,
                role=role,
                settings=settings,
            )
        else:
            drift = _unscored_categorical(
                ref_counts, ref_missing, cur_missing, name, role, settings
            )
    return _outcome(drift, role, why)


def _outcome(drift: ColumnDrift | None, role: ColumnRole, why: str) -> ColumnDrift | str:
    """The column's drift, or ``why`` it is left out."""
    # A feature with no current value is drift (of its data quality); a target or prediction
    # with none cannot be compared at all.
    if drift is None or (role != "feature" and drift.current.count == 0):
        return why
    return drift


def _binary_target(data: Data, name: str, dtype: pl.DataType) -> bool:
    """Whether the target is a boolean, or an integer whose values are only 0 and 1."""
    if dtype == pl.Boolean:
        return True
    if not dtype.is_integer():
        return False
    with reading(data.source):
        values = data.frame.select(pl.col(name).drop_nulls().unique()).collect().get_column(name)
    return set(values.to_list()) <= {0, 1}


def _errors(
    data: Data, target: _Column, prediction: _Column, *, classification: bool, binary: bool
) -> NDArray[np.float64]:
    """Per row with both values: 0/1 for a wrong class, or the residual ``prediction - target``.

    A numeric prediction of a ``binary`` target (boolean or 0/1) is a probability or a 0/1
    label: the predicted class is ``prediction >= 0.5``."""
    t, p = pl.col(target.name), pl.col(prediction.name)
    with reading(data.source):
        frame = data.frame.select(t, p).collect()
    truth, guess = frame.get_column(target.name), frame.get_column(prediction.name)
    if not classification:
        if not guess.dtype.is_numeric():
            raise ColumnError(
                f"{data.source}: the target {target.name!r} is numeric, so the prediction "
                f"{prediction.name!r} must be too; it is {guess.dtype}"
            )
        residual: NDArray[np.float64] = numeric_values(frame, prediction.name) - numeric_values(
            frame, target.name
        )
        return residual[np.isfinite(residual)]
    if binary and guess.dtype.is_numeric():
        guess_f = guess.cast(pl.Float64)
        valid = truth.is_not_null() & guess_f.is_not_null() & guess_f.is_not_nan()
        positive = truth.filter(valid).cast(pl.Int64) == 1
        wrong = (guess_f.filter(valid) >= 0.5) != positive
    else:
        valid = truth.is_not_null() & guess.is_not_null()
        wrong = truth.filter(valid).cast(pl.String) != guess.filter(valid).cast(pl.String)
    result: NDArray[np.float64] = wrong.cast(pl.Float64).to_numpy()
    return result


def _concept(
    target: _Column,
    prediction: _Column,
    reference: Data,
    current: Data,
    target_type: pl.DataType,
    settings: DriftSettings,
) -> ConceptDrift:
    # A boolean or 0/1 integer target is a class label, whatever kind it was compared as.
    binary = _binary_target(reference, target.name, target_type)
    classification = target.kind == "categorical" or binary
    kinds = {"classification": classification, "binary": binary}
    ref = _errors(reference, target, prediction, **kinds)
    cur = _errors(current, target, prediction, **kinds)
    for data, errors in ((reference, ref), (current, cur)):
        if not errors.size:
            raise ColumnError(
                f"{data.source}: no row holds both the target {target.name!r} and the "
                f"prediction {prediction.name!r}"
            )
    if classification:
        x_ref, x_cur = int(ref.sum()), int(cur.sum())
        score, p_value = two_proportion_z(x_ref, ref.shape[0], x_cur, cur.shape[0])
        threshold = settings.threshold("z")
        return ConceptDrift(
            kind="classification",
            method="z",
            score=score,
            threshold=threshold,
            p_value=p_value,
            drift_detected=_verdict("z", score, p_value, threshold),
            reference_error=x_ref / ref.shape[0],
            current_error=x_cur / cur.shape[0],
        )
    score, p_value = ks_2samp_sorted(np.sort(ref), np.sort(cur))
    threshold = settings.threshold("ks")
    return ConceptDrift(
        kind="regression",
        method="ks",
        score=score,
        threshold=threshold,
        p_value=p_value,
        drift_detected=_verdict("ks", score, p_value, threshold),
        reference_error=float(np.mean(np.abs(ref))),
        current_error=float(np.mean(np.abs(cur))),
    )


def check_drift(
    reference: Data | Profile,
    current: Data,
    settings: DriftSettings | None = None,
    *,
    reference_source: str | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> DriftResult:
    """Compare ``current`` with ``reference`` (raw data or a profile), column by column.

    Every column of the reference is compared, except the excluded ones; each must be in the
    current data, with a type of the same kind. ``settings.target`` and
    ``settings.prediction`` (with a profile, its own target and prediction by default) give
    label and prediction drift, and, with raw reference data, concept drift. A feature with
    no value on one side is left out with a ``DriftWarning``; a target or prediction with
    none is a ``ColumnError``.

    ``reference_source`` names a profile in the result (default: the data it was built from).
    ``progress(done, total)`` is called as columns complete, from the calling thread.
    """
    settings = settings or DriftSettings()
    cur_schema = _schema(current)
    current_rows = _rows(current)
    if isinstance(reference, Profile):
        source = reference_source or reference.metadata.source
        plan = _plan_profile(reference, source, current, cur_schema, settings)
        reference_rows = reference.metadata.row_count
        ref_types: Mapping[str, pl.DataType] = {}
    else:
        source = reference.source
        ref_schema = _schema(reference)
        check_excluded(settings.exclude, {*ref_schema, *cur_schema}, source)
        # Finding identifiers reads the reference too: a text file is parsed once, for both.
        reference = _in_memory(reference, list(ref_schema))
        reference_rows = _rows(reference)
        plan = _plan_data(reference, ref_schema, current, cur_schema, settings)
        ref_types = dict(ref_schema)
    time_column = settings.chunk_column
    if time_column is not None and time_column not in cur_schema:
        raise ColumnError(
            f"{settings.label('chunk_by')}: column {time_column!r} not found in "
            f"{current.source}; columns: {', '.join(cur_schema)}"
        )
    wanted = [c.name for c in plan.columns]
    current = _in_memory(current, [*wanted, *([time_column] if time_column else [])])
    chunks, chunking = _chunks(current, current_rows, settings)

    by_role = {c.role: c for c in plan.columns if c.role != "feature"}
    total = len(plan.columns) + int(plan.concept)
    done = 0
    results: dict[str, tuple[ColumnDrift | str, tuple[ColumnDrift, ...]]] = {}
    concept: ConceptDrift | None = None
    from stream_monitor.batch.multivariate import SharedReads, multivariate_drift

    # With raw reference data, the numeric features planned are read once for their scores
    # and the multivariate drift (``SharedReads``). With a profile, the multivariate drift
    # starts first, beside the columns. It is scored again below only if a feature planned
    # is left out.
    planned = [c.name for c in plan.columns if c.role == "feature" and c.kind == "numeric"]
    shared: SharedReads | None = None
    early: Future[MultivariateDrift | str | None] | None = None
    with ThreadPoolExecutor(max_workers=_WORKERS) as pool:
        tasks: dict[Future[Any], str | _Side | None] = {}
        sides: dict[str, tuple[SharedReads, Future[_ReferenceSide | str]]] = {}

        def compare(c: _Column) -> None:
            # Each reference side is let go of with its column's task (``pop``).
            args = (c, reference, current, settings, chunks, sides.pop(c.name, None))
            tasks[pool.submit(_compare_column, *args)] = c.name

        waiting = list(plan.columns)
        if settings.multivariate and isinstance(reference, Data) and len(planned) >= 2:
            # The current features first; then the reference sides, with a comparison of a
            # feature whose side is read after every ``_SIDES_PER_COMPARISON`` of them: the
            # fit has its pieces about halfway through, and fewer sorted
            # reference columns wait at once. The multivariate drift is scored beside the
            # rest.
            shared = SharedReads(reference, planned, reference_rows)
            tasks[pool.submit(shared.read_current, current)] = _Side.TASK
            features = [c for c in plan.columns if c.name in planned]
            waiting = [c for c in plan.columns if c.name not in planned]
            for i, c in enumerate(features):
                side = pool.submit(_shared_reference_side, c, reference, shared)
                sides[c.name] = (shared, side)
                if i % _SIDES_PER_COMPARISON == _SIDES_PER_COMPARISON - 1:
                    compare(features[i // _SIDES_PER_COMPARISON])
            waiting = features[len(features) // _SIDES_PER_COMPARISON :] + waiting
            # Waited for in the pool's lifetime: it hands half its rows to the pool.
            early = pool.submit(shared.score, settings, pool)
            tasks[early] = _Side.TASK
        elif settings.multivariate:
            early = pool.submit(multivariate_drift, reference, current, planned, settings)
        for c in waiting:
            compare(c)
        if plan.concept:
            assert isinstance(reference, Data)
            target, prediction = by_role["target"], by_role["prediction"]
            args = (target, prediction, reference, current, ref_types[target.name], settings)
            tasks[pool.submit(_concept, *args)] = None
        try:
            for future in as_completed(tasks):
                name = tasks[future]
                if name is _Side.TASK:
                    future.result()  # not a column's: an error stops here all the same
                    continue
                if name is None:
                    concept = future.result()
                else:
                    results[name] = future.result()
                done += 1
                if progress is not None:
                    progress(done, total)
        except BaseException:
            pool.shutdown(wait=True, cancel_futures=True)
            raise

    def multivariate(numeric: list[str]) -> MultivariateDrift | str | None:
        if early is not None and numeric == planned:
            return early.result()
        return multivariate_drift(reference, current, numeric, settings)

    return _result(
        plan,
        {name: outcome for name, (outcome, _) in results.items()},
        multivariate,
        settings,
        scores_from="sketch" if isinstance(reference, Profile) else "exact",
        reference=(source, "profile" if isinstance(reference, Profile) else "data", reference_rows),
        current=(current.source, current_rows),
        concept=concept,
        chunking=chunking,
        chunked=(chunks, {name: each for name, (_, each) in results.items()}),
    )


def _result(
    plan: _Plan,
    outcomes: Mapping[str, ColumnDrift | str],
    multivariate: Callable[[list[str]], MultivariateDrift | str | None],
    settings: DriftSettings,
    *,
    scores_from: Literal["sketch", "exact"],
    reference: tuple[str, Literal["profile", "data"], int],
    current: tuple[str, int],
    concept: ConceptDrift | None = None,
    chunking: dict[str, Any] | None = None,
    chunked: tuple[_Chunks | None, Mapping[str, tuple[ColumnDrift, ...]]] = (None, {}),
) -> DriftResult:
    """The result from each planned column's outcome (its drift, or why it was left out),
    warning of the columns left out; ``multivariate(numeric features)`` scores those."""
    left_out = list(plan.left_out)
    compared: dict[str, ColumnDrift] = {}
    for column in plan.columns:
        outcome = outcomes[column.name]
        if isinstance(outcome, str):
            _left_out(column.name, column.role, outcome, left_out)
        else:
            compared[column.name] = outcome
    for why in left_out:
        warnings.warn(why, DriftWarning, stacklevel=3)
    numeric = [d.name for d in compared.values() if d.role == "feature" and d.kind == "numeric"]
    joint = multivariate(numeric)
    notes = (*left_out, *plan.notes, *([joint] if isinstance(joint, str) else []))
    role_drift = {c.role: compared.get(c.name) for c in plan.columns if c.role != "feature"}
    features = tuple(d for d in compared.values() if d.role == "feature")
    chunks, per_feature = chunked
    per_chunk = tuple(
        DriftChunk(
            index=i,
            start=window.start,
            end=window.end,
            rows=window.rows,
            features=tuple(per_feature[f.name][i] for f in features),
            drift_share_threshold=settings.drift_share_threshold,
        )
        for i, window in enumerate(chunks.windows if chunks is not None else ())
    )
    return DriftResult(
        scores_from=scores_from,
        reference_source=reference[0],
        reference_kind=reference[1],
        reference_rows=reference[2],
        current_source=current[0],
        current_rows=current[1],
        features=features,
        label=role_drift.get("target"),
        prediction=role_drift.get("prediction"),
        concept=concept,
        drift_share_threshold=settings.drift_share_threshold,
        notes=notes,
        excluded=plan.excluded,
        multivariate=None if isinstance(joint, str) else joint,
        chunking=chunking,
        chunks=per_chunk,
    )


#: A current column's merged state: numeric (with its order statistics) or categorical.
CurrentState = tuple[NumericCurrent, OrderStatistic] | CategoricalCurrent


@runtime_checkable
class CurrentSketches(Protocol):
    """Current data that an engine other than Polars reads: it answers with merged states.

    This is the whole contract an engine implements for ``check-drift`` against a profile;
    the planning, the scores and the report are the same for every engine.
    """

    @property
    def source(self) -> str:
        """The name of the data in errors and in the report."""
        ...

    def schema(self) -> pl.Schema:
        """The columns and their types, as Polars would read them."""
        ...

    def rows(self) -> int:
        """The number of rows."""
        ...

    def all_null(self, name: str) -> bool:
        """Whether column ``name`` holds no value at all."""
        ...

    def sketch(self, columns: Sequence[ColumnProfile]) -> dict[str, CurrentState]:
        """Every column counted against its profile, by name."""
        ...

    def reconstruct(self, fitted: Reconstruction) -> tuple[ReconstructionCurrent, OrderStatistic]:
        """Every row's reconstruction error counted into ``fitted``'s state, and the order
        statistics of the finite errors."""
        ...


def check_drift_sketched(
    reference: Profile,
    current: CurrentSketches,
    settings: DriftSettings | None = None,
    *,
    reference_source: str | None = None,
) -> DriftResult:
    """``check_drift`` against a profile, of current data read by another engine.

    Chunks (drift over time) read the rows in order, which the merged states do not keep:
    asking for them is a ``ConfigError``. Multivariate drift is scored from the engine's
    merged reconstruction states (``CurrentSketches.reconstruct``).
    """
    from stream_monitor.batch.multivariate import multivariate_sketched

    settings = settings or DriftSettings()
    for key in ("chunk_by", "chunk_rows"):
        if getattr(settings, key) is not None:
            raise ConfigError(f"{settings.label(key)}: drift over time needs --engine polars")
    cur_schema = current.schema()
    current_rows = current.rows()
    if current_rows == 0:
        raise DataFileError(f"{current.source}: no rows to compare")
    source = reference_source or reference.metadata.source
    plan = _plan_profile(reference, source, current, cur_schema, settings)
    states = current.sketch([c.profile for c in plan.columns if c.profile is not None])
    outcomes: dict[str, ColumnDrift | str] = {}
    for column in plan.columns:
        state = states[column.name]
        drift: ColumnDrift | None
        if isinstance(column.profile, NumericColumnProfile):
            assert isinstance(state, tuple)
            drift = score_numeric_current(column.profile, *state, column.role, settings)
            why = f"{current.source}: column {column.name!r} has no finite value"
        else:
            assert isinstance(column.profile, CategoricalColumnProfile)
            assert isinstance(state, CategoricalCurrent)
            drift = score_categorical_current(column.profile, state, column.role, settings)
            why = f"{current.source}: column {column.name!r} has no value"
        outcomes[column.name] = _outcome(drift, column.role, why)
    return _result(
        plan,
        outcomes,
        lambda _: multivariate_sketched(reference, current, settings),
        settings,
        scores_from="sketch",
        reference=(source, "profile", reference.metadata.row_count),
        current=(current.source, current_rows),
    )


def _chunks(
    current: Data, rows: int, settings: DriftSettings
) -> tuple[_Chunks | None, dict[str, Any] | None]:
    """How the current rows are cut (``chunk_by`` or ``chunk_rows``), and its description."""
    chunking: dict[str, Any]
    if settings.chunk_rows is not None:
        chunks = _Chunks(None, row_chunks(rows, settings.chunk_rows))
        chunking = {"by": "rows", "rows": settings.chunk_rows}
        key = "chunk_rows"
    elif settings.chunk_by is not None:
        column, _, period = settings.chunk_by.rpartition(":")
        cut = time_windows(_read_series(current, column), period, current.source)
        chunks = _Chunks(cut.order, cut.windows)
        chunking = {
            "by": "time",
            "column": column,
            "period": period,
            "rows_without_timestamp": cut.without,
        }
        key = "chunk_by"
    else:
        return None, None
    if len(chunks.windows) > MAX_CHUNKS:
        raise ConfigError(
            f"{settings.label(key)}: cuts the {rows:,} rows of {current.source} into "
            f"{len(chunks.windows):,} chunks; at most {MAX_CHUNKS:,} are allowed"
        )
    return chunks, chunking
