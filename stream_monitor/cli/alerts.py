"""``stream-monitor alerts``: tail the alert topic, checking each alert against its schema.

It connects as ``run`` does: the ``stream:`` section of ``--config`` gives the bootstrap
servers, the alert topic and the librdkafka settings (``kafka`` and ``kafka_consumer``, with
their ``{env: ...}`` and ``{file: ...}`` secrets), and the flags override them. A broker that
cannot be reached within ``--connect-timeout`` seconds, or that refuses the credentials, is
reported in one line with exit code 2.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import uuid
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator

from stream_monitor import logs
from stream_monitor.errors import ConfigError
from stream_monitor.stream.alerts import alert_schema
from stream_monitor.stream.settings import StreamSettings, load_stream_settings

#: Seconds ``alerts`` waits for a broker to answer before it gives up.
CONNECT_TIMEOUT_S = 5.0


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the ``alerts`` subcommand's flags; its ``func`` runs it."""
    parser.description = (
        "Tail the alert topic a `run` writes to, with the same Kafka client settings "
        "(TLS, SASL) as `run`: one readable line per alert, or JSON lines with --json. "
        "Flags override the `stream:` section of --config."
    )
    parser.add_argument("--config", type=Path, help="YAML config (see config/stream.example.yaml)")
    parser.add_argument("--bootstrap-servers", metavar="HOST:PORT")
    parser.add_argument("--alert-topic", metavar="A")
    parser.add_argument(
        "--from-beginning", action="store_true", help="read the topic's alerts from its start"
    )
    parser.add_argument("--json", action="store_true", help="print JSON lines, for scripts")
    parser.add_argument("--max-alerts", type=int, metavar="N", help="stop after N alerts")
    parser.add_argument(
        "--idle-timeout", type=float, metavar="S", help="stop after S seconds without an alert"
    )
    parser.add_argument(
        "--connect-timeout",
        type=float,
        default=CONNECT_TIMEOUT_S,
        metavar="S",
        help=f"give up when no broker answers within S seconds (default {CONNECT_TIMEOUT_S:g})",
    )
    parser.add_argument(
        "--log-level",
        choices=["debug", "info", "warning", "error"],
        help="show the Kafka client's own log lines (JSON, on stderr); default: none",
    )
    parser.set_defaults(func=run)


def readable(alert: dict[str, Any]) -> str:
    """One line for a person on call."""
    w = alert["window"]
    score = "n/a" if alert["score"] is None else f"{alert['score']:.4g}"
    held = alert.get("suppressed_since_last") or 0
    extra = f" (+{held} held back)" if held else ""
    if alert.get("scope") == "global":
        where = (
            f"global {w['event_time_start']}..{w['event_time_end']} ({w['partitions']} partitions)"
        )
    else:
        where = f"p{w['partition']}@{w['first_offset']}-{w['last_offset']}"
    incident = alert.get("incident")
    if incident:
        extra += f" incident {incident['id'][:8]} {incident['status']}"
    return (
        f"{alert['detected_at']} {alert['severity'].upper():8} {alert['type']:16} "
        f"{alert['monitor']}/{alert['feature']} {alert['detector']} score={score} "
        f"threshold={alert['threshold']} {where}{extra}"
    )


def settings_from(args: argparse.Namespace) -> StreamSettings:
    """The config file's ``stream:`` section with the flags applied over it."""
    flags = {
        "bootstrap_servers": (args.bootstrap_servers, "--bootstrap-servers"),
        "alert_topic": (args.alert_topic, "--alert-topic"),
    }
    if args.connect_timeout <= 0:
        raise ConfigError("--connect-timeout: must be a positive number of seconds")
    return load_stream_settings(args.config, flags)


def run(args: argparse.Namespace) -> int:
    """Tail alerts until interrupted, ``--max-alerts`` or ``--idle-timeout``."""
    import time

    from confluent_kafka import KafkaException

    from stream_monitor.stream import kafka_io

    settings = settings_from(args)
    if args.log_level is None:
        # Connection trouble is told below in one line; librdkafka would repeat it forever.
        quiet = logging.getLogger("stream_monitor")
        quiet.handlers[:] = [logging.NullHandler()]
        quiet.propagate = False
    else:
        logs.setup(args.log_level)
    client_errors = kafka_io.ClientErrors()
    base = {
        "bootstrap.servers": settings.bootstrap_servers,
        **settings.kafka,
        **client_errors.settings(),
    }
    try:
        kafka_io.cluster_topics(base, timeout_s=args.connect_timeout)
    except KafkaException as error:
        raise ConfigError(
            f"cannot reach a Kafka broker at {settings.bootstrap_servers} within "
            f"{args.connect_timeout:g} s: {error.args[0].str()}"
        ) from None

    validator = Draft202012Validator(alert_schema())
    consumer = kafka_io.consumer(
        {**base, **settings.kafka_consumer},
        f"stream-monitor-alerts-{uuid.uuid4()}",
        **{"auto.offset.reset": "earliest" if args.from_beginning else "latest"},
    )
    consumer.subscribe([settings.alert_topic])
    seen = invalid = 0
    last = time.monotonic()
    try:
        while args.max_alerts is None or seen < args.max_alerts:
            message = consumer.poll(0.5)
            if message is None:
                if args.idle_timeout is not None and time.monotonic() - last > args.idle_timeout:
                    break
                continue
            if message.error() is not None:
                print(f"stream-monitor alerts: {message.error()}", file=sys.stderr)
                continue
            last = time.monotonic()
            where = f"partition {message.partition()} offset {message.offset()}"
            try:
                alert = json.loads(message.value() or b"")
            except ValueError:
                invalid += 1
                print(f"stream-monitor alerts: not JSON at {where}", file=sys.stderr)
                continue
            errors = sorted(validator.iter_errors(alert), key=lambda e: list(e.path))
            if errors:
                invalid += 1
                print(
                    f"stream-monitor alerts: invalid alert at {where}: {errors[0].message}",
                    file=sys.stderr,
                )
                continue
            seen += 1
            print(json.dumps(alert) if args.json else readable(alert), flush=True)
    except KeyboardInterrupt:
        pass
    finally:
        consumer.close()
    return 0 if invalid == 0 else 1
