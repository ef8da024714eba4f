"""The state store: each input partition's latest checkpoint, on a compacted Kafka topic.

A checkpoint (``checkpoint.encode``) is keyed by ``<monitor> US <topic> US <partition>``
(US: the unit separator, U+001F) and tagged with the next input offset it covers. Both
delivery modes write a checkpoint before (at-least-once) or with (exactly-once) the offsets
it covers, so on assign the store is read until every partition's checkpoint has caught up
with the group's committed offset (``read``).
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable, Iterable
from typing import Any

from confluent_kafka import Consumer, KafkaError, Message, Producer, TopicPartition

from stream_monitor.stream import checkpoint, kafka_io

log = logging.getLogger("stream_monitor.run")

#: How long reading the state of newly assigned partitions may take.
STATE_READ_TIMEOUT_S = 60.0

Partition = tuple[str, int]


def state_key(monitor: str, topic: str, partition: int) -> bytes:
    """The state topic's key of one input partition's checkpoint."""
    return f"{monitor}\x1f{topic}\x1f{partition}".encode()


class StateStore:
    """Writes and reads back the checkpoints of one monitor's input partitions."""

    def __init__(
        self,
        base: dict[str, Any],
        topic: str,
        monitor: str,
        *,
        read_timeout_s: float = STATE_READ_TIMEOUT_S,
    ) -> None:
        self.base = base
        self.topic = topic
        self.monitor = monitor
        self.read_timeout_s = read_timeout_s

    def put(
        self,
        producer: Producer,
        partition: Partition,
        blob: bytes,
        on_delivery: Callable[[KafkaError | None, Message], None],
    ) -> None:
        """Produce one partition's checkpoint (durable once the producer is flushed, or its
        transaction committed)."""
        producer.produce(
            self.topic,
            key=state_key(self.monitor, *partition),
            value=blob,
            on_delivery=on_delivery,
        )

    def read(
        self, consumer: Consumer, partitions: list[Partition]
    ) -> tuple[dict[Partition, bytes], dict[Partition, int]]:
        """The partitions' checkpoints, each at least as far as the partition's committed
        input offset; and those committed offsets (negative: never committed).

        A checkpoint behind the committed offset is one whose transaction's commit markers
        the broker had not written when it was read: the checkpoint the previous owner
        committed on revoke, a moment ago. Restoring the one before it would process an
        interval again and publish its alerts twice, so the topic is read again until it
        has caught up, for at most ``read_timeout_s``.
        """
        deadline = time.monotonic() + self.read_timeout_s
        parts = [TopicPartition(topic, partition) for topic, partition in partitions]
        offsets = kafka_io.committed(consumer, parts, timeout_s=self.read_timeout_s)
        committed = {(tp.topic, tp.partition): tp.offset for tp in offsets}
        keys = {state_key(self.monitor, *p): p for p in partitions}
        while True:
            found = read_latest(self.base, self.topic, keys, self.read_timeout_s)
            states = {keys[key]: blob for key, blob in found.items()}
            behind = [
                p
                for p, offset in committed.items()
                if offset >= 0 and _next(states.get(p)) < offset
            ]
            if not behind:
                return states, committed
            if time.monotonic() > deadline:
                raise TimeoutError(
                    f"state topic {self.topic!r}: the checkpoints of {len(behind)} "
                    f"partition(s) stayed behind their committed offsets for "
                    f"{self.read_timeout_s:.0f} s"
                )
            log.info("checkpoint not readable yet, reading again", extra={"behind": len(behind)})
            time.sleep(0.2)


def read_latest(
    base: dict[str, Any], topic: str, keys: Iterable[bytes], timeout_s: float = 30.0
) -> dict[bytes, bytes]:
    """The latest value of each key on a compacted topic, read with ``read_committed`` from
    the topic's start up to its last stable offset (a tombstone removes the key).

    That end stops short of any transaction still open on the topic, and also of one whose
    commit markers the broker has not written yet (it writes them just after it answers
    the commit): a value committed a moment ago may not be here yet.
    """
    wanted = set(keys)
    reader = kafka_io.consumer(base, f"stream-monitor-state-reader-{uuid.uuid4()}")
    try:
        ends: dict[int, int] = {}
        starts = []
        for p in kafka_io.partitions(reader, topic):
            low, high = kafka_io.watermarks(reader, TopicPartition(topic, p))
            if high > low:
                ends[p] = high
                starts.append(TopicPartition(topic, p, low))
        found: dict[bytes, bytes] = {}
        if not starts:
            return found
        reader.assign(starts)
        done: set[int] = set()
        deadline = time.monotonic() + timeout_s
        while len(done) < len(ends):
            if time.monotonic() > deadline:
                raise TimeoutError(f"reading state topic {topic!r} took over {timeout_s} s")
            for message in reader.consume(num_messages=1000, timeout=0.5):
                if message.error() is not None:
                    continue
                key, partition, offset = message.key(), message.partition(), message.offset()
                if key is None or partition is None or offset is None:
                    continue
                if key in wanted:
                    value = message.value()
                    if value is None:
                        found.pop(key, None)
                    else:
                        found[key] = value
                if offset + 1 >= ends[partition]:
                    done.add(partition)
            # Positions past the last message count too (e.g. aborted transaction markers).
            for tp in reader.position([TopicPartition(topic, p) for p in ends]):
                if tp.offset >= ends[tp.partition]:
                    done.add(tp.partition)
        return found
    finally:
        reader.close()


def _next(blob: bytes | None) -> int:
    """The input offset a checkpoint resumes at (-1 for none)."""
    if blob is None:
        return -1
    _, meta = checkpoint.decode(blob)
    offset = meta.get("next_offset")
    return -1 if offset is None else int(offset)
