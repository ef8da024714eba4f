"""``stream-monitor run`` on Kafka: the only module that knows the consumer, the producer,
the pipeline, the state topic and the metrics together.

At-least-once, nothing lost. A checkpoint runs every ``commit_interval_s``, on partition
revoke, and on shutdown, in this order:

1. flush the producer: every alert and dead letter produced so far is acknowledged by the
   broker (``acks=all``, idempotent producer), or the run stops without committing;
2. write each owned partition's detector state, tagged with the next offset to read, to the
   compacted state topic, and flush again;
3. commit the input offsets.

On assign, a partition's latest checkpoint is read back and restored, and consumption
resumes at the offset it is tagged with. A crash between steps 2 and 3 is harmless: the
state topic is ahead of the committed offset, but everything before the state's offset had
its outputs acknowledged in step 1, so resuming there loses nothing and repeats nothing.
A crash before step 2 replays the records since the last checkpoint from the state as it
was then: the same alerts come again, with the same ``alert_id``, for subscribers to drop.

Exactly-once (``processing_guarantee: exactly_once``). The producer is transactional, with
``transactional.id`` = ``stream-monitor-<monitor>-<instance_id>``: stable per instance, so
``init_transactions()`` in a restarted instance aborts its dead predecessor's open
transaction at once. Between two checkpoints every alert and dead letter is produced inside
one transaction; the checkpoint adds each dirty partition's state and the input offsets
(``send_offsets_to_transaction`` with fresh group metadata) and commits. Consumers of the
alert, dead-letter and state topics read with ``read_committed``, so they see all of a
checkpoint's outputs or none, and state is never ahead of the committed offsets. On an
abortable error the transaction is aborted, every owned partition rewinds to its last
committed offset and state, and processing resumes; a fatal or fencing error stops the run
with a log line (a restart creates a new producer).
"""

from __future__ import annotations

import bisect
import collections
import dataclasses
import itertools
import json
import logging
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, cast

import numpy as np
from confluent_kafka import KafkaError, KafkaException, Message, Producer, TopicPartition

from stream_monitor.metrics import HealthServer, StreamMetrics
from stream_monitor.profile.model import Profile
from stream_monitor.stream import checkpoint, kafka_io
from stream_monitor.stream.pipeline import Counters, DeadLetter, Pipeline
from stream_monitor.stream.settings import StreamSettings
from stream_monitor.stream.transactions import (
    FatalTransactionError,
    TransactionAbortedError,
    TransactionalProducer,
)

log = logging.getLogger("stream_monitor.run")


# How long reading the state of newly assigned partitions may take.
STATE_READ_TIMEOUT_S = 60.0


class DeliveryError(RuntimeError):
    """The broker did not acknowledge an alert, dead letter or checkpoint."""


@dataclass
class _Delivery:
    """Delivery reports of the producer since the last checkpoint."""

    failed: int = 0
    first_error: str | None = None
    metrics: StreamMetrics | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)

    def report(self, error: KafkaError | None, message: Message) -> None:
        if error is None:
            return
        with self.lock:
            self.failed += 1
            if self.first_error is None:
                self.first_error = f"{message.topic()}: {error.str()}"
        if self.metrics is not None:
            self.metrics.produce_error(message.topic() or "")


class KafkaMonitor:
    """Consumes the input topics, scores them, produces alerts and dead letters."""

    def __init__(
        self,
        profile: Profile,
        settings: StreamSettings,
        *,
        metrics: StreamMetrics | None = None,
    ) -> None:
        if not settings.input_topics:
            raise ValueError("no input topic configured")
        self.settings = settings
        self.pipeline = Pipeline(profile, settings)
        self.metrics = metrics or StreamMetrics(monitor=settings.monitor, model=settings.model)
        self.metrics.produces_to(
            (settings.alert_topic, settings.dead_letter_topic, settings.state_topic)
        )
        self.client_errors = kafka_io.ClientErrors()
        self.base = {
            "bootstrap.servers": settings.bootstrap_servers,
            **settings.kafka,
            **self.client_errors.settings(),
        }
        self.delivery = _Delivery(metrics=self.metrics)
        self.stopping = threading.Event()
        self.ready = threading.Event()
        self.owned: set[tuple[str, int]] = set()
        self.dirty: set[tuple[str, int]] = set()
        self.last_checkpoint = time.monotonic()
        self.failed = False
        self.callback_error: BaseException | None = None
        self.consumer = kafka_io.consumer(
            {**self.base, **settings.kafka_consumer},
            settings.group_id,
            **{
                "statistics.interval.ms": 5000,
                "stats_cb": self.metrics.observe_librdkafka_stats,
            },
        )
        self.txn: TransactionalProducer | None = None  # exactly-once mode
        self.state_read_timeout_s = STATE_READ_TIMEOUT_S
        if settings.processing_guarantee == "exactly_once":
            transactional_id = f"stream-monitor-{settings.monitor}-{settings.instance_id}"
            self.txn = TransactionalProducer(
                lambda: kafka_io.producer(
                    self.base, transactional_id=transactional_id, **settings.kafka_producer
                ),
                self.stopping,
                transaction_timeout_s=kafka_io.transaction_timeout_s(
                    {**settings.kafka, **settings.kafka_producer}
                ),
            )
        else:
            self._producer = kafka_io.producer(self.base, **settings.kafka_producer)
        # Exactly-once: per partition, the last committed (next offset, state), to rewind to.
        self.committed: dict[tuple[str, int], tuple[int, bytes | None]] = {}
        self.committed_counters = dataclasses.replace(self.pipeline.counters)

    @property
    def producer(self) -> Producer:
        """The current producer (exactly-once mode replaces a stuck one)."""
        return self.txn.producer if self.txn is not None else self._producer

    # -- lifecycle -------------------------------------------------------------------------
    def run(self, max_records: int | None = None) -> Counters:
        """Consume until stopped (or ``max_records`` records); return the counters."""
        s = self.settings
        kafka_io.ensure_topics(
            self.base,
            s.input_topics,
            {s.alert_topic: False, s.dead_letter_topic: False, s.state_topic: True},
        )
        self.consumer.subscribe(
            list(s.input_topics),
            on_assign=self._guarded(self._on_assign),
            on_revoke=self._guarded(self._on_revoke),
            on_lost=self._guarded(self._on_lost),
        )
        if self.txn is not None:
            self.txn.init()
        try:
            while not self.stopping.is_set():
                counters = self.pipeline.counters
                remaining = None if max_records is None else max_records - counters.messages
                if remaining is not None and remaining <= 0:
                    break
                want = s.batch_size if remaining is None else min(s.batch_size, remaining)
                try:
                    messages = self.consumer.consume(num_messages=want, timeout=s.batch_timeout_s)
                    self._raise_from_callback()
                    self.metrics.polled()
                    if messages:
                        self._process(messages)
                    if time.monotonic() - self.last_checkpoint >= s.commit_interval_s:
                        self.checkpoint()
                except KafkaException as error:
                    self._recover(error)
            self.checkpoint()
        except BaseException:
            # Nothing more may be committed: closing the consumer revokes the partitions,
            # and their checkpoint must not run.
            self.failed = True
            raise
        finally:
            self._close()
        counters = self.pipeline.counters
        log.info(
            "stopped",
            extra={
                "messages": counters.messages,
                "scored": counters.scored,
                "dead_lettered": counters.dead_lettered,
                "alerts": counters.alerts,
            },
        )
        return counters

    def _close(self) -> None:
        try:
            if self.txn is not None and self.txn.open:
                self.txn.abort()
        except FatalTransactionError:
            pass  # the run is failing already; a restart aborts it (init_transactions)
        try:
            self.consumer.close()
        except KafkaException as error:
            log.warning("consumer close failed", extra={"reason": error.args[0].str()})
        if self.callback_error is not None:  # from the last revoke, run by close()
            log.warning("final revoke failed", extra={"reason": repr(self.callback_error)})
        self.producer.flush(30)

    def stop(self) -> None:
        """Ask the loop to finish its batch, checkpoint and close (signal-safe)."""
        self.stopping.set()

    # -- the batch ---------------------------------------------------------------------------
    def _process(self, messages: list[Message]) -> None:
        started = time.perf_counter()
        if self.txn is not None:
            self.txn.begin()
        if any(map(Message.error, messages)):
            self._log_consumer_errors(messages)
            messages = [m for m in messages if m.error() is None]
        s = self.settings
        for part in _by_partition(messages, s.input_topics):
            (topic, partition), payloads, offsets, keys = self._unseen(part)
            if not offsets:
                continue
            alerts, dead = self.pipeline.process_payloads(topic, partition, payloads, offsets, keys)
            for letter in dead:
                self._dead_letter(letter)
            if dead:
                reasons = collections.Counter(letter.reason for letter in dead)
                log.warning(
                    "dead-lettered records",
                    extra={
                        "topic": topic,
                        "partition": partition,
                        "first_offset": offsets[0],
                        "last_offset": offsets[-1],
                        "count": len(dead),
                        "reasons": ",".join(f"{r}={n}" for r, n in sorted(reasons.items())),
                    },
                )
            for alert in alerts:
                self.producer.produce(
                    s.alert_topic,
                    key=f"{s.monitor}/{alert['feature']}".encode(),
                    value=json.dumps(alert, separators=(",", ":")).encode(),
                    on_delivery=self.delivery.report,
                )
                self.metrics.alert(alert["type"])
            self._export_scores(topic, partition)
            self.metrics.consumed(topic, partition, len(payloads))
            self.metrics.scored(topic, partition, len(payloads) - len(dead))
            self.dirty.add((topic, partition))
        self.producer.poll(0)
        self.metrics.batch_seconds(time.perf_counter() - started)

    def _unseen(self, part: _Part) -> _Part:
        """The part of a partition's messages this instance has to process.

        Messages of a partition it no longer owns, or below the partition's next offset, were
        fetched before a rebalance or a rewind; processing them would publish alerts or
        state for records that are another owner's or already counted. librdkafka drops
        such messages itself since 2.0.2 (confluentinc/librdkafka#4117); this check keeps
        the guarantee independent of that.
        """
        (topic, partition), payloads, offsets, keys = part
        if (topic, partition) not in self.owned:
            skip = len(offsets)
        else:
            next_offset = self.pipeline.monitor(topic, partition).next_offset
            skip = 0 if next_offset is None else bisect.bisect_left(offsets, next_offset)
        if skip:
            self.metrics.stale(topic, partition, skip)
            log.warning(
                "skipped messages fetched before a rebalance or rewind",
                extra={"topic": topic, "partition": partition, "count": skip},
            )
            return (topic, partition), payloads[skip:], offsets[skip:], keys[skip:]
        return part

    def _export_scores(self, topic: str, partition: int) -> None:
        """Set the drift-score gauges to each column's latest window scores."""
        engine = self.pipeline.monitor(topic, partition).engine
        for name, column in engine.columns.items():
            for method, (value, drifted) in column.last_scores.items():
                self.metrics.score(name, method, partition, value, drifted)

    def _dead_letter(self, letter: DeadLetter) -> None:
        headers: list[tuple[str, str | bytes | None]] = [
            ("stream-monitor.reason", letter.reason.encode()),
            ("stream-monitor.detail", letter.detail.encode()),
            ("stream-monitor.source-topic", (letter.topic or "").encode()),
            ("stream-monitor.source-partition", str(letter.partition).encode()),
            ("stream-monitor.source-offset", str(letter.offset).encode()),
        ]
        self.producer.produce(
            self.settings.dead_letter_topic,
            key=letter.key,
            value=letter.value,
            headers=headers,
            on_delivery=self.delivery.report,
        )
        self.metrics.dead_lettered(letter.topic or "", letter.partition, letter.reason)

    def _log_consumer_errors(self, messages: list[Message]) -> None:
        for m in messages:
            error = m.error()
            if error is None or error.code() == KafkaError._PARTITION_EOF:
                continue
            if error.fatal():
                raise KafkaException(error)
            log.warning("consumer error", extra={"code": error.name(), "topic": m.topic()})

    # -- checkpoints -------------------------------------------------------------------------
    def checkpoint(self, partitions: set[tuple[str, int]] | None = None) -> None:
        """Make everything processed so far durable (see the module docstring for the order).

        In exactly-once mode one transaction holds the outputs of every dirty partition, so
        its checkpoint covers them all, whatever ``partitions`` says.
        """
        if self.txn is not None:
            self._commit_transaction()
        else:
            self._checkpoint_at_least_once(partitions)
        self.last_checkpoint = time.monotonic()

    def _states(self, todo: list[tuple[str, int]]) -> list[tuple[TopicPartition, bytes]]:
        """Produce each partition's state to the state topic; return offsets and states."""
        s = self.settings
        done = []
        for topic, partition in todo:
            monitor = self.pipeline.monitor(topic, partition)
            if monitor.next_offset is None:
                continue
            blob = monitor.checkpoint()
            self.producer.produce(
                s.state_topic,
                key=kafka_io.state_key(s.monitor, topic, partition),
                value=blob,
                on_delivery=self.delivery.report,
            )
            done.append((TopicPartition(topic, partition, monitor.next_offset), blob))
        return done

    def _checkpoint_at_least_once(self, partitions: set[tuple[str, int]] | None) -> None:
        todo = sorted(self.dirty if partitions is None else self.dirty & partitions)
        self._flush()
        if not todo:
            return
        states = self._states(todo)
        self._flush()
        commits = [tp for tp, _ in states]
        if commits:
            try:
                self.consumer.commit(offsets=commits, asynchronous=False)
            except KafkaException as error:
                # The state topic is ahead of the committed offsets now, which is harmless
                # (see above); the next checkpoint commits again.
                err = error.args[0]
                if err.fatal():
                    raise
                log.warning("offset commit failed, retrying later", extra={"code": err.name()})
                return
        self.dirty.difference_update(todo)
        self._checkpointed(commits)

    def _commit_transaction(self) -> None:
        assert self.txn is not None
        todo = sorted(self.dirty)
        if not todo and not self.txn.open:
            return
        self.txn.begin()
        states = self._states(todo)
        commits = [tp for tp, _ in states]
        try:
            self.txn.commit(commits, self.consumer.consumer_group_metadata())
        except TransactionAbortedError:
            self._rewind()
            return
        for tp, blob in states:
            self.committed[(tp.topic, tp.partition)] = (tp.offset, blob)
        self.committed_counters = dataclasses.replace(self.pipeline.counters)
        self.dirty.difference_update(todo)
        with self.delivery.lock:
            self.delivery.failed, self.delivery.first_error = 0, None
        self._checkpointed(commits)

    def _checkpointed(self, commits: list[TopicPartition]) -> None:
        self.metrics.checkpointed()
        log.info(
            "checkpoint",
            extra={"partitions": len(commits), "offsets": _offsets_text(commits)},
        )

    def _recover(self, error: KafkaException) -> None:
        """Handle a Kafka error raised by the loop: rewind after an abortable one, else stop."""
        self.producer.poll(0)  # serves the error callback, which names a fatal error's cause
        err = error.args[0]
        fatal = self.client_errors.fatal_error
        if self.txn is not None and err.txn_requires_abort() and fatal is None:
            log.warning("transaction aborted, rewinding", extra={"code": err.name()})
            self._abort()
            return
        if self.txn is not None and (fatal is not None or err.fatal()):
            self.txn.recover_from_fatal(fatal or err.str())  # raises unless it timed out
            self.client_errors.fatal_error = None
            self._rewind()
            return
        log.error(
            "stopping on a Kafka error",
            extra={"code": err.name(), "fatal": err.fatal(), "reason": fatal or err.str()},
        )
        if fatal is not None:
            raise FatalTransactionError(fatal) from error
        raise error

    def _abort(self) -> None:
        """Abort the open transaction and rewind to the last commit."""
        assert self.txn is not None
        self.txn.abort()
        self._rewind()

    def _rewind(self) -> None:
        """Every owned partition back to its last committed offset and state."""
        self.pipeline.counters = dataclasses.replace(self.committed_counters)
        with self.delivery.lock:
            self.delivery.failed, self.delivery.first_error = 0, None
        for topic, partition in sorted(self.owned):
            offset, blob = self.committed.get((topic, partition), (None, None))
            self.pipeline.drop(topic, partition)
            monitor = self.pipeline.monitor(topic, partition)
            if blob is not None:
                monitor.restore(blob)
            if offset is None:
                continue
            try:
                self.consumer.seek(TopicPartition(topic, partition, offset))
            except KafkaException as error:
                # Only a partition the consumer no longer holds fails here; its next
                # assignment restores it from the state topic.
                log.warning(
                    "rewind failed",
                    extra={"topic": topic, "partition": partition, "code": error.args[0].name()},
                )
        self.dirty.clear()
        log.info("rewound", extra={"partitions": len(self.owned)})

    def _flush(self) -> None:
        """Wait until the broker acknowledged every message produced so far.

        While the broker is away this waits (each message gives up after librdkafka's
        ``message.timeout.ms``); a message that failed stops the run without committing.
        """
        while True:
            remaining = self.producer.flush(5)
            with self.delivery.lock:
                failed, first = self.delivery.failed, self.delivery.first_error
            if failed or not remaining or self.stopping.is_set():
                break
            log.warning("waiting for the broker to acknowledge", extra={"queued": remaining})
        with self.delivery.lock:
            self.delivery.failed, self.delivery.first_error = 0, None
        if remaining or failed:
            raise DeliveryError(
                f"{failed} message(s) not acknowledged ({first}); {remaining} still queued: "
                "stopping without committing, the records will be read again on restart"
            )

    # -- rebalances --------------------------------------------------------------------------
    def _guarded(
        self, callback: Callable[[Any, list[TopicPartition]], None]
    ) -> Callable[[Any, list[TopicPartition]], None]:
        """A rebalance callback that never raises into librdkafka (which re-raises such an
        exception in a mangled form); its error is raised after ``consume`` returns."""

        def guarded(consumer: Any, partitions: list[TopicPartition]) -> None:
            try:
                callback(consumer, partitions)
            except BaseException as error:
                if self.callback_error is None:
                    self.callback_error = error

        return guarded

    def _raise_from_callback(self) -> None:
        error, self.callback_error = self.callback_error, None
        if error is not None:
            raise error

    def _on_assign(self, consumer: Any, partitions: list[TopicPartition]) -> None:
        s = self.settings
        keys = {kafka_io.state_key(s.monitor, tp.topic, tp.partition): tp for tp in partitions}
        states, committed = self._read_states(consumer, keys)
        for key, tp in keys.items():
            monitor = self.pipeline.monitor(tp.topic, tp.partition)
            blob = states.get(key)
            if blob is not None:
                monitor.restore(blob)
                if monitor.next_offset is not None:
                    tp.offset = monitor.next_offset
                    self.committed[(tp.topic, tp.partition)] = (monitor.next_offset, blob)
            self.owned.add((tp.topic, tp.partition))
            log.info(
                "assigned",
                extra={
                    "topic": tp.topic,
                    "partition": tp.partition,
                    "restored": blob is not None,
                    "offset": tp.offset if blob is not None else None,
                },
            )
        if self.txn is not None:
            fresh = [(tp, committed[key]) for key, tp in keys.items() if tp.offset < 0]
            self._remember_start_offsets(consumer, fresh)
        consumer.assign(partitions)
        self.ready.set()

    def _read_states(
        self, consumer: Any, keys: dict[bytes, TopicPartition]
    ) -> tuple[dict[bytes, bytes], dict[bytes, int]]:
        """The partitions' checkpoints, each at least as far as the partition's committed
        input offset; and those committed offsets (negative: never committed).

        Both modes write a checkpoint before (at-least-once) or with (exactly-once) the
        offsets it covers, so a checkpoint behind the committed offset is one whose
        transaction's commit markers the broker had not written when it was read: the
        checkpoint the previous owner committed on revoke, a moment ago. Restoring the one
        before it would process an interval again and publish its alerts twice, so the
        state topic is read again until it has caught up.
        """
        s = self.settings
        deadline = time.monotonic() + self.state_read_timeout_s
        parts = [TopicPartition(tp.topic, tp.partition) for tp in keys.values()]
        offsets = kafka_io.committed(consumer, parts, timeout_s=self.state_read_timeout_s)
        committed = {key: tp.offset for key, tp in zip(keys, offsets, strict=True)}
        base = {**self.base, **s.kafka_consumer}
        while True:
            states = kafka_io.read_states(base, s.state_topic, keys, self.state_read_timeout_s)
            behind = [
                key
                for key, offset in committed.items()
                if offset >= 0 and _next_offset(states.get(key)) < offset
            ]
            if not behind:
                return states, committed
            if time.monotonic() > deadline:
                raise TimeoutError(
                    f"state topic {s.state_topic!r}: the checkpoints of {len(behind)} "
                    f"partition(s) stayed behind their committed offsets for "
                    f"{self.state_read_timeout_s:.0f} s"
                )
            log.info("checkpoint not readable yet, reading again", extra={"behind": len(behind)})
            time.sleep(0.2)

    def _remember_start_offsets(
        self, consumer: Any, fresh: list[tuple[TopicPartition, int]]
    ) -> None:
        """Where a partition with no stored state starts, for rewinding after an abort: its
        committed offset, or (never committed) its earliest offset."""
        for tp, offset in fresh:
            if offset < 0:
                offset, _ = kafka_io.watermarks(consumer, tp)
            self.committed[(tp.topic, tp.partition)] = (offset, None)

    def _on_revoke(self, consumer: Any, partitions: list[TopicPartition]) -> None:
        revoked = {(tp.topic, tp.partition) for tp in partitions}
        if not self.failed:
            self.checkpoint(revoked)
        self._forget(revoked)
        log.info("revoked", extra={"partitions": len(revoked)})

    def _on_lost(self, consumer: Any, partitions: list[TopicPartition]) -> None:
        # Lost partitions belong to someone else already: committing their offsets or state
        # would be wrong. In exactly-once mode their outputs sit in the open transaction
        # with everyone else's, so the whole transaction is aborted and the partitions kept
        # rewind to their last commit.
        lost = {(tp.topic, tp.partition) for tp in partitions}
        if self.txn is not None and self.txn.open:
            self._abort()
        self.dirty.difference_update(lost)
        self._forget(lost)
        log.warning("partitions lost", extra={"partitions": len(lost)})

    def _forget(self, partitions: set[tuple[str, int]]) -> None:
        for topic, partition in partitions:
            self.pipeline.drop(topic, partition)
            self.committed.pop((topic, partition), None)
            self.metrics.remove_partition(topic, partition)
        self.owned.difference_update(partitions)
        if not self.owned:
            self.ready.clear()


_Part = tuple[tuple[str, int], list[bytes | None], list[int], list[bytes | None]]


def _by_partition(messages: list[Message], topics: tuple[str, ...]) -> list[_Part]:
    """Values, offsets and keys of the messages, grouped by topic and partition.

    The per-message work is one C-level ``map`` per field: no Python code runs per message.
    A fetch returns long runs of one partition, so the groups are cut at run boundaries.
    """
    if not messages:
        return []
    values = list(map(Message.value, messages))
    offsets = cast(list[int], list(map(Message.offset, messages)))
    keys = list(map(Message.key, messages))
    partitions = np.fromiter(map(Message.partition, messages), dtype=np.int64, count=len(messages))
    if len(topics) == 1:
        names = None
        change = partitions[1:] != partitions[:-1]
    else:
        names = cast(list[str], list(map(Message.topic, messages)))
        same_topic = np.array([a == b for a, b in itertools.pairwise(names)], dtype=bool)
        change = (partitions[1:] != partitions[:-1]) | ~same_topic
    cuts = [0, *(np.flatnonzero(change) + 1).tolist(), len(messages)]
    grouped: dict[tuple[str, int], _Part] = {}
    for lo, hi in itertools.pairwise(cuts):
        key = (topics[0] if names is None else names[lo], int(partitions[lo]))
        if key in grouped:
            _, v, o, k = grouped[key]
            v += values[lo:hi]
            o += offsets[lo:hi]
            k += keys[lo:hi]
        else:
            grouped[key] = (key, values[lo:hi], offsets[lo:hi], keys[lo:hi])
    return list(grouped.values())


def _next_offset(blob: bytes | None) -> int:
    """The input offset a checkpoint resumes at (-1 for none)."""
    if blob is None:
        return -1
    _, meta = checkpoint.decode(blob)
    offset = meta.get("next_offset")
    return -1 if offset is None else int(offset)


def _offsets_text(commits: list[TopicPartition]) -> str:
    return ",".join(f"{tp.topic}:{tp.partition}@{tp.offset}" for tp in commits)


def run_kafka(
    profile: Profile,
    settings: StreamSettings,
    *,
    install_signals: bool = True,
    on_start: Callable[[KafkaMonitor], None] | None = None,
) -> Counters:
    """Run the Kafka monitor until SIGTERM/SIGINT or ``settings.max_records``."""
    monitor = KafkaMonitor(profile, settings)
    server = None
    if settings.metrics_port is not None:
        server = HealthServer(
            monitor.metrics,
            host=settings.metrics_host,
            port=settings.metrics_port,
            live=lambda: True,
            ready=monitor.ready.is_set,
        )
        host, port = server.start()
        log.info("metrics endpoint", extra={"host": host, "port": port})
    if install_signals:
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: monitor.stop())
    if on_start is not None:
        on_start(monitor)
    try:
        return monitor.run(settings.max_records)
    finally:
        if server is not None:
            server.stop()
