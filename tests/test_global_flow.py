"""Global windows end to end without a broker: instances (pipeline, processor) write their
partials in production order, tier-2 owners read them key by key, as over Kafka.

One drift on a 12-partition stream gives one incident, one global alert and one resolution,
the same alert for alert whether 1 or 3 instances ran, however they interleaved, and when
an instance and an owner were restarted from their checkpoints midway."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from typing import Any

import polars as pl
import pytest

from stream_monitor.config import ProfileSettings
from stream_monitor.engine.incidents import incident_id
from stream_monitor.metrics import StreamMetrics
from stream_monitor.profile.build import profile_frame
from stream_monitor.profile.model import Profile
from stream_monitor.stream.global_owner import GlobalOwner
from stream_monitor.stream.pipeline import Pipeline
from stream_monitor.stream.processor import Processor
from stream_monitor.stream.settings import GlobalSettings, StreamSettings
from stream_monitor.stream.sinks import MemorySink
from stream_monitor.stream.sources import MemorySource, Partition
from stream_monitor.synthetic import Drift, traffic

PARTITIONS = 12
ROWS = 6_000  # per partition, 100 ms of event time apart: 10 minutes
SETTINGS = StreamSettings(
    monitor="g",
    global_windows=GlobalSettings(
        window_ms=30_000, lateness_ms=2_000, idle_timeout_ms=3_600_000, resolve_after=3
    ),
)

Topic = dict[str, list[dict[str, object]]]


@pytest.fixture(scope="module")
def profile() -> Profile:
    reference = traffic(100_000, seed=1).drop("id")
    return profile_frame(reference, ProfileSettings(prediction="predicted_default"))


@pytest.fixture(scope="module")
def stream() -> tuple[dict[Partition, list[bytes | None]], dict[Partition, list[int]]]:
    """income drifts from minute 5 to minute 7.5 of event time, in every partition."""
    payloads, times = {}, {}
    for p in range(PARTITIONS):
        drifted = traffic(ROWS, seed=40 + p, drift=Drift("income", 3_000, 1.0)).drop("id")
        clean = traffic(ROWS, seed=40 + p).drop("id")
        frame = pl.concat([drifted.slice(0, 4_500), clean.slice(4_500)])
        payloads[("in", p)] = list(frame.write_ndjson().encode().splitlines())
        times[("in", p)] = [1_767_571_200_000 + i * 100 + p * 7 for i in range(ROWS)]
    return payloads, times


class Instance:
    """A `run` process's stream side: a pipeline over some partitions."""

    def __init__(self, profile: Profile, stream, partitions: list[int], run: int) -> None:  # type: ignore[no-untyped-def]
        payloads, times = stream
        mine = [("in", p) for p in partitions]
        self.source = MemorySource(
            {p: payloads[p] for p in mine}, timestamps={p: times[p] for p in mine}, run=run
        )
        self.profile = profile
        self.partials: MemorySink[tuple[str, dict[str, object]]] = MemorySink()
        self.alerts: MemorySink[dict[str, object]] = MemorySink()
        self._processor()

    def _processor(self) -> None:
        self.pipeline = Pipeline(self.profile, SETTINGS)
        self.processor = Processor(
            self.pipeline, self.alerts, MemorySink(), StreamMetrics(), partials=self.partials
        )

    def step(self, batch: int, topic: Topic) -> bool:
        """Process one poll; append what it produced to the partials topic."""
        if self.source.exhausted:
            return False
        self.processor.process(self.source.poll(batch))
        for column, record in self.partials.items:
            topic[column].append(record)
        self.partials.items.clear()
        return True

    def checkpoint(self) -> dict[Partition, bytes]:
        return {p: self.pipeline.monitor(*p).checkpoint() for p in self.source.messages}

    def restart(self, states: dict[Partition, bytes]) -> None:
        """A crash and restart: state and positions from the checkpoint (outputs since then
        were never committed)."""
        self._processor()
        for p, blob in states.items():
            monitor = self.pipeline.monitor(*p)
            monitor.restore(blob)
            assert monitor.next_offset is not None
            self.source.next[p] = monitor.next_offset


def owners_read(
    profile: Profile, topic: Topic, *, restore_at: int | None = None
) -> list[dict[str, Any]]:
    """Three owners, each with its share of the keys, read the topic key by key."""
    inputs = {("in", p) for p in range(PARTITIONS)}
    owners = [GlobalOwner(profile, SETTINGS, inputs) for _ in range(3)]
    published = []
    for k, (column, records) in enumerate(sorted(topic.items())):
        owner = owners[k % 3]
        for i, record in enumerate(records):
            if restore_at is not None and i == restore_at:
                blob = owner.snapshot(column)
                owner = owners[k % 3] = GlobalOwner(profile, SETTINGS, inputs)
                owner.restore(column, blob)
            published += owner.handle(column, record, now_s=0.0)
    return published


def interleave(instances: list[Instance], batches: list[int], topic: Topic) -> Iterator[int]:
    step = 0
    while True:
        moved = False
        for instance, batch in zip(instances, batches, strict=True):
            moved |= instance.step(batch, topic)
        step += 1
        yield step
        if not moved:
            return


def global_view(published: list[dict[str, Any]]) -> list[tuple[object, ...]]:
    """The global messages: feature, type, detector, window start (or the resolution's id)
    and incident id."""
    return sorted(
        (
            a["feature"],
            a["type"],
            a["detector"],
            a["alert_id"] if a["detector"] == "incident" else a["window"]["event_time_start"],
            a["incident"]["id"],
        )
        for a in published
        if a["scope"] == "global"
    )


def partition_of(record: dict[str, Any]) -> int:
    """The input partition a partials record came from."""
    return int(
        record["partition"]
        if record["kind"] == "report"
        else record["alert"]["window"]["partition"]
    )


def test_one_instance_or_three_give_the_same_global_alerts(profile: Profile, stream) -> None:  # type: ignore[no-untyped-def]
    one: Topic = defaultdict(list)
    for _ in interleave([Instance(profile, stream, list(range(PARTITIONS)), 700)], [5_000], one):
        pass
    three: Topic = defaultdict(list)
    instances = [
        Instance(profile, stream, list(range(i, PARTITIONS, 3)), r)
        for i, r in enumerate((400, 999, 1_500))
    ]
    for _ in interleave(instances, [1_000, 3_000, 2_200], three):
        pass
    killed: Topic = defaultdict(list)
    instances = [Instance(profile, stream, list(range(4 * i, 4 * i + 4)), 600) for i in range(3)]
    saved: dict[Partition, bytes] = {}
    for step in interleave(instances, [2_000, 2_000, 2_000], killed):
        if step == 3:
            saved = instances[1].checkpoint()
            mark = {c: len(r) for c, r in killed.items()}
        if step == 6:  # instance 1 dies: what it produced since its checkpoint is aborted
            for column, records in killed.items():
                kept = mark.get(column, 0)
                records[kept:] = [r for r in records[kept:] if partition_of(r) not in range(4, 8)]
            instances[1].restart(saved)
    a = owners_read(profile, one)
    b = owners_read(profile, three)
    c = owners_read(profile, killed, restore_at=7)
    assert global_view(a) == global_view(b) == global_view(c)
    view = global_view(a)
    assert {f for f, *_ in view} == {"income"}
    first = incident_id("g", "feature_drift", "income", 0)
    # One global alert for the incident: the first window after the change (minute 5),
    # then the resolution three clean windows after the drift ended (minute 7.5).
    assert view == [
        ("income", "feature_drift", "incident", view[0][3], first),
        ("income", "feature_drift", "psi", "2026-01-05T00:05:00.000Z", first),
    ]
    (resolution,) = [a for a in a if a["detector"] == "incident"]
    assert resolution["window"]["event_time_start"] == "2026-01-05T00:09:00.000Z"
    assert resolution["incident"]["status"] == "resolved"
    # Partition alerts opened the incident and reported its spread at 2, 4, 8, ... members.
    statuses = [x["incident"]["status"] for x in a if x["scope"] == "partition"]
    assert statuses[0] == "open"
    assert set(statuses[1:]) == {"update"}
    members = [x["incident"]["members"] for x in a if x["scope"] == "partition"]
    assert members == [1, 2, 4, 8, 16, 32]
