"""Round trip through the real local Apache Kafka broker that scripts/kafka.sh starts.

Run with the broker's address, as printed last by `scripts/kafka.sh start`:

    STREAM_MONITOR_BOOTSTRAP=127.0.0.1:31092 .venv/bin/python -m pytest -m kafka
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from confluent_kafka import Consumer, KafkaError, KafkaException, Message, Producer
from confluent_kafka.admin import AdminClient, NewTopic

from stream_monitor.stream import kafka_io

pytestmark = pytest.mark.kafka

BOOTSTRAP_ENV = "STREAM_MONITOR_BOOTSTRAP"
MESSAGE_COUNT = 100
TIMEOUT_S = 30.0


def bootstrap_address() -> str:
    """The broker address from STREAM_MONITOR_BOOTSTRAP; fails the calling test when unset."""
    address = os.environ.get(BOOTSTRAP_ENV, "").strip()
    if not address:
        pytest.fail(
            f"{BOOTSTRAP_ENV} is not set: start the broker with `scripts/kafka.sh start` "
            f"and export {BOOTSTRAP_ENV} as the address it prints last (e.g. 127.0.0.1:31092)",
            pytrace=False,
        )
    return address


@contextmanager
def random_topic(admin: AdminClient) -> Iterator[str]:
    """Create a single-partition topic with a random name and delete it afterwards."""
    name = f"test-kafka-broker-{uuid.uuid4().hex}"
    new_topic = NewTopic(name, num_partitions=1, replication_factor=1)
    # Created and awaited as the monitor does: retriable broker errors are waited out.
    kafka_io.create_topics(admin, [new_topic])
    kafka_io.partitions(admin, name)
    try:
        yield name
    finally:
        admin.delete_topics([name], operation_timeout=TIMEOUT_S)[name].result(timeout=TIMEOUT_S)


def test_produce_then_consume_returns_the_same_values_in_order() -> None:
    """One hundred produced values are consumed back exactly once each and in order."""
    bootstrap = bootstrap_address()
    expected = [f"value-{i:03d}".encode() for i in range(MESSAGE_COUNT)]
    with random_topic(AdminClient({"bootstrap.servers": bootstrap})) as topic:
        produce(bootstrap, topic, expected)
        received = consume(bootstrap, topic, len(expected))
    assert received == expected


def produce(bootstrap: str, topic: str, values: list[bytes]) -> None:
    """Produce values to topic and wait until the broker has acknowledged every one."""
    delivery_errors: list[KafkaError] = []

    def on_delivery(err: KafkaError | None, _msg: Message) -> None:
        if err is not None:
            delivery_errors.append(err)

    producer = Producer({"bootstrap.servers": bootstrap, "acks": "all", "enable.idempotence": True})
    for value in values:
        producer.produce(topic, value=value, on_delivery=on_delivery)
    assert producer.flush(TIMEOUT_S) == 0, "some messages were never delivered"
    assert delivery_errors == []


def consume(bootstrap: str, topic: str, count: int) -> list[bytes | None]:
    """Read topic from the start with a new consumer group: count values, plus any extras."""
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": f"{topic}-reader",
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
        }
    )
    received: list[bytes | None] = []
    try:
        consumer.subscribe([topic])
        deadline = time.monotonic() + TIMEOUT_S
        while len(received) < count and time.monotonic() < deadline:
            msg = consumer.poll(1.0)
            if msg is None:
                continue
            if msg.error() is not None:
                raise KafkaException(msg.error())
            received.append(msg.value())
        # Anything beyond the expected values (a duplicate, say) would show up here.
        received.extend(msg.value() for msg in consumer.consume(num_messages=10, timeout=1.0))
    finally:
        consumer.close()
    return received
