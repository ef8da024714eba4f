"""The batch jobs as functions: what the ``stream-monitor`` subcommands run, for notebooks.

Each function takes its data as a file path (CSV, Parquet or NDJSON, read exactly as the
command line reads it) or as a table in memory (``stream_monitor._inputs``), and returns the
job's result object, whose ``to_dict()`` is the JSON document the command writes and whose
``save_json(path)`` writes it. ``config`` is the same YAML file as the commands' ``--config``
(its job's section, and ``input.null_values`` for CSV files); keyword arguments override it
as the flags do. Errors are those of the command line (``stream_monitor.errors``), with
the keyword in place of the flag where one is at fault.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, TypeVar

import polars as pl

from stream_monitor._inputs import open_data, open_reference, to_lazy
from stream_monitor.batch.drift import Data, DriftResult
from stream_monitor.batch.settings import DriftSettings, load_drift_settings
from stream_monitor.config import ProfileSettings, load_profile_settings, read_null_values
from stream_monitor.io import csv_null_values, scan_data
from stream_monitor.profile.model import Profile

if TYPE_CHECKING:  # each job's module is imported by its function: check_drift needs no other
    from stream_monitor.batch.degradation import DegradationReport, DegradationSettings
    from stream_monitor.batch.predictions import PredictionReport
    from stream_monitor.batch.schema import Schema, ValidationReport

__all__ = [
    "build_profile",
    "check_degradation",
    "check_drift",
    "load_profile",
    "monitor_predictions",
    "validate_schema",
]

_T = TypeVar("_T")

#: A file: its path.
Path_ = str | os.PathLike[str]


def _path(data: object) -> Path | None:
    """``data`` as a path, if it names a file (the command line's flags are Paths too)."""
    return Path(data) if isinstance(data, str | os.PathLike) else None


@contextmanager
def _reading_csv(config: object, null_values: Sequence[str] | None) -> Iterator[None]:
    """CSV files read with ``null_values``, else the config file's ``input.null_values``,
    else those of the enclosing ``csv_null_values`` block (none by default)."""
    path = _path(config)
    if null_values is None and path is not None:
        null_values = read_null_values(path)
    if null_values is None:
        yield
        return
    with csv_null_values(tuple(null_values)):
        yield


def _flags(function: str, **values: object) -> dict[str, tuple[object, str]]:
    """Keyword arguments as the settings loaders take flags, named as ``check_drift(target=)``."""
    return {key: (value, f"{function}({key}=)") for key, value in values.items()}


def check_drift(
    reference: Any,
    current: Any,
    *,
    target: str | None = None,
    prediction: str | None = None,
    exclude: Sequence[str] | None = None,
    chunk_by: str | None = None,
    chunk_rows: int | None = None,
    config: Path_ | DriftSettings | None = None,
    null_values: Sequence[str] | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> DriftResult:
    """Compare ``current`` with ``reference``, column by column, as ``check-drift`` does.

    ``reference`` is data (exact scores) or a ``Profile`` or profile file (scores from its
    sketches); ``current`` is data. ``config`` is a YAML file (its ``drift:`` section) or
    ``DriftSettings``; ``target``, ``prediction`` and ``exclude`` override it (``exclude``
    adds to its list). ``chunk_by="COLUMN:PERIOD"`` (``"event_time:1d"``) or ``chunk_rows=N``
    also scores every feature in each chunk of ``current`` (``result.chunks``: drift over
    time), replacing the config's chunking. A column left out is reported with a
    ``DriftWarning``.
    ``progress(done, total)`` is called as columns complete.
    """
    if isinstance(config, DriftSettings):
        overrides: dict[str, Any] = {
            "target": target,
            "prediction": prediction,
            "chunk_by": chunk_by,
            "chunk_rows": chunk_rows,
        }
        changes = {key: value for key, value in overrides.items() if value is not None}
        if chunk_by is not None or chunk_rows is not None:
            # A chunking given here replaces the settings' own, of either kind.
            changes = {"chunk_by": chunk_by, "chunk_rows": chunk_rows} | changes
        if exclude:
            changes["exclude"] = tuple(dict.fromkeys([*config.exclude, *exclude]))
        named = {key: f"check_drift({key}=)" for key in changes}
        settings = replace(config, **changes, sources={**config.sources, **named})
    else:
        flags = _flags(
            "check_drift",
            target=target,
            prediction=prediction,
            exclude=tuple(exclude) if exclude else None,
            chunk_by=chunk_by,
            chunk_rows=chunk_rows,
        )
        settings = load_drift_settings(_path(config), flags=flags)
    from stream_monitor.batch.drift import check_drift as compare

    with _reading_csv(config, null_values):
        ref: Data | Profile
        ref_path, cur_path = _path(reference), _path(current)
        if isinstance(reference, Profile):
            ref = reference
        elif ref_path is not None:
            ref = open_reference(ref_path)
        else:
            ref = _table(reference, "reference", columnar=True)
        if cur_path is not None:
            cur = open_data(cur_path)
        else:
            cur = _table(current, "current", columnar=True)
        source = None if ref_path is None else str(ref_path)
        return compare(ref, cur, settings, reference_source=source, progress=progress)


def check_degradation(
    reference: Any,
    current: Any,
    *,
    target: str,
    prediction: str,
    returns: str | None = None,
    task: Literal["classification", "regression"] | None = None,
    config: Path_ | DegradationSettings | None = None,
    null_values: Sequence[str] | None = None,
) -> DegradationReport:
    """Model metrics on ``current`` against a baseline, as ``check-degradation`` computes.

    ``reference`` is reference data, whose metrics are the baseline, or a stored
    ``Baseline`` (``Baseline.load(path)``, or ``report.baseline`` of an earlier run).
    ``config`` is a YAML file (its ``degradation:`` section) or ``DegradationSettings``.
    """
    from stream_monitor.batch.degradation import (
        Baseline,
        Columns,
        DegradationSettings,
        load_degradation_settings,
    )
    from stream_monitor.batch.degradation import check_degradation as judge

    if isinstance(config, DegradationSettings):
        settings = config
    else:
        settings = load_degradation_settings(_path(config))
    columns = Columns(target, prediction, returns)
    with _reading_csv(config, null_values):
        ref, cur = _pair(reference, current, Baseline)
        return judge(ref, cur, columns, settings, task=task)


def _pair(reference: Any, current: Any, stored: type[_T]) -> tuple[_T | Path | Data, Path | Data]:
    """The reference (kept as is when of type ``stored``) and the current data, each as
    a path or as ``Data``."""
    ref = reference if isinstance(reference, stored) else _path(reference)
    return (
        _table(reference, "reference") if ref is None else ref,
        _path(current) or _table(current, "current"),
    )


def _table(data: Any, role: str, *, columnar: bool = False) -> Data:
    """A table in memory as ``Data``; ``columnar``: read a column at a time, unless lazy."""
    frame, name = to_lazy(data, role)
    return Data(frame, name, columnar=columnar and not isinstance(data, pl.LazyFrame))


def validate_schema(
    data: Any,
    schema: Path_ | Schema | dict[str, Any],
    *,
    max_examples: int = 5,
    null_values: Sequence[str] | None = None,
) -> ValidationReport:
    """Check ``data`` against a column schema, as ``validate-schema`` does.

    ``schema`` is a schema YAML file (``docs/schema-validation.md``), a ``Schema``, or the
    same document as a dict. The report's ``valid`` is the verdict.
    """
    from stream_monitor.batch.schema import Schema, parse_schema, read_schema, validate

    if isinstance(schema, Schema):
        parsed, name = schema, "<Schema>"
    elif isinstance(schema, dict):
        parsed, name = parse_schema(schema, source="<schema>"), "<schema>"
    else:
        parsed, name = read_schema(Path(schema)), str(Path(schema))

    with _reading_csv(None, null_values):
        path = _path(data)
        if path is not None:
            frame, source = scan_data(path), str(path)
        else:
            frame, source = to_lazy(data, "data")
        report = validate(frame, parsed, source=source, max_examples=max_examples)
    return replace(report, schema=name)


def monitor_predictions(
    reference: Any,
    current: Any,
    *,
    prediction: str | None = None,
    timestamp: str | None = None,
    window: str | None = None,
    chunk_rows: int | None = None,
    method: str | None = None,
    threshold: float | None = None,
    config: Path_ | None = None,
    null_values: Sequence[str] | None = None,
) -> PredictionReport:
    """Prediction drift window by window, as ``monitor-predictions`` scores it.

    ``reference`` is data or a ``Profile`` (or profile file); windows are ``window``
    durations of ``timestamp`` (``"1h"``, ``"1d"``) or chunks of ``chunk_rows`` rows (the
    stream's 10,000 by default). ``config`` is a YAML file: its ``predictions:`` section
    (and, for reference data, its ``profile:`` section).
    """
    from stream_monitor.batch.predictions import load_prediction_settings
    from stream_monitor.batch.predictions import monitor_predictions as score

    flags = _flags(
        "monitor_predictions",
        prediction=prediction,
        timestamp=timestamp,
        window=window,
        chunk_rows=chunk_rows,
        method=method,
        threshold=threshold,
    )
    path = _path(config)
    settings = load_prediction_settings(path, flags)
    profile_settings = load_profile_settings(path) if path is not None else None
    with _reading_csv(config, null_values):
        ref, cur = _pair(reference, current, Profile)
        return score(ref, cur, settings, profile_settings=profile_settings)


def build_profile(
    data: Any,
    *,
    target: str | None = None,
    prediction: str | None = None,
    exclude: Sequence[str] | None = None,
    seasonality: Literal["daily", "weekly"] | None = None,
    timestamp: str | None = None,
    config: Path_ | ProfileSettings | None = None,
    null_values: Sequence[str] | None = None,
) -> Profile:
    """The reference profile of ``data``, as ``stream-monitor profile`` builds it.

    ``config`` is a YAML file (its ``profile:`` section) or ``ProfileSettings``; the keyword
    arguments override it (``exclude`` adds to its list). Identifier and timestamp columns
    are left out with a ``ProfileWarning``. ``Profile.save(path)`` writes it.
    """
    from stream_monitor.profile.build import build_profile as build_file
    from stream_monitor.profile.build import profile_frame

    given = {
        "target": target,
        "prediction": prediction,
        "exclude": tuple(exclude) if exclude else None,
        "seasonality": seasonality,
        "timestamp": timestamp,
    }
    if isinstance(config, ProfileSettings):
        changes: dict[str, Any] = {k: v for k, v in given.items() if v is not None}
        if exclude:
            changes["exclude"] = tuple(dict.fromkeys([*config.exclude, *exclude]))
        settings = replace(config, **changes)
    else:
        flags = _flags("build_profile", **given)
        settings = load_profile_settings(_path(config), flags=flags)
    with _reading_csv(config, null_values):
        path = _path(data)
        if path is not None:
            return build_file(path, settings)
        frame, source = to_lazy(data, "data")
        return profile_frame(frame, settings, source=source)


def load_profile(path: Path_) -> Profile:
    """Read a profile file written by ``Profile.save`` or ``stream-monitor profile``."""
    return Profile.load(Path(path))
