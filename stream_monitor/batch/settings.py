"""Settings of ``stream-monitor check-drift``: the ``drift:`` section of the config file.

Every key is optional; ``config/drift.example.yaml`` documents them::

    drift:
      drift_share_threshold: 0.5       # dataset drift when this share of features drift
      numeric_method: null             # one method for every numeric column (null: by size)
      categorical_method: null         # one method for every categorical column
      thresholds: {psi: 0.2}           # per method, replacing the defaults below
      columns:                         # per column: a method, or a method and a threshold
        income: psi
        region: {method: chi_square, threshold: 0.01}
      exclude: [id]                    # columns left out of the comparison
      kinds: {zip_code: categorical}   # column kinds overriding the data types
      histogram_bins: 30               # most bins of a numeric column's histogram in the report
      quality_threshold: 0.001         # p-value below which a data-quality share grew ...
      quality_min_difference: 0.01     # ... by at least this much (a share: 1 point) ...
      quality_min_ratio: 2.0           # ... or to this many times the reference share
      target: default                  # optional; --target wins
      prediction: predicted_default    # optional; --prediction wins
      multivariate: true               # PCA reconstruction drift; false or --no-multivariate: off
      chunk_by: event_time:1d          # drift over time: also score each day (--chunk-by) ...
      chunk_rows: null                 # ... or each run of this many rows (--chunk-rows)

Errors name the file and the key (``cfg.yaml: drift.thresholds.psi: ...``), or the flag.

Methods and default thresholds. Tests (``ks``, ``chi_square``, ``z``) signal drift when their
p-value is *below* the threshold; distances when their value is *above* it:

>>> sorted(DEFAULT_THRESHOLDS.items())  # doctest: +NORMALIZE_WHITESPACE
[('chi_square', 0.05), ('hellinger', 0.1), ('jensen_shannon', 0.1), ('ks', 0.05),
 ('psi', 0.1), ('wasserstein', 0.1), ('z', 0.05)]
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from types import MappingProxyType
from typing import Any, cast

from stream_monitor.batch.quality import QualityRule
from stream_monitor.batch.windows import check_duration
from stream_monitor.config import KIND_OVERRIDES, KindOverride, read_section
from stream_monitor.detectors import methods as registry
from stream_monitor.errors import ConfigError

__all__ = [
    "CATEGORICAL_METHODS",
    "DEFAULT_THRESHOLDS",
    "METHODS",
    "NUMERIC_METHODS",
    "P_VALUE_METHODS",
    "ColumnMethod",
    "DriftSettings",
    "load_drift_settings",
]

# Everything below is read from the registry of score methods (``detectors.methods.METHODS``).

#: Methods that apply to numeric columns. ``chi_square`` and ``z`` treat the values as
#: categories (as Evidently does for numeric columns with few distinct values).
NUMERIC_METHODS = registry.method_names("numeric")
#: Methods that apply to categorical (and boolean) columns.
CATEGORICAL_METHODS = registry.method_names("categorical")
METHODS = registry.method_names()

#: Methods whose score is a p-value: drift when it is below the threshold.
P_VALUE_METHODS = frozenset(m.name for m in registry.METHODS.values() if m.value == "p_value")

#: The thresholds of the batch report. ``ks`` is a p-value here (as in Evidently), where the
#: stream's ``ks`` is a binned statistic with threshold 0.1 (``methods.WINDOW_METHODS``).
DEFAULT_THRESHOLDS: Mapping[str, float] = MappingProxyType(
    {m.name: m.default_threshold for m in registry.METHODS.values()}
)

_MAX_HISTOGRAM_BINS = 100
_SECTION = "drift"


@dataclass(frozen=True)
class ColumnMethod:
    """The method chosen for one column, and its threshold (None: the method's)."""

    method: str
    threshold: float | None = None


@dataclass(frozen=True)
class DriftSettings:
    """What ``check-drift`` computes; the defaults are those of the command line.

    Examples
    --------
    >>> DriftSettings(thresholds={"psi": 0.2}).threshold("psi")
    0.2
    >>> DriftSettings(columns={"age": ColumnMethod("ks", 0.01)}).threshold("ks", "age")
    0.01
    >>> DriftSettings(drift_share_threshold=1.5)
    Traceback (most recent call last):
    ...
    stream_monitor.errors.ConfigError: drift_share_threshold: must be a number in (0, 1], got 1.5
    """

    drift_share_threshold: float = 0.5
    numeric_method: str | None = None
    categorical_method: str | None = None
    thresholds: Mapping[str, float] = field(default_factory=dict)
    columns: Mapping[str, ColumnMethod] = field(default_factory=dict)
    exclude: tuple[str, ...] = ()
    kinds: Mapping[str, KindOverride] = field(default_factory=dict)
    histogram_bins: int = 30
    target: str | None = None
    prediction: str | None = None
    quality_threshold: float = 0.001
    quality_min_difference: float = 0.01
    quality_min_ratio: float = 2.0
    #: Report multivariate drift (``batch.multivariate``).
    multivariate: bool = True
    #: Drift over time: ``COLUMN:PERIOD`` (a Polars duration: ``1h``, ``1d``, ``7d``, ``1mo``)
    #: scores every feature in each time window of the current data too ...
    chunk_by: str | None = None
    #: ... or ``chunk_rows`` in each run of that many rows, in file order.
    chunk_rows: int | None = None
    #: The flag or config key that gave each setting, for errors found later to name it.
    sources: Mapping[str, str] = field(default_factory=dict, compare=False, repr=False)

    @property
    def chunk_column(self) -> str | None:
        """The timestamp column of ``chunk_by``."""
        return None if self.chunk_by is None else self.chunk_by.rpartition(":")[0]

    @property
    def chunk_period(self) -> str | None:
        """The period of ``chunk_by``."""
        return None if self.chunk_by is None else self.chunk_by.rpartition(":")[2]

    def __post_init__(self) -> None:
        # Copies, so that a caller's list or dict cannot change a frozen settings object.
        for name in ("thresholds", "columns", "kinds"):
            value = getattr(self, name)
            if isinstance(value, Mapping):
                object.__setattr__(self, name, MappingProxyType(dict(value)))
        if isinstance(self.exclude, list | tuple):
            object.__setattr__(self, "exclude", tuple(self.exclude))
        object.__setattr__(self, "sources", MappingProxyType(dict(self.sources)))
        _check({key: getattr(self, key) for key in _KEYS}, self.sources)

    def label(self, key: str) -> str:
        """The flag or config key that set ``key`` (the key itself by default)."""
        return self.sources.get(key, key)

    @property
    def quality_rule(self) -> QualityRule:
        """When a data-quality share grew (``batch.quality``)."""
        return QualityRule(
            self.quality_threshold, self.quality_min_difference, self.quality_min_ratio
        )

    def method(self, column: str, kind: str) -> str | None:
        """The method configured for ``column`` of ``kind``, or None to choose by size."""
        chosen = self.columns.get(column)
        if chosen is not None:
            return chosen.method
        return self.numeric_method if kind == "numeric" else self.categorical_method

    def threshold(self, method: str, column: str | None = None) -> float:
        """The threshold of ``method``: the column's, else the configured one, else the default."""
        chosen = self.columns.get(column) if column is not None else None
        if chosen is not None and chosen.method == method and chosen.threshold is not None:
            return chosen.threshold
        return self.thresholds.get(method, DEFAULT_THRESHOLDS[method])


_KEYS = tuple(f.name for f in fields(DriftSettings) if f.name != "sources")


def _label(labels: Mapping[str, str], key: str) -> str:
    return labels.get(key, key)


def _column_name(value: object, label: str) -> str:
    if not isinstance(value, str) or not value:
        raise ConfigError(f"{label}: must be a column name, got {value!r}")
    return value


def _method(value: object, label: str, allowed: tuple[str, ...] = METHODS) -> str:
    if value not in allowed:
        raise ConfigError(f"{label}: must be one of {', '.join(allowed)}, got {value!r}")
    return str(value)


def _threshold(method: str, value: object, label: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ConfigError(f"{label}: must be a number, got {value!r}")
    if method in P_VALUE_METHODS and not 0 < value < 1:
        raise ConfigError(f"{label}: a p-value threshold must be in (0, 1), got {value!r}")
    if value <= 0:
        raise ConfigError(f"{label}: must be positive, got {value!r}")
    return float(value)


def _check(values: Mapping[str, Any], labels: Mapping[str, str]) -> None:
    """Raise ``ConfigError`` naming the offending key's label if ``values`` are invalid."""
    share = values["drift_share_threshold"]
    if (
        isinstance(share, bool)
        or not isinstance(share, int | float)
        or not 0 < share <= 1
        or not math.isfinite(share)
    ):
        raise ConfigError(
            f"{_label(labels, 'drift_share_threshold')}: must be a number in (0, 1], got {share!r}"
        )
    for key, allowed in (
        ("numeric_method", NUMERIC_METHODS),
        ("categorical_method", CATEGORICAL_METHODS),
    ):
        if values[key] is not None:
            _method(values[key], _label(labels, key), allowed)
    thresholds = values["thresholds"]
    if not isinstance(thresholds, Mapping):
        raise ConfigError(
            f"{_label(labels, 'thresholds')}: must map methods to thresholds, got {thresholds!r}"
        )
    for method, limit in thresholds.items():
        label = f"{_label(labels, 'thresholds')}.{method}"
        _threshold(_method(method, label), limit, label)
    exclude = values["exclude"]
    if not isinstance(exclude, list | tuple):
        raise ConfigError(
            f"{_label(labels, 'exclude')}: must be a list of column names, got {exclude!r}"
        )
    for name in exclude:
        _column_name(name, _label(labels, "exclude"))
    columns = values["columns"]
    if not isinstance(columns, Mapping):
        raise ConfigError(
            f"{_label(labels, 'columns')}: must map column names to methods, got {columns!r}"
        )
    for name, chosen in columns.items():
        label = f"{_label(labels, 'columns')}.{name}"
        _column_name(name, label)
        if not isinstance(chosen, ColumnMethod):
            raise ConfigError(f"{label}: must be a method, got {chosen!r}")
        _method(chosen.method, label)
        if chosen.threshold is not None:
            _threshold(chosen.method, chosen.threshold, f"{label}.threshold")
        if name in exclude:
            raise ConfigError(f"{label}: column {name!r} is also excluded")
    kinds = values["kinds"]
    if not isinstance(kinds, Mapping):
        raise ConfigError(
            f"{_label(labels, 'kinds')}: must map column names to a kind, got {kinds!r}"
        )
    for name, kind in kinds.items():
        label = f"{_label(labels, 'kinds')}.{name}"
        _column_name(name, label)
        if kind not in KIND_OVERRIDES:
            raise ConfigError(f"{label}: must be one of {', '.join(KIND_OVERRIDES)}, got {kind!r}")
    bins = values["histogram_bins"]
    if isinstance(bins, bool) or not isinstance(bins, int) or not 2 <= bins <= _MAX_HISTOGRAM_BINS:
        raise ConfigError(
            f"{_label(labels, 'histogram_bins')}: must be an integer from 2 to "
            f"{_MAX_HISTOGRAM_BINS}, got {bins!r}"
        )
    _check_quality(values, labels)
    _check_chunks(values, labels)
    if not isinstance(values["multivariate"], bool):
        raise ConfigError(f"{_label(labels, 'multivariate')}: must be true or false")
    for role in ("target", "prediction"):
        name = values[role]
        if name is not None:
            _column_name(name, _label(labels, role))
            if name in exclude:
                raise ConfigError(f"{_label(labels, role)}: column {name!r} is also excluded")
    if values["target"] is not None and values["target"] == values["prediction"]:
        raise ConfigError(
            f"{_label(labels, 'prediction')}: column {values['target']!r} is the target too"
        )


def _check_quality(values: Mapping[str, Any], labels: Mapping[str, str]) -> None:
    """The data-quality rule: a p-value threshold in (0, 1), a least difference in [0, 1) and
    a least ratio of at least 1."""
    bounds = {
        "quality_threshold": (0.0, 1.0, "a number in (0, 1)"),
        "quality_min_difference": (0.0, 1.0, "a number in [0, 1)"),
        "quality_min_ratio": (1.0, math.inf, "a number of at least 1"),
    }
    for key, (lo, hi, what) in bounds.items():
        value = values[key]
        number = not isinstance(value, bool) and isinstance(value, int | float)
        ok = number and math.isfinite(value) and lo <= value < hi
        if key == "quality_threshold" and ok:
            ok = value > lo
        if not ok:
            raise ConfigError(f"{_label(labels, key)}: must be {what}, got {value!r}")


def _check_chunks(values: Mapping[str, Any], labels: Mapping[str, str]) -> None:
    """``chunk_by`` is ``COLUMN:PERIOD``, ``chunk_rows`` a positive integer, and not both.

    >>> _check_chunks({"chunk_by": "ts", "chunk_rows": None}, {"chunk_by": "--chunk-by"})
    Traceback (most recent call last):
    ...
    stream_monitor.errors.ConfigError: --chunk-by: 'ts' is not COLUMN:PERIOD, such as event_time:1d
    """
    by, rows = values["chunk_by"], values["chunk_rows"]
    if by is not None:
        label = _label(labels, "chunk_by")
        column, colon, period = by.rpartition(":") if isinstance(by, str) else ("", "", "")
        if not colon or not column:
            raise ConfigError(f"{label}: {by!r} is not COLUMN:PERIOD, such as event_time:1d")
        check_duration(period, label)
    if rows is not None and (isinstance(rows, bool) or not isinstance(rows, int) or rows < 1):
        raise ConfigError(
            f"{_label(labels, 'chunk_rows')}: must be a positive integer, got {rows!r}"
        )
    if by is not None and rows is not None:
        raise ConfigError(
            f"{_label(labels, 'chunk_by')} and {_label(labels, 'chunk_rows')}: chunk by time "
            "or by rows, not both"
        )


def _from_yaml(key: str, value: object, label: str) -> object:
    """Convert a YAML value to the type of the field ``key``."""
    if key == "exclude":
        if not isinstance(value, list):
            raise ConfigError(f"{label}: must be a list of column names, got {value!r}")
        return tuple(value)
    if key in ("thresholds", "kinds"):
        if not isinstance(value, dict):
            raise ConfigError(f"{label}: must be a mapping, got {value!r}")
        return dict(value)
    if key == "columns":
        if not isinstance(value, dict):
            raise ConfigError(f"{label}: must map column names to methods, got {value!r}")
        return {name: _column_method(entry, f"{label}.{name}") for name, entry in value.items()}
    return value


def _column_method(entry: object, label: str) -> ColumnMethod:
    """``psi`` or ``{method: psi, threshold: 0.2}`` as a ``ColumnMethod``."""
    if isinstance(entry, str):
        return ColumnMethod(_method(entry, label))
    if isinstance(entry, dict):
        unknown = [key for key in entry if key not in ("method", "threshold")]
        if unknown:
            raise ConfigError(f"{label}.{unknown[0]}: unknown key; expected method, threshold")
        if "method" not in entry:
            raise ConfigError(f"{label}: needs a method")
        method = _method(entry["method"], f"{label}.method")
        limit = entry.get("threshold")
        if limit is None:
            return ColumnMethod(method)
        return ColumnMethod(method, _threshold(method, limit, f"{label}.threshold"))
    raise ConfigError(f"{label}: must be a method or a mapping with method and threshold")


def load_drift_settings(
    path: str | Path | None = None,
    *,
    flags: Mapping[str, tuple[object, str]] | None = None,
) -> DriftSettings:
    """Read the ``drift:`` section of the YAML file at ``path`` and apply ``flags`` over it.

    ``flags`` maps a setting to ``(value, flag name)``; a value of None means the flag was not
    given; the columns of an ``exclude`` flag add to those of the file. Errors name the flag,
    or the file and the key, that holds the bad value.
    """
    values: dict[str, object] = {}
    labels: dict[str, str] = {}
    if path is not None:
        for key, value in read_section(Path(path), _SECTION, _KEYS).items():
            if value is None:  # an empty key keeps its default
                continue
            label = f"{path}: {_SECTION}.{key}"
            values[key] = _from_yaml(key, value, label)
            labels[key] = label
    given = {key for key, (value, _) in (flags or {}).items() if value is not None}
    # A chunking flag replaces the file's chunking, whichever kind the file chose.
    for key, other in (("chunk_by", "chunk_rows"), ("chunk_rows", "chunk_by")):
        if key in given and other not in given:
            values.pop(other, None)
    for key, (value, flag) in (flags or {}).items():
        if key not in _KEYS:
            raise ValueError(f"no drift setting named {key!r}")
        if value is not None:
            if key == "exclude" and isinstance(value, tuple):
                # Columns excluded by flag add to those of the file.
                earlier = cast(tuple[str, ...], values.get(key, ()))
                value = tuple(dict.fromkeys([*earlier, *value]))
            values[key] = value
            labels[key] = flag
    defaults = DriftSettings()
    merged: dict[str, Any] = {key: values.get(key, getattr(defaults, key)) for key in _KEYS}
    return DriftSettings(**merged, sources=labels)
