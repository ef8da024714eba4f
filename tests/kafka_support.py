"""Helpers for tests against the real local broker: topics, producing, reading back.

Their metadata, offset and topic-creation calls go through the monitor's own bounded retry
(``stream_monitor.stream.retry``): under CPU load a broker answers "not coordinator" or
"not leader" for a moment, which is no test failure.
"""

from __future__ import annotations

import os
import random
import socket
import subprocess
import threading
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import polars as pl
from confluent_kafka import Consumer, Message, Producer, TopicPartition
from confluent_kafka.admin import AdminClient
from confluent_kafka.cimpl import NewTopic

from stream_monitor.stream import kafka_io


def bootstrap() -> str:
    """The broker address that scripts/test.sh exported; a clear failure when it is missing."""
    address = os.environ.get("STREAM_MONITOR_BOOTSTRAP", "").strip()
    assert address, "STREAM_MONITOR_BOOTSTRAP is not set: run the tests with scripts/test.sh"
    return address


def new_topic(prefix: str, partitions: int = 1, *, compacted: bool = False) -> str:
    """Create a topic with a unique name, wait until its partitions have leaders, and
    return the name."""
    name = f"{prefix}-{uuid.uuid4().hex[:10]}"
    config = {"cleanup.policy": "compact"} if compacted else {}
    admin = AdminClient({"bootstrap.servers": bootstrap()})
    kafka_io.create_topics(admin, [NewTopic(name, partitions, 1, config=config)])
    kafka_io.partitions(admin, name)  # every partition has a leader
    return name


def payloads(frame: pl.DataFrame) -> list[bytes]:
    """One JSON object per row, as the producing service would send them."""
    return frame.write_ndjson().encode().splitlines()


def produce(
    topic: str,
    values: Sequence[bytes | None],
    *,
    partitions: int = 1,
    keys: Sequence[bytes | None] | None = None,
    first: int = 0,
) -> None:
    """Produce ``values`` in order, value ``i`` to partition ``(first + i) % partitions``.

    One request in flight at a time: with several, a batch retried after an error (a topic
    just created answers NOT_LEADER_FOR_PARTITION for a moment) lands after a later one,
    and a partition holds its records out of order (a global-windows test saw a partition's
    first 2,200 rows land after its next 300). An idempotent producer keeps the order too,
    but waits about 0.5 s for its producer id, and the live-input helpers call this ten
    times a second. Every record must be delivered, each partition's in the order
    produced."""
    producer = Producer(
        {
            "bootstrap.servers": bootstrap(),
            "linger.ms": 20,
            "acks": "all",
            "max.in.flight.requests.per.connection": 1,
        }
    )
    failed: list[str] = []
    offsets: dict[int, list[tuple[int, int]]] = {}  # partition -> (produced as, offset)

    def delivered(error: Any, message: Message, index: int) -> None:
        if error is not None:
            failed.append(str(error))
        else:
            offsets.setdefault(message.partition(), []).append((index, message.offset()))

    for i, value in enumerate(values):
        key = None if keys is None else keys[i]
        while True:
            try:
                producer.produce(
                    topic,
                    value=value,
                    key=key,
                    partition=(first + i) % partitions,
                    on_delivery=lambda error, message, i=i: delivered(error, message, i),
                )
                break
            except BufferError:
                producer.poll(0.1)
        if i % 10_000 == 0:
            producer.poll(0)
    assert producer.flush(60) == 0, f"{topic}: records still queued after 60 s"
    assert not failed, f"{topic}: {len(failed)} records not delivered: {failed[0]}"
    for partition, pairs in offsets.items():
        written = [offset for _, offset in sorted(pairs)]
        assert written == sorted(written), f"{topic} [{partition}]: records out of order"


def read_all(topic: str, *, committed_only: bool = True) -> list[Message]:
    """Every message of ``topic`` up to its current end, in partition then offset order."""
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap(),
            "group.id": f"reader-{uuid.uuid4()}",
            "enable.auto.commit": False,
            "isolation.level": "read_committed" if committed_only else "read_uncommitted",
        }
    )
    try:
        ends = {}
        for p in kafka_io.partitions(consumer, topic):
            low, high = kafka_io.watermarks(consumer, TopicPartition(topic, p))
            if high > low:
                ends[p] = high
        consumer.assign([TopicPartition(topic, p, 0) for p in ends])
        out: list[Message] = []
        done: set[int] = set()
        idle = 0
        while len(done) < len(ends) and idle < 40:
            batch = consumer.consume(1000, timeout=0.5)
            idle = 0 if batch else idle + 1
            for m in batch:
                if m.error() is None:
                    out.append(m)
            for tp in consumer.position([TopicPartition(topic, p) for p in ends]):
                if tp.offset >= ends[tp.partition]:
                    done.add(tp.partition)
        assert len(done) == len(ends), f"could not read {topic} to its end"
        return sorted(out, key=lambda m: (m.partition(), m.offset()))
    finally:
        consumer.close()


def run_in_thread(monitor: Any, max_records: int, timeout_s: float = 180.0) -> Any:
    """Run a KafkaMonitor to ``max_records``; stop it and fail if it takes too long."""
    result: dict[str, Any] = {}

    def target() -> None:
        try:
            result["counters"] = monitor.run(max_records)
        except BaseException as error:
            result["error"] = error

    thread = threading.Thread(target=target)
    thread.start()
    thread.join(timeout_s)
    if thread.is_alive():
        monitor.stop()
        thread.join(30)
        raise AssertionError(f"the monitor did not reach {max_records} records in {timeout_s} s")
    if "error" in result:
        raise result["error"]
    return result["counters"]


REPO = Path(__file__).resolve().parent.parent

# Monitor processes a test started; conftest kills any still running when the test ends.
monitors: list[subprocess.Popen[Any]] = []


def free_ports(count: int) -> int:
    """The first of ``count`` consecutive TCP ports that are free on 127.0.0.1."""
    rng = random.Random()
    for _ in range(200):
        # Below Linux's ephemeral range (32768-60999): no client socket can hold the port
        # between this check and the broker's bind.
        base = rng.randrange(20_000, 32_000 - count)
        sockets = []
        try:
            for port in range(base, base + count):
                s = socket.socket()
                sockets.append(s)
                s.bind(("127.0.0.1", port))
            return base
        except OSError:
            continue
        finally:
            for s in sockets:
                s.close()
    raise AssertionError(f"no {count} consecutive free ports found")


class LocalBroker:
    """A broker of the test's own, started with scripts/kafka.sh in its own home and ports,
    for tests that kill it or configure it differently from the shared one. It reuses the
    shared broker's jar cache."""

    def __init__(self, home: Path, port: int, **env: str) -> None:
        shared_home = Path(os.environ.get("STREAM_MONITOR_KAFKA_HOME", REPO / ".kafka"))
        libs = os.environ.get("STREAM_MONITOR_KAFKA_LIBS", str(shared_home / "libs"))
        self.home = home
        self.address = f"127.0.0.1:{port}"
        self.env = {
            **os.environ,
            "STREAM_MONITOR_KAFKA_HOME": str(home),
            "STREAM_MONITOR_KAFKA_PORT": str(port),
            "STREAM_MONITOR_KAFKA_CONTROLLER_PORT": str(port + 1),
            "STREAM_MONITOR_KAFKA_LIBS": libs,
            "STREAM_MONITOR_KAFKA_HEAP_OPTS": "-Xms128m -Xmx512m",
            **env,
        }

    def _script(self, command: str) -> str:
        done = subprocess.run(
            [str(REPO / "scripts" / "kafka.sh"), command],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert done.returncode == 0, f"kafka.sh {command} failed:\n{done.stderr[-3000:]}"
        return done.stdout

    def start(self) -> str:
        """Start (or restart) the broker; its PLAINTEXT address."""
        address = self._script("start").strip().splitlines()[-1]
        assert address == self.address
        return address

    def kill(self) -> None:
        """SIGKILL the broker."""
        self._script("kill")

    def stop(self) -> None:
        """Stop the broker cleanly."""
        self._script("stop")
