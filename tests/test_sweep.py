"""The sweep after an abort (``stream.sweep``), with a stand-in for librdkafka's producer.

A broker that aborts a transaction skips the marker of a partition without a leader (as
after its own restart), leaving the aborted records open under the producer id; the next
commit of the same id would publish them. The transactional producer therefore opens its
first transaction after ``init_transactions`` and after every abort only once a sweep (one
record to every output partition, acknowledged, then an abort) went through.
"""

from __future__ import annotations

import threading
from typing import Any

import pytest
from confluent_kafka import KafkaError, KafkaException, TopicPartition

from stream_monitor.stream.sweep import HEADER, Sweep
from stream_monitor.stream.transactions import FatalTransactionError, TransactionalProducer

PARTITIONS = {"alerts": 3, "state": 1}


class FakeProducer:
    """Records the transactional calls and produced records; deliveries succeed unless
    ``undelivered`` says how many of the next flushes leave records unacknowledged."""

    def __init__(self, calls: list[str], undelivered: int = 0) -> None:
        self.calls = calls
        self.undelivered = undelivered
        self.queued: list[tuple[str, int, Any]] = []
        self.produced: list[tuple[str, int]] = []
        self.offsets: list[list[TopicPartition]] = []

    def init_transactions(self, timeout: float) -> None:
        self.calls.append("init")

    def begin_transaction(self) -> None:
        self.calls.append("begin")

    def commit_transaction(self, timeout: float) -> None:
        self.calls.append("commit")

    def abort_transaction(self, timeout: float) -> None:
        self.calls.append("abort")
        self.queued.clear()

    def send_offsets_to_transaction(self, offsets: Any, metadata: Any, timeout: float) -> None:
        self.calls.append("offsets")
        self.offsets.append(offsets)

    def produce(self, topic: str, *, partition: int, on_delivery: Any, **kwargs: Any) -> None:
        assert (HEADER, b"aborted") in kwargs["headers"]
        self.queued.append((topic, partition, on_delivery))

    def flush(self, timeout: float) -> int:
        if self.undelivered:
            self.undelivered -= 1
            return len(self.queued)
        for topic, partition, on_delivery in self.queued:
            self.produced.append((topic, partition))
            on_delivery(None, None)
        self.queued.clear()
        return 0


def partitions(_: Any, topic: str) -> list[int]:
    return list(range(PARTITIONS[topic]))


def make(calls: list[str], undelivered: int = 0) -> tuple[TransactionalProducer, FakeProducer]:
    producer = FakeProducer(calls, undelivered)
    sweep = Sweep(
        ["alerts", "state"],
        lambda: [([TopicPartition("in", 0, 7)], "group")],
        timeout_s=1,
        partitions=partitions,
    )
    txn = TransactionalProducer(
        lambda: producer,  # type: ignore[arg-type,return-value]
        threading.Event(),
        transaction_timeout_s=10,
        call_timeout_s=1,
        sweep=sweep,
    )
    txn.init()
    return txn, producer


def test_the_first_transaction_after_init_is_preceded_by_a_sweep() -> None:
    calls: list[str] = []
    txn, producer = make(calls)
    txn.begin()
    assert calls == ["init", "begin", "offsets", "abort", "begin"]
    assert producer.produced == [("alerts", 0), ("alerts", 1), ("alerts", 2), ("state", 0)]
    assert producer.offsets == [[TopicPartition("in", 0, 7)]]
    assert txn.open


def test_a_commit_needs_no_sweep_but_an_abort_does() -> None:
    calls: list[str] = []
    txn, _ = make(calls)
    txn.begin()
    txn.commit([])
    del calls[:]
    txn.begin()
    assert calls == ["begin"]  # after a commit: no sweep
    txn.abort()
    del calls[:]
    txn.begin()
    assert calls == ["begin", "offsets", "abort", "begin"]


def test_a_new_producer_is_swept_before_its_first_transaction() -> None:
    calls: list[str] = []
    txn, _ = make(calls)
    txn.begin()
    txn.replace()  # e.g. after the broker aborted a transaction that timed out
    del calls[:]
    txn.begin()
    assert calls == ["begin", "offsets", "abort", "begin"]


def test_a_sweep_not_acknowledged_is_aborted_and_done_again() -> None:
    calls: list[str] = []
    txn, producer = make(calls, undelivered=1)
    txn.begin()
    assert calls == ["init", "begin", "abort", "begin", "offsets", "abort", "begin"]
    assert len(producer.produced) == 4  # the second sweep's records; the first were purged


def test_a_sweep_that_never_gets_through_stops_with_the_run() -> None:
    calls: list[str] = []
    txn, _ = make(calls, undelivered=1_000)
    txn.stopping.set()
    with pytest.raises(FatalTransactionError, match="sweeping"):
        txn.begin()
    assert not txn.open


def test_offsets_refused_by_a_rebalancing_group_do_not_fail_the_sweep() -> None:
    calls: list[str] = []
    txn, producer = make(calls)

    def refuse(*_: Any) -> None:
        raise KafkaException(KafkaError(KafkaError.REBALANCE_IN_PROGRESS))

    producer.send_offsets_to_transaction = refuse  # type: ignore[method-assign]
    txn.begin()
    assert calls == ["init", "begin", "abort", "begin"]
    assert txn.swept


def test_sweep_now_sweeps_when_none_is_due() -> None:
    """Before an assignment's offsets are read, the sweep runs though no abort made it due;
    the next transaction then opens without another."""
    calls: list[str] = []
    txn, producer = make(calls)
    txn.begin()
    txn.commit([])
    del calls[:]
    txn.sweep_now()
    assert calls == ["begin", "offsets", "abort"]
    assert producer.offsets[-1] == [TopicPartition("in", 0, 7)]
    assert not txn.open
    assert txn.swept
    txn.begin()
    assert calls == ["begin", "offsets", "abort", "begin"]


def test_sweep_now_refuses_an_open_transaction() -> None:
    calls: list[str] = []
    txn, _ = make(calls)
    txn.begin()
    with pytest.raises(RuntimeError, match="open"):
        txn.sweep_now()
    assert txn.open


def test_a_sweep_stuck_sending_offsets_replaces_the_producer_and_sweeps_again() -> None:
    """librdkafka may wait for ever in send_offsets_to_transaction while the group
    coordinator is down: the sweep gives that producer up after its deadline, and a new
    one (whose init fences the stuck one) sweeps again."""
    calls: list[str] = []
    release = threading.Event()
    stuck = FakeProducer(calls)
    fresh = FakeProducer(calls)

    def hang(*_: Any) -> None:
        calls.append("offsets (stuck)")
        release.wait(30)

    stuck.send_offsets_to_transaction = hang  # type: ignore[method-assign]
    producers = iter([stuck, fresh])
    sweep = Sweep(
        ["alerts", "state"],
        lambda: [([TopicPartition("in", 0, 7)], "group")],
        timeout_s=0.1,
        grace_s=0.1,
        partitions=partitions,
    )
    txn = TransactionalProducer(
        lambda: next(producers),  # type: ignore[arg-type,return-value]
        threading.Event(),
        transaction_timeout_s=10,
        call_timeout_s=1,
        sweep=sweep,
    )
    try:
        txn.init()
        txn.begin()
        assert calls == [
            *("init", "begin", "offsets (stuck)"),
            *("init", "begin", "offsets", "abort", "begin"),
        ]
        assert txn.producer is fresh
        assert txn.abandoned == [stuck]
        assert txn.stuck == 1
        assert fresh.produced == [("alerts", 0), ("alerts", 1), ("alerts", 2), ("state", 0)]
        assert txn.open
    finally:
        release.set()
