"""The streaming monitor against the real local Kafka broker."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
import uuid
from collections import Counter
from dataclasses import replace
from pathlib import Path

import numpy as np
import polars as pl
import pytest
import yaml
from confluent_kafka import OFFSET_INVALID, KafkaError, KafkaException, Message, TopicPartition
from jsonschema import Draft202012Validator
from kafka_support import bootstrap, new_topic, payloads, produce, read_all, run_in_thread

from stream_monitor.config import ProfileSettings
from stream_monitor.profile.build import build_profile
from stream_monitor.profile.model import Profile
from stream_monitor.stream import kafka_io
from stream_monitor.stream.alerts import alert_schema
from stream_monitor.stream.kafka_app import KafkaMonitor
from stream_monitor.stream.retry import retrying
from stream_monitor.stream.settings import StreamSettings
from stream_monitor.stream.state_store import state_key
from stream_monitor.stream.sweep import HEADER
from stream_monitor.synthetic import Drift, traffic

pytestmark = pytest.mark.kafka

VALIDATOR = Draft202012Validator(alert_schema())


@pytest.fixture(scope="module")
def profile(tmp_path_factory: pytest.TempPathFactory) -> Profile:
    """The reference profile of 200k synthetic records."""
    path: Path = tmp_path_factory.mktemp("ref") / "reference.parquet"
    traffic(200_000, seed=1).drop("id").write_parquet(path)
    return build_profile(path, ProfileSettings(target="default", prediction="predicted_default"))


def settings_for(input_topic: str, **overrides: object) -> StreamSettings:
    """Settings with fresh output topics and group, so tests never share state."""
    base = StreamSettings(
        monitor="test",
        bootstrap_servers=bootstrap(),
        input_topics=(input_topic,),
        alert_topic=new_topic("alerts"),
        dead_letter_topic=new_topic("dlq"),
        state_topic=new_topic("state", compacted=True),
        group_id=f"group-{input_topic}",
        commit_interval_s=0.5,
    )
    return replace(base, **overrides)  # type: ignore[arg-type]


def alerts_of(topic: str) -> list[dict[str, object]]:
    """The alerts on ``topic``, each checked against the shipped schema."""
    alerts = [json.loads(m.value()) for m in read_all(topic)]
    for alert in alerts:
        VALIDATOR.validate(alert)
    return alerts


def test_known_drift_raises_alerts_for_that_feature_only(profile: Profile) -> None:
    """A +1 sd shift of one feature at offset 30,000 is flagged soon after, and nothing else is."""
    topic = new_topic("in")
    produce(topic, payloads(traffic(60_000, seed=5, drift=Drift("income", 30_000, 1.0))))
    settings = settings_for(topic)
    counters = run_in_thread(KafkaMonitor(profile, settings), 60_000)
    assert counters.scored == 60_000
    alerts = alerts_of(settings.alert_topic)
    assert alerts, "no alert was raised"
    # The feature, and the multivariate reconstruction error that every numeric feature feeds.
    kinds = {(a["feature"], a["type"]) for a in alerts}
    assert ("income", "feature_drift") in kinds
    assert kinds <= {("income", "feature_drift"), ("reconstruction_error", "multivariate_drift")}
    first = min(a["window"]["last_offset"] for a in alerts)  # type: ignore[index]
    assert 30_000 <= first <= 30_500
    psi = [a for a in alerts if a["detector"] == "psi"]
    assert psi
    assert all(a["window"]["first_offset"] >= 30_000 for a in psi)


def test_stationary_traffic_stays_quiet(profile: Profile) -> None:
    """A million stationary records over three partitions raise no alert from any detector."""
    topic = new_topic("in", partitions=3)
    values = []
    for start in range(0, 1_000_000, 250_000):
        values += payloads(traffic(250_000, seed=11, start=start))
    produce(topic, values, partitions=3)
    settings = settings_for(topic)
    counters = run_in_thread(KafkaMonitor(profile, settings), 1_000_000, timeout_s=300)
    assert counters.scored == 1_000_000
    alerts = alerts_of(settings.alert_topic)
    assert [(a["type"], a["feature"], a["detector"]) for a in alerts] == []


BAD = {
    "invalid_json": b'{"age": 41, "income": ',
    "invalid_utf8": b'{"region": "\xff\xfe"}',
    "not_an_object": b"[1, 2, 3]",
    "wrong_type": b'{"age": "forty", "income": 1.0}',
    "missing_field": b'{"region": "north"}',
    "empty": None,
    "oversized": b'{"age": 1, "pad": "' + b"x" * 5000 + b'"}',
}


def test_bad_records_go_to_the_dead_letter_topic_and_counts_add_up(profile: Profile) -> None:
    """Bad records end in the dead-letter topic with their reason, key and offset; none is lost."""
    good = payloads(traffic(20_000, seed=3))
    rng = np.random.default_rng(0)
    spots = sorted(rng.choice(20_000, 700, replace=False).tolist())
    kinds = list(BAD)
    values: list[bytes | None] = list(good)
    expected: dict[int, str] = {}
    for n, spot in enumerate(spots):
        kind = kinds[n % len(kinds)]
        values[spot] = BAD[kind]
        expected[spot] = kind
    keys = [f"k{i}".encode() for i in range(len(values))]
    topic = new_topic("in")
    produce(topic, values, keys=keys)
    settings = settings_for(topic, max_payload_bytes=4096)
    counters = run_in_thread(KafkaMonitor(profile, settings), len(values))
    dead = read_all(settings.dead_letter_topic)
    found = {}
    for m in dead:
        headers = {k: v.decode() for k, v in m.headers() or []}
        offset = int(headers["stream-monitor.source-offset"])
        found[offset] = headers["stream-monitor.reason"]
        assert m.key() == f"k{offset}".encode()
        assert m.value() == values[offset]
        assert headers["stream-monitor.source-topic"] == topic
    assert found == expected
    assert counters.messages == 20_000
    assert counters.scored + counters.dead_lettered == counters.records == 20_000
    assert counters.dead_lettered == 700


def test_restart_continues_as_if_uninterrupted(profile: Profile) -> None:
    """Stopping mid-stream and restarting gives the alerts and state of an uninterrupted run."""
    topic = new_topic("in")
    produce(topic, payloads(traffic(80_000, seed=9, drift=Drift("age", 50_000, 0.5))))
    whole = settings_for(topic)
    uninterrupted = KafkaMonitor(profile, whole)
    run_in_thread(uninterrupted, 80_000)
    split = settings_for(topic, group_id=f"split-{topic}")
    run_in_thread(KafkaMonitor(profile, split), 37_123)
    resumed = KafkaMonitor(profile, split)
    counters = run_in_thread(resumed, 80_000 - 37_123)
    assert counters.messages == 80_000 - 37_123
    expected = [a["alert_id"] for a in alerts_of(whole.alert_topic)]
    assert expected, "the drift raised no alert"
    assert [a["alert_id"] for a in alerts_of(split.alert_topic)] == expected
    # Both runs end with identical detector state.
    a = read_all(whole.state_topic)[-1].value()
    b = read_all(split.state_topic)[-1].value()
    assert a is not None
    assert b is not None
    from stream_monitor.stream.checkpoint import decode

    (arrays_a, meta_a), (arrays_b, meta_b) = decode(a), decode(b)
    assert meta_a["next_offset"] == meta_b["next_offset"] == 80_000
    assert arrays_a.keys() == arrays_b.keys()
    for key in arrays_a:
        np.testing.assert_array_equal(arrays_a[key], arrays_b[key], err_msg=key)


@pytest.mark.parametrize("guarantee", ["at_least_once", "exactly_once"])
def test_a_first_run_creates_its_output_topics_and_starts_cleanly(
    profile_path: Path, tmp_path: Path, guarantee: str
) -> None:
    """A first `stream-monitor run` whose alert, dead-letter and state topics do not exist
    yet creates them and reads its fresh state topic while their partitions get leaders:
    it runs to the end with exit code 0 and logs no error."""
    topic = new_topic("in", partitions=2)
    produce(topic, payloads(traffic(4_000, seed=15)), partitions=2)
    fresh = uuid.uuid4().hex[:10]
    outputs = {
        "alert_topic": f"alerts-{fresh}",
        "dead_letter_topic": f"dlq-{fresh}",
        "state_topic": f"state-{fresh}",
    }
    stream = {
        "monitor": "fresh",
        "profile": str(profile_path),
        "bootstrap_servers": bootstrap(),
        "input_topics": [topic],
        "group_id": f"group-{fresh}",
        "processing_guarantee": guarantee,
        "max_records": 4_000,
        **outputs,
    }
    config = tmp_path / "stream.yaml"
    config.write_text(yaml.safe_dump({"stream": stream}))
    done = subprocess.run(
        [sys.executable, "-m", "stream_monitor", "run", "--config", str(config)],
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    logged = [json.loads(line) for line in done.stderr.splitlines() if line.startswith("{")]
    assert not [entry for entry in logged if entry["level"] == "error"], done.stderr[-3000:]
    created = {entry["topic"] for entry in logged if entry["msg"] == "created topic"}
    assert created == set(outputs.values())
    existing = kafka_io.cluster_topics({"bootstrap.servers": bootstrap()}, timeout_s=15.0)
    assert set(outputs.values()) <= set(existing)
    assert {m.key() for m in read_all(outputs["state_topic"])} == {
        state_key("fresh", topic, p) for p in (0, 1)
    }


def test_alert_frame_is_valid_polars_input() -> None:
    """The decoder schema round-trips the synthetic traffic's JSON without loss."""
    frame = traffic(100, seed=0).drop("id")
    back = pl.read_ndjson(b"\n".join(payloads(frame)), schema=frame.schema)
    assert back.equals(frame)


def test_alerts_cli_and_metrics_report_the_run(
    profile: Profile, capsys: pytest.CaptureFixture[str]
) -> None:
    """The `alerts` CLI prints every alert as valid JSON; the metrics count the records."""
    from stream_monitor.cli import main

    topic = new_topic("in", partitions=2)
    produce(
        topic,
        payloads(traffic(40_000, seed=12, drift=Drift("balance", 20_000, 1.0))),
        partitions=2,
    )
    settings = settings_for(topic, kafka={"statistics.interval.ms": 200})
    monitor = KafkaMonitor(profile, settings)
    counters = run_in_thread(monitor, 40_000)
    registry = monitor.metrics.registry
    common = {"monitor": "test", "model": "default"}
    consumed = sum(
        registry.get_sample_value(
            "stream_monitor_records_consumed_total",
            {**common, "topic": topic, "partition": str(p)},
        )
        or 0
        for p in (0, 1)
    )
    assert consumed == 40_000
    # Every alert counted once, under its type (the drift, and the reconstruction error).
    by_type = {
        kind: registry.get_sample_value(
            "stream_monitor_alerts_produced_total", {**common, "type": kind}
        )
        or 0
        for kind in ("feature_drift", "multivariate_drift", "data_quality")
    }
    assert by_type["feature_drift"] > 0
    assert by_type["data_quality"] == 0
    assert sum(by_type.values()) == counters.alerts
    expected = [a["alert_id"] for a in alerts_of(settings.alert_topic)]
    assert expected
    args = ["alerts", "--bootstrap-servers", bootstrap(), "--alert-topic", settings.alert_topic]
    code = main([*args, "--from-beginning", "--json", "--max-alerts", str(len(expected))])
    assert code == 0
    printed = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert sorted(a["alert_id"] for a in printed) == sorted(expected)


def test_exactly_once_restart_matches_an_uninterrupted_run(profile: Profile) -> None:
    """In exactly-once mode a stop and restart leaves the committed alerts of one clean run."""
    topic = new_topic("in", partitions=2)
    produce(
        topic,
        payloads(traffic(60_000, seed=13, drift=Drift("spend_30d", 30_000, 0.7))),
        partitions=2,
    )
    whole = settings_for(topic, processing_guarantee="exactly_once", instance_id="a")
    run_in_thread(KafkaMonitor(profile, whole), 60_000)
    split = settings_for(
        topic, processing_guarantee="exactly_once", instance_id="b", group_id=f"eos-{topic}"
    )
    run_in_thread(KafkaMonitor(profile, split), 23_456)
    run_in_thread(KafkaMonitor(profile, split), 60_000 - 23_456)
    expected = sorted(a["alert_id"] for a in alerts_of(whole.alert_topic))
    assert expected
    got = [a["alert_id"] for a in alerts_of(split.alert_topic)]
    assert sorted(got) == expected
    assert len(set(got)) == len(got)
    # No transaction left open: committed and uncommitted reads agree, but for the records
    # of the sweeps (stream.sweep: an aborted transaction over every output partition as
    # each run starts), which only uncommitted reads see.
    for name in (split.alert_topic, split.state_topic):
        everything = read_all(name, committed_only=False)
        swept = [m for m in everything if (HEADER, b"aborted") in (m.headers() or [])]
        # Each of the two runs swept every partition as it started.
        per_partition = Counter(m.partition() for m in swept)
        assert set(per_partition) == {m.partition() for m in everything}
        assert min(per_partition.values()) >= 2
        assert len(everything) - len(swept) == len(read_all(name))


def test_stable_committed_does_not_wait_for_an_open_transaction() -> None:
    """A transaction holding a group's offsets makes a read_committed consumer's
    ``committed()`` wait (UNSTABLE_OFFSET_COMMIT); ``stable_committed`` answers at once
    with the offsets committed before it."""
    topic = new_topic("in", partitions=2)
    group = f"unstable-{topic}"
    parts = [TopicPartition(topic, p) for p in (0, 1)]
    member = kafka_io.consumer({"bootstrap.servers": bootstrap()}, group)
    holder = kafka_io.producer(
        {"bootstrap.servers": bootstrap()}, transactional_id=f"holder-{topic}"
    )
    try:
        retrying(
            lambda: member.commit(offsets=[TopicPartition(topic, 0, 5)], asynchronous=False),
            what="commit",
        )
        holder.init_transactions(30)
        holder.begin_transaction()
        retrying(
            lambda: holder.send_offsets_to_transaction(
                [TopicPartition(topic, 0, 99), TopicPartition(topic, 1, 99)],
                member.consumer_group_metadata(),
                30,
            ),
            what="offsets to the transaction",
        )
        with pytest.raises(KafkaException) as waited:
            kafka_io.committed(member, parts, timeout_s=1)
        assert waited.value.args[0].code() == KafkaError._TIMED_OUT
        stable = kafka_io.stable_committed({"bootstrap.servers": bootstrap()}, group, parts)
        assert [(tp.partition, tp.offset) for tp in stable] == [(0, 5), (1, OFFSET_INVALID)]
        holder.abort_transaction(30)
        after = kafka_io.committed(member, parts)
        assert [(tp.partition, tp.offset) for tp in after] == [(0, 5), (1, OFFSET_INVALID)]
    finally:
        member.close()


def test_an_exactly_once_assignment_is_swept_with_its_offsets_first(
    profile: Profile, caplog: pytest.LogCaptureFixture
) -> None:
    """Exactly once: before an assignment's state and offsets are read, a sweep carrying
    the group's committed offsets ends whatever our producer id left open on them (a
    commit whose markers a restarting broker skipped: ``KafkaMonitor._sweep_incoming``)."""
    topic = new_topic("in", partitions=2)
    records = payloads(traffic(10_000, seed=5))
    produce(topic, records[:8_000], partitions=2)
    settings = settings_for(topic, processing_guarantee="exactly_once", instance_id="s")
    run_in_thread(KafkaMonitor(profile, settings), 8_000)  # both partitions committed
    produce(topic, records[8_000:], partitions=2)
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="stream_monitor"):
        run_in_thread(KafkaMonitor(profile, settings), 2_000)
    events = [
        (r.getMessage(), getattr(r, "offsets", None))
        for r in caplog.records
        if r.getMessage() in ("swept", "assigned")
    ]
    # The sweep comes first and carries both partitions' committed offsets; the
    # transactions after it need no other.
    assert events == [("swept", 2), ("assigned", None), ("assigned", None)]
    stable = kafka_io.stable_committed(
        {"bootstrap.servers": bootstrap()},
        settings.group_id,
        [TopicPartition(topic, p) for p in (0, 1)],
    )
    assert sum(tp.offset for tp in stable) == 10_000


@pytest.mark.parametrize(
    ("where", "warned"), [("kafka_consumer", False), ("kafka", True)], ids=["split", "shared"]
)
def test_consumer_settings_reach_only_consumers(
    profile: Profile,
    caplog: pytest.LogCaptureFixture,
    where: str,
    warned: bool,
) -> None:
    """A consumer property under ``kafka_consumer`` is not given to the producers, so
    librdkafka has nothing to warn about; under ``kafka`` every client gets it, and the
    producer's warning arrives as a log record."""
    settings = settings_for(new_topic("split"), **{where: {"session.timeout.ms": 6000}})
    monitor = KafkaMonitor(profile, settings)
    with caplog.at_level(logging.WARNING, logger="stream_monitor.librdkafka"):
        monitor.producer.poll(1.0)
        monitor.consumer.poll(1.0)
    monitor.consumer.close()
    warnings = [r.getMessage() for r in caplog.records if "CONFWARN" in r.getMessage()]
    assert bool(warnings) == warned, warnings
    if warned:
        assert "session.timeout.ms is a consumer property" in warnings[0]


def test_messages_fetched_before_a_rebalance_or_rewind_are_skipped(profile: Profile) -> None:
    """A batch can hold messages of a partition just revoked, or below the offset a rewind
    went back to: they are not processed a second time, and the skip is counted."""
    monitor = KafkaMonitor(profile, settings_for("input"))
    good = payloads(traffic(300, seed=3))

    def batch(partition: int, first: int, count: int) -> list[Message]:
        return [
            Message(topic="input", partition=partition, offset=o, value=good[o], key=None)
            for o in range(first, first + count)
        ]

    monitor.owned.add(("input", 0))
    monitor._score(batch(0, 0, 100) + batch(1, 0, 100))  # partition 1 is not ours
    assert monitor.pipeline.counters.messages == 100
    assert monitor.pipeline.monitor("input", 0).next_offset == 100
    assert ("input", 1) not in monitor.pipeline.monitors
    monitor._score(batch(0, 40, 100))  # 40..99 again, then 100..139
    assert monitor.pipeline.counters.messages == 140
    assert monitor.pipeline.monitor("input", 0).messages == 140
    assert monitor.pipeline.monitor("input", 0).next_offset == 140
    text = monitor.metrics.render().decode()

    def series(name: str, partition: int) -> str:
        labels = f'model="default",monitor="test",partition="{partition}",topic="input"'
        return f"stream_monitor_{name}_total{{{labels}}}"

    assert f"{series('records_stale', 1)} 100.0" in text
    assert f"{series('records_stale', 0)} 60.0" in text
    assert f"{series('records_consumed', 0)} 140.0" in text
    monitor.consumer.close()
