"""Kafka clients with the settings that decide delivery pinned, and admin and metadata calls.

User settings (``stream.kafka`` in the config: security, timeouts, ...) pass through as a
plain librdkafka dict, but the few settings the delivery guarantee rests on are set here
and cannot be overridden: manual offset commits, idempotent producer with ``acks=all``,
``read_committed`` consumers.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Iterable
from typing import Any

from confluent_kafka import (
    Consumer,
    KafkaError,
    KafkaException,
    Producer,
    TopicPartition,
)
from confluent_kafka.admin import AdminClient
from confluent_kafka.cimpl import NewTopic

from stream_monitor.errors import ConfigError
from stream_monitor.stream.retry import RETRY_TIMEOUT_S, retrying

log = logging.getLogger("stream_monitor.kafka")

PINNED_CONSUMER = {
    "enable.auto.commit": False,
    "enable.auto.offset.store": False,
    "isolation.level": "read_committed",
}
# Fetch defaults (any can be overridden in ``kafka_consumer``): a fetch waits at most 100 ms
# for data; a partition's share of a fetch is 8 MiB, not 1, and the pre-fetch queue fills up
# to ``queued.max.messages.kbytes`` (64 MiB) rather than stopping at 100,000 messages, so a
# busy monitor finds its next batch waiting (1M records of 391 bytes on 3 partitions,
# AMD EPYC, 2 cores: 140k -> 200k records/s; benchmarks/bench_stream.py uses the same).
FETCH_DEFAULTS = {
    "fetch.wait.max.ms": 100,
    "max.partition.fetch.bytes": 8 * 1024 * 1024,
    "queued.min.messages": 1_000_000,
}
PINNED_PRODUCER = {"enable.idempotence": True, "acks": "all"}
TRANSACTION_TIMEOUT_MS = 10_000


# Errors that no retry will cure: the credentials or the TLS set-up are wrong.
_AUTH_ERRORS = {
    KafkaError._AUTHENTICATION,
    KafkaError._SSL,
    KafkaError.SASL_AUTHENTICATION_FAILED,
    KafkaError.ILLEGAL_SASL_STATE,
    KafkaError.UNSUPPORTED_SASL_MECHANISM,
}


class _Repeats(logging.Filter):
    """Drops a librdkafka log line that repeats one seen in the last ``window_s`` seconds
    (a broker that is down is retried every few hundred milliseconds)."""

    _NOISE = re.compile(r"\(after \d+ms in state \w+[^)]*\)|\d+")

    def __init__(self, window_s: float = 30.0) -> None:
        super().__init__()
        self.window = window_s
        self.seen: dict[str, float] = {}

    def filter(self, record: logging.LogRecord) -> bool:
        key = self._NOISE.sub("#", record.getMessage())
        now = time.monotonic()
        if now - self.seen.get(key, -self.window) < self.window:
            return False
        if len(self.seen) > 1000:
            self.seen.clear()
        self.seen[key] = now
        return True


class ClientErrors:
    """The clients' error callback, and their log lines routed into the JSON logs.

    librdkafka logs every connection failure itself (here: JSON lines from the
    ``stream_monitor.librdkafka`` logger, repeats dropped), but reports a failed
    authentication to the program only through this callback, while the call at hand just
    times out; so the first such error is kept for the caller to report. librdkafka's
    messages carry broker addresses and mechanism names, never credentials.
    """

    def __init__(self) -> None:
        self.auth_error: str | None = None
        self.fatal_error: str | None = None  # e.g. fenced by a newer instance
        self.logger = logging.getLogger("stream_monitor.librdkafka")
        if not any(isinstance(f, _Repeats) for f in self.logger.filters):
            self.logger.addFilter(_Repeats())

    def __call__(self, error: KafkaError) -> None:
        if error.code() in _AUTH_ERRORS and self.auth_error is None:
            self.auth_error = error.str()
        if error.fatal() and self.fatal_error is None:
            self.fatal_error = error.str()

    def settings(self) -> dict[str, Any]:
        """The client settings that route errors and logs here."""
        return {"error_cb": self, "logger": self.logger}


def consumer(base: dict[str, Any], group_id: str, **extra: Any) -> Consumer:
    """A consumer in ``group_id`` that never commits on its own."""
    config = {
        "auto.offset.reset": "earliest",
        **FETCH_DEFAULTS,
        **base,
        **extra,
        "group.id": group_id,
        **PINNED_CONSUMER,
    }
    return Consumer(config)


def transaction_timeout_s(settings: dict[str, Any]) -> float:
    """The ``transaction.timeout.ms`` a transactional producer gets, in seconds."""
    return float(settings.get("transaction.timeout.ms", TRANSACTION_TIMEOUT_MS)) / 1000


def producer(
    base: dict[str, Any], *, transactional_id: str | None = None, **extra: Any
) -> Producer:
    """An idempotent producer waiting for all in-sync replicas; transactional if given an id."""
    defaults: dict[str, Any] = {"linger.ms": 5, "compression.type": "lz4"}
    if transactional_id is not None:
        # A dead instance's open transaction holds back every read_committed reader of our
        # topics until the broker aborts it after this long (librdkafka's default: 60 s).
        # 10 s, as Kafka Streams does for exactly-once, is far above a checkpoint interval.
        defaults["transaction.timeout.ms"] = TRANSACTION_TIMEOUT_MS
    config = {**defaults, **base, **extra, **PINNED_PRODUCER}
    if transactional_id is not None:
        config["transactional.id"] = transactional_id
    return Producer(config)


def _list_topics(admin: AdminClient, base: dict[str, Any], timeout_s: float) -> dict[str, Any]:
    """The cluster's topics. Asked in one-second steps: librdkafka reports a failed
    authentication only to the error callback (served by ``poll``) while the call itself
    waits out its timeout, so wrong credentials are told within about a second."""
    errors = base.get("error_cb")

    def check_auth(_: KafkaError) -> None:
        admin.poll(0)  # serves the error callback, which says why
        if isinstance(errors, ClientErrors) and errors.auth_error is not None:
            raise ConfigError(
                f"stream.kafka: cannot connect to {base.get('bootstrap.servers')}: "
                f"{errors.auth_error}"
            ) from None

    topics: dict[str, Any] = retrying(
        lambda: admin.list_topics(timeout=1.0).topics,
        what="list topics",
        timeout_s=timeout_s,
        on_error=check_auth,
    )
    return topics


def cluster_topics(base: dict[str, Any], *, timeout_s: float) -> dict[str, Any]:
    """The cluster's topics, asked for at most about ``timeout_s`` seconds: the check that
    the brokers in ``base`` can be reached with its settings.

    Raises ``ConfigError`` at once when the credentials or TLS set-up are refused (given a
    ``ClientErrors`` in ``base``), and the last ``KafkaException`` when no broker answered.
    """
    return _list_topics(AdminClient(base), base, timeout_s)


def partitions(client: Any, topic: str, *, timeout_s: float = RETRY_TIMEOUT_S) -> list[int]:
    """The partition ids of ``topic``, asked until the broker knows the topic and every
    partition has a leader (a topic created a moment ago has none yet). ``client``: a
    consumer, producer or admin client."""

    def ask() -> list[int]:
        meta = client.list_topics(topic, timeout=10).topics.get(topic)
        if meta is None:
            raise KafkaException(KafkaError(KafkaError.UNKNOWN_TOPIC_OR_PART))
        if meta.error is not None:
            raise KafkaException(meta.error)
        for partition in meta.partitions.values():
            if partition.error is not None:
                raise KafkaException(partition.error)
            if partition.leader < 0:
                raise KafkaException(KafkaError(KafkaError.LEADER_NOT_AVAILABLE))
        return sorted(meta.partitions)

    return retrying(ask, what=f"metadata of topic {topic!r}", timeout_s=timeout_s)


def watermarks(
    client: Any, tp: TopicPartition, *, timeout_s: float = RETRY_TIMEOUT_S, **kwargs: Any
) -> tuple[int, int]:
    """``client.get_watermark_offsets(tp)``: the partition's (low, high) offsets, asked
    again while its leader is not known (``kwargs``: e.g. ``cached=False``)."""
    low, high = retrying(
        lambda: client.get_watermark_offsets(tp, timeout=10, **kwargs),
        what=f"watermark offsets of {tp.topic}[{tp.partition}]",
        timeout_s=timeout_s,
    )
    return int(low), int(high)


def committed(
    consumer: Consumer, parts: list[TopicPartition], *, timeout_s: float = RETRY_TIMEOUT_S
) -> list[TopicPartition]:
    """The group's committed offsets of ``parts`` (negative: none), asked again while the
    group coordinator is away (e.g. moving after a broker restart, or slow under load)."""
    offsets: list[TopicPartition] = retrying(
        lambda: consumer.committed(parts, timeout=10),
        what="committed offsets",
        timeout_s=timeout_s,
    )
    return offsets


def stable_committed(
    base: dict[str, Any],
    group_id: str,
    parts: list[TopicPartition],
    *,
    timeout_s: float = RETRY_TIMEOUT_S,
) -> list[TopicPartition]:
    """The group's committed offsets of ``parts`` (negative: none) as they stand, not
    waiting for offsets an open transaction holds (a ``read_committed`` consumer asks for
    stable offsets, KIP-447, and waits while any transaction holds some: the group's
    ``UNSTABLE_OFFSET_COMMIT``)."""
    reader = Consumer(
        {
            **base,
            "group.id": group_id,
            "enable.auto.commit": False,
            "isolation.level": "read_uncommitted",
        }
    )
    try:
        return committed(reader, parts, timeout_s=timeout_s)
    finally:
        reader.close()


def create_topics(admin: AdminClient, new: list[NewTopic]) -> None:
    """Create the topics; one that exists already (another instance was faster) is fine."""
    pending = {topic.topic: topic for topic in new}

    def create() -> None:
        for name, future in admin.create_topics(list(pending.values())).items():
            try:
                future.result()
                log.info("created topic", extra={"topic": name})
            except KafkaException as error:
                if error.args[0].code() != KafkaError.TOPIC_ALREADY_EXISTS:
                    raise
            del pending[name]

    retrying(create, what="create topics")


def ensure_topics(base: dict[str, Any], inputs: Iterable[str], outputs: dict[str, bool]) -> None:
    """Check the input topics exist; create the missing output topics (``True``: compacted),
    and wait until every partition of the new topics has a leader."""
    admin = AdminClient(base)
    existing = _list_topics(admin, base, timeout_s=15.0)
    missing_inputs = [t for t in inputs if t not in existing]
    if missing_inputs:
        raise ConfigError(f"input topic {missing_inputs[0]!r} does not exist on the cluster")
    new = [
        NewTopic(
            name,
            num_partitions=1 if compacted else 3,
            replication_factor=-1,
            config={"cleanup.policy": "compact"} if compacted else {},
        )
        for name, compacted in outputs.items()
        if name not in existing
    ]
    if not new:
        return
    create_topics(admin, new)
    for topic in new:
        partitions(admin, topic.topic)
