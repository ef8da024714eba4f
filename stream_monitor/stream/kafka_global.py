"""Tier 2 of a Kafka run: the partitions of the partials topic this instance owns.

The instances of a monitor read the partials topic with a group of their own
(``<group_id>.global``); each key ``<monitor>/<feature>`` lives in one partition, so one
instance at a time owns a feature. Each owned partition has an ``OwnerPartition``, whose
state goes to the state topic with the run's checkpoints, beside the input partitions'.
What tier 2 publishes goes to the alert sink, in the same transaction as the offsets it
covers in exactly-once mode.
"""

from __future__ import annotations

import json
import logging
import time
from typing import Any

from confluent_kafka import Message

from stream_monitor.metrics import StreamMetrics
from stream_monitor.profile.model import Profile
from stream_monitor.stream import kafka_io
from stream_monitor.stream.global_owner import GlobalOwner, OwnerPartition
from stream_monitor.stream.settings import StreamSettings
from stream_monitor.stream.sinks import Sink

log = logging.getLogger("stream_monitor.run")

Partition = tuple[str, int]


class GlobalTier:
    """The owned partitions of the partials topic, fed from the tier-2 consumer."""

    def __init__(
        self,
        profile: Profile,
        settings: StreamSettings,
        base: dict[str, Any],
        metrics: StreamMetrics,
        alerts: Sink[dict[str, Any]],
    ) -> None:
        self.profile = profile
        self.settings = settings
        self.topic = settings.partials_topic
        self.metrics = metrics
        self.alerts = alerts
        self.group_id = f"{settings.group_id}.global"
        self.consumer = kafka_io.consumer({**base, **settings.kafka_consumer}, self.group_id)
        self.partitions: dict[int, OwnerPartition] = {}
        self.inputs: set[Partition] | None = None
        self.known_incidents: set[tuple[str, str]] = set()

    def _inputs(self) -> set[Partition]:
        """Every partition of the input topics: tier 2 waits for all of them."""
        if self.inputs is None:
            self.inputs = {
                (topic, p)
                for topic in self.settings.input_topics
                for p in kafka_io.partitions(self.consumer, topic)
            }
        return self.inputs

    def monitor(self, partition: int) -> OwnerPartition:
        """The owner of a partials partition, created fresh on first use."""
        found = self.partitions.get(partition)
        if found is None:
            owner = GlobalOwner(self.profile, self.settings, self._inputs())
            found = self.partitions[partition] = OwnerPartition(owner)
        return found

    def drop(self, partition: int) -> None:
        """Forget a partials partition (revoked, or rewound)."""
        self.partitions.pop(partition, None)

    def process(self, messages: list[Message], owned: set[Partition]) -> set[Partition]:
        """Feed the owners their records; publish what they return; return the partials
        partitions that advanced."""
        now = time.monotonic()
        advanced: set[Partition] = set()
        for message in messages:
            if message.error() is not None:
                continue
            partition, offset = message.partition(), message.offset()
            key, value = message.key(), message.value()
            if partition is None or offset is None or (self.topic, partition) not in owned:
                continue
            owner = self.monitor(partition)
            if owner.next_offset is not None and offset < owner.next_offset:
                continue  # fetched before a rewind: already processed
            owner.next_offset = offset + 1
            advanced.add((self.topic, partition))
            if key is None or value is None:
                continue
            feature = key.decode().split("/", 1)[1]
            self._publish(owner.owner.handle(feature, json.loads(value), now))
        for owner in self.partitions.values():
            self._publish(owner.owner.expire(now))
        self._report()
        return advanced

    def _publish(self, alerts: list[dict[str, Any]]) -> None:
        for alert in alerts:
            self.alerts.add(alert)
            self.metrics.alert(alert["type"])

    def _report(self) -> None:
        open_now: set[tuple[str, str]] = set()
        for partition in self.partitions.values():
            open_now |= partition.owner.open_incidents()
            for feature, late in partition.owner.take_late().items():
                self.metrics.late_rows(feature, late)
        self.metrics.incidents(open_now, self.known_incidents)
        self.known_incidents |= open_now
