"""``stream-monitor check-drift``: a drift report of a current data file against a reference.

The reference (``--reference_data_path``) is a CSV, Parquet or NDJSON file, which gives exact
scores, or a profile written by ``stream-monitor profile`` (recognised by its Parquet
metadata), which gives scores from its sketches. Settings come from the ``drift:`` section of
``--config`` (see ``config/drift.example.yaml``); ``--target`` and ``--prediction`` override
it. ``--chunk-by COL:PERIOD`` or ``--chunk-rows N`` also scores every feature in each chunk of
the current data (drift over time). Writes the HTML report to ``--report_path``, the JSON
report (``docs/drift-report.md``) to ``--json_path``, or both; prints a line per column left
out on stderr, with a progress line while it works when stderr is a terminal, and a summary
on stdout; exports metrics as the output flags say.

Exit codes: 0 done (drift or not, unless ``--fail-on``), 1 a drift named by ``--fail-on``
was found (``--fail-on-drift`` is ``--fail-on dataset``), 2 bad input (one line on stderr).
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from stream_monitor.batch.outputs import Metric, add_output_flags, export
from stream_monitor.cli._flags import (
    add_data_flags,
    add_engine_flags,
    add_fail_on,
    add_flag,
    add_null_values_flag,
    check_output,
    exit_code,
)
from stream_monitor.engines import ENGINES, Engine
from stream_monitor.errors import ConfigError

if TYPE_CHECKING:  # imported by ``run``, once the current file is being read ahead
    from stream_monitor.batch.drift import DriftResult
    from stream_monitor.batch.settings import DriftSettings

COMMAND = "check-drift"
#: What ``--fail-on`` can name.
FAIL_ON = {
    "dataset": "the share of drifted features reached the threshold",
    "feature": "any feature's distribution",
    "data_quality": "any column's missing, infinite, out-of-range or unseen share",
    "label": "the target's distribution",
    "prediction": "the prediction's distribution",
    "concept": "the model's errors",
    "multivariate": "the PCA reconstruction error of the numeric features",
}
_PROG = f"stream-monitor {COMMAND}"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the ``check-drift`` subcommand's flags; its ``func`` runs it."""
    parser.description = (
        "Compare a current data file with a reference data file (exact scores) or a "
        "profile (scores from its sketches), column by column; write an HTML report and, "
        "optionally, the JSON report. Flags override the `drift:` section of --config "
        "(see config/drift.example.yaml)."
    )
    add_data_flags(parser)
    add_flag(
        parser,
        "report_path",
        type=Path,
        metavar="OUT.html",
        help="write the HTML report here (at least one of --report-path and --json-path)",
    )
    add_flag(
        parser,
        "json_path",
        type=Path,
        metavar="OUT.json",
        help="write the JSON report here",
    )
    parser.add_argument("--config", type=Path, help="YAML config; its drift: section")
    parser.add_argument("--target", metavar="COL", help="column holding the target")
    parser.add_argument("--prediction", metavar="COL", help="column holding the prediction")
    parser.add_argument(
        "--exclude",
        action="append",
        metavar="COL",
        help="leave this column out of the comparison (repeatable; adds to the config's)",
    )
    add_fail_on(parser, FAIL_ON, alias=("fail_on_drift", "dataset"))
    parser.add_argument(
        "--chunk-by",
        metavar="COL:PERIOD",
        help=(
            "drift over time: also score every feature in each PERIOD (a duration such as "
            "1h, 1d, 7d or 1mo) of the timestamp column COL of the current data"
        ),
    )
    parser.add_argument(
        "--chunk-rows",
        type=int,
        metavar="N",
        help="drift over time: also score every feature in each run of N current rows",
    )
    parser.add_argument(
        "--no-multivariate",
        action="store_true",
        help="leave out multivariate drift (the config's multivariate: false)",
    )
    add_output_flags(parser)
    add_engine_flags(parser)
    add_null_values_flag(parser)
    parser.set_defaults(func=run)


class _Progress:
    """``check-drift: 12/22 columns`` rewritten in place on a terminal; nothing otherwise."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.active = stream.isatty()
        self.shown = False

    def __call__(self, done: int, total: int) -> None:
        if self.active:
            self.stream.write(f"\r{COMMAND}: {done}/{total} columns")
            self.stream.flush()
            self.shown = True

    def close(self) -> None:
        if self.shown:
            self.stream.write("\r\033[K")
            self.stream.flush()
            self.shown = False


def run(args: argparse.Namespace) -> int:
    """Compare, write the reports, export the metrics; return the exit code."""
    report_path: Path | None = args.report_path
    json_path: Path | None = args.json_path
    if report_path is None and json_path is None:
        raise ConfigError("--report-path: give --report-path, --json-path or both")
    check_output(report_path, "--report_path")
    check_output(json_path, "--json_path")
    engine = ENGINES[args.engine]
    with engine.ahead_of_drift(args.reference_data_path, args.current_data_path):
        return _compare(args, engine, report_path, json_path)


def _compare(
    args: argparse.Namespace, engine: Engine, report_path: Path | None, json_path: Path | None
) -> int:
    from stream_monitor.batch.drift import DriftWarning
    from stream_monitor.batch.settings import load_drift_settings

    flags: dict[str, tuple[object, str]] = {
        "target": (args.target, "--target"),
        "prediction": (args.prediction, "--prediction"),
        "exclude": (tuple(args.exclude) if args.exclude else None, "--exclude"),
        "multivariate": (False if args.no_multivariate else None, "--no-multivariate"),
        "chunk_by": (args.chunk_by, "--chunk-by"),
        "chunk_rows": (args.chunk_rows, "--chunk-rows"),
    }
    settings = load_drift_settings(args.config, flags=flags)
    started = time.perf_counter()
    progress = _Progress(sys.stderr)
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", DriftWarning)
            result = engine.check_drift(
                args.reference_data_path,
                args.current_data_path,
                settings,
                args.spark_master,
                progress,
            )
    finally:
        progress.close()
    for warning in caught:
        if issubclass(warning.category, DriftWarning):
            print(f"{_PROG}: warning: {warning.message}", file=sys.stderr)
        else:
            warnings.warn_explicit(
                warning.message, warning.category, warning.filename, warning.lineno
            )
    written: list[Path] = []
    if json_path is not None:
        result.save_json(json_path)
        written.append(json_path)
    if report_path is not None:
        result.save_html(report_path)
        written.append(report_path)
    export(COMMAND, metrics(result), args, artifacts=written, params=params(result, settings))
    elapsed = time.perf_counter() - started
    outputs = ", ".join(str(p) for p in written)
    print(f"{_PROG}: {summary(result)} -> {outputs} in {elapsed:.1f} s")
    return exit_code(args, found(result))


def found(result: DriftResult) -> set[str]:
    """The kinds of drift of ``--fail-on`` that ``result`` holds."""
    kinds = {
        "dataset": result.dataset_drift,
        "feature": any(f.drift_detected for f in result.features),
        "data_quality": result.data_quality_drift,
        "label": result.label is not None and result.label.drift_detected,
        "prediction": result.prediction is not None and result.prediction.drift_detected,
        "concept": result.concept is not None and result.concept.drift_detected,
        "multivariate": result.multivariate is not None and result.multivariate.drift_detected,
    }
    return {kind for kind, drifted in kinds.items() if drifted}


def summary(result: DriftResult) -> str:
    """One line: drifted features against the threshold, and the other drifts found."""
    verdict = "dataset drift" if result.dataset_drift else "no dataset drift"
    text = (
        f"{result.n_drifted_features} of {result.n_features} features drifted (share "
        f"{result.drift_share:.2f}, threshold {result.drift_share_threshold:g}): {verdict}"
    )
    if result.n_quality_drifted_features:
        text += f"; data quality drifted in {result.n_quality_drifted_features} of them"
    for what, drift in (
        ("label", result.label),
        ("prediction", result.prediction),
        ("concept", result.concept),
    ):
        if drift is not None and drift.drift_detected:
            text += f"; {what} drift"
    for what, column in (("target", result.label), ("prediction", result.prediction)):
        if column is not None and column.quality_drift_detected:
            text += f"; {what} data quality drift"
    multivariate = result.multivariate
    if multivariate is not None and multivariate.drift_detected:
        text += f"; multivariate drift ({', '.join(multivariate.contributors) or 'no contributor'})"
    return text


def metrics(result: DriftResult) -> Sequence[Metric]:
    """The gauges of ``docs/metrics.md``: the dataset's verdict, each feature's, and those of
    the target, the prediction and the model's errors."""
    out = [
        Metric(
            "dataset_drift_detected",
            float(result.dataset_drift),
            help="1 if the dataset drifted (drift share at or above its threshold)",
        ),
        Metric(
            "dataset_drift_share", result.drift_share, help="share of the features that drifted"
        ),
    ]
    for feature in result.features:
        out.append(
            Metric(
                "feature_drift_score",
                feature.score,
                {"feature": feature.name, "method": feature.method},
                help="drift score of the feature (test statistic or distance)",
            )
        )
        out.append(
            Metric(
                "feature_drift_detected",
                float(feature.drift_detected),
                {"feature": feature.name},
                help="1 if the feature's distribution drifted",
            )
        )
        out.append(
            Metric(
                "feature_data_quality_drift_detected",
                float(feature.quality_drift_detected),
                {"feature": feature.name},
                help="1 if the feature's data quality drifted",
            )
        )
    label, prediction, concept = result.label, result.prediction, result.concept
    multivariate = result.multivariate
    optional = [
        (label, "label_drift_detected", {}, "1 if label drift was detected"),
        (
            prediction,
            "prediction_drift_detected",
            {"prediction": prediction.name, "method": prediction.method} if prediction else {},
            "1 if the prediction's distribution drifted from the reference",
        ),
        (concept, "concept_drift_detected", {}, "1 if concept drift was detected"),
        (
            multivariate,
            "multivariate_drift_detected",
            {},
            "1 if the reconstruction error of the numeric features drifted",
        ),
    ]
    out += [
        Metric(name, float(part.drift_detected), labels, help=text)
        for part, name, labels, text in optional
        if part is not None
    ]
    if multivariate is not None:
        out.append(
            Metric(
                "multivariate_reconstruction_error",
                multivariate.current_mean,
                help="mean PCA reconstruction error of the current rows",
            )
        )
    return out


def params(result: DriftResult, settings: DriftSettings) -> dict[str, str]:
    """What the run compared, for MLflow."""
    out: dict[str, Any] = {
        "reference": result.reference_source,
        "current": result.current_source,
        "scores_from": result.scores_from,
        "drift_share_threshold": settings.drift_share_threshold,
    }
    for role, drift in (("target", result.label), ("prediction", result.prediction)):
        if drift is not None:
            out[role] = drift.name
    return {key: str(value) for key, value in out.items()}
