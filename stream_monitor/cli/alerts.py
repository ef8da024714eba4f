"""``stream-monitor alerts``: tail the alert topic, checking each alert against its schema."""

from __future__ import annotations

import argparse
import json
import sys
import uuid
from typing import Any

from jsonschema import Draft202012Validator

from stream_monitor.stream.alerts import alert_schema


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the ``alerts`` subcommand's flags; its ``func`` runs it."""
    parser.add_argument("--bootstrap-servers", required=True, metavar="HOST:PORT")
    parser.add_argument("--alert-topic", required=True, metavar="A")
    parser.add_argument("--from-beginning", action="store_true")
    parser.add_argument("--json", action="store_true", help="print JSON lines, for scripts")
    parser.add_argument("--max-alerts", type=int, metavar="N", help="stop after N alerts")
    parser.add_argument(
        "--idle-timeout", type=float, metavar="S", help="stop after S seconds without an alert"
    )
    parser.set_defaults(func=run)


def readable(alert: dict[str, Any]) -> str:
    """One line for a person on call."""
    w = alert["window"]
    score = "n/a" if alert["score"] is None else f"{alert['score']:.4g}"
    held = alert.get("suppressed_since_last") or 0
    extra = f" (+{held} held back)" if held else ""
    return (
        f"{alert['detected_at']} {alert['severity'].upper():8} {alert['type']:16} "
        f"{alert['monitor']}/{alert['feature']} {alert['detector']} score={score} "
        f"threshold={alert['threshold']} p{w['partition']}@{w['first_offset']}-{w['last_offset']}"
        f"{extra}"
    )


def run(args: argparse.Namespace) -> int:
    """Tail alerts until interrupted, ``--max-alerts`` or ``--idle-timeout``."""
    import time

    from confluent_kafka import Consumer

    validator = Draft202012Validator(alert_schema())
    consumer = Consumer(
        {
            "bootstrap.servers": args.bootstrap_servers,
            "group.id": f"stream-monitor-alerts-{uuid.uuid4()}",
            "enable.auto.commit": False,
            "auto.offset.reset": "earliest" if args.from_beginning else "latest",
            "isolation.level": "read_committed",
        }
    )
    consumer.subscribe([args.alert_topic])
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
