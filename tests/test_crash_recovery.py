"""Kill the monitor mid-stream, again and again: no alert lost, none duplicated (exactly-once).

The monitor runs as a real subprocess (`python -m stream_monitor run`) over numbered records
with drift injected at known offsets. It is SIGKILLed at random points and restarted each
time; then it runs until its group has committed the end of the input, and is stopped with
SIGTERM. The alert topic, read with read_committed, must equal the alert stream of an
uninterrupted run. Set STREAM_MONITOR_SOAK=1 for the longer version.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import kafka_support
import pytest
import yaml
from confluent_kafka import Consumer, TopicPartition
from kafka_support import bootstrap, new_topic, payloads, produce, read_all

from stream_monitor.stream import checkpoint, kafka_io
from stream_monitor.stream.kafka_io import TRANSACTION_TIMEOUT_MS
from stream_monitor.stream.state_store import state_key
from stream_monitor.synthetic import Drift, traffic

pytestmark = pytest.mark.kafka

SOAK = os.environ.get("STREAM_MONITOR_SOAK") == "1"
RECORDS = 1_000_000 if SOAK else 200_000
KILLS = 30 if SOAK else 10
PARTITIONS = 3


def numbered_records() -> list[bytes | None]:
    """200k numbered records, with a drift starting at a known record number."""
    values: list[bytes | None] = []
    chunk = 100_000
    for start in range(0, RECORDS, chunk):
        frame = traffic(chunk, seed=21, start=start, drift=Drift("income", RECORDS // 2, 0.8))
        values += payloads(frame.rename({"id": "record"}))
    return values


class LiveInput:
    """Produces the records to a new topic at a steady rate, in the background: the monitor
    is killed while traffic is still arriving, as in production."""

    # 200k records at 6k/s take about 33 s: longer than ten kill cycles of 1.5–3.5 s each.
    def __init__(self, rate: int = 6_000, partitions: int = PARTITIONS) -> None:
        self.partitions = partitions
        self.topic = new_topic("crash-in", partitions=partitions)
        self.values = numbered_records()
        self.rate = rate
        self.thread = threading.Thread(target=self._produce, daemon=True)
        self.thread.start()

    def _produce(self) -> None:
        step = self.rate // 10
        for lo in range(0, len(self.values), step):
            started = time.monotonic()
            produce(self.topic, self.values[lo : lo + step], partitions=self.partitions, first=lo)
            time.sleep(max(0.0, 0.1 - (time.monotonic() - started)))

    def finished(self) -> bool:
        """Whether every record has been produced."""
        return not self.thread.is_alive()


def write_config(
    folder: Path,
    topic: str,
    profile: Path,
    guarantee: str,
    name: str,
    *,
    instance: str = "0",
) -> Path:
    """A config file for one monitor deployment with its own output topics and group.

    Instances of one deployment share ``name`` (topics, group); give each an ``instance``.
    """
    folder = folder / name
    folder.mkdir(exist_ok=True)
    existing = folder / "base.yaml"
    if existing.exists():
        settings = yaml.safe_load(existing.read_text())["stream"]
        settings["instance_id"] = instance
        path = folder / f"{instance}.yaml"
        path.write_text(yaml.safe_dump({"stream": settings}))
        return path
    settings = {
        "monitor": "crash-test",  # the same in every deployment: it is part of alert_id
        "profile": str(profile),
        "bootstrap_servers": bootstrap(),
        "input_topics": [topic],
        "alert_topic": new_topic(f"{name}-alerts"),
        "dead_letter_topic": new_topic(f"{name}-dlq"),
        "state_topic": new_topic(f"{name}-state", compacted=True),
        "group_id": f"{name}-group",
        "processing_guarantee": guarantee,
        "commit_interval_s": 0.3,
        "batch_size": 2_000,
        "repeat_after_rows": 1,
        "instance_id": instance,
        # A killed instance leaves the group after 6 s (the broker's minimum) instead of 45 s.
        "kafka_consumer": {"session.timeout.ms": 6000, "heartbeat.interval.ms": 1000},
    }
    existing.write_text(yaml.safe_dump({"stream": settings}))
    path = folder / f"{instance}.yaml"
    path.write_text(yaml.safe_dump({"stream": settings}))
    return path


def start(config: Path) -> subprocess.Popen[bytes]:
    """Start the monitor process (killed at the end of the test if still running); its
    output goes to a log file of its own in the deployment's ``logs`` folder."""
    logs = config.parent / "logs"
    logs.mkdir(exist_ok=True)
    path = logs / f"{config.stem}-{len(list(logs.iterdir())):03d}.log"
    with path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "stream_monitor", "run", "--config", str(config)],
            stdout=log,
            stderr=log,
        )
    kafka_support.monitors.append(process)
    return process


def monitor_logs(config: Path, lines: int = 40) -> str:
    """For a failure message: the last log lines of each process of the deployment, without
    the routine checkpoints (assignments with their restored offsets, rewinds, warnings and
    errors stay, and so does the checkpoint just before a revoke or a stop)."""
    out = []
    for path in sorted((config.parent / "logs").glob("*.log")):
        every = path.read_text(errors="replace").splitlines()
        kept = [
            line
            for line, after in zip(every, [*every[1:], ""], strict=True)
            if '"msg":"checkpoint"' not in line or '"msg":"revoked"' in after
        ]
        out += [f"--- {path.name}", *kept[-lines:]]
    return "\n".join(out)


def committed_to_end(config: Path, topic: str) -> bool:
    """Whether the monitor's group has committed the end of every input partition."""
    settings = yaml.safe_load(config.read_text())["stream"]
    consumer = Consumer({"bootstrap.servers": bootstrap(), "group.id": settings["group_id"]})
    try:
        parts = [TopicPartition(topic, p) for p in kafka_io.partitions(consumer, topic)]
        for tp in kafka_io.committed(consumer, parts):
            _, high = kafka_io.watermarks(consumer, TopicPartition(topic, tp.partition))
            if tp.offset < high:
                return False
        return True
    finally:
        consumer.close()


def run_to_end(config: Path, live: LiveInput, kills: int, kill_signal: signal.Signals) -> int:
    """Run the monitor, interrupting it ``kills`` times while traffic arrives, then until the
    whole input is consumed; return how many interruptions happened mid-stream."""
    rng = random.Random(7)
    done = mid_stream = 0
    while done < kills:
        process = start(config)
        time.sleep(rng.uniform(1.5, 3.5))
        assert process.poll() is None, f"the monitor exited early with {process.returncode}"
        mid_stream += not live.finished()
        process.send_signal(kill_signal)
        process.wait(60)
        done += 1
    live.thread.join()
    topic = live.topic
    process = start(config)
    finish(config, topic, process)
    return mid_stream


def finish(config: Path, topic: str, process: subprocess.Popen[Any]) -> None:
    """Wait until the group has committed the end of the input, with the monitor alive all
    along; then stop it with SIGTERM, which must exit cleanly."""
    deadline = time.monotonic() + 300
    while not committed_to_end(config, topic):
        assert time.monotonic() < deadline, f"the input was not finished\n{monitor_logs(config)}"
        assert process.poll() is None, (
            f"the monitor exited with {process.returncode}\n{monitor_logs(config)}"
        )
        time.sleep(1.0)
    process.send_signal(signal.SIGTERM)
    assert process.wait(60) == 0


def alert_ids(config: Path) -> list[str]:
    """Alert ids on the deployment's alert topic, read_committed, in topic order."""
    topic = yaml.safe_load(config.read_text())["stream"]["alert_topic"]
    return [json.loads(m.value())["alert_id"] for m in read_all(topic)]


def reference_ids(tmp_path: Path, live: LiveInput, profile: Path, guarantee: str) -> list[str]:
    """The alert stream of one uninterrupted run over the same, complete input."""
    live.thread.join()
    config = write_config(tmp_path, live.topic, profile, guarantee, f"ref-{guarantee[:5]}")
    run_to_end(config, live, kills=0, kill_signal=signal.SIGTERM)
    return alert_ids(config)


def end_offsets(topic: str, isolation: str) -> list[int]:
    """End offset of each partition as a consumer of that isolation level sees it."""
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap(),
            "group.id": f"ends-{uuid.uuid4()}",
            "isolation.level": isolation,
        }
    )
    try:
        return [
            kafka_io.watermarks(consumer, TopicPartition(topic, p), cached=False)[1]
            for p in kafka_io.partitions(consumer, topic)
        ]
    finally:
        consumer.close()


def assert_no_hanging_transactions(config: Path) -> None:
    """read_committed and read_uncommitted agree on where the output topics end.

    A killed instance that never comes back leaves its open transaction to the broker,
    which aborts it after the producer's ``transaction.timeout.ms`` (10 s): until then
    read_committed readers stop short of it. So this waits up to three times that long.
    """
    settings = yaml.safe_load(config.read_text())["stream"]
    topics = (settings["alert_topic"], settings["state_topic"], settings["dead_letter_topic"])
    deadline = time.monotonic() + 3 * TRANSACTION_TIMEOUT_MS / 1000
    while True:
        open_ = [
            t
            for t in topics
            if end_offsets(t, "read_committed") != end_offsets(t, "read_uncommitted")
        ]
        if not open_:
            return
        assert time.monotonic() < deadline, f"transactions left hanging on {open_}"
        time.sleep(1.0)


def assert_every_offset_counted_once(config: Path, topic: str) -> None:
    """The final committed state of each input partition has read every offset up to the
    end exactly once, each either scored or dead-lettered (the input here is all good)."""
    assert_no_hanging_transactions(config)  # states past an open transaction are not readable
    settings = yaml.safe_load(config.read_text())["stream"]
    states: dict[bytes | None, bytes | None] = {}
    for message in read_all(settings["state_topic"]):
        states[message.key()] = message.value()
    consumer = Consumer({"bootstrap.servers": bootstrap(), "group.id": "ends"})
    try:
        for p in kafka_io.partitions(consumer, topic):
            _, end = kafka_io.watermarks(consumer, TopicPartition(topic, p))
            blob = states[state_key(settings["monitor"], topic, p)]
            assert blob is not None
            _, meta = checkpoint.decode(blob)
            assert (meta["next_offset"], meta["messages"]) == (end, end), (
                f"partition {p}\n{monitor_logs(config)}"
            )
            assert meta["dead_lettered"] == 0
    finally:
        consumer.close()


def assert_same_alerts(config: Path, expected: list[str], guarantee: str) -> None:
    """The deployment's alerts equal the reference run's: exactly (no duplicates, no gaps) in
    exactly-once mode, once duplicate ids are dropped in at-least-once mode."""
    assert len(expected) > 5, "the drift raised too few alerts to check anything"
    got = alert_ids(config)
    if guarantee == "exactly_once":
        assert sorted(got) == sorted(expected), monitor_logs(config)
        assert len(set(got)) == len(got)
        assert_no_hanging_transactions(config)
    else:
        assert sorted(set(got)) == sorted(set(expected)), monitor_logs(config)


@pytest.mark.parametrize("guarantee", ["exactly_once", "at_least_once"])
def test_hard_kills_lose_nothing(tmp_path: Path, profile_path: Path, guarantee: str) -> None:
    """SIGKILL at random points: exactly-once has no gaps and no duplicates; at-least-once has
    none once duplicate alert ids are dropped."""
    live = LiveInput()
    name = f"kill-{guarantee[:5]}"
    config = write_config(tmp_path, live.topic, profile_path, guarantee, name)
    mid_stream = run_to_end(config, live, KILLS, signal.SIGKILL)
    assert mid_stream >= KILLS - 1
    assert_every_offset_counted_once(config, live.topic)
    assert_same_alerts(config, reference_ids(tmp_path, live, profile_path, guarantee), guarantee)


@pytest.mark.parametrize("guarantee", ["exactly_once", "at_least_once"])
def test_clean_stops_never_duplicate(tmp_path: Path, profile_path: Path, guarantee: str) -> None:
    """SIGTERM at random points: in either mode each alert of a clean run arrives exactly
    once, and every offset is counted once."""
    live = LiveInput()
    config = write_config(tmp_path, live.topic, profile_path, guarantee, f"term-{guarantee[:5]}")
    assert run_to_end(config, live, 6, signal.SIGTERM) >= 5
    assert_every_offset_counted_once(config, live.topic)
    expected = reference_ids(tmp_path, live, profile_path, guarantee)
    got = alert_ids(config)
    assert sorted(got) == sorted(expected), monitor_logs(config)
    if guarantee == "exactly_once":
        assert_no_hanging_transactions(config)


def test_duplicate_instance_is_fenced(tmp_path: Path, profile_path: Path) -> None:
    """A second live process with the same instance_id fences the first (exactly-once): the
    first stops with exit code 3 and one line saying so; the second carries on, and the
    alerts are still exactly those of an uninterrupted run."""
    live = LiveInput()
    config = write_config(tmp_path, live.topic, profile_path, "exactly_once", "fence")
    first = subprocess.Popen(
        [sys.executable, "-m", "stream_monitor", "run", "--config", str(config)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    kafka_support.monitors.append(first)
    time.sleep(4)
    second = start(config)
    check_fenced(first, config, live, second)
    assert_every_offset_counted_once(config, live.topic)
    expected = reference_ids(tmp_path, live, profile_path, "exactly_once")
    assert_same_alerts(config, expected, "exactly_once")


def check_fenced(
    first: subprocess.Popen[str], config: Path, live: LiveInput, second: subprocess.Popen[Any]
) -> None:
    """The first process stops, fenced; the second finishes the input."""
    _, errors = first.communicate(timeout=120)
    assert first.returncode == 3, errors[-3000:]
    last = errors.strip().splitlines()[-1]
    assert last.startswith("stream-monitor run: stopped:"), last
    assert "fenced" in last.lower(), last
    assert "Traceback" not in errors
    live.thread.join()
    finish(config, live.topic, second)
