"""``stream-monitor run``: monitor a Kafka topic, or stream a file through the same pipeline."""

from __future__ import annotations

import argparse
import logging
import sys
from dataclasses import replace
from pathlib import Path

from stream_monitor import logs
from stream_monitor.cli._flags import add_null_values_flag
from stream_monitor.errors import ConfigError
from stream_monitor.profile.store import read_profile
from stream_monitor.stream.file_source import run_file
from stream_monitor.stream.pipeline import Pipeline
from stream_monitor.stream.settings import StreamSettings, load_stream_settings
from stream_monitor.stream.sinks import JsonLinesSink

# ``run`` stopped on a Kafka error it cannot recover from: fenced by another instance with
# the same instance_id, a message the broker never acknowledged, a fatal client error, the
# state topic not readable in time.
EXIT_KAFKA = 3


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the ``run`` subcommand's flags; its ``func`` runs it."""
    parser.description = "Flags override the `stream:` section of --config."
    parser.add_argument("--config", type=Path, help="YAML config (see config/stream.example.yaml)")
    parser.add_argument("--profile", help="reference profile written by `stream-monitor profile`")
    parser.add_argument("--bootstrap-servers", metavar="HOST:PORT")
    parser.add_argument("--input-topic", action="append", metavar="T", help="repeatable")
    parser.add_argument("--alert-topic", metavar="A")
    parser.add_argument("--dead-letter-topic", metavar="T")
    parser.add_argument("--state-topic", metavar="T")
    parser.add_argument("--group-id", metavar="G")
    parser.add_argument("--monitor", metavar="NAME", help="monitor name carried by its alerts")
    parser.add_argument("--model", metavar="NAME", help="model label of every metric")
    parser.add_argument("--max-records", type=int, metavar="N", help="stop cleanly after N")
    parser.add_argument("--metrics-port", type=int, metavar="PORT", help="serve /metrics here")
    parser.add_argument("--metrics-host", metavar="HOST", help="default 127.0.0.1")
    parser.add_argument("--source", type=Path, help="stream this file instead of Kafka")
    parser.add_argument(
        "--alerts-path",
        "--alerts-out",
        dest="alerts_out",
        type=Path,
        help="with --source: write the alerts here, as JSON lines (default stdout)",
    )
    parser.add_argument("--log-level", default="info", choices=["debug", "info", "warning"])
    add_null_values_flag(parser)
    parser.set_defaults(func=run)


def settings_from(args: argparse.Namespace) -> StreamSettings:
    """The config file's ``stream:`` section with the flags applied over it."""
    flags = {
        "profile": (args.profile, "--profile"),
        "bootstrap_servers": (args.bootstrap_servers, "--bootstrap-servers"),
        "input_topics": (tuple(args.input_topic) if args.input_topic else None, "--input-topic"),
        "alert_topic": (args.alert_topic, "--alert-topic"),
        "dead_letter_topic": (args.dead_letter_topic, "--dead-letter-topic"),
        "state_topic": (args.state_topic, "--state-topic"),
        "group_id": (args.group_id, "--group-id"),
        "monitor": (args.monitor, "--monitor"),
        "model": (args.model, "--model"),
        "max_records": (args.max_records, "--max-records"),
        "metrics_port": (args.metrics_port, "--metrics-port"),
        "metrics_host": (args.metrics_host, "--metrics-host"),
    }
    settings = load_stream_settings(args.config, flags)
    if settings.profile is None:
        raise ConfigError("--profile: no reference profile given (flag or stream.profile)")
    if settings.max_records is not None and settings.max_records < 1:
        raise ConfigError("--max-records: must be at least 1")
    return settings


#: Flags of the Kafka run that a file run (--source) has no use for.
_KAFKA_ONLY = (
    "bootstrap_servers",
    "input_topic",
    "alert_topic",
    "dead_letter_topic",
    "state_topic",
    "group_id",
    "metrics_port",
    "metrics_host",
)


def _check_applies(args: argparse.Namespace) -> None:
    """A flag the chosen source does not use is an error, not silently ignored."""
    if args.source is not None:
        for name in _KAFKA_ONLY:
            if getattr(args, name) is not None:
                flag = "--" + name.replace("_", "-")
                raise ConfigError(f"{flag}: does not apply with --source (a file run)")
    elif args.alerts_out is not None:
        raise ConfigError("--alerts-path: applies only with --source (Kafka runs alert a topic)")


def run(args: argparse.Namespace) -> int:
    """Run the monitor; return the exit code."""
    _check_applies(args)
    settings = settings_from(args)
    logs.setup(args.log_level)
    assert settings.profile is not None
    profile = read_profile(settings.profile)
    if args.source is not None:
        if settings.global_windows is not None:
            # A file is one partition: its windows are global already, and no tier 2 runs.
            logging.getLogger("stream_monitor.run").info("stream.global does not apply to a file")
            settings = replace(settings, global_windows=None)
        if args.alerts_out is None:
            sink = JsonLinesSink(sys.stdout)
        else:
            sink = JsonLinesSink.to_path(args.alerts_out)
        counters = run_file(
            Pipeline(profile, settings),
            args.source,
            sink,
            batch_size=settings.batch_size,
            max_records=settings.max_records,
        )
        sink.close()
    else:
        if not settings.input_topics:
            raise ConfigError("--input-topic: no input topic given (flag or stream.input_topics)")
        from confluent_kafka import KafkaException

        from stream_monitor.stream.kafka_app import DeliveryError, run_kafka
        from stream_monitor.stream.transactions import FatalTransactionError

        try:
            counters = run_kafka(profile, settings)
        except (DeliveryError, FatalTransactionError, KafkaException, TimeoutError) as error:
            # Already logged with its context; one line for the operator, no traceback.
            reason = error.args[0].str() if isinstance(error, KafkaException) else str(error)
            print(f"stream-monitor run: stopped: {reason}", file=sys.stderr)
            return EXIT_KAFKA
    print(
        f"stream-monitor run: {counters.messages} messages, {counters.scored} records scored, "
        f"{counters.dead_lettered} dead-lettered, {counters.alerts} alerts",
        file=sys.stderr,
    )
    return 0
