"""The sweep: after an abort, one more aborted transaction over every output partition.

A broker ends a transaction by writing a marker to each partition the transaction wrote
to. On an abort it skips a partition that has no leader at that moment, taking it for a
deleted one (Kafka's ``TransactionMarkerChannelManager``: "these partitions are likely
deleted already and hence can be skipped"). A broker that restarts is in that state for a
few seconds, and that is when it aborts the transactions that timed out while it was down.
The aborted records of such a partition stay open under the producer id, and the next
commit marker of the same producer id there (a new producer with our ``transactional.id``
keeps the id, with a higher epoch) commits them with its own: outputs of a transaction the
run rewound past are published after all, next to the ones it produced again (a global
alert came twice across a broker SIGKILL). A partition that no later transaction writes to
holds back every ``read_committed`` reader for good.

So before its first transaction after ``init_transactions`` or an abort, the transactional
producer (``transactions``) runs a sweep: one record to every partition of the output
topics and the last committed offsets of each consumer group, all acknowledged, then an
abort. Every partition then gets an abort marker of our producer id from a broker that has
just found its leader, and that marker also ends whatever an earlier abort left open there.
``read_committed`` readers see none of it.

A commit can lose its markers the same way, and its records then stay pending: the group's
offsets are not answered as stable, and a new assignment waits for them for ever. So the
sweep also runs when partitions are assigned, before their offsets and state are read
(``kafka_app.KafkaMonitor._sweep_incoming``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

from confluent_kafka import KafkaError, KafkaException, Message, Producer, TopicPartition

from stream_monitor.stream import kafka_io
from stream_monitor.stream.transactions import GRACE_S, call_with_deadline

log = logging.getLogger("stream_monitor.transactions")

#: Header on the sweep's records (aborted: only ``read_uncommitted`` readers see them).
HEADER = "stream-monitor.sweep"
KEY = b"stream-monitor.sweep"

#: Offsets to send per consumer group, with the group's metadata.
Groups = list[tuple[list[TopicPartition], object]]


class Sweep:
    """Writes the sweep's records and offsets into the open transaction and waits until
    the broker has acknowledged every record; the caller aborts the transaction."""

    def __init__(
        self,
        topics: Sequence[str],
        groups: Callable[[], Groups],
        *,
        timeout_s: float,
        grace_s: float = GRACE_S,
        partitions: Callable[[Producer, str], list[int]] = kafka_io.partitions,
    ) -> None:
        self.topics = list(topics)
        self.groups = groups
        self.timeout = timeout_s
        self.grace = grace_s
        self.partitions = partitions

    def __call__(self, producer: Producer) -> None:
        """Sweep every partition of the topics; raise ``KafkaException`` when a record was
        not acknowledged (the sweep must then be done again)."""
        failed: list[KafkaError] = []

        def report(error: KafkaError | None, _: Message) -> None:
            if error is not None:
                failed.append(error)

        # Asked each time: after a broker restart this waits until every partition has a
        # leader again, and it finds partitions added since.
        targets = [(t, p) for t in self.topics for p in self.partitions(producer, t)]
        for topic, partition in targets:
            producer.produce(
                topic,
                key=KEY,
                value=None,
                partition=partition,
                headers=[(HEADER, b"aborted")],
                on_delivery=report,
            )
        remaining = producer.flush(self.timeout)
        if remaining or failed:
            reason = failed[0].str() if failed else f"{remaining} still queued"
            raise KafkaException(
                KafkaError(KafkaError._MSG_TIMED_OUT, f"sweep not acknowledged: {reason}")
            )
        offsets = self._offsets(producer)
        log.info("swept", extra={"partitions": len(targets), "offsets": offsets})

    def _offsets(self, producer: Producer) -> int:
        """Pending offsets an earlier abort left open sit with the group coordinator: the
        groups' offsets in the sweep give its partition an abort marker too. Best effort: a
        group in the middle of a rebalance refuses them, and its offsets are then committed
        afresh by the next commit. Returns how many offsets were sent."""
        sent = 0
        for offsets, metadata in self.groups():
            if not offsets:
                continue
            try:
                # librdkafka may wait here for ever when the group coordinator is down
                # (see ``transactions``); StuckError then reaches the caller.
                call_with_deadline(
                    "send_offsets_to_transaction",
                    lambda o=offsets, m=metadata: producer.send_offsets_to_transaction(  # type: ignore[misc]
                        o, m, self.timeout
                    ),
                    self.timeout + self.grace,
                )
            except KafkaException as error:
                log.warning("sweep: offsets not sent", extra={"code": error.args[0].name()})
                break
            sent += len(offsets)
        return sent
