"""Checkpoints of a Kafka run: what makes processed records durable, in either delivery mode.

At-least-once (``AtLeastOnce``), in this order:

1. flush the producer: every alert and dead letter produced so far is acknowledged by the
   broker (``acks=all``, idempotent producer), or the run stops without committing;
2. write each dirty partition's detector state, tagged with the next offset to read, to the
   state store, and flush again;
3. commit the input offsets.

A crash between steps 2 and 3 is harmless: the state is ahead of the committed offset, but
everything before the state's offset had its outputs acknowledged in step 1, so resuming
there loses nothing and repeats nothing. A crash before step 2 replays the records since
the last checkpoint from the state as it was then: the same alerts come again, with the
same ``alert_id``, for subscribers to drop.

Exactly-once (``ExactlyOnce``): every alert and dead letter between two checkpoints is
produced inside one transaction; the checkpoint adds each dirty partition's state and the
input offsets (``send_offsets_to_transaction`` with fresh group metadata) and commits.
Readers use ``read_committed``, so they see all of a checkpoint's outputs or none, and state
is never ahead of the committed offsets. After an abort every owned partition rewinds to
its last committed offset and state (``rewind``).
"""

from __future__ import annotations

import dataclasses
import logging
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Protocol

from confluent_kafka import Consumer, KafkaException, Producer, TopicPartition

from stream_monitor.metrics import StreamMetrics
from stream_monitor.stream import kafka_io
from stream_monitor.stream.kafka_sinks import Delivery
from stream_monitor.stream.pipeline import Pipeline
from stream_monitor.stream.sources import Partition
from stream_monitor.stream.state_store import StateStore
from stream_monitor.stream.transactions import TransactionAbortedError, TransactionalProducer

log = logging.getLogger("stream_monitor.run")


class Stateful(Protocol):
    """What a partition's monitor offers a checkpoint: where it stands, its state as bytes."""

    next_offset: int | None

    def checkpoint(self) -> bytes: ...

    def restore(self, blob: bytes) -> None: ...


@dataclass(frozen=True)
class Routes:
    """Where each owned partition's monitor and consumer are. A run reads its input topics
    with one consumer group and, with global windows, the partials topic with another;
    one checkpoint covers both."""

    monitor: Callable[[Partition], Stateful]
    drop: Callable[[Partition], None]
    consumer: Callable[[str], Consumer]  # by topic

    def by_consumer(
        self, offsets: list[TopicPartition]
    ) -> list[tuple[Consumer, list[TopicPartition]]]:
        """The offsets grouped by the consumer that reads them, in first-seen order."""
        groups: dict[int, tuple[Consumer, list[TopicPartition]]] = {}
        for tp in offsets:
            consumer = self.consumer(tp.topic)
            groups.setdefault(id(consumer), (consumer, []))[1].append(tp)
        return list(groups.values())


class AtLeastOnce:
    """Checkpoints with a plain idempotent producer and synchronous offset commits."""

    def __init__(
        self,
        pipeline: Pipeline,
        routes: Routes,
        store: StateStore,
        producer: Callable[[], Producer],
        delivery: Delivery,
        stopping: threading.Event,
        metrics: StreamMetrics,
        owned: set[Partition],
    ) -> None:
        self.pipeline = pipeline
        self.routes = routes
        self.owned = owned  # the run's own set: the partitions it holds now
        self.store = store
        self.producer = producer
        self.delivery = delivery
        self.stopping = stopping
        self.metrics = metrics
        self.dirty: set[Partition] = set()
        self.last = time.monotonic()

    def due(self, interval_s: float) -> bool:
        """Whether ``interval_s`` passed since the last checkpoint."""
        return time.monotonic() - self.last >= interval_s

    def begin(self) -> None:
        """A batch is about to produce outputs (exactly-once: opens the transaction)."""

    def checkpoint(self, partitions: set[Partition] | None = None) -> None:
        """Make everything processed so far durable: the dirty ``partitions`` (all dirty
        ones by default)."""
        todo = sorted(self.dirty if partitions is None else self.dirty & partitions)
        self._flush()
        if todo:
            states = self._states(todo)
            self._flush()
            commits = [tp for tp, _ in states]
            if commits:
                try:
                    for consumer, offsets in self.routes.by_consumer(commits):
                        consumer.commit(offsets=offsets, asynchronous=False)
                except KafkaException as error:
                    # The state is ahead of the committed offsets now, which is harmless
                    # (see above); the next checkpoint commits again.
                    err = error.args[0]
                    if err.fatal():
                        raise
                    log.warning("offset commit failed, retrying later", extra={"code": err.name()})
                    self.last = time.monotonic()
                    return
            self.dirty.difference_update(todo)
            self._checkpointed(commits)
        self.last = time.monotonic()

    def assigned(self, fresh: dict[Partition, int]) -> None:
        """Partitions were assigned; ``fresh`` maps those without stored state to their
        committed offset (negative: never committed)."""

    def restored(self, partition: Partition, offset: int, blob: bytes) -> None:
        """A partition's state was read back from the store (it resumes at ``offset``)."""

    def forget(self, partitions: Iterable[Partition]) -> None:
        """The partitions are no longer this instance's: nothing of theirs is committed."""
        self.dirty.difference_update(partitions)

    def _flush(self) -> None:
        self.delivery.flush(self.producer(), self.stopping)

    def _states(self, todo: list[Partition]) -> list[tuple[TopicPartition, bytes]]:
        """Produce each partition's state to the store; return offsets and states."""
        done = []
        for topic, partition in todo:
            monitor = self.routes.monitor((topic, partition))
            if monitor.next_offset is None:
                continue
            blob = monitor.checkpoint()
            self.store.put(self.producer(), (topic, partition), blob, self.delivery.report)
            done.append((TopicPartition(topic, partition, monitor.next_offset), blob))
        return done

    def _checkpointed(self, commits: list[TopicPartition]) -> None:
        self.metrics.checkpointed()
        log.info(
            "checkpoint",
            extra={
                "partitions": len(commits),
                "offsets": ",".join(f"{tp.topic}:{tp.partition}@{tp.offset}" for tp in commits),
            },
        )


class ExactlyOnce(AtLeastOnce):
    """Checkpoints as transactions: outputs, states and offsets commit together."""

    def __init__(
        self,
        pipeline: Pipeline,
        routes: Routes,
        store: StateStore,
        txn: TransactionalProducer,
        delivery: Delivery,
        stopping: threading.Event,
        metrics: StreamMetrics,
        owned: set[Partition],
    ) -> None:
        super().__init__(
            pipeline, routes, store, lambda: txn.producer, delivery, stopping, metrics, owned
        )
        self.txn = txn
        # Per partition, the last committed (next offset, state), to rewind to.
        self.committed: dict[Partition, tuple[int, bytes | None]] = {}
        self.committed_counters = dataclasses.replace(self.pipeline.counters)

    def begin(self) -> None:
        """Open the transaction, if it is not open yet."""
        self.txn.begin()

    def checkpoint(self, partitions: set[Partition] | None = None) -> None:
        """Commit the transaction. It holds the outputs of every dirty partition, so it
        covers them all, whatever ``partitions`` says."""
        todo = sorted(self.dirty)
        if todo or self.txn.open:
            self.txn.begin()
            states = self._states(todo)
            commits = [tp for tp, _ in states]
            groups = [
                (offsets, consumer.consumer_group_metadata())
                for consumer, offsets in self.routes.by_consumer(commits)
            ]
            try:
                self.txn.commit(groups)
            except TransactionAbortedError:
                self.rewind()
                self.last = time.monotonic()
                return
            for tp, blob in states:
                self.committed[(tp.topic, tp.partition)] = (tp.offset, blob)
            self.committed_counters = dataclasses.replace(self.pipeline.counters)
            self.dirty.difference_update(todo)
            self.delivery.reset()
            self._checkpointed(commits)
        self.last = time.monotonic()

    def assigned(self, fresh: dict[Partition, int]) -> None:
        """Where a partition with no stored state starts, for rewinding after an abort: its
        committed offset, or (never committed) its earliest offset."""
        for (topic, partition), offset in fresh.items():
            if offset < 0:
                consumer = self.routes.consumer(topic)
                offset, _ = kafka_io.watermarks(consumer, TopicPartition(topic, partition))
            self.committed[(topic, partition)] = (offset, None)

    def restored(self, partition: Partition, offset: int, blob: bytes) -> None:
        """Remember the restored state as the partition's last commit."""
        self.committed[partition] = (offset, blob)

    def forget(self, partitions: Iterable[Partition]) -> None:
        """Drop the partitions' dirty marks and last commits."""
        gone = set(partitions)
        super().forget(gone)
        for partition in gone:
            self.committed.pop(partition, None)

    def last_commits(self) -> list[tuple[list[TopicPartition], object]]:
        """The owned partitions' last committed offsets, per consumer group with the
        group's metadata (what the sweep sends, see ``sweep``)."""
        offsets = [
            TopicPartition(topic, partition, offset)
            for (topic, partition), (offset, _) in sorted(self.committed.items())
            if (topic, partition) in self.owned
        ]
        return [
            (group, consumer.consumer_group_metadata())
            for consumer, group in self.routes.by_consumer(offsets)
        ]

    def abort(self) -> None:
        """Abort the open transaction and rewind to the last commit."""
        self.txn.abort()
        self.rewind()

    def rewind(self) -> None:
        """Every owned partition back to its last committed offset and state."""
        self.pipeline.counters = dataclasses.replace(self.committed_counters)
        self.delivery.reset()
        for topic, partition in sorted(self.owned):
            offset, blob = self.committed.get((topic, partition), (None, None))
            self.routes.drop((topic, partition))
            monitor = self.routes.monitor((topic, partition))
            if blob is not None:
                monitor.restore(blob)
            if offset is None:
                continue
            try:
                self.routes.consumer(topic).seek(TopicPartition(topic, partition, offset))
            except KafkaException as error:
                # Only a partition the consumer no longer holds fails here; its next
                # assignment restores it from the state store.
                log.warning(
                    "rewind failed",
                    extra={"topic": topic, "partition": partition, "code": error.args[0].name()},
                )
        self.dirty.clear()
        log.info("rewound", extra={"partitions": len(self.owned)})
