"""Rebalances between instances move partition state with the partitions; no transaction hangs."""

from __future__ import annotations

import signal
import subprocess
import time
import uuid
from pathlib import Path

import pytest
from confluent_kafka import Consumer, TopicPartition
from kafka_support import bootstrap
from test_crash_recovery import (
    LiveInput,
    alert_ids,
    committed_to_end,
    reference_ids,
    start,
    write_config,
)

pytestmark = pytest.mark.kafka


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
        count = len(consumer.list_topics(topic, timeout=15).topics[topic].partitions)
        return [
            consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=15, cached=False)[1]
            for p in range(count)
        ]
    finally:
        consumer.close()


def assert_no_hanging_transactions(config: Path) -> None:
    """read_committed and read_uncommitted agree on where the output topics end."""
    import yaml

    settings = yaml.safe_load(config.read_text())["stream"]
    for topic in (settings["alert_topic"], settings["state_topic"], settings["dead_letter_topic"]):
        assert end_offsets(topic, "read_committed") == end_offsets(topic, "read_uncommitted"), topic


def wait_until_done(config: Path, topic: str, processes: list[subprocess.Popen[bytes]]) -> None:
    """Wait for the group to commit the end of the input; restart any instance that died."""
    deadline = time.monotonic() + 300
    while not committed_to_end(config, topic):
        assert time.monotonic() < deadline, "the input was not consumed"
        time.sleep(1.0)
    for process in processes:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
    for process in processes:
        process.wait(60)


@pytest.mark.parametrize("guarantee", ["exactly_once", "at_least_once"])
def test_rebalances_move_state_with_partitions(
    tmp_path: Path,
    profile_path: Path,
    guarantee: str,
) -> None:
    """Two instances, then a third joins, one stops and one is killed: the alerts equal a
    single instance's, partition state having moved with each partition."""
    live = LiveInput(partitions=6)
    name = f"group-{guarantee[:5]}"
    configs = [
        write_config(tmp_path, live.topic, profile_path, guarantee, name, instance=i)
        for i in ("a", "b", "c")
    ]
    a, b = start(configs[0]), start(configs[1])
    time.sleep(6)
    c = start(configs[2])  # joins: partitions move to it
    time.sleep(6)
    a.send_signal(signal.SIGTERM)  # leaves cleanly: its partitions move
    assert a.wait(60) == 0
    time.sleep(4)
    b.send_signal(signal.SIGKILL)  # dies: its partitions move after the session timeout
    b.wait(60)
    live.thread.join()
    wait_until_done(configs[2], live.topic, [c])
    expected = reference_ids(tmp_path, live, profile_path, guarantee)
    assert len(expected) > 5
    got = alert_ids(configs[2])
    if guarantee == "exactly_once":
        assert sorted(got) == sorted(expected)
        assert_no_hanging_transactions(configs[2])
    else:
        assert sorted(set(got)) == sorted(set(expected))
