"""``stream-monitor monitor-predictions``: prediction drift over time windows of a data file.

Scores the prediction column of ``--current_data_path``, window by window (time windows on
``--timestamp``, or chunks of ``--chunk-rows`` rows), against ``--reference_data_path`` (a
data file or a profile), with the stream's scoring. Settings come from the ``predictions:``
section of ``--config`` (and, for a data-file reference, its ``profile:`` section); the
flags override them. Writes the JSON document to ``--json_path`` (stdout without it), prints
one summary line on stderr, and exports metrics as the output flags say.

Exit codes: 0 done (drift or not, unless ``--fail-on``), 1 what ``--fail-on`` names was found
(``drift``: some window drifted, as ``--fail-on-drift``; ``data_quality``: the prediction's
data quality drifted overall or in some window), 2 bad input (one line on stderr).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from stream_monitor.batch.outputs import add_output_flags, export
from stream_monitor.batch.predictions import (
    PredictionReport,
    PredictionSettings,
    load_prediction_settings,
    monitor_predictions,
)
from stream_monitor.cli._flags import (
    add_data_flags,
    add_fail_on,
    add_flag,
    add_null_values_flag,
    check_output,
    exit_code,
)
from stream_monitor.config import load_profile_settings
from stream_monitor.detectors.methods import WINDOW_METHODS, method_names

COMMAND = "monitor-predictions"
#: What ``--fail-on`` can name.
FAIL_ON = {
    "drift": "any window's score",
    "data_quality": (
        "the prediction's missing, infinite, out-of-range or unseen share grew, overall or "
        "in any window"
    ),
}
_PROG = f"stream-monitor {COMMAND}"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the ``monitor-predictions`` subcommand's flags; its ``func`` runs it."""
    parser.description = (
        "Score the prediction column of a data file, window by window, against a "
        "reference data file or profile. Flags override the `predictions:` section of "
        "--config (see config/predictions.example.yaml)."
    )
    add_data_flags(parser)
    parser.add_argument("--prediction", metavar="COL", help="column holding the prediction")
    windows = parser.add_mutually_exclusive_group()
    windows.add_argument(
        "--window", metavar="DURATION", help="time windows on --timestamp: 15m, 1h, 1d, ..."
    )
    add_flag(
        windows,
        "chunk_rows",
        type=int,
        metavar="N",
        help="windows of N consecutive rows (default 10000, the stream's window)",
    )
    parser.add_argument("--timestamp", metavar="COL", help="column holding each row's time")
    parser.add_argument(
        "--method",
        metavar="M",
        help=f"{', '.join(method_names(window=True))} "
        "(default psi for a numeric prediction, jensen_shannon for a categorical one)",
    )
    parser.add_argument(
        "--threshold", type=float, metavar="X", help="the method's threshold (default: its own)"
    )
    add_flag(
        parser,
        "json_path",
        type=Path,
        metavar="OUT",
        help="write the JSON document here (default stdout)",
    )
    parser.add_argument("--config", type=Path, help="YAML config; its predictions: section")
    add_fail_on(parser, FAIL_ON, alias=("fail_on_drift", "drift"))
    add_output_flags(parser)
    add_null_values_flag(parser)
    parser.set_defaults(func=run)


def settings_from(args: argparse.Namespace) -> PredictionSettings:
    """The config file's ``predictions:`` section with the flags applied over it."""
    flags = {
        "prediction": (args.prediction, "--prediction"),
        "timestamp": (args.timestamp, "--timestamp"),
        "window": (args.window, "--window"),
        "chunk_rows": (args.chunk_rows, "--chunk-rows"),
        "method": (args.method, "--method"),
        "threshold": (args.threshold, "--threshold"),
    }
    return load_prediction_settings(args.config, flags)


def run(args: argparse.Namespace) -> int:
    """Score the windows, write the document, export the metrics; return the exit code."""
    json_path: Path | None = args.json_path
    check_output(json_path, "--json_path")
    settings = settings_from(args)
    profile_settings = load_profile_settings(args.config) if args.config is not None else None
    report = monitor_predictions(
        args.reference_data_path,
        args.current_data_path,
        settings,
        profile_settings=profile_settings,
    )
    if json_path is not None:
        report.save_json(json_path)
    else:
        json.dump(report.to_dict(), sys.stdout, indent=2, allow_nan=False)
        sys.stdout.write("\n")
    export(
        COMMAND,
        report.metrics(),
        args,
        artifacts=[json_path] if json_path is not None else [],
        params=report.params(),
    )
    # stdout carries the result: the summary, unless the document itself went there.
    print(f"{_PROG}: {summary(report)}", file=sys.stderr if json_path is None else sys.stdout)
    return exit_code(args, found(report))


def found(report: PredictionReport) -> set[str]:
    """What ``--fail-on`` can name that ``report`` holds."""
    kinds = {"drift": report.drift_detected, "data_quality": report.data_quality_drift}
    return {kind for kind, present in kinds.items() if present}


def summary(report: PredictionReport) -> str:
    """One line: the prediction, the method and how many windows drifted."""
    # A p-value signals drift below its threshold; a distance, above.
    rule = "p <" if WINDOW_METHODS[report.method].value == "p_value" else ">"
    text = (
        f"{report.prediction}: {report.n_drifted_windows} of {report.n_windows} windows "
        f"drifted ({report.method} {rule} {report.threshold:g})"
    )
    first = next((w for w in report.windows if w.drift_detected), None)
    if first is not None:
        text += f"; first from {first.start}"
    overall = report.data_quality.drifted_checks
    if overall:
        text += f"; data quality drifted ({', '.join(overall)})"
    if report.n_quality_drifted_windows:
        text += (
            f"; data quality drifted in {report.n_quality_drifted_windows} of "
            f"{report.n_windows} windows"
        )
        since = next(w for w in report.windows if w.data_quality.drift_detected)
        text += f", first from {since.start} ({', '.join(since.data_quality.drifted_checks)})"
    return text
