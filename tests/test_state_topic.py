"""Reading partition state back on assign sees every checkpoint the previous owner committed.

A read_committed client is told the last stable offset as a partition's end, which stops
short of any transaction whose commit markers are not written yet: a checkpoint committed
just before a rebalance could be missed, and the new owner would process its records again.
"""

from __future__ import annotations

import threading
import time
import uuid

import pytest
from confluent_kafka import Producer
from kafka_support import bootstrap, new_topic

from stream_monitor.stream.kafka_io import read_states, state_key

pytestmark = pytest.mark.kafka

KEY = state_key("m", "input", 0)
OTHER = state_key("m", "input", 1)


def transactional() -> Producer:
    producer = Producer(
        {"bootstrap.servers": bootstrap(), "transactional.id": f"state-{uuid.uuid4()}"}
    )
    producer.init_transactions(30)
    return producer


def committed_topic() -> tuple[str, Producer]:
    """A state topic holding a committed checkpoint ``v1`` for KEY and ``x`` for OTHER."""
    topic = new_topic("state", compacted=True)
    producer = transactional()
    producer.begin_transaction()
    producer.produce(topic, key=KEY, value=b"v1")
    producer.produce(topic, key=OTHER, value=b"x")
    producer.commit_transaction(30)
    return topic, producer


def read_in_background(topic: str, **kwargs: float) -> tuple[threading.Thread, dict[str, object]]:
    out: dict[str, object] = {}

    def target() -> None:
        try:
            out["states"] = read_states({"bootstrap.servers": bootstrap()}, topic, [KEY], **kwargs)
        except BaseException as error:
            out["error"] = error
        out["returned_at"] = time.monotonic()

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    return thread, out


@pytest.mark.parametrize("outcome", ["commit", "abort"])
def test_read_waits_for_an_open_checkpoint_and_sees_its_outcome(outcome: str) -> None:
    topic, producer = committed_topic()
    producer.begin_transaction()
    producer.produce(topic, key=KEY, value=b"v2")
    producer.flush(30)
    thread, out = read_in_background(topic)
    time.sleep(2.0)  # the reader is running while the transaction is open
    ended_at = time.monotonic()
    if outcome == "commit":
        producer.commit_transaction(30)
    else:
        producer.abort_transaction(30)
    thread.join(60)
    assert "error" not in out, out.get("error")
    assert out["states"] == {KEY: b"v2" if outcome == "commit" else b"v1"}
    assert out["returned_at"] >= ended_at  # it did not answer before the outcome was known


def test_read_gives_up_on_a_transaction_that_never_ends() -> None:
    topic, producer = committed_topic()
    producer.begin_transaction()
    producer.produce(topic, key=KEY, value=b"v2")
    producer.flush(30)
    thread, out = read_in_background(topic, timeout_s=3.0)
    thread.join(60)
    producer.abort_transaction(30)
    assert isinstance(out.get("error"), TimeoutError)
    assert topic in str(out["error"])


def test_read_of_an_empty_or_missing_state_topic_finds_nothing() -> None:
    topic = new_topic("state", compacted=True)
    assert read_states({"bootstrap.servers": bootstrap()}, topic, [KEY]) == {}


def test_a_deleted_checkpoint_is_not_restored() -> None:
    topic, producer = committed_topic()
    producer.begin_transaction()
    producer.produce(topic, key=KEY, value=None)
    producer.commit_transaction(30)
    assert read_states({"bootstrap.servers": bootstrap()}, topic, [KEY, OTHER]) == {OTHER: b"x"}
