"""Global windows over a real broker: 12 input partitions, one drift, exactly once.

One instance, and three instances of which one is killed (SIGKILL) and another stopped
(SIGTERM) mid-stream, each restarted, must publish the same global alerts, alert id for
alert id: one global alert for the drifted feature in one incident, then its resolution,
and nothing global about the other features."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import polars as pl
import pytest
import yaml
from confluent_kafka import Consumer, TopicPartition
from kafka_support import bootstrap, monitors, new_topic, produce, read_all

from stream_monitor.config import ProfileSettings
from stream_monitor.engine.incidents import incident_id
from stream_monitor.profile.build import profile_frame
from stream_monitor.profile.store import write_profile
from stream_monitor.stream import kafka_io
from stream_monitor.synthetic import Drift, traffic

pytestmark = pytest.mark.kafka

PARTITIONS = 12
ROWS = 5_000  # per partition, 100 ms apart in event time: 8 min 20 s
BASE_MS = 1_767_571_200_000  # 2026-01-05T00:00:00Z
START_S, END_S = 210, 300  # income drifts from 00:03:30 to 00:05:00 of event time


@pytest.fixture(scope="module")
def deployment(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    root = tmp_path_factory.mktemp("global")
    reference = traffic(100_000, seed=1).drop("id")
    profile = root / "profile.parquet"
    write_profile(
        profile_frame(reference, ProfileSettings(prediction="predicted_default")), profile
    )
    rows: list[list[bytes]] = []
    for p in range(PARTITIONS):
        first, last = START_S * 10, END_S * 10
        drifted = traffic(ROWS, seed=60 + p, drift=Drift("income", first, 1.0)).drop("id")
        clean = traffic(ROWS, seed=60 + p).drop("id")
        frame = pl.concat([drifted.slice(0, last), clean.slice(last)]).with_columns(
            event_time=pl.Series([BASE_MS + i * 100 + p * 7 for i in range(ROWS)], dtype=pl.Int64)
            .cast(pl.Datetime("ms", "UTC"))
            .dt.strftime("%Y-%m-%dT%H:%M:%S%.3fZ")
        )
        rows.append(frame.write_ndjson().encode().splitlines())
    return {"root": root, "profile": profile, "rows": rows}


def produce_rows(topic: str, rows: list[list[bytes]], lo: int, hi: int) -> None:
    """Rows ``lo..hi-1`` of every partition: value ``i*12 + p`` goes to partition ``p``."""
    values = [rows[p][i] for i in range(lo, hi) for p in range(PARTITIONS)]
    produce(topic, values, partitions=PARTITIONS)


def committed(path: Path, topic: str) -> int:
    """How many input records the deployment's group has committed."""
    group = yaml.safe_load(path.read_text())["stream"]["group_id"]
    consumer = Consumer({"bootstrap.servers": bootstrap(), "group.id": group})
    try:
        parts = [TopicPartition(topic, p) for p in range(PARTITIONS)]
        return sum(max(tp.offset, 0) for tp in kafka_io.committed(consumer, parts))
    finally:
        consumer.close()


def config(deployment: dict[str, Any], name: str, instance: str, topic: str) -> Path:
    stream = {
        "monitor": "g",
        "profile": str(deployment["profile"]),
        "bootstrap_servers": bootstrap(),
        "input_topics": [topic],
        "alert_topic": f"{name}-alerts",
        "dead_letter_topic": f"{name}-dlq",
        "state_topic": f"{name}-state",
        "partials_topic": f"{name}-partials",
        "group_id": f"{name}-group",
        "processing_guarantee": "exactly_once",
        "instance_id": instance,
        "timestamp_field": "event_time",
        "commit_interval_s": 0.5,
        "global": {"window": "30s", "allowed_lateness": "2s", "idle_timeout": "10m"},
    }
    path = deployment["root"] / f"{name}-{instance}.yaml"
    path.write_text(yaml.safe_dump({"stream": stream}))
    return path


def start(path: Path) -> subprocess.Popen[bytes]:
    """A `run` process; its log goes to a file beside its config."""
    command = [sys.executable, "-m", "stream_monitor", "run", "--config", str(path)]
    with path.with_suffix(f".{len(monitors)}.log").open("wb") as log:
        process = subprocess.Popen([*command, "--log-level", "info"], stdout=log, stderr=log)
    monitors.append(process)
    return process


def global_alerts(topic: str) -> list[dict[str, Any]]:
    try:
        messages = read_all(topic)
    except Exception:  # the topic may not exist yet
        return []
    alerts = [json.loads(m.value()) for m in messages]
    return [a for a in alerts if a["scope"] == "global"]


def wait_resolved(topic: str, paths: list[Path], timeout_s: float = 400) -> list[dict[str, Any]]:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        found = global_alerts(topic)
        if any(a["detector"] == "incident" for a in found):
            return found
        time.sleep(2)
    logs = "\n".join(
        log.read_text(errors="replace")[-3000:]
        for path in paths
        for log in sorted(path.parent.glob(f"{path.stem}.*.log"))
    )
    raise AssertionError(f"no incident resolved in {timeout_s} s\n{logs}")


def stop(processes: list[subprocess.Popen[bytes]]) -> None:
    for process in processes:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
    for process in processes:
        assert process.wait(60) == 0


def view(alerts: list[dict[str, Any]]) -> list[tuple[str, str, str, str]]:
    return sorted((a["alert_id"], a["feature"], a["detector"], a["incident"]["id"]) for a in alerts)


def uninterrupted(deployment: dict[str, Any], name: str, topic_prefix: str) -> str:
    """One instance over the whole input, run until its incidents resolve; its alert topic."""
    whole = new_topic(topic_prefix, partitions=PARTITIONS)
    produce_rows(whole, deployment["rows"], 0, ROWS)
    path = config(deployment, name, "a", whole)
    process = start(path)
    wait_resolved(f"{name}-alerts", [path])
    stop([process])
    return f"{name}-alerts"


def test_three_instances_a_kill_and_a_stop_give_the_global_alerts_of_one(
    deployment: dict[str, Any],
) -> None:
    run = uuid.uuid4().hex[:8]
    rows = deployment["rows"]
    single_topic = uninterrupted(deployment, f"one-{run}", "global-one")

    # Three instances. A third of the input is there when they start; once they have
    # committed most of it, instance b is killed (SIGKILL), the next third arrives and b
    # restarts; later instance c stops cleanly (SIGTERM), the rest arrives, c restarts.
    # Every step is a rebalance of both consumer groups.
    split = new_topic("global-three", partitions=PARTITIONS)
    thirds = [0, ROWS // 3, 2 * ROWS // 3, ROWS]
    produce_rows(split, rows, thirds[0], thirds[1])
    paths = [config(deployment, f"three-{run}", i, split) for i in "abc"]
    processes = [start(p) for p in paths]
    for step, (victim, how) in enumerate(((1, signal.SIGKILL), (2, signal.SIGTERM))):
        deadline = time.monotonic() + 180
        while committed(paths[0], split) < PARTITIONS * (thirds[step + 1] - ROWS // 10):
            assert time.monotonic() < deadline, "the instances did not get going"
            time.sleep(0.5)
        processes[victim].send_signal(how)
        assert processes[victim].wait(60) == (-signal.SIGKILL if how == signal.SIGKILL else 0)
        produce_rows(split, rows, thirds[step + 1], thirds[step + 2])
        processes[victim] = start(paths[victim])  # the same instance id: a killed one is fenced
    wait_resolved(f"three-{run}-alerts", paths)
    stop(processes)
    three = global_alerts(f"three-{run}-alerts")
    single = global_alerts(single_topic)

    assert view(single) == view(three)
    first = incident_id("g", "feature_drift", "income", 0)
    assert sorted((f, d, i) for _, f, d, i in view(single)) == [
        ("income", "incident", first),
        ("income", "psi", first),
    ]
    (alert,) = [a for a in single if a["detector"] == "psi"]
    assert alert["window"]["event_time_start"] == "2026-01-05T00:03:30.000Z"
    assert alert["window"]["partitions"] == PARTITIONS
    assert alert["incident"]["status"] in ("open", "update")
