"""The stream's processing core without a broker: an in-memory source, the processor and
in-memory sinks. The same records give the same alerts however the source hands them out,
and every record is counted once: scored, dead-lettered, or skipped as already seen."""

from __future__ import annotations

import io
import json

import pytest

from stream_monitor.config import ProfileSettings
from stream_monitor.metrics import StreamMetrics
from stream_monitor.profile.build import profile_frame
from stream_monitor.profile.model import Profile
from stream_monitor.stream.alerts import encode
from stream_monitor.stream.pipeline import DeadLetter, Pipeline
from stream_monitor.stream.processor import Processor
from stream_monitor.stream.settings import StreamSettings
from stream_monitor.stream.sinks import JsonLinesSink, MemorySink
from stream_monitor.stream.sources import MemorySource, Part, Partition
from stream_monitor.synthetic import Drift, traffic

PARTITIONS = 3
RECORDS = 30_000  # per partition


@pytest.fixture(scope="module")
def profile() -> Profile:
    reference = traffic(100_000, seed=1).drop("id")
    return profile_frame(reference, ProfileSettings(prediction="predicted_default"))


@pytest.fixture(scope="module")
def messages() -> dict[Partition, list[bytes | None]]:
    """Three partitions; the second drifts in income from its middle on, and every 997th
    message of the third is not JSON."""
    out: dict[Partition, list[bytes | None]] = {}
    for p in range(PARTITIONS):
        drift = Drift("income", RECORDS // 2, 0.8) if p == 1 else None
        frame = traffic(RECORDS, seed=10 + p, drift=drift).drop("id")
        values: list[bytes | None] = list(frame.write_ndjson().encode().splitlines())
        if p == 2:
            for i in range(0, RECORDS, 997):
                values[i] = b"{not json"
        out[("in", p)] = values
    return out


def drain(
    profile: Profile, source: MemorySource, batch: int
) -> tuple[Pipeline, MemorySink[dict[str, object]], MemorySink[DeadLetter], StreamMetrics]:
    pipeline = Pipeline(profile, StreamSettings(monitor="mem"))
    alerts: MemorySink[dict[str, object]] = MemorySink()
    dead: MemorySink[DeadLetter] = MemorySink()
    metrics = StreamMetrics(monitor="mem")
    processor = Processor(pipeline, alerts, dead, metrics)
    while not source.exhausted:
        assert processor.process(source.poll(batch))
    alerts.flush()
    dead.flush()
    return pipeline, alerts, dead, metrics


def test_the_same_records_give_the_same_alerts_however_they_are_polled(
    profile: Profile, messages: dict[Partition, list[bytes | None]]
) -> None:
    runs = [
        drain(profile, MemorySource(messages, run=run), batch)
        for run, batch in ((20_000, 20_000), (1_000, 5_000), (613, 1_777))
    ]
    ids = [[a["alert_id"] for a in alerts.items] for _, alerts, _, _ in runs]
    # Alerts come per partition in order; polling changes only how partitions interleave.
    assert sorted(ids[0]) == sorted(ids[1]) == sorted(ids[2])
    first = runs[0][1].items
    drifted = {a["feature"] for a in first if a["type"] == "feature_drift"}
    assert drifted == {"income"}
    assert {a["window"]["partition"] for a in first if a["type"] == "feature_drift"} == {1}
    bad = len(range(0, RECORDS, 997))
    for pipeline, alerts, dead, _ in runs:
        c = pipeline.counters
        assert c.messages == c.records == PARTITIONS * RECORDS
        assert c.scored == PARTITIONS * RECORDS - bad
        assert c.dead_lettered == len(dead.items) == bad
        assert {(d.partition, d.reason) for d in dead.items} == {(2, "invalid_json")}
        assert [d.offset for d in dead.items] == list(range(0, RECORDS, 997))
        assert c.alerts == len(alerts.items)
        for p in range(PARTITIONS):
            assert pipeline.monitor("in", p).next_offset == RECORDS


def test_messages_already_seen_or_not_owned_are_skipped_and_counted(
    profile: Profile, messages: dict[Partition, list[bytes | None]]
) -> None:
    pipeline = Pipeline(profile, StreamSettings(monitor="mem"))
    metrics = StreamMetrics(monitor="mem")
    alerts: MemorySink[dict[str, object]] = MemorySink()
    processor = Processor(pipeline, alerts, MemorySink(), metrics, owns=lambda p: p == ("in", 0))
    values = messages[("in", 0)]

    def part(partition: int, lo: int, hi: int) -> Part:
        return Part(("in", partition), values[lo:hi], list(range(lo, hi)), [None] * (hi - lo))

    assert processor.process([part(0, 0, 100), part(1, 0, 100)]) == [("in", 0)]
    assert processor.process([part(0, 40, 140)]) == [("in", 0)]
    assert processor.process([part(0, 0, 140)]) == []
    assert pipeline.counters.messages == 140
    assert pipeline.monitor("in", 0).next_offset == 140
    assert ("in", 1) not in pipeline.monitors
    text = metrics.render().decode()
    labels = 'model="default",monitor="mem",partition="{}",topic="in"'
    assert f"stream_monitor_records_stale_total{{{labels.format(1)}}} 100.0" in text
    assert f"stream_monitor_records_stale_total{{{labels.format(0)}}} 200.0" in text
    assert f"stream_monitor_records_consumed_total{{{labels.format(0)}}} 140.0" in text


def test_memory_source_hands_out_runs_in_turn_and_at_most_the_batch() -> None:
    source = MemorySource({("t", 0): [b"a"] * 5, ("t", 1): [b"b"] * 3}, run=2)
    polls = []
    while not source.exhausted:
        polls.append([(p.partition[1], p.offsets) for p in source.poll(3)])
    assert polls == [[(0, [0, 1]), (1, [0])], [(0, [2, 3]), (1, [1])], [(0, [4]), (1, [2])]]
    assert source.poll(3) == []


def test_json_lines_sink_writes_each_alert_encoded_once() -> None:
    out = io.StringIO()
    seen: list[dict[str, object]] = []
    sink = JsonLinesSink(out, on_alert=seen.append)
    alerts = [{"feature": "a", "score": 0.5}, {"feature": "b", "score": None}]
    for alert in alerts:
        sink.add(alert)
    sink.flush()
    assert out.getvalue().encode() == b"".join(encode(a) + b"\n" for a in alerts)
    assert [json.loads(line) for line in out.getvalue().splitlines()] == alerts == seen
