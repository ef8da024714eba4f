"""``stream-monitor check-degradation``: model metrics on current data against a baseline.

Computes the task's metrics (classification: accuracy, precision, recall, F1, ROC AUC;
regression: MAE, RMSE, R²; plus the Sharpe ratio of ``--returns``) on
``--current_data_path`` and compares each with its baseline, read from ``--baseline`` or
computed from ``--reference_data_path``, under the thresholds of the ``degradation:`` section
of ``--config`` (docs/degradation.md). Writes the JSON report to ``--json_path``, prints a
short summary on stdout, and exports metrics as the output flags say.

Exit codes: 0 done (degraded or not, unless ``--fail-on degradation``), 1 degraded with
``--fail-on degradation`` (or its shorthand ``--fail-on-degradation``), 2 bad input (one
line on stderr).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from stream_monitor.batch.degradation import (
    TASKS,
    Columns,
    DegradationReport,
    check_degradation,
    load_degradation_settings,
    read_baseline,
)
from stream_monitor.batch.outputs import Metric, add_output_flags, export
from stream_monitor.cli._flags import (
    add_current_flag,
    add_fail_on,
    add_flag,
    add_null_values_flag,
    check_output,
    exit_code,
)
from stream_monitor.errors import ConfigError

COMMAND = "check-degradation"


#: What ``--fail-on`` can name.
FAIL_ON = {"degradation": "any metric degraded against the baseline"}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the ``check-degradation`` subcommand's flags; its ``func`` runs it."""
    parser.description = (
        "Compute model metrics on current data and compare them with a baseline file or "
        "reference data, under the thresholds of the degradation: section of --config "
        "(see config/degradation.example.yaml). Exit codes: 0 done, 1 degraded with "
        "--fail-on-degradation, 2 bad input."
    )
    add_current_flag(parser)
    parser.add_argument("--target", required=True, metavar="COL", help="column of true values")
    parser.add_argument(
        "--prediction", required=True, metavar="COL", help="column of predictions or scores"
    )
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument(
        "--baseline", type=Path, metavar="BASELINE.json", help="baseline metrics file"
    )
    add_flag(
        source,
        "reference_data_path",
        type=Path,
        metavar="REF",
        help="reference data to compute the baseline from",
    )
    parser.add_argument(
        "--task", choices=TASKS, help="default: the config's, the baseline's, or from --target"
    )
    parser.add_argument(
        "--returns", metavar="COL", help="column of per-period returns: adds the Sharpe ratio"
    )
    parser.add_argument("--config", type=Path, help="YAML config file; its degradation: section")
    add_flag(
        parser,
        "json_path",
        type=Path,
        metavar="OUT.json",
        help="write the JSON report here",
    )
    parser.add_argument(
        "--baseline-path",
        "--save-baseline",
        "--save_baseline",
        dest="save_baseline",
        type=Path,
        metavar="OUT.json",
        help="write the baseline computed from --reference_data_path here, for --baseline",
    )
    add_fail_on(parser, FAIL_ON, alias=("fail_on_degradation", "degradation"))
    add_output_flags(parser)
    add_null_values_flag(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Measure, compare and report; return the exit code."""
    if args.save_baseline is not None and args.reference_data_path is None:
        raise ConfigError("--baseline-path: needs --reference_data_path to compute a baseline")
    for path, flag in (
        (args.json_path, "--json-path"),
        (args.save_baseline, "--save-baseline"),
        (args.metrics_path, "--metrics-path"),
    ):
        check_output(path, flag)
    settings = load_degradation_settings(args.config)
    columns = Columns(args.target, args.prediction, args.returns)
    reference = (
        read_baseline(args.baseline) if args.baseline is not None else args.reference_data_path
    )
    report = check_degradation(reference, args.current_data_path, columns, settings, task=args.task)
    baseline = report.baseline

    artifacts: list[Path] = []
    if args.save_baseline is not None:
        baseline.save(args.save_baseline)
        artifacts.append(args.save_baseline)
    if args.json_path is not None:
        report.save_json(args.json_path)
        artifacts.append(args.json_path)
    lines = report.describe()
    if args.json_path is not None:
        lines.append(f"report: {args.json_path}")
    if args.save_baseline is not None:
        lines.append(f"baseline saved: {args.save_baseline}")
    print("\n".join(lines))
    export(COMMAND, _metrics(report), args, artifacts=artifacts, params=_params(report))
    return exit_code(args, {"degradation"} if report.degraded else set())


def _metrics(report: DegradationReport) -> list[Metric]:
    """``model_metric{metric,source}``, ``model_metric_degraded{metric}``, ``model_degraded``,
    ``model_column_missing_share{role}``."""
    out: list[Metric] = []
    for c in report.comparisons:
        for source, value in (("baseline", c.baseline), ("current", c.current)):
            if value is not None:
                out.append(
                    Metric(
                        "model_metric",
                        value,
                        {"metric": c.name, "source": source},
                        help="model metric on the baseline or the current data",
                    )
                )
        out.append(
            Metric(
                "model_metric_degraded",
                float(c.degraded),
                {"metric": c.name},
                help="1 if the metric crossed its degradation threshold",
            )
        )
    out.append(
        Metric("model_degraded", float(report.degraded), help="1 if any model metric degraded")
    )
    out += [
        Metric(
            "model_column_missing_share",
            missing.share,
            {"role": role},
            help="share of the current rows without a target or prediction (null or NaN)",
        )
        for role, missing in report.current.missing.items()
    ]
    return out


def _params(report: DegradationReport) -> dict[str, str]:
    return {
        "task": report.task,
        "current_data_path": report.current_path,
        "baseline": report.baseline_path,
        "target": report.columns.target,
        "prediction": report.columns.prediction,
    }
