"""Prediction drift over time: a model's outputs in a data file, window by window.

The prediction column of the current data is cut into windows, either tumbling time windows
on a timestamp column (Polars ``group_by_dynamic``, ``every = period = window``, windows
closed on the left and aligned on the epoch, so ``1h`` windows start on the hour) or
consecutive chunks of ``chunk_rows`` rows in file order. Each window is counted into a
sketch over the reference's bins and scored with ``window.score_numeric`` or
``window.score_categorical``: the functions the stream scores its windows with, against a
reference built the same way, so the batch job and ``stream-monitor run`` give the same
number for the same rows. A window of ``chunk_rows`` rows here is the stream's window of
``window_rows`` rows.

The reference is either a profile written by ``stream-monitor profile`` (its column named
like the prediction) or a data file, whose prediction column is then profiled here with the
settings of ``stream-monitor profile`` (the ``profile:`` section of the config, if given).

The prediction column's **data quality** is judged too, with ``check-drift``'s checks
(``batch.quality``): the share of missing (null, NaN) and infinite predictions and of finite
ones outside the reference's [min, max] (numeric), or of missing ones and of categories the
reference never saw (categorical), each held to the reference's by a one-sided Fisher exact
test and a least practical effect, over all the windowed rows and in each window. In a window
the p-value threshold is divided by the number of windows (Bonferroni), so that a file cut
into many windows is no likelier to raise a false alarm than one window.

The result is a versioned JSON document (``stream_monitor/schemas/
prediction_monitor.schema.json``, described in ``docs/prediction-monitoring.md``).
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from importlib import resources
from pathlib import Path
from types import MappingProxyType
from typing import Any, Literal

import numpy as np
import polars as pl
from numpy.typing import NDArray

from stream_monitor.batch.drift import Data
from stream_monitor.batch.outputs import Metric
from stream_monitor.batch.quality import (
    DataQuality,
    NonFinite,
    QualityRule,
    categorical_quality,
    numeric_quality,
    profile_categorical_reference,
    profile_numeric_reference,
)
from stream_monitor.batch.windows import check_duration, row_chunks, time_windows
from stream_monitor.config import ProfileSettings, read_section
from stream_monitor.detectors.histogram import CategoricalSketch, NumericSketch
from stream_monitor.detectors.methods import WINDOW_METHODS, method_names
from stream_monitor.detectors.scores import Score
from stream_monitor.detectors.window import (
    CategoricalReference,
    score_categorical,
    score_numeric,
)
from stream_monitor.engine.dataset import category_codes, numeric_reference, numeric_values
from stream_monitor.errors import ColumnError, ConfigError, DataFileError
from stream_monitor.io import collect_columns, reading, scan_data, write_text_atomic
from stream_monitor.profile.build import profile_frame
from stream_monitor.profile.marker import is_profile_file
from stream_monitor.profile.model import (
    CategoricalColumnProfile,
    ColumnProfile,
    NumericColumnProfile,
    Profile,
)
from stream_monitor.profile.store import read_profile
from stream_monitor.settings import STREAM_WINDOW_ROWS

__all__ = [
    "SCHEMA_VERSION",
    "SECTION",
    "PredictionReport",
    "PredictionSettings",
    "PredictionWindow",
    "load_prediction_settings",
    "load_reference",
    "monitor_predictions",
    "prediction_monitor_schema",
    "write_report",
]

#: Version of the JSON document; bumped on any change a reader could notice. Version 2 added
#: the data-quality verdicts.
SCHEMA_VERSION = 2

#: The config file's section read by ``monitor-predictions``.
SECTION = "predictions"

#: Categories listed in a categorical window's summary.
TOP_CATEGORIES = 5

#: The methods of a window (``detectors.methods.WINDOW_METHODS``), as in the stream.
_ALL_METHODS = method_names(window=True)


@dataclass(frozen=True)
class PredictionSettings:
    """What ``monitor-predictions`` computes; ``None`` means "not set".

    With neither ``window`` nor ``chunk_rows``, the windows are chunks of the stream's
    ``window_rows`` (10,000) rows. ``method`` defaults to the stream's: PSI for a numeric
    prediction, Jensen-Shannon for a categorical one; ``threshold`` to the method's default.
    ``sources`` names, for each setting that was given, the flag or config key it came from,
    so that errors found later (a method that does not fit the column) can name it.

    Examples
    --------
    >>> PredictionSettings(prediction="score", timestamp="ts", window="1h").window
    '1h'
    >>> PredictionSettings(prediction="score", window="1h", sources={"window": "--window"})
    Traceback (most recent call last):
    ...
    stream_monitor.errors.ConfigError: --window: time windows need a timestamp column (--timestamp)
    >>> PredictionSettings(prediction="score", timestamp="ts", window="1 hour")
    Traceback (most recent call last):
    ...
    stream_monitor.errors.ConfigError: window: '1 hour' is not a duration such as 15m, 1h or 1d
    """

    prediction: str | None = None
    timestamp: str | None = None
    window: str | None = None
    chunk_rows: int | None = None
    method: str | None = None
    threshold: float | None = None
    sources: Mapping[str, str] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "sources", MappingProxyType(dict(self.sources)))
        _check(self)

    def label(self, key: str) -> str:
        """The flag or config key that set ``key``."""
        return self.sources.get(key, key)


KEYS = tuple(f.name for f in fields(PredictionSettings) if f.name != "sources")


def _check(s: PredictionSettings) -> None:
    def fail(key: str, why: str) -> ConfigError:
        return ConfigError(f"{s.label(key)}: {why}")

    for key in ("prediction", "timestamp"):
        value = getattr(s, key)
        if value is not None and (not isinstance(value, str) or not value):
            raise fail(key, f"must be a column name, got {value!r}")
    if s.window is not None:
        check_duration(s.window, s.label("window"))
    if s.chunk_rows is not None:
        rows = s.chunk_rows
        if isinstance(rows, bool) or not isinstance(rows, int) or rows < 1:
            raise fail("chunk_rows", f"must be a positive integer, got {rows!r}")
    if s.window is not None and s.chunk_rows is not None:
        raise ConfigError(
            f"{s.label('window')} and {s.label('chunk_rows')}: give a time window or a row "
            "count, not both"
        )
    if s.window is not None and s.timestamp is None:
        raise fail("window", "time windows need a timestamp column (--timestamp)")
    if s.timestamp is not None and s.window is None:
        raise fail("timestamp", "a timestamp column needs a time window (--window)")
    if s.timestamp is not None and s.timestamp == s.prediction:
        raise fail("timestamp", f"column {s.timestamp!r} is the prediction column too")
    if s.method is not None and s.method not in _ALL_METHODS:
        raise fail(
            "method", f"unknown method {s.method!r}; expected one of {', '.join(_ALL_METHODS)}"
        )
    if s.threshold is not None:
        t = s.threshold
        if isinstance(t, bool) or not isinstance(t, int | float) or not math.isfinite(t) or t < 0:
            raise fail("threshold", f"must be a non-negative number, got {t!r}")


def load_prediction_settings(
    path: str | Path | None = None,
    flags: Mapping[str, tuple[object, str]] | None = None,
) -> PredictionSettings:
    """Read the ``predictions:`` section of the YAML file at ``path``; apply ``flags`` over it.

    ``flags`` maps a setting to ``(value, flag name)``; a value of None means the flag was not
    given. A ``window`` or ``chunk_rows`` flag replaces the file's windowing (a ``chunk_rows``
    flag drops the file's timestamp too). Errors name the flag, or the file and the key,
    holding the bad value.
    """
    values: dict[str, Any] = {}
    sources: dict[str, str] = {}
    if path is not None:
        for key, value in read_section(Path(path), SECTION, KEYS).items():
            if value is not None:
                values[key] = value
                sources[key] = f"{path}: {SECTION}.{key}"
    given = {key: value for key, (value, _) in (flags or {}).items() if value is not None}
    # A windowing flag replaces the file's windowing, whichever kind the file chose.
    if "window" in given:
        values.pop("chunk_rows", None)
    if "chunk_rows" in given:
        values.pop("window", None)
        if "timestamp" not in given:
            values.pop("timestamp", None)
    for key, (value, flag) in (flags or {}).items():
        if key not in KEYS:
            raise ValueError(f"no prediction-monitor setting named {key!r}")
        if value is not None:
            values[key] = value
            sources[key] = flag
    return PredictionSettings(**values, sources=sources)


def _floats(value: float) -> float | None:
    """JSON has no NaN: a value that is not finite becomes null."""
    return value if math.isfinite(value) else None


@dataclass(frozen=True)
class PredictionWindow:
    """One window of the current data and its score.

    ``start`` and ``end`` are ISO 8601 times (``[start, end)``) for time windows, and row
    positions in the file (``[start, end)``, from 0) for row chunks. ``missing`` counts the
    rows without a usable prediction (null; NaN or infinite for a numeric one).
    ``data_quality`` holds the window's shares against the reference's.
    """

    index: int
    start: str | int
    end: str | int
    rows: int
    missing: int
    score: Score
    summary: Mapping[str, Any]
    data_quality: DataQuality

    @property
    def drift_detected(self) -> bool:
        """Whether the window's score signalled drift."""
        return self.score.drift_detected

    def to_dict(self) -> dict[str, Any]:
        """The window as a JSON-ready dict (NaN as null)."""
        score = self.score.to_dict()
        score["value"] = _floats(score["value"])
        if score["p_value"] is not None:
            score["p_value"] = _floats(score["p_value"])
        return {
            "index": self.index,
            "start": self.start,
            "end": self.end,
            "rows": self.rows,
            "missing": self.missing,
            "score": score,
            "drift_detected": self.drift_detected,
            "summary": dict(self.summary),
            "data_quality": self.data_quality.to_dict(),
        }


Kind = Literal["numeric", "categorical", "boolean"]


@dataclass(frozen=True)
class PredictionReport:
    """Every window's score of the prediction column, and where they came from.

    ``data_quality`` is the prediction's data quality over all the windowed rows.
    """

    prediction: str
    kind: Kind
    method: str
    threshold: float
    reference: Mapping[str, Any]
    current: Mapping[str, Any]
    windowing: Mapping[str, Any]
    windows: tuple[PredictionWindow, ...]
    data_quality: DataQuality

    @property
    def n_windows(self) -> int:
        """Number of windows."""
        return len(self.windows)

    @property
    def n_drifted_windows(self) -> int:
        """Number of windows whose score signalled drift."""
        return sum(w.drift_detected for w in self.windows)

    @property
    def drift_detected(self) -> bool:
        """Whether any window signalled drift."""
        return self.n_drifted_windows > 0

    @property
    def n_quality_drifted_windows(self) -> int:
        """Number of windows whose data quality drifted."""
        return sum(w.data_quality.drift_detected for w in self.windows)

    @property
    def data_quality_drift(self) -> bool:
        """Whether the data quality drifted over all the rows or in any window."""
        return self.data_quality.drift_detected or self.n_quality_drifted_windows > 0

    def to_dict(self) -> dict[str, Any]:
        """The report as the JSON document of ``prediction_monitor.schema.json``."""
        return {
            "schema_version": SCHEMA_VERSION,
            "prediction": self.prediction,
            "kind": self.kind,
            "method": self.method,
            "threshold": self.threshold,
            "reference": dict(self.reference),
            "current": dict(self.current),
            "windowing": dict(self.windowing),
            "windows": [w.to_dict() for w in self.windows],
            "n_windows": self.n_windows,
            "n_drifted_windows": self.n_drifted_windows,
            "drift_detected": self.drift_detected,
            "data_quality": self.data_quality.to_dict(),
            "n_quality_drifted_windows": self.n_quality_drifted_windows,
            "data_quality_drift": self.data_quality_drift,
        }

    def save_json(self, path: str | Path) -> None:
        """Write the JSON document to ``path``, replacing it atomically."""
        write_report(self, path)

    def metrics(self) -> list[Metric]:
        """Low-cardinality gauges: counts, the verdict and the last window's score.

        A per-window score labelled by the window's start would add a series per window;
        the JSON document carries those instead.
        """
        labels = {"prediction": self.prediction, "method": self.method}
        last = self.windows[-1].score.value if self.windows else float("nan")
        return [
            Metric("prediction_windows", self.n_windows, labels, "Windows scored"),
            Metric(
                "prediction_drift_windows",
                self.n_drifted_windows,
                labels,
                "Windows whose prediction distribution drifted from the reference",
            ),
            Metric(
                "prediction_drift_detected",
                float(self.drift_detected),
                labels,
                "1 if the prediction's distribution drifted from the reference",
            ),
            Metric(
                "prediction_drift_score_last",
                last,
                labels,
                "Drift score of the last window (NaN when it had no prediction)",
            ),
            Metric(
                "prediction_data_quality_drift_detected",
                float(self.data_quality_drift),
                labels,
                "1 if the prediction's data quality drifted overall or in any window, else 0",
            ),
            *(
                Metric(
                    "prediction_quality_share",
                    check.current_share,
                    {**labels, "check": check.name},
                    "Share of the prediction's values failing a data-quality check, all rows",
                )
                for check in self.data_quality.checks
            ),
        ]

    def params(self) -> dict[str, str]:
        """The run's settings as MLflow parameters."""
        params = {
            "prediction": self.prediction,
            "method": self.method,
            "threshold": repr(self.threshold),
            "reference": str(self.reference["path"]),
            "current": str(self.current["path"]),
        }
        params.update({f"windowing.{k}": str(v) for k, v in self.windowing.items()})
        return params


def prediction_monitor_schema() -> dict[str, Any]:
    """The JSON Schema every prediction-monitor document validates against."""
    text = (
        resources.files("stream_monitor.schemas")
        .joinpath("prediction_monitor.schema.json")
        .read_text(encoding="utf-8")
    )
    schema: dict[str, Any] = json.loads(text)
    return schema


def write_report(report: PredictionReport, path: str | Path) -> None:
    """Write the report's JSON document to ``path``, replacing it atomically."""
    text = json.dumps(report.to_dict(), indent=2, allow_nan=False) + "\n"
    write_text_atomic(path, text, "report")


# -- the reference ---------------------------------------------------------------------


def load_reference(
    path: str | Path | Data | Profile,
    prediction: str,
    profile_settings: ProfileSettings | None = None,
) -> tuple[ColumnProfile, Literal["profile", "data"]]:
    """The reference profile of the prediction column, from a profile or data (a file or a
    ``Data`` frame).

    Data's prediction column is profiled with ``profile_settings`` (the defaults of
    ``stream-monitor profile`` when None); only that column is read.
    """
    if isinstance(path, Profile) or (not isinstance(path, Data) and is_profile_file(path)):
        profile = path if isinstance(path, Profile) else read_profile(path)
        if prediction not in profile.names:
            where = profile.metadata.source if isinstance(path, Profile) else path
            raise ColumnError(
                f"{where}: prediction column {prediction!r} is not in the profile; "
                f"its columns: {', '.join(profile.names)}"
            )
        return profile.column(prediction), "profile"
    data = path if isinstance(path, Data) else Data(scan_data(path), str(path))
    with reading(data.source):
        schema = data.frame.collect_schema()
    if prediction not in schema:
        raise ColumnError(
            f"{data.source}: prediction column {prediction!r} not found; "
            f"columns: {', '.join(schema)}"
        )
    base = profile_settings or ProfileSettings()
    kinds = {prediction: base.kinds[prediction]} if prediction in base.kinds else {}
    settings = replace(base, target=None, prediction=prediction, exclude=(), kinds=kinds)
    profile = profile_frame(data.frame.select(prediction), settings, source=data.source)
    return profile.column(prediction), "data"


def _numeric_summary(sketch: NumericSketch, values: NDArray[np.float64]) -> dict[str, Any]:
    finite = values[np.isfinite(values)]
    p50 = float(np.median(finite)) if finite.size else float("nan")
    return {
        "mean": _floats(sketch.mean),
        "std": _floats(sketch.std),
        "min": _floats(sketch.min),
        "p50": _floats(p50),
        "max": _floats(sketch.max),
    }


def _categorical_summary(sketch: CategoricalSketch, categories: tuple[str, ...]) -> dict[str, Any]:
    counts = sketch.counts
    total = int(counts.sum())
    if total == 0:
        return {"top": [], "other_share": None}
    named = counts[:-1]
    order = sorted(range(named.shape[0]), key=lambda i: (-int(named[i]), i))
    top = [
        {"value": categories[i], "share": int(named[i]) / total}
        for i in order[:TOP_CATEGORIES]
        if named[i] > 0
    ]
    return {"top": top, "other_share": int(counts[-1]) / total}


def _check_current_type(column: ColumnProfile, dtype: pl.DataType, path: str | Path) -> None:
    if isinstance(column, NumericColumnProfile) and not (
        dtype.is_numeric() or dtype in (pl.Boolean, pl.Null)
    ):
        raise ColumnError(
            f"{path}: prediction column {column.name!r} has type {dtype}, but it is numeric "
            "in the reference"
        )


def _method_and_threshold(column: ColumnProfile, settings: PredictionSettings) -> tuple[str, float]:
    numeric = isinstance(column, NumericColumnProfile)
    allowed = method_names("numeric" if numeric else "categorical", window=True)
    method = settings.method or ("psi" if numeric else "jensen_shannon")
    if method not in allowed:
        raise ConfigError(
            f"{settings.label('method')}: {method} does not apply to the {column.kind} "
            f"prediction {column.name!r}; choose one of {', '.join(allowed)}"
        )
    default = WINDOW_METHODS[method].default_threshold
    threshold = default if settings.threshold is None else settings.threshold
    return method, float(threshold)


def _cumulative(mask: NDArray[np.bool_]) -> NDArray[np.int64]:
    """``out[i]`` counts the true values of ``mask[:i]``."""
    out = np.zeros(mask.shape[0] + 1, dtype=np.int64)
    np.cumsum(mask, out=out[1:])
    return out


def _window_rule(rule: QualityRule, n_windows: int) -> QualityRule:
    """The rule of one window among ``n_windows``: Bonferroni over the windows."""
    return replace(rule, threshold=rule.threshold / max(n_windows, 1))


def _numeric_quality(
    column: NumericColumnProfile,
    values: NDArray[np.float64],
    spans: list[tuple[int, int]],
    rule: QualityRule,
) -> tuple[DataQuality, list[DataQuality]]:
    """The data quality of all ``values`` (nulls as NaN), and of each ``[first, stop)`` span."""
    reference = profile_numeric_reference(column)
    missing = np.isnan(values)
    infinite = np.isinf(values)
    finite = ~(missing | infinite)
    out = finite & ((values < column.min) | (values > column.max))
    sums = [_cumulative(mask) for mask in (missing, infinite, finite, out)]

    def judge(first: int, stop: int, rule: QualityRule) -> DataQuality:
        n_missing, n_inf, n_finite, n_out = (int(c[stop] - c[first]) for c in sums)
        return numeric_quality(
            *reference, stop - first, NonFinite(n_missing, n_inf), (n_out, n_finite), rule
        )

    each = _window_rule(rule, len(spans))
    return judge(0, values.shape[0], rule), [judge(a, b, each) for a, b in spans]


def _categorical_quality(
    column: CategoricalColumnProfile,
    codes: NDArray[np.int64],
    spans: list[tuple[int, int]],
    rule: QualityRule,
) -> tuple[DataQuality, list[DataQuality]]:
    """The data quality of all ``codes`` (-1 null, K outside the profile's categories), and
    of each ``[first, stop)`` span."""
    reference, ref_unseen = profile_categorical_reference(column)
    nulls = _cumulative(codes == -1)
    unseen = _cumulative(codes == len(column.categories))

    def judge(first: int, stop: int, rule: QualityRule) -> DataQuality:
        n_null = int(nulls[stop] - nulls[first])
        n_unseen = int(unseen[stop] - unseen[first])
        current = (stop - first - n_null, n_null)
        return categorical_quality(reference, ref_unseen, current, n_unseen, rule)

    each = _window_rule(rule, len(spans))
    return judge(0, codes.shape[0], rule), [judge(a, b, each) for a, b in spans]


def monitor_predictions(
    reference: str | Path | Data | Profile,
    current: str | Path | Data,
    settings: PredictionSettings,
    *,
    profile_settings: ProfileSettings | None = None,
) -> PredictionReport:
    """Score each window of the current data's prediction column against the reference
    (a data file, a profile file, a ``Profile`` or ``Data``)."""
    prediction = settings.prediction
    if prediction is None:
        raise ConfigError(
            f"--prediction: no prediction column given (flag or {SECTION}.prediction)"
        )
    column, reference_kind = load_reference(reference, prediction, profile_settings)
    method, threshold = _method_and_threshold(column, settings)
    if isinstance(reference, Profile):
        reference_path = reference.metadata.source
    else:
        reference_path = reference.source if isinstance(reference, Data) else str(reference)
    if isinstance(current, Data):
        lazy, current_path = current.frame, current.source
    else:
        lazy, current_path = scan_data(current), str(current)
    with reading(current_path):
        schema = lazy.collect_schema()
    wanted = [prediction] + ([settings.timestamp] if settings.timestamp else [])
    for name, what in zip(wanted, ("prediction", "timestamp"), strict=False):
        if name not in schema:
            raise ColumnError(
                f"{current_path}: {what} column {name!r} not found; columns: {', '.join(schema)}"
            )
    _check_current_type(column, schema[prediction], current_path)
    frame = collect_columns(lazy, wanted, source=current_path)
    if frame.height == 0:
        raise DataFileError(f"{current_path}: no rows to monitor")

    without_timestamp = 0
    bounds: list[tuple[str | int, str | int, int, int]]
    if settings.timestamp is not None:
        assert settings.window is not None  # _check pairs them
        cut = time_windows(frame.get_column(settings.timestamp), settings.window, current_path)
        frame, without_timestamp = frame[cut.order], cut.without
        bounds = [(w.start, w.end, w.first, w.stop) for w in cut.windows]
        windowing: dict[str, Any] = {
            "by": "time",
            "timestamp": settings.timestamp,
            "every": settings.window,
        }
    else:
        rows = settings.chunk_rows or STREAM_WINDOW_ROWS
        bounds = [(w.start, w.end, w.first, w.stop) for w in row_chunks(frame.height, rows)]
        windowing = {"by": "rows", "rows": rows}

    methods = {method: threshold}
    windows: list[PredictionWindow] = []
    spans = [(first, stop) for _, _, first, stop in bounds]
    quality: DataQuality
    if isinstance(column, NumericColumnProfile):
        numeric = numeric_reference(column)
        values = numeric_values(frame, prediction)
        quality, qualities = _numeric_quality(column, values, spans, QualityRule())
        sketch = NumericSketch(numeric.edges)
        for index, (start, end, first, stop) in enumerate(bounds):
            sketch.reset()
            sketch.update_many(values, first, stop)
            (score,) = score_numeric(numeric, sketch, methods)
            summary = _numeric_summary(sketch, values[first:stop])
            windows.append(
                PredictionWindow(
                    index,
                    start,
                    end,
                    stop - first,
                    sketch.n_skipped,
                    score,
                    summary,
                    qualities[index],
                )
            )
    else:
        assert isinstance(column, CategoricalColumnProfile)
        categorical = CategoricalReference(column.counts)
        # Polars 2's replace_strict sends nulls to its default, so category_codes gives them
        # the "other" code; a null is a missing prediction, as in the profile's null_count.
        nulls = frame.get_column(prediction).is_null().to_numpy()
        codes = np.where(nulls, np.int64(-1), category_codes(frame, column))
        quality, qualities = _categorical_quality(column, codes, spans, QualityRule())
        csketch = CategoricalSketch(categorical.n_categories)
        for index, (start, end, first, stop) in enumerate(bounds):
            csketch.reset()
            csketch.update_many(codes, first, stop)
            (score,) = score_categorical(categorical, csketch, methods)
            summary = _categorical_summary(csketch, column.categories)
            windows.append(
                PredictionWindow(
                    index,
                    start,
                    end,
                    stop - first,
                    csketch.n_null,
                    score,
                    summary,
                    qualities[index],
                )
            )

    return PredictionReport(
        prediction=prediction,
        kind=column.kind,
        method=method,
        threshold=threshold,
        reference={"path": str(reference_path), "type": reference_kind, "rows": column.count},
        current={
            "path": str(current_path),
            "rows": frame.height + without_timestamp,
            "rows_without_timestamp": without_timestamp,
        },
        windowing=windowing,
        windows=tuple(windows),
        data_quality=quality,
    )
