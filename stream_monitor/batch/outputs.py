"""What every batch job can hand to the rest of the stack: Prometheus metrics and MLflow.

Each job builds a list of ``Metric`` and calls ``export``. Metrics go to a file in
Prometheus text format (for node_exporter's textfile collector, written atomically) and/or
to a Pushgateway; with ``--mlflow``, metrics, parameters and report files are logged to the
active MLflow tracking URI (the optional extra ``stream-monitor[mlflow]``).

Metric names follow Prometheus conventions: prefix ``stream_monitor_``, base units, a
``_total`` suffix only on counters (none here: batch results are gauges). Every series carries
``monitor``, ``model`` (``--monitor``, ``--model``) and ``command`` (the job), and each job adds
``last_success_timestamp_seconds``, so that an alert can tell a job that stopped running. A push
goes to the group ``job=stream-monitor-<command>``, ``monitor``, ``model``: two models, or two
monitors, never overwrite each other. docs/metrics.md lists every metric.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from stream_monitor.errors import ConfigError

if TYPE_CHECKING:  # prometheus_client is imported by the jobs that export metrics
    from prometheus_client import CollectorRegistry

PREFIX = "stream_monitor_"
DEFAULT_MONITOR = "stream-monitor"
DEFAULT_MODEL = "default"


@dataclass(frozen=True)
class Metric:
    """One gauge sample: ``name`` without the prefix, e.g. ``drift_score``."""

    name: str
    value: float
    labels: Mapping[str, str] = field(default_factory=dict)
    help: str = ""


def add_output_flags(parser: argparse.ArgumentParser) -> None:
    """Add ``--metrics-path``, ``--pushgateway``, ``--monitor``, ``--model`` and ``--mlflow``
    to a job's parser."""
    group = parser.add_argument_group("outputs")
    group.add_argument(
        "--metrics-path",
        "--metrics_path",
        type=Path,
        metavar="FILE",
        help="write the results as Prometheus text (node_exporter textfile collector)",
    )
    group.add_argument(
        "--pushgateway", metavar="URL", help="push the results to this Prometheus Pushgateway"
    )
    group.add_argument(
        "--monitor",
        default=DEFAULT_MONITOR,
        metavar="NAME",
        help=f"monitor label of every metric, and of the push group (default {DEFAULT_MONITOR})",
    )
    group.add_argument(
        "--model",
        default=DEFAULT_MODEL,
        metavar="NAME",
        help=f"model label of every metric, and of the push group (default {DEFAULT_MODEL})",
    )
    group.add_argument(
        "--mlflow",
        action="store_true",
        help="log metrics and reports to the active MLflow tracking URI (needs [mlflow])",
    )


def registry_of(
    job: str,
    metrics: Sequence[Metric],
    *,
    monitor: str = DEFAULT_MONITOR,
    model: str = DEFAULT_MODEL,
    finished: float | None = None,
) -> CollectorRegistry:
    """A fresh registry holding ``metrics`` as gauges, each labelled with ``monitor``,
    ``model`` and ``command`` (the job), and ``last_success_timestamp_seconds`` set to
    ``finished`` (Unix time; default now)."""
    from prometheus_client import CollectorRegistry, Gauge

    registry = CollectorRegistry()
    common = {"monitor": monitor, "model": model, "command": job}
    success = Metric(
        "last_success_timestamp_seconds",
        time.time() if finished is None else finished,
        help="Unix time of the last successful run of a batch job, or of the streaming "
        "monitor's last completed poll of its input.",
    )
    gauges: dict[str, Gauge] = {}
    for metric in (*metrics, success):
        clash = set(metric.labels) & set(common)
        if clash:
            raise ValueError(f"{metric.name}: label {sorted(clash)[0]} is set for every metric")
        label_names = (*common, *sorted(metric.labels))
        gauge = gauges.get(metric.name)
        if gauge is None:
            gauge = Gauge(
                PREFIX + metric.name,
                metric.help or metric.name.replace("_", " "),
                label_names,
                registry=registry,
            )
            gauges[metric.name] = gauge
        gauge.labels(**common, **dict(metric.labels)).set(metric.value)
    return registry


def grouping_key(args: argparse.Namespace) -> dict[str, str]:
    """The Pushgateway group below ``job``: one per monitor and model."""
    return {"monitor": args.monitor, "model": args.model}


def export(
    job: str,
    metrics: Sequence[Metric],
    args: argparse.Namespace,
    *,
    artifacts: Sequence[Path] = (),
    params: Mapping[str, str] | None = None,
) -> None:
    """Send ``metrics`` wherever the job's output flags say."""
    if args.metrics_path is None and args.pushgateway is None and not args.mlflow:
        return
    for flag, value in (("--monitor", args.monitor), ("--model", args.model)):
        if not value:
            raise ConfigError(f"{flag}: must not be empty")
    from prometheus_client import push_to_gateway, write_to_textfile

    registry = registry_of(job, metrics, monitor=args.monitor, model=args.model)
    if args.metrics_path is not None:
        if not args.metrics_path.parent.is_dir():
            raise ConfigError(
                f"--metrics-path: directory {args.metrics_path.parent} does not exist"
            )
        write_to_textfile(str(args.metrics_path), registry)
    if args.pushgateway is not None:
        try:
            push_to_gateway(
                args.pushgateway,
                job=f"stream-monitor-{job}",
                grouping_key=grouping_key(args),
                registry=registry,
            )
        except OSError as error:
            raise ConfigError(
                f"--pushgateway: cannot push to {args.pushgateway}: {error}"
            ) from error
    if args.mlflow:
        log_to_mlflow(job, metrics, artifacts=artifacts, params=params or {})


def log_to_mlflow(
    job: str,
    metrics: Sequence[Metric],
    *,
    artifacts: Sequence[Path],
    params: Mapping[str, str],
) -> None:
    """Log to the active MLflow tracking URI, in a new run named after the job."""
    try:
        import mlflow
    except ImportError:
        raise ConfigError(
            "--mlflow: MLflow is not installed; pip install 'stream-monitor[mlflow]'"
        ) from None
    from mlflow.exceptions import MlflowException

    # A tracking URI MLflow cannot use (no backend for it, the file store refused, a server
    # that does not answer) is a setting to fix: one line naming the URI, no traceback.
    try:
        with mlflow.start_run(run_name=f"stream-monitor {job}"):
            mlflow.set_tag("stream_monitor.job", job)
            if params:
                mlflow.log_params(dict(params))
            for metric in metrics:
                key = metric.name
                if metric.labels:
                    key += "." + ".".join(_mlflow_safe(v) for _, v in sorted(metric.labels.items()))
                mlflow.log_metric(key, float(metric.value))
            for path in artifacts:
                mlflow.log_artifact(str(path))
    except (MlflowException, OSError) as error:
        reason = next((line.strip() for line in str(error).splitlines() if line.strip()), "")
        raise ConfigError(
            f"--mlflow: cannot log to {mlflow.get_tracking_uri()}: {reason or type(error).__name__}"
        ) from error


def _mlflow_safe(text: str) -> str:
    """MLflow keys allow letters, digits, ``_ - . / space``; anything else becomes ``_``."""
    return "".join(c if c.isalnum() or c in "_-./ " else "_" for c in text)
