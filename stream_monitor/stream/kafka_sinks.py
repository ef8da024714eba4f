"""The Kafka sinks: alerts and dead letters produced to their topics, with delivery checked.

Every sink of a run shares one producer (in exactly-once mode, one transaction) and one
``Delivery``, which records the broker's delivery reports. ``Delivery.flush`` waits until
everything produced so far is acknowledged and raises ``DeliveryError`` if anything was
not: a checkpoint flushes before it commits, so nothing is committed past a lost output.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from confluent_kafka import KafkaError, Message, Producer

from stream_monitor.metrics import StreamMetrics
from stream_monitor.stream.alerts import encode
from stream_monitor.stream.pipeline import DeadLetter

log = logging.getLogger("stream_monitor.run")


class DeliveryError(RuntimeError):
    """The broker did not acknowledge an alert, dead letter or checkpoint."""


@dataclass
class Delivery:
    """Delivery reports of the producer since the last flush: the failures, each as its
    topic and error (``failures``), and their count (``failed``)."""

    metrics: StreamMetrics | None = None
    failures: list[str] = field(default_factory=list)

    @property
    def failed(self) -> int:
        """How many messages failed since the last flush."""
        return len(self.failures)

    @property
    def first_error(self) -> str | None:
        """The first failure since the last flush."""
        failures = self.failures
        return failures[0] if failures else None

    def report(self, error: KafkaError | None, message: Message) -> None:
        """The producer's ``on_delivery`` callback.

        It takes no lock: one append (atomic under the GIL) records a failure. librdkafka
        may run a callback while the last one's error is still pending (a fenced producer's
        final flush); the lock this used to take was then left held, acquired just before
        that error surfaced, and the next report waited for it for ever (a fenced run that
        never exited, seen under load in ``test_duplicate_instance_is_fenced``)."""
        if error is None:
            return
        self.failures.append(f"{message.topic()}: {error.str()}")
        if self.metrics is not None:
            self.metrics.produce_error(message.topic() or "")

    def reset(self) -> None:
        """Forget the failures so far (their outputs were aborted or given up); a report
        racing with this counts before it or after, as with any order of the two."""
        self.failures = []

    def flush(self, producer: Producer, stopping: threading.Event) -> None:
        """Wait until the broker acknowledged every message produced so far.

        While the broker is away this waits (each message gives up after librdkafka's
        ``message.timeout.ms``); a message that failed raises ``DeliveryError``.
        """
        while True:
            remaining = producer.flush(5)
            failures = self.failures
            failed, first = len(failures), (failures[0] if failures else None)
            if failed or not remaining or stopping.is_set():
                break
            log.warning("waiting for the broker to acknowledge", extra={"queued": remaining})
        self.reset()
        if remaining or failed:
            raise DeliveryError(
                f"{failed} message(s) not acknowledged ({first}); {remaining} still queued: "
                "stopping without committing, the records will be read again on restart"
            )


class _KafkaSink:
    """What both Kafka sinks share: the producer (looked up per call: exactly-once mode may
    replace a stuck one), the topic, and the delivery reports."""

    def __init__(
        self,
        producer: Callable[[], Producer],
        topic: str,
        delivery: Delivery,
        stopping: threading.Event,
    ) -> None:
        self.producer = producer
        self.topic = topic
        self.delivery = delivery
        self.stopping = stopping

    def flush(self) -> None:
        """Wait for the broker's acknowledgements (see ``Delivery.flush``)."""
        self.delivery.flush(self.producer(), self.stopping)


class KafkaAlertSink(_KafkaSink):
    """Alerts, keyed ``<monitor>/<feature>`` so one feature's alerts stay in order."""

    def __init__(self, monitor: str, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.monitor = monitor

    def add(self, alert: dict[str, Any]) -> None:
        """Produce one alert."""
        self.producer().produce(
            self.topic,
            key=f"{self.monitor}/{alert['feature']}".encode(),
            value=encode(alert),
            on_delivery=self.delivery.report,
        )


class KafkaDeadLetterSink(_KafkaSink):
    """Dead letters: the original key and value, with the reason and source in headers."""

    def add(self, letter: DeadLetter) -> None:
        """Produce one dead letter."""
        headers: list[tuple[str, str | bytes | None]] = [
            ("stream-monitor.reason", letter.reason.encode()),
            ("stream-monitor.detail", letter.detail.encode()),
            ("stream-monitor.source-topic", (letter.topic or "").encode()),
            ("stream-monitor.source-partition", str(letter.partition).encode()),
            ("stream-monitor.source-offset", str(letter.offset).encode()),
        ]
        self.producer().produce(
            self.topic,
            key=letter.key,
            value=letter.value,
            headers=headers,
            on_delivery=self.delivery.report,
        )


class KafkaPartialsSink(_KafkaSink):
    """What tier 1 sends tier 2 (window reports, alerts to fold), keyed
    ``<monitor>/<feature>`` so that one owner gets all of a feature's records, in order."""

    def __init__(self, monitor: str, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.monitor = monitor

    def add(self, item: tuple[str, dict[str, Any]]) -> None:
        """Produce one record."""
        feature, record = item
        self.producer().produce(
            self.topic,
            key=f"{self.monitor}/{feature}".encode(),
            value=json.dumps(record, separators=(",", ":")).encode(),
            on_delivery=self.delivery.report,
        )
