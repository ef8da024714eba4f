"""``stream-monitor run`` on Kafka: the application that ties the consumer group, the
processor, the sinks, the checkpoints and the state store together.

The loop: consume a batch, hand its ``Part``s (``kafka_source``) to the ``Processor``,
whose alerts and dead letters go to the Kafka sinks (``kafka_sinks``). The processor scores
batch k on a worker thread while the loop consumes batch k+1 (``inflight``); every
``commit_interval_s``, on partition revoke and on shutdown, checkpoint (``checkpointing``,
which documents both delivery modes). On assign, each partition's latest checkpoint is read
back from the state store (``state_store``) and restored, and consumption resumes at the
offset it is tagged with.

Exactly-once (``processing_guarantee: exactly_once``): the producer is transactional, with
``transactional.id`` = ``stream-monitor-<monitor>-<instance_id>``: stable per instance, so
``init_transactions()`` in a restarted instance aborts its dead predecessor's open
transaction at once. On an abortable error the transaction is aborted and every owned
partition rewinds to its last committed offset and state; a fatal or fencing error stops
the run with a log line (a restart creates a new producer).
"""

from __future__ import annotations

import logging
import signal
import sys
import threading
from collections.abc import Callable
from typing import Any

from confluent_kafka import KafkaException, Message, Producer, TopicPartition

from stream_monitor.metrics import HealthServer, StreamMetrics
from stream_monitor.profile.model import Profile
from stream_monitor.stream import kafka_io, kafka_source
from stream_monitor.stream.checkpointing import AtLeastOnce, ExactlyOnce, Routes, Stateful
from stream_monitor.stream.inflight import InFlight
from stream_monitor.stream.kafka_global import GlobalTier
from stream_monitor.stream.kafka_sinks import (
    Delivery,
    DeliveryError,
    KafkaAlertSink,
    KafkaDeadLetterSink,
    KafkaPartialsSink,
)
from stream_monitor.stream.pipeline import Counters, Pipeline
from stream_monitor.stream.processor import Processor
from stream_monitor.stream.settings import StreamSettings
from stream_monitor.stream.sources import Partition
from stream_monitor.stream.state_store import StateStore
from stream_monitor.stream.sweep import Groups, Sweep
from stream_monitor.stream.transactions import (
    CALL_TIMEOUT_S,
    FatalTransactionError,
    TransactionalProducer,
)

__all__ = ["DeliveryError", "KafkaMonitor", "run_kafka"]

log = logging.getLogger("stream_monitor.run")


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
        self.delivery = Delivery(metrics=self.metrics)
        self.stopping = threading.Event()
        self.ready = threading.Event()
        self.owned: set[Partition] = set()
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
        self.state_store = StateStore(
            {**self.base, **settings.kafka_consumer}, settings.state_topic, settings.monitor
        )
        outputs = (self.delivery, self.stopping)
        alerts = KafkaAlertSink(
            settings.monitor, lambda: self.producer, settings.alert_topic, *outputs
        )
        # Global windows: tier 2 reads the partials topic with a consumer group of its own.
        self.global_tier = (
            None
            if settings.global_windows is None
            else GlobalTier(profile, settings, self.base, self.metrics, alerts)
        )
        routes = Routes(self._monitor_of, self._drop, self._consumer_of)
        self.txn: TransactionalProducer | None = None  # exactly-once mode
        self.incoming: Groups = []  # offsets of partitions being assigned, for the sweep
        self.checkpoints: AtLeastOnce
        context = (self.delivery, self.stopping, self.metrics, self.owned)
        if settings.processing_guarantee == "exactly_once":
            transactional_id = f"stream-monitor-{settings.monitor}-{settings.instance_id}"
            produced_to = [settings.alert_topic, settings.dead_letter_topic, settings.state_topic]
            if settings.global_windows is not None:
                produced_to.append(settings.partials_topic)
            self.txn = TransactionalProducer(
                lambda: kafka_io.producer(
                    self.base, transactional_id=transactional_id, **settings.kafka_producer
                ),
                self.stopping,
                transaction_timeout_s=kafka_io.transaction_timeout_s(
                    {**settings.kafka, **settings.kafka_producer}
                ),
                sweep=Sweep(produced_to, self._last_commits, timeout_s=CALL_TIMEOUT_S),
            )
            self.checkpoints = ExactlyOnce(
                self.pipeline, routes, self.state_store, self.txn, *context
            )
        else:
            self._producer = kafka_io.producer(self.base, **settings.kafka_producer)
            self.checkpoints = AtLeastOnce(
                self.pipeline, routes, self.state_store, lambda: self._producer, *context
            )
        partials = None
        if self.global_tier is not None:
            partials = KafkaPartialsSink(
                settings.monitor, lambda: self.producer, settings.partials_topic, *outputs
            )
        self.processor = Processor(
            self.pipeline,
            alerts,
            KafkaDeadLetterSink(lambda: self.producer, settings.dead_letter_topic, *outputs),
            self.metrics,
            owns=self.owned.__contains__,
            partials=partials,
        )
        self.batch = InFlight(lambda messages: self._score(messages))
        self.submitted = 0  # the message count once the batch in flight is processed
        self.unrecoverable: KafkaException | None = None

    # -- where a partition lives: tier 1 (input topics) or tier 2 (the partials topic) --------
    def _monitor_of(self, partition: Partition) -> Stateful:
        topic, number = partition
        if self.global_tier is not None and topic == self.global_tier.topic:
            return self.global_tier.monitor(number)
        return self.pipeline.monitor(topic, number)

    def _drop(self, partition: Partition) -> None:
        topic, number = partition
        if self.global_tier is not None and topic == self.global_tier.topic:
            self.global_tier.drop(number)
        else:
            self.pipeline.drop(topic, number)

    def _consumer_of(self, topic: str) -> Any:
        if self.global_tier is not None and topic == self.global_tier.topic:
            return self.global_tier.consumer
        return self.consumer

    def _last_commits(self) -> Groups:
        """Exactly once: each consumer group's last committed offsets, for the sweep, and
        those of partitions being assigned (``_sweep_incoming``)."""
        checkpoints = self.checkpoints
        if not isinstance(checkpoints, ExactlyOnce):
            return []
        return checkpoints.last_commits() + self.incoming

    def _group_of(self, consumer: Any) -> str:
        if self.global_tier is not None and consumer is self.global_tier.consumer:
            return self.global_tier.group_id
        return self.settings.group_id

    @property
    def producer(self) -> Producer:
        """The current producer (exactly-once mode replaces a stuck one)."""
        return self.txn.producer if self.txn is not None else self._producer

    # -- lifecycle -------------------------------------------------------------------------
    def run(self, max_records: int | None = None) -> Counters:
        """Consume until stopped (or ``max_records`` records); return the counters."""
        s = self.settings
        outputs = {s.alert_topic: False, s.dead_letter_topic: False, s.state_topic: True}
        if self.global_tier is not None:
            outputs[s.partials_topic] = False
        kafka_io.ensure_topics(self.base, s.input_topics, outputs)
        consumers = [(self.consumer, list(s.input_topics))]
        if self.global_tier is not None:
            consumers.append((self.global_tier.consumer, [s.partials_topic]))
        for consumer, topics in consumers:
            consumer.subscribe(
                topics,
                on_assign=self._guarded(self._on_assign),
                on_revoke=self._guarded(self._on_revoke),
                on_lost=self._guarded(self._on_lost),
            )
        if self.txn is not None:
            self.txn.init()
        try:
            while True:
                try:
                    want = self._want(max_records)
                    if want <= 0:
                        if not self.batch.busy:
                            break
                        self.batch.settle()
                        continue
                    messages = self.consumer.consume(num_messages=want, timeout=s.batch_timeout_s)
                    self._raise_from_callback()
                    self.metrics.polled()
                    # Batch k is scored while batch k+1 is consumed; everything else waits
                    # for it (see ``inflight``).
                    self.batch.settle()
                    if self.global_tier is not None:
                        self._process_global()
                    if self.checkpoints.due(s.commit_interval_s):
                        self.checkpoint()
                    if messages:
                        # The transaction opens here, not on the worker: opening it can
                        # sweep, which asks the consumer for its group metadata, and a
                        # rebalance callback holding the consumer waits for the worker.
                        self.checkpoints.begin()
                        self.submitted = self.pipeline.counters.messages + len(messages)
                        self.batch.submit(messages)
                except KafkaException as error:
                    # After an error of batch k, batch k+1 is dropped unseen: it was fetched
                    # before the rewind.
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

    def _want(self, max_records: int | None) -> int:
        """How many messages the next ``consume`` may take: 0 once stopping, or once
        ``max_records`` are processed or in flight."""
        if self.stopping.is_set():
            return 0
        if max_records is None:
            return self.settings.batch_size
        done = self.pipeline.counters.messages if not self.batch.busy else self.submitted
        return min(self.settings.batch_size, max_records - done)

    def _close(self) -> None:
        self.batch.close()
        try:
            if self.txn is not None and self.txn.open:
                self.txn.abort()
        except FatalTransactionError:
            pass  # the run is failing already; a restart aborts it (init_transactions)
        consumers = [self.consumer]
        if self.global_tier is not None:
            consumers.append(self.global_tier.consumer)
        for consumer in consumers:
            try:
                consumer.close()
            except KafkaException as error:
                log.warning("consumer close failed", extra={"reason": error.args[0].str()})
        if self.callback_error is not None:  # from the last revoke, run by close()
            log.warning("final revoke failed", extra={"reason": repr(self.callback_error)})
        try:
            self.producer.flush(30)
        except:  # noqa: E722 - what a fenced producer's flush raises need not be an Exception
            if not self.failed:
                raise
            # A fenced producer can fail its last flush too: the run's own error, already on
            # its way, must stay the one that says why it stopped, and sets the exit code.
            # confluent-kafka 2.16 raises librdkafka's KafkaError object itself there, which
            # derives from no exception class, so only a bare ``except`` catches it (seen in
            # test_duplicate_instance_is_fenced: exit code 1, not 3).
            log.warning("final flush failed", extra={"reason": repr(sys.exc_info()[1])})

    def stop(self) -> None:
        """Ask the loop to finish its batch, checkpoint and close (signal-safe)."""
        self.stopping.set()

    def checkpoint(self, partitions: set[Partition] | None = None) -> None:
        """Make everything processed so far durable (see ``checkpointing``)."""
        self.checkpoints.checkpoint(partitions)

    # -- the batch ---------------------------------------------------------------------------
    def _score(self, messages: list[Message]) -> None:
        """The batch in flight's work (the transaction is open already): no call on the
        consumer, which only the loop's thread may use."""
        parts = kafka_source.parts(
            messages, self.settings.input_topics, timestamps=self.global_tier is not None
        )
        self.checkpoints.dirty.update(self.processor.process(parts))
        self.producer.poll(0)

    def _process_global(self) -> None:
        """Tier 2: what the partials topic has for the keys this instance owns."""
        assert self.global_tier is not None
        messages = self.global_tier.consumer.consume(
            num_messages=self.settings.batch_size, timeout=0
        )
        self._raise_from_callback()
        if not messages:
            return  # idle partitions are judged when records come (see GlobalOwner.expire)
        self.checkpoints.begin()
        self.checkpoints.dirty.update(self.global_tier.process(messages, self.owned))

    def _settle(self) -> None:
        """Wait for the batch in flight; recover from its Kafka error."""
        try:
            self.batch.settle()
        except KafkaException as error:
            self._recover(error)

    def _recover(self, error: KafkaException) -> None:
        """Handle a Kafka error raised by the loop: rewind after an abortable one, else stop."""
        if error is self.unrecoverable:
            raise error  # recovery was tried already (in a rebalance callback)
        try:
            self.batch.settle()  # the batch in flight ends before anything rewinds
        except KafkaException as also:
            log.warning("the batch in flight failed too", extra={"code": also.args[0].name()})
        self.producer.poll(0)  # serves the error callback, which names a fatal error's cause
        err = error.args[0]
        fatal = self.client_errors.fatal_error
        checkpoints = self.checkpoints
        if isinstance(checkpoints, ExactlyOnce):
            if err.txn_requires_abort() and fatal is None:
                log.warning("transaction aborted, rewinding", extra={"code": err.name()})
                checkpoints.abort()
                return
            if fatal is not None or err.fatal():
                checkpoints.txn.recover_from_fatal(fatal or err.str())  # raises unless timed out
                self.client_errors.fatal_error = None
                checkpoints.rewind()
                return
        log.error(
            "stopping on a Kafka error",
            extra={"code": err.name(), "fatal": err.fatal(), "reason": fatal or err.str()},
        )
        if fatal is not None:
            raise FatalTransactionError(fatal) from error
        self.unrecoverable = error
        raise error

    # -- rebalances --------------------------------------------------------------------------
    def _guarded(
        self, callback: Callable[[Any, list[TopicPartition]], None]
    ) -> Callable[[Any, list[TopicPartition]], None]:
        """A rebalance callback that never raises into librdkafka (which re-raises such an
        exception in a mangled form); its error is raised after ``consume`` returns."""

        def guarded(consumer: Any, partitions: list[TopicPartition]) -> None:
            try:
                self._settle()  # the batch in flight ends before partitions move
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
        assigned = [(tp.topic, tp.partition) for tp in partitions]
        if isinstance(self.checkpoints, ExactlyOnce):
            self._sweep_incoming(consumer, partitions)
        states, committed = self.state_store.read(consumer, assigned)
        fresh = {}
        for tp, key in zip(partitions, assigned, strict=True):
            monitor = self._monitor_of(key)
            blob = states.get(key)
            if blob is not None:
                monitor.restore(blob)
                if monitor.next_offset is not None:
                    tp.offset = monitor.next_offset
                    self.checkpoints.restored(key, monitor.next_offset, blob)
            if tp.offset < 0:
                fresh[key] = committed[key]
            self.owned.add(key)
            log.info(
                "assigned",
                extra={
                    "topic": tp.topic,
                    "partition": tp.partition,
                    "restored": blob is not None,
                    "offset": tp.offset if blob is not None else None,
                },
            )
        self.checkpoints.assigned(fresh)
        consumer.assign(partitions)
        self.ready.set()

    def _sweep_incoming(self, consumer: Any, partitions: list[TopicPartition]) -> None:
        """Exactly once: before the committed offsets and state of newly assigned
        partitions are read, end whatever our producer id left open on them (``sweep``).

        A broker that restarts can complete a transaction of ours without writing its
        markers to the partitions that have no leader yet (seen: a commit completed 6 s
        after a broker SIGKILL, with no marker on the state topic or the group's offsets).
        Its offsets then stay pending, so the group's committed offsets, asked for as
        stable, are never answered, and its checkpoint stays unreadable, until our
        producer id writes a marker there: our next commit would, but that waits for this
        assignment. The sweep's abort writes it now; it carries the group's offsets as they
        stand, so that even a sweep whose own marker went missing can only commit those.
        """
        assert isinstance(self.checkpoints, ExactlyOnce)
        if self.checkpoints.txn.open:
            self.checkpoint()  # another consumer's partitions have work in it
        parts = [TopicPartition(tp.topic, tp.partition) for tp in partitions]
        stable = kafka_io.stable_committed(
            {**self.base, **self.settings.kafka_consumer}, self._group_of(consumer), parts
        )
        offsets = [tp for tp in stable if tp.offset >= 0]
        self.incoming = [(offsets, consumer.consumer_group_metadata())]
        try:
            self.checkpoints.txn.sweep_now()
        finally:
            self.incoming = []

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
        if isinstance(self.checkpoints, ExactlyOnce) and self.checkpoints.txn.open:
            self.checkpoints.abort()
        self._forget(lost)
        log.warning("partitions lost", extra={"partitions": len(lost)})

    def _forget(self, partitions: set[Partition]) -> None:
        self.checkpoints.forget(partitions)
        for topic, partition in partitions:
            self._drop((topic, partition))
            self.metrics.remove_partition(topic, partition)
        self.owned.difference_update(partitions)
        if not any(topic in self.settings.input_topics for topic, _ in self.owned):
            self.ready.clear()


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
