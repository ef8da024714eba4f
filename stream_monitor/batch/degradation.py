"""Model degradation: today's metrics against a baseline, each judged by its threshold.

The pieces, in the order ``stream-monitor check-degradation`` uses them:

- ``load_degradation_settings`` reads the ``degradation:`` section of the config file;
- ``read_columns`` reads the target, prediction and returns columns of a data file;
- ``measure`` computes the task's metrics on them (``stream_monitor.batch.metrics``);
- ``read_baseline`` / ``Baseline.to_dict`` hold metrics computed earlier, so that reference
  data need not be read again;
- ``compare`` judges every metric against the baseline and its ``Threshold``.

A threshold has an absolute part (``min``, ``max``) and a relative part (``max_drop``, the
largest relative worsening allowed: a fall for metrics where higher is better, a rise for the
error metrics MAE and RMSE). A metric with no entry of its own in ``metrics:`` gets the
section's ``max_drop``, 5% unless set. See docs/degradation.md.

>>> rule = Threshold(max_drop=0.05)
>>> rule.describe(higher_is_better=True)
'relative drop <= 5%'
>>> judged = judge("accuracy", 0.90, 0.84, rule)
>>> judged.degraded, round(judged.relative_change, 4), judged.reason
(True, -0.0667, 'dropped 6.67% (more than 5%)')
"""

from __future__ import annotations

import datetime as dt
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from types import MappingProxyType
from typing import Any, Final, Literal

import numpy as np
import polars as pl
from numpy.typing import NDArray

from stream_monitor.batch import metrics as m
from stream_monitor.batch.drift import Data
from stream_monitor.config import read_section
from stream_monitor.errors import ColumnError, ConfigError, DataFileError
from stream_monitor.io import collect_columns, reading, scan_data, write_text_atomic

__all__ = [
    "BASELINE_VERSION",
    "REPORT_VERSION",
    "TASKS",
    "Baseline",
    "Columns",
    "DegradationReport",
    "DegradationSettings",
    "Measured",
    "MetricComparison",
    "MetricValue",
    "Missing",
    "Threshold",
    "check_degradation",
    "compare",
    "degradation_schema",
    "judge",
    "load_degradation_settings",
    "measure",
    "read_baseline",
    "read_columns",
    "resolve_task",
]

BASELINE_VERSION: Final = 1
"""Version of the baseline JSON file this build reads and writes."""

REPORT_VERSION: Final = 2
"""Version of the JSON report (``stream_monitor/schemas/degradation.schema.json``); version 2
added ``current.missing``."""

MOSTLY_NULL: Final = 0.5
"""A target or prediction column with more than this share of missing values is flagged: the
metrics then come from a minority of the rows, which may not resemble the rest."""

Task = Literal["classification", "regression"]
TASKS: Final[tuple[Task, ...]] = ("classification", "regression")
PredictionType = Literal["auto", "score", "label"]
_PREDICTION_TYPES: Final[tuple[PredictionType, ...]] = ("auto", "score", "label")

DEFAULT_MAX_DROP: Final = 0.05

_SECTION: Final = "degradation"
_KEYS: Final = (
    "task",
    "positive_label",
    "prediction_type",
    "decision_threshold",
    "periods_per_year",
    "max_drop",
    "metrics",
)
_THRESHOLD_KEYS: Final = ("min", "max", "max_drop")

# A relative drop of exactly max_drop, once computed in floating point, may exceed it by an
# ulp or two; that is not a degradation.
_DROP_TOLERANCE: Final = 1e-9

Label = str | int | bool


def degradation_schema() -> dict[str, Any]:
    """The JSON Schema every ``DegradationReport.to_dict`` document validates against."""
    text = resources.files("stream_monitor.schemas").joinpath("degradation.schema.json")
    schema: dict[str, Any] = json.loads(text.read_text(encoding="utf-8"))
    return schema


def _now() -> str:
    return dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def _is_number(value: object) -> bool:
    return (
        isinstance(value, int | float)
        and not isinstance(value, bool)
        and not (isinstance(value, float) and math.isnan(value))
    )


# -- settings ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Threshold:
    """When a metric counts as degraded: outside ``[min, max]``, or worse than ``max_drop``."""

    min: float | None = None
    max: float | None = None
    max_drop: float | None = None

    def describe(self, *, higher_is_better: bool) -> str:
        """The rule in words, e.g. ``relative drop <= 5% and >= 0.7``."""
        parts = []
        if self.max_drop is not None:
            word = "drop" if higher_is_better else "increase"
            parts.append(f"relative {word} <= {self.max_drop * 100:.4g}%")
        if self.min is not None:
            parts.append(f">= {self.min:.6g}")
        if self.max is not None:
            parts.append(f"<= {self.max:.6g}")
        return " and ".join(parts) if parts else "not checked"

    def to_dict(self, *, higher_is_better: bool) -> dict[str, Any]:
        """The threshold as it appears in the JSON report."""
        return {
            "min": self.min,
            "max": self.max,
            "max_drop": self.max_drop,
            "description": self.describe(higher_is_better=higher_is_better),
        }


@dataclass(frozen=True)
class DegradationSettings:
    """The ``degradation:`` section; the defaults are those of the CLI."""

    task: Task | None = None
    positive_label: Label | None = None
    prediction_type: PredictionType = "auto"
    decision_threshold: float = 0.5
    periods_per_year: float | None = None
    max_drop: float = DEFAULT_MAX_DROP
    metrics: Mapping[str, Threshold] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "metrics", MappingProxyType(dict(self.metrics)))

    def threshold(self, metric: str) -> Threshold:
        """The metric's own threshold, or the section's default relative one."""
        own = self.metrics.get(metric)
        return own if own is not None else Threshold(max_drop=self.max_drop)

    def fingerprint(self, task: Task, *, sharpe: bool) -> dict[str, Any]:
        """The settings that change the metrics' values, as stored in a baseline."""
        out: dict[str, Any] = {}
        if task == "classification":
            out["positive_label"] = self.positive_label
            out["prediction_type"] = self.prediction_type
            out["decision_threshold"] = self.decision_threshold
        if sharpe:
            out["periods_per_year"] = self.periods_per_year
        return out


def _threshold(value: object, label: str) -> Threshold:
    if value is None:
        return Threshold()
    if not isinstance(value, dict):
        raise ConfigError(f"{label}: expected a mapping with min, max or max_drop, got {value!r}")
    for key in value:
        if key not in _THRESHOLD_KEYS:
            raise ConfigError(
                f"{label}.{key}: unknown key; expected one of {', '.join(_THRESHOLD_KEYS)}"
            )
    bounds: dict[str, float | None] = {}
    for key in _THRESHOLD_KEYS:
        bound = value.get(key)
        if bound is not None and not _is_number(bound):
            raise ConfigError(f"{label}.{key}: must be a number, got {bound!r}")
        bounds[key] = None if bound is None else float(bound)
    low, high, drop = bounds["min"], bounds["max"], bounds["max_drop"]
    if drop is not None and drop < 0:
        raise ConfigError(f"{label}.max_drop: must be at least 0, got {drop!r}")
    if low is not None and high is not None and low > high:
        raise ConfigError(f"{label}: min {low} is greater than max {high}")
    return Threshold(min=low, max=high, max_drop=drop)


def load_degradation_settings(path: str | Path | None) -> DegradationSettings:
    """Read the ``degradation:`` section of the YAML file at ``path`` (defaults when None).

    Errors name the file and the key.
    """
    if path is None:
        return DegradationSettings()
    section = read_section(Path(path), _SECTION, _KEYS)

    def label(key: str) -> str:
        return f"{path}: {_SECTION}.{key}"

    values: dict[str, Any] = {}
    task = section.get("task")
    if task is not None:
        if task not in TASKS:
            raise ConfigError(f"{label('task')}: must be one of {', '.join(TASKS)}, got {task!r}")
        values["task"] = task
    positive = section.get("positive_label")
    if positive is not None:
        if not isinstance(positive, str | int):
            raise ConfigError(f"{label('positive_label')}: must be text, an integer or a boolean")
        values["positive_label"] = positive
    kind = section.get("prediction_type")
    if kind is not None:
        if kind not in _PREDICTION_TYPES:
            raise ConfigError(
                f"{label('prediction_type')}: must be one of {', '.join(_PREDICTION_TYPES)}, "
                f"got {kind!r}"
            )
        values["prediction_type"] = kind
    for key in ("decision_threshold", "periods_per_year", "max_drop"):
        number = section.get(key)
        if number is None:
            continue
        if not _is_number(number) or math.isinf(number):
            raise ConfigError(f"{label(key)}: must be a finite number, got {number!r}")
        if key == "periods_per_year" and number <= 0:
            raise ConfigError(f"{label(key)}: must be positive, got {number!r}")
        if key == "max_drop" and number < 0:
            raise ConfigError(f"{label(key)}: must be at least 0, got {number!r}")
        values[key] = float(number)
    rules = section.get("metrics")
    if rules is not None:
        if not isinstance(rules, dict):
            raise ConfigError(f"{label('metrics')}: expected a mapping of metric names")
        thresholds: dict[str, Threshold] = {}
        for name, rule in rules.items():
            if name not in m.METRICS:
                raise ConfigError(
                    f"{label('metrics')}.{name}: unknown metric; expected one of "
                    f"{', '.join(m.METRICS)}"
                )
            thresholds[name] = _threshold(rule, f"{label('metrics')}.{name}")
        values["metrics"] = thresholds
    return DegradationSettings(**values)


# -- data --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Columns:
    """The columns a job reads: target, prediction and, optionally, per-period returns."""

    target: str
    prediction: str
    returns: str | None = None

    def flags(self) -> dict[str, str]:
        """Flag name -> column name, for the columns in use."""
        out = {"--target": self.target, "--prediction": self.prediction}
        if self.returns is not None:
            out["--returns"] = self.returns
        return out


def read_columns(path: str | Path | Data, columns: Columns) -> pl.DataFrame:
    """Read only ``columns`` of the data file (or ``Data``); errors name the file, the
    column and its flag."""
    if isinstance(path, Data):
        frame, path = path.frame, path.source
    else:
        frame = scan_data(path)
    with reading(path):
        names = frame.collect_schema().names()
    flags = columns.flags()
    for flag, name in flags.items():
        if name not in names:
            shown = ", ".join(names[:10]) + (", ..." if len(names) > 10 else "")
            raise ColumnError(f"{path}: no column {name!r} ({flag}); the file has {shown}")
    if columns.target == columns.prediction:
        raise ConfigError(f"--prediction: column {columns.prediction!r} is the --target too")
    data = collect_columns(frame, list(dict.fromkeys(flags.values())), source=path)
    if data.height == 0:
        raise DataFileError(f"{path}: no rows")
    return data


@dataclass(frozen=True)
class MetricValue:
    """A metric's value, or None and the reason it has none."""

    value: float | None
    reason: str | None = None


@dataclass(frozen=True)
class Missing:
    """``count`` of a column's ``rows`` have no value (null, or NaN in a float column)."""

    count: int
    rows: int

    @property
    def share(self) -> float:
        """``count / rows`` (0 without rows)."""
        return self.count / self.rows if self.rows else 0.0

    @property
    def mostly_null(self) -> bool:
        """Whether more than ``MOSTLY_NULL`` of the rows have no value."""
        return self.share > MOSTLY_NULL

    def to_dict(self) -> dict[str, Any]:
        """The column's missing values as they appear in the JSON report."""
        return {"count": self.count, "share": self.share, "mostly_null": self.mostly_null}


@dataclass(frozen=True)
class Measured:
    """Metrics computed on one data file, the rows they used, and the missing values of the
    target and the prediction (``missing["target"]``, ``missing["prediction"]``)."""

    metrics: Mapping[str, MetricValue]
    rows: int
    rows_scored: int
    rows_returns: int | None = None
    missing: Mapping[str, Missing] = field(default_factory=dict)

    @property
    def mostly_null(self) -> tuple[str, ...]:
        """The roles (``target``, ``prediction``) whose column is mostly null."""
        return tuple(role for role, m in self.missing.items() if m.mostly_null)


def _is_numeric(dtype: pl.DataType) -> bool:
    return dtype.is_numeric() and not isinstance(dtype, pl.Boolean)


def _valid(expr: pl.Expr, dtype: pl.DataType) -> pl.Expr:
    """True where the value is present: not null, and not NaN for floats."""
    return expr.is_not_null() & expr.is_not_nan() if dtype.is_float() else expr.is_not_null()


def _present(series: pl.Series) -> pl.Series:
    """The series without its nulls, and without its NaNs for floats."""
    kept = series.drop_nulls()
    return kept.drop_nans() if kept.dtype.is_float() else kept


def _binary_numbers(series: pl.Series) -> bool:
    """Whether every value of a numeric series is 0 or 1."""
    return bool(_present(series).cast(pl.Float64).is_in([0.0, 1.0]).all())


def resolve_task(
    data: pl.DataFrame,
    columns: Columns,
    *,
    flag: Task | None,
    settings: DegradationSettings,
    baseline: Task | None,
) -> Task:
    """The task: ``--task``, else the config's, else the baseline's, else from the target.

    A float target means regression unless it holds only 0 and 1; any other means
    classification.
    """
    chosen = flag or settings.task
    if chosen is not None:
        if baseline is not None and baseline != chosen:
            source = "--task" if flag else "the config's degradation.task"
            raise ConfigError(f"--baseline: holds {baseline} metrics, but {source} is {chosen}")
        return chosen
    if baseline is not None:
        return baseline
    target = data[columns.target]
    if target.dtype.is_float():
        return "classification" if _binary_numbers(target) else "regression"
    return "classification"


def _positive_mask(
    values: pl.Series, label: Label | None, *, source: str | Path, flag: str
) -> NDArray[np.bool_] | None:
    """The rows holding the positive label, or None when the labels are not binary.

    Without a label, a boolean column's positives are True and a numeric column holding only
    0 and 1 has positives 1; any other column is multiclass.
    """
    dtype = values.dtype
    if label is None:
        if isinstance(dtype, pl.Boolean):
            return values.to_numpy()
        if _is_numeric(dtype) and _binary_numbers(values):
            return (values == 1).to_numpy()
        return None
    if isinstance(dtype, pl.Boolean):
        if label not in (True, False):  # 1 and 0 compare equal to True and False
            raise ConfigError(
                f"degradation.positive_label {label!r} cannot match the boolean {flag} column "
                f"of {source}"
            )
        return (values == bool(label)).to_numpy()
    if _is_numeric(dtype):
        if isinstance(label, bool) or not isinstance(label, int):
            raise ConfigError(
                f"degradation.positive_label {label!r} cannot match the numeric {flag} column "
                f"of {source}"
            )
        return (values == label).to_numpy()
    if isinstance(dtype, pl.String | pl.Categorical | pl.Enum):
        if isinstance(label, bool):
            raise ConfigError(
                f"degradation.positive_label {label!r} cannot match the text {flag} column "
                f"of {source}; quote it in the YAML"
            )
        return (values.cast(pl.String) == str(label)).to_numpy()
    raise ColumnError(f"{source}: {flag} column {values.name!r} is {dtype}; expected labels")


def _is_score(target: pl.Series, prediction: pl.Series, kind: PredictionType) -> bool:
    if kind != "auto":
        return kind == "score"
    if prediction.dtype.is_float():
        return True
    # An integer prediction against an integer target holds labels, like the target.
    return prediction.dtype.is_integer() and not target.dtype.is_integer()


def _codes(target: pl.Series, prediction: pl.Series) -> tuple[NDArray[Any], NDArray[Any]]:
    """Target and prediction as comparable arrays: floats if both are numbers, else codes."""
    if _is_numeric(target.dtype) and _is_numeric(prediction.dtype):
        return target.cast(pl.Float64).to_numpy(), prediction.cast(pl.Float64).to_numpy()
    both = pl.concat([target.cast(pl.String), prediction.cast(pl.String)])
    codes = both.cast(pl.Categorical).to_physical().to_numpy()
    return codes[: target.len()], codes[target.len() :]


def _value(compute: Any, *args: Any, **kwargs: Any) -> MetricValue:
    try:
        return MetricValue(float(compute(*args, **kwargs)))
    except m.UndefinedMetricError as error:
        return MetricValue(None, str(error))


def _classification(
    target: pl.Series,
    prediction: pl.Series,
    settings: DegradationSettings,
    *,
    source: str | Path,
) -> dict[str, MetricValue]:
    label = settings.positive_label
    positives = _positive_mask(target, label, source=source, flag="--target")
    if positives is None:
        t, p = _codes(target, prediction)
        precision, recall, f1 = m.macro_precision_recall_f1(t, p)
        reason = "the target is multiclass; set positive_label for a one-vs-rest ROC AUC"
        return {
            "accuracy": _value(m.accuracy, t, p),
            "precision": MetricValue(precision),
            "recall": MetricValue(recall),
            "f1": MetricValue(f1),
            "roc_auc": MetricValue(None, reason),
        }
    if _is_score(target, prediction, settings.prediction_type):
        if not _is_numeric(prediction.dtype):
            raise ColumnError(
                f"{source}: --prediction column {prediction.name!r} is {prediction.dtype}; "
                f"prediction_type score needs numbers"
            )
        scores = prediction.cast(pl.Float64).to_numpy()
        predicted = scores >= settings.decision_threshold
        auc = _value(m.roc_auc, positives, scores)
    else:
        mask = _positive_mask(prediction, label, source=source, flag="--prediction")
        if mask is None:
            raise ColumnError(
                f"{source}: --prediction column {prediction.name!r} holds labels that are not "
                f"binary; set positive_label in the degradation: section of --config"
            )
        predicted = mask
        auc = MetricValue(None, "the prediction is a label, not a score")
    precision, recall, f1 = m.binary_precision_recall_f1(positives, predicted)
    return {
        "accuracy": _value(m.accuracy, positives, predicted),
        "precision": MetricValue(precision),
        "recall": MetricValue(recall),
        "f1": MetricValue(f1),
        "roc_auc": auc,
    }


def _regression(
    target: pl.Series, prediction: pl.Series, *, source: str | Path
) -> dict[str, MetricValue]:
    for flag, series in (("--target", target), ("--prediction", prediction)):
        if not _is_numeric(series.dtype):
            raise ColumnError(
                f"{source}: {flag} column {series.name!r} is {series.dtype}; regression needs "
                f"numbers"
            )
    y, p = target.cast(pl.Float64).to_numpy(), prediction.cast(pl.Float64).to_numpy()
    return {
        "mae": _value(m.mean_absolute_error, y, p),
        "rmse": _value(m.root_mean_squared_error, y, p),
        "r2": _value(m.r2_score, y, p),
    }


def measure(
    data: pl.DataFrame,
    columns: Columns,
    *,
    task: Task,
    settings: DegradationSettings,
    source: str | Path,
) -> Measured:
    """The task's metrics on ``data`` (rows with a null or NaN target or prediction left out),
    plus the Sharpe ratio of the non-null returns when ``columns.returns`` is set."""
    target_type, prediction_type = data.schema[columns.target], data.schema[columns.prediction]
    valid_target = _valid(pl.col(columns.target), target_type)
    valid_prediction = _valid(pl.col(columns.prediction), prediction_type)
    present = data.select(valid_target.sum().alias("t"), valid_prediction.sum().alias("p")).row(0)
    missing = {
        role: Missing(data.height - int(n), data.height)
        for role, n in zip(("target", "prediction"), present, strict=True)
    }
    scored = data.filter(valid_target & valid_prediction)
    if scored.height == 0:
        raise ColumnError(
            f"{source}: no row has both a --target ({columns.target!r}) and a --prediction "
            f"({columns.prediction!r})"
        )
    target, prediction = scored[columns.target], scored[columns.prediction]
    if task == "classification":
        values = _classification(target, prediction, settings, source=source)
    else:
        values = _regression(target, prediction, source=source)
    rows_returns = None
    if columns.returns is not None:
        returns = data[columns.returns]
        if not _is_numeric(returns.dtype):
            raise ColumnError(
                f"{source}: --returns column {columns.returns!r} is {returns.dtype}; "
                f"expected numbers"
            )
        kept = _present(returns)
        rows_returns = kept.len()
        values["sharpe"] = _value(
            m.sharpe_ratio,
            kept.cast(pl.Float64).to_numpy(),
            periods_per_year=settings.periods_per_year,
        )
    return Measured(
        values,
        rows=data.height,
        rows_scored=scored.height,
        rows_returns=rows_returns,
        missing=missing,
    )


# -- baseline ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Baseline:
    """Metrics to compare against, computed once from reference data."""

    task: Task
    metrics: Mapping[str, float | None]
    rows: int
    created_at: str
    source: str | None = None
    settings: Mapping[str, Any] = field(default_factory=dict)
    #: The file it was read from (``read_baseline``), None for one computed in this run.
    path: str | None = field(default=None, compare=False)

    @classmethod
    def load(cls, path: str | Path) -> Baseline:
        """Read a baseline JSON file (``read_baseline``)."""
        return read_baseline(path)

    def save(self, path: str | Path) -> None:
        """Write the baseline JSON file, for ``Baseline.load`` or ``--baseline``."""
        write_text_atomic(path, json.dumps(self.to_dict(), indent=2) + "\n", "baseline")

    @classmethod
    def of(
        cls,
        measured: Measured,
        *,
        task: Task,
        source: str,
        settings: DegradationSettings,
    ) -> Baseline:
        """The baseline of metrics just computed from the file ``source``."""
        return cls(
            task=task,
            metrics={name: value.value for name, value in measured.metrics.items()},
            rows=measured.rows,
            created_at=_now(),
            source=source,
            settings=settings.fingerprint(task, sharpe="sharpe" in measured.metrics),
        )

    def to_dict(self) -> dict[str, Any]:
        """The baseline JSON file's document."""
        return {
            "schema_version": BASELINE_VERSION,
            "task": self.task,
            "metrics": dict(self.metrics),
            "rows": self.rows,
            "created_at": self.created_at,
            "source": self.source,
            "settings": dict(self.settings),
        }

    def check_settings(self, settings: DegradationSettings, *, path: str | Path) -> None:
        """Raise ``ConfigError`` if ``settings`` would compute the metrics differently."""
        now = settings.fingerprint(self.task, sharpe="sharpe" in self.metrics)
        for key, value in self.settings.items():
            if key in now and now[key] != value:
                raise ConfigError(
                    f"--baseline {path}: computed with {key} {value!r}, this run uses "
                    f"{now[key]!r}; recompute it with --reference-data-path and --save-baseline"
                )


def read_baseline(path: str | Path) -> Baseline:
    """Read a baseline JSON file; errors name the file and the key."""
    try:
        document = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"--baseline {path}: no such file") from None
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError(f"--baseline {path}: cannot read: {error}") from error
    except json.JSONDecodeError as error:
        raise ConfigError(
            f"--baseline {path}: invalid JSON at line {error.lineno}: {error.msg}"
        ) from error
    if not isinstance(document, dict):
        raise ConfigError(f"--baseline {path}: expected a JSON object")
    version = document.get("schema_version")
    if version != BASELINE_VERSION or isinstance(version, bool):
        raise ConfigError(
            f"--baseline {path}: schema_version: this build reads version {BASELINE_VERSION}, "
            f"got {version!r}"
        )
    task = document.get("task")
    if task not in TASKS:
        raise ConfigError(f"--baseline {path}: task: must be one of {', '.join(TASKS)}")
    values = document.get("metrics")
    if not isinstance(values, dict):
        raise ConfigError(f"--baseline {path}: metrics: expected an object of metric values")
    for name, value in values.items():
        if name not in m.METRICS:
            raise ConfigError(f"--baseline {path}: metrics.{name}: unknown metric")
        if value is not None and not _is_number(value):
            raise ConfigError(f"--baseline {path}: metrics.{name}: must be a number or null")
    rows = document.get("rows")
    if isinstance(rows, bool) or not isinstance(rows, int) or rows < 0:
        raise ConfigError(f"--baseline {path}: rows: must be a non-negative integer")
    created_at = document.get("created_at")
    if not isinstance(created_at, str):
        raise ConfigError(f"--baseline {path}: created_at: must be a timestamp string")
    settings = document.get("settings", {})
    if not isinstance(settings, dict):
        raise ConfigError(f"--baseline {path}: settings: expected an object")
    source = document.get("source")
    return Baseline(
        task=task,
        metrics={k: None if v is None else float(v) for k, v in values.items()},
        rows=rows,
        created_at=created_at,
        source=source if isinstance(source, str) else None,
        settings=settings,
        path=str(path),
    )


# -- comparison --------------------------------------------------------------------------


@dataclass(frozen=True)
class MetricComparison:
    """One metric's baseline and current values, its threshold and verdict."""

    name: str
    baseline: float | None
    current: float | None
    threshold: Threshold
    degraded: bool
    reason: str | None = None

    @property
    def higher_is_better(self) -> bool:
        """False for the error metrics (MAE, RMSE)."""
        return m.HIGHER_IS_BETTER[self.name]

    @property
    def change(self) -> float | None:
        """``current - baseline``."""
        if self.baseline is None or self.current is None:
            return None
        return self.current - self.baseline

    @property
    def relative_change(self) -> float | None:
        """``(current - baseline) / |baseline|``; None when the baseline is 0."""
        change = self.change
        if change is None or self.baseline == 0:
            return None
        assert self.baseline is not None
        return change / abs(self.baseline)

    def to_dict(self) -> dict[str, Any]:
        """The metric's entry in the JSON report."""
        return {
            "baseline": self.baseline,
            "current": self.current,
            "change": self.change,
            "relative_change": self.relative_change,
            "higher_is_better": self.higher_is_better,
            "threshold": self.threshold.to_dict(higher_is_better=self.higher_is_better),
            "degraded": self.degraded,
            "reason": self.reason,
        }


def _percent(x: float) -> str:
    return f"{x * 100:.3g}%"


def judge(
    name: str,
    baseline: float | None,
    current: float | None,
    threshold: Threshold,
    *,
    current_reason: str | None = None,
    baseline_reason: str | None = None,
) -> MetricComparison:
    """Judge one metric: degraded when outside ``[min, max]`` or worse than ``max_drop``.

    With a baseline of 0, any worsening is an infinite relative drop. A metric without a
    current value is never degraded; the reason says why it has none.
    """
    if current is None:
        why = f"no current value: {current_reason}" if current_reason else "no current value"
        return MetricComparison(name, baseline, None, threshold, degraded=False, reason=why)
    notes: list[str] = []
    degraded = False
    if threshold.min is not None and current < threshold.min:
        degraded = True
        notes.append(f"below min {threshold.min:.6g}")
    if threshold.max is not None and current > threshold.max:
        degraded = True
        notes.append(f"above max {threshold.max:.6g}")
    if threshold.max_drop is not None:
        if baseline is None:
            notes.append(
                f"no baseline value: {baseline_reason}" if baseline_reason else "no baseline value"
            )
        else:
            higher = m.HIGHER_IS_BETTER[name]
            worse_by = (baseline - current) if higher else (current - baseline)
            word = "dropped" if higher else "rose"
            if baseline == 0:
                if worse_by > 0:
                    degraded = True
                    notes.append(f"{word} from a baseline of 0")
            elif (drop := worse_by / abs(baseline)) > threshold.max_drop + _DROP_TOLERANCE:
                degraded = True
                notes.append(f"{word} {_percent(drop)} (more than {_percent(threshold.max_drop)})")
    return MetricComparison(
        name, baseline, current, threshold, degraded, "; ".join(notes) if notes else None
    )


def compare(
    current: Measured,
    baseline: Mapping[str, float | None],
    settings: DegradationSettings,
    *,
    baseline_reasons: Mapping[str, str | None] | None = None,
) -> list[MetricComparison]:
    """Judge every metric of ``current`` against ``baseline`` with its threshold."""
    reasons = baseline_reasons or {}
    return [
        judge(
            name,
            baseline.get(name),
            value.value,
            settings.threshold(name),
            current_reason=value.reason,
            baseline_reason=reasons.get(name)
            or (None if name in baseline else "not in the baseline"),
        )
        for name, value in current.metrics.items()
    ]


@dataclass(frozen=True)
class DegradationReport:
    """Everything ``check-degradation`` found, as written to its JSON report."""

    task: Task
    columns: Columns
    settings: DegradationSettings
    current_path: str
    current: Measured
    baseline: Baseline
    baseline_kind: Literal["file", "reference"]
    baseline_path: str
    comparisons: tuple[MetricComparison, ...]

    @property
    def degraded(self) -> bool:
        """True when any metric degraded."""
        return any(c.degraded for c in self.comparisons)

    def to_dict(self) -> dict[str, Any]:
        """The versioned JSON report (``degradation.schema.json``)."""
        return {
            "schema_version": REPORT_VERSION,
            "created_at": _now(),
            "task": self.task,
            "degraded": self.degraded,
            "columns": {
                "target": self.columns.target,
                "prediction": self.columns.prediction,
                "returns": self.columns.returns,
            },
            "settings": {
                "positive_label": self.settings.positive_label,
                "prediction_type": self.settings.prediction_type,
                "decision_threshold": self.settings.decision_threshold,
                "periods_per_year": self.settings.periods_per_year,
                "max_drop": self.settings.max_drop,
            },
            "current": {
                "path": self.current_path,
                "rows": self.current.rows,
                "rows_scored": self.current.rows_scored,
                "rows_returns": self.current.rows_returns,
                "missing": {role: m.to_dict() for role, m in self.current.missing.items()},
            },
            "baseline": {
                "kind": self.baseline_kind,
                "path": self.baseline_path,
                "rows": self.baseline.rows,
                "created_at": self.baseline.created_at,
            },
            "metrics": {c.name: c.to_dict() for c in self.comparisons},
        }

    def save_json(self, path: str | Path) -> None:
        """Write the JSON report to ``path``, replacing it atomically."""
        write_text_atomic(path, json.dumps(self.to_dict(), indent=2) + "\n", "JSON report")

    def describe(self) -> list[str]:
        """A short human summary: a verdict line, then one line per metric."""
        verdict = "DEGRADED" if self.degraded else "ok"
        lines = [
            f"{verdict}: {self.task}, {self.current.rows_scored} rows of {self.current_path} "
            f"against the {self.baseline_kind} baseline {self.baseline_path}"
        ]
        for role in self.current.mostly_null:
            name = self.columns.target if role == "target" else self.columns.prediction
            share = self.current.missing[role].share
            lines.append(
                f"  WARNING: {role} {name!r} is {share * 100:.1f}% null: the metrics come from "
                "the other rows only"
            )
        for c in self.comparisons:

            def fmt(x: float | None) -> str:
                return "-" if x is None else f"{x:.4f}"

            rel = c.relative_change
            change = "" if rel is None else f" ({rel * 100:+.1f}%)"
            rule = c.threshold.describe(higher_is_better=c.higher_is_better)
            if c.degraded:
                verdict = f"DEGRADED: {c.reason}"
            else:
                verdict = f"ok ({rule})" + (f"; {c.reason}" if c.reason else "")
            lines.append(
                f"  {c.name:<9} baseline {fmt(c.baseline):>9}  current {fmt(c.current):>9}"
                f"{change:<10} {verdict}"
            )
        return lines


def check_degradation(
    reference: str | Path | Data | Baseline,
    current: str | Path | Data,
    columns: Columns,
    settings: DegradationSettings | None = None,
    *,
    task: Task | None = None,
) -> DegradationReport:
    """Measure the current data's metrics and judge them against the baseline: a stored
    ``Baseline``, or one computed from reference data. ``task`` (else the settings', else
    the baseline's, else guessed from the target) picks the metrics."""
    settings = settings or DegradationSettings()
    stored = reference if isinstance(reference, Baseline) else None
    if stored is not None:
        stored.check_settings(settings, path=stored.path or "<Baseline>")
    current_data = read_columns(current, columns)
    current_source = current.source if isinstance(current, Data) else str(current)
    task = resolve_task(
        current_data,
        columns,
        flag=task,
        settings=settings,
        baseline=None if stored is None else stored.task,
    )
    measured = measure(current_data, columns, task=task, settings=settings, source=current_source)
    del current_data

    kind: Literal["file", "reference"]
    reasons: dict[str, str | None] = {}
    if stored is not None:
        baseline, kind, baseline_path = stored, "file", stored.path or "<Baseline>"
    else:
        assert not isinstance(reference, Baseline)
        source = reference.source if isinstance(reference, Data) else str(reference)
        on_reference = measure(
            read_columns(reference, columns), columns, task=task, settings=settings, source=source
        )
        baseline = Baseline.of(on_reference, task=task, source=source, settings=settings)
        reasons = {name: value.reason for name, value in on_reference.metrics.items()}
        kind, baseline_path = "reference", source
    comparisons = compare(measured, baseline.metrics, settings, baseline_reasons=reasons)
    return DegradationReport(
        task=task,
        columns=columns,
        settings=settings,
        current_path=current_source,
        current=measured,
        baseline=baseline,
        baseline_kind=kind,
        baseline_path=baseline_path,
        comparisons=tuple(comparisons),
    )
