"""On assign, partition state is restored no older than the committed input offsets.

A read_committed client reads a topic up to its last stable offset, which stops short of a
transaction whose commit markers the broker has not written yet: for a moment after the
previous owner committed its checkpoint on revoke, that checkpoint is not readable, and
restoring the one before it would publish an interval's alerts twice (a CI run of the
rebalance test caught this). Open transactions that do not matter must not hold the read up.
"""

from __future__ import annotations

import threading
import time
import uuid
from pathlib import Path

import pytest
from confluent_kafka import Consumer, Producer, TopicPartition
from kafka_support import bootstrap, new_topic, payloads, produce

from stream_monitor.profile.store import read_profile
from stream_monitor.stream.kafka_app import KafkaMonitor
from stream_monitor.stream.settings import StreamSettings
from stream_monitor.stream.state_store import state_key
from stream_monitor.synthetic import traffic

pytestmark = pytest.mark.kafka


class Deployment:
    """An input partition with 200 records, two checkpoints of it (after 100 and after 200
    records), and a monitor about to be assigned the partition."""

    def __init__(self, profile_path: Path) -> None:
        self.topic = new_topic("state-in")
        values = payloads(traffic(200, seed=4))
        produce(self.topic, values)
        self.settings = StreamSettings(
            monitor="state-test",
            bootstrap_servers=bootstrap(),
            input_topics=(self.topic,),
            alert_topic=new_topic("state-alerts"),
            dead_letter_topic=new_topic("state-dlq"),
            state_topic=new_topic("state", compacted=True),
            group_id=f"group-{self.topic}",
            processing_guarantee="exactly_once",
        )
        self.monitor = KafkaMonitor(read_profile(profile_path), self.settings)
        pipeline = self.monitor.pipeline
        pipeline.process_payloads(self.topic, 0, values[:100], list(range(100)), [None] * 100)
        self.at_100 = pipeline.monitor(self.topic, 0).checkpoint()
        pipeline.process_payloads(self.topic, 0, values[100:], list(range(100, 200)), [None] * 100)
        self.at_200 = pipeline.monitor(self.topic, 0).checkpoint()
        pipeline.drop(self.topic, 0)
        self.key = state_key(self.settings.monitor, self.topic, 0)
        self.producer = Producer(
            {"bootstrap.servers": bootstrap(), "transactional.id": f"state-{uuid.uuid4()}"}
        )
        self.producer.init_transactions(30)

    def write_state(self, blob: bytes, *, commit: bool = True) -> None:
        self.producer.begin_transaction()
        self.producer.produce(self.settings.state_topic, key=self.key, value=blob)
        self.producer.flush(30)
        if commit:
            self.producer.commit_transaction(30)

    def commit_offset(self, offset: int) -> None:
        consumer = Consumer({"bootstrap.servers": bootstrap(), "group.id": self.settings.group_id})
        consumer.commit(offsets=[TopicPartition(self.topic, 0, offset)], asynchronous=False)
        consumer.close()

    def read(self) -> dict[bytes, bytes]:
        states, _ = self.monitor.state_store.read(self.monitor.consumer, [(self.topic, 0)])
        return {state_key(self.settings.monitor, *p): blob for p, blob in states.items()}

    def close(self) -> None:
        self.monitor.consumer.close()


@pytest.fixture
def deployment(profile_path: Path) -> Deployment:
    return Deployment(profile_path)


def test_a_checkpoint_committed_but_not_yet_readable_is_waited_for(
    deployment: Deployment,
) -> None:
    """Offsets say 200, the readable checkpoint says 100, the one at 200 is still in an open
    transaction: the read returns the checkpoint at 200, once it is committed."""
    deployment.write_state(deployment.at_100)
    deployment.commit_offset(200)
    deployment.write_state(deployment.at_200, commit=False)
    out: dict[str, object] = {}

    def read() -> None:
        out["states"] = deployment.read()
        out["returned_at"] = time.monotonic()

    thread = threading.Thread(target=read, daemon=True)
    thread.start()
    time.sleep(2.0)
    committed_at = time.monotonic()
    deployment.producer.commit_transaction(30)
    thread.join(60)
    assert out["states"] == {deployment.key: deployment.at_200}
    assert out["returned_at"] >= committed_at  # not before the checkpoint was readable
    deployment.close()


def test_a_checkpoint_that_never_catches_up_stops_the_read(deployment: Deployment) -> None:
    """The checkpoint at 200 is aborted, so the state stays behind the committed offsets:
    the read gives up with an error naming the state topic, instead of restoring old state."""
    deployment.write_state(deployment.at_100)
    deployment.commit_offset(200)
    deployment.write_state(deployment.at_200, commit=False)
    deployment.producer.abort_transaction(30)
    deployment.monitor.state_store.read_timeout_s = 3.0
    with pytest.raises(TimeoutError, match=deployment.settings.state_topic):
        deployment.read()
    deployment.close()


def test_an_open_transaction_beyond_the_committed_checkpoint_does_not_block(
    deployment: Deployment,
) -> None:
    """Offsets and the readable checkpoint agree at 100; a later checkpoint sits in a
    transaction that stays open (its instance died mid-checkpoint): the read returns the
    checkpoint at 100 without waiting for the broker to abort the other one."""
    deployment.write_state(deployment.at_100)
    deployment.commit_offset(100)
    deployment.write_state(deployment.at_200, commit=False)
    deployment.monitor.state_store.read_timeout_s = 3.0
    assert deployment.read() == {deployment.key: deployment.at_100}
    deployment.producer.abort_transaction(30)
    deployment.close()


def test_a_partition_never_committed_restores_whatever_state_there_is(
    deployment: Deployment,
) -> None:
    deployment.write_state(deployment.at_100)
    assert deployment.read() == {deployment.key: deployment.at_100}
    deployment.close()
