"""The dataset monitor and the partition monitor, without Kafka."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from stream_monitor.config import ProfileSettings
from stream_monitor.engine.dataset import DatasetMonitor
from stream_monitor.profile.build import profile_frame
from stream_monitor.profile.model import Profile
from stream_monitor.stream.partition import AlertSettings, PartitionMonitor
from stream_monitor.stream.settings import StreamSettings
from stream_monitor.synthetic import traffic


@pytest.fixture(scope="module")
def profile() -> Profile:
    """A profile of 100k synthetic records with target and prediction."""
    settings = ProfileSettings(target="default", prediction="predicted_default")
    return profile_frame(traffic(100_000, seed=1).drop("id"), settings)


def feed(
    monitor: DatasetMonitor, frame: pl.DataFrame, batch: int = 5_000
) -> list[tuple[str, str, str, int]]:
    """Feed a frame in batches; return (type, feature, detector, row) of each event."""
    events = []
    for start in range(0, frame.height, batch):
        for e in monitor.update(frame.slice(start, batch)):
            events.append((e.type, e.feature, e.detector, start + e.position))
    return events


def test_concept_drift_is_caught_from_the_error_stream(profile: Profile) -> None:
    """When outcomes stop matching predictions, concept and label drift fire after the change."""
    frame = traffic(120_000, seed=4, concept_at=60_000)
    events = feed(DatasetMonitor(profile), frame)
    concept = [e for e in events if e[0] == "concept_drift"]
    label = [e for e in events if e[0] == "label_drift"]
    assert concept, events
    assert label, events
    assert min(e[3] for e in concept) >= 60_000
    assert min(e[3] for e in concept) <= 65_000
    assert {e[1] for e in concept} == {"default"}
    assert not [e for e in events if e[0] in ("feature_drift", "prediction_drift")]


def test_prediction_drift_follows_a_feature_the_model_uses(profile: Profile) -> None:
    """A shift in a feature the model uses moves the prediction distribution too."""
    from stream_monitor.synthetic import Drift

    frame = traffic(80_000, seed=6, drift=Drift("utilization", 40_000, 1.5))
    events = feed(DatasetMonitor(profile), frame)
    kinds = {(e[0], e[1]) for e in events}
    assert ("feature_drift", "utilization") in kinds
    assert ("prediction_drift", "predicted_default") in kinds
    assert all(e[3] >= 40_000 for e in events)


def test_snapshot_restore_resumes_identically(profile: Profile) -> None:
    """A monitor restored from a snapshot raises the same events as one that never stopped."""
    frame = traffic(60_000, seed=7, concept_at=30_000)
    first, second = frame.slice(0, 27_000), frame.slice(27_000)
    whole = DatasetMonitor(profile)
    expected = feed(whole, frame)
    part = DatasetMonitor(profile)
    feed(part, first)
    resumed = DatasetMonitor(profile)
    resumed.restore(part.snapshot())
    got = [(t, f, d, r + 27_000) for t, f, d, r in feed(resumed, second)]
    assert got == [e for e in expected if e[3] >= 27_000]
    for key, array in whole.snapshot().items():
        np.testing.assert_array_equal(resumed.snapshot()[key], array, err_msg=key)


def test_windows_report_offsets_and_event_time_range(profile: Profile) -> None:
    """A window alert names its first and last offsets and event-time range across batches."""
    settings = StreamSettings(window_rows=1_000, repeat_after_rows=1)
    monitor = PartitionMonitor(
        profile,
        topic="t",
        partition=4,
        settings=settings.monitor_settings(),
        alerts=AlertSettings("m", 1),
        timestamp_field="ts",
    )
    frame = traffic(3_000, seed=3).with_columns(pl.col("income") * 3)
    stamps = [f"2026-11-27T10:{i // 60:02d}:{i % 60:02d}Z" for i in range(3_000)]
    frame = frame.with_columns(pl.Series("ts", stamps))
    offsets = np.arange(500, 3_500, dtype=np.int64)  # this partition's offsets start at 500
    alerts = monitor.process(frame.slice(0, 700), offsets[:700])
    alerts += monitor.process(frame.slice(700), offsets[700:])
    psi = [a for a in alerts if a["detector"] == "psi" and a["feature"] == "income"]
    assert [(a["window"]["first_offset"], a["window"]["last_offset"]) for a in psi] == [
        (500, 1499),
        (1500, 2499),
        (2500, 3499),
    ]
    assert psi[0]["window"]["event_time_start"] == stamps[0]
    assert psi[0]["window"]["event_time_end"] == stamps[999]
    assert psi[1]["window"]["event_time_start"] == stamps[1000]
    assert all(a["window"]["partition"] == 4 for a in alerts)


def test_dead_letter_share_alert_is_batch_independent(profile: Profile) -> None:
    """A window with too many bad records raises one schema_violation, however it was batched."""
    from stream_monitor.stream.pipeline import Pipeline

    good = traffic(4_000, seed=2).drop("id").write_ndjson().encode().splitlines()
    payloads: list[bytes | None] = list(good)
    for i in range(2_000, 2_400):  # 400 bad in the second window of 1,000: 40 %
        payloads[i] = b"not json"
    settings = StreamSettings(window_rows=1_000, dead_letter_alert_share=0.05)

    def alerts_for(cuts: list[int]) -> list[tuple[str, str, int, int, float]]:
        pipeline = Pipeline(profile, settings)
        found = []
        for lo, hi in zip([0, *cuts], [*cuts, len(payloads)], strict=True):
            alerts, _ = pipeline.process_payloads(
                "t", 0, payloads[lo:hi], list(range(100 + lo, 100 + hi))
            )
            found += [
                (
                    a["type"],
                    a["detector"],
                    a["window"]["first_offset"],
                    a["window"]["last_offset"],
                    a["score"],
                )
                for a in alerts
                if a["type"] == "schema_violation"
            ]
        assert (
            pipeline.counters.records == pipeline.counters.scored + pipeline.counters.dead_lettered
        )
        return found

    expected = [("schema_violation", "dead_letter_share", 2_100, 3_099, 0.4)]
    assert alerts_for([]) == expected
    assert alerts_for([700, 2_150, 2_999]) == expected


def test_zero_one_integer_labels_are_classification_in_the_stream() -> None:
    """A 0/1 integer label with probability predictions: the error rate feeds DDM, and
    concept drift fires only after the model starts being wrong."""
    import json

    from stream_monitor.stream.pipeline import Pipeline

    rng = np.random.default_rng(12)

    def frame(n: int, broken: bool) -> pl.DataFrame:
        x = rng.normal(0, 1, n)
        p = 1 / (1 + np.exp(-3 * x))
        y = (rng.random(n) < (1 - p if broken else p)).astype(np.int64)
        return pl.DataFrame({"x": x, "label": y, "score": p})

    settings = ProfileSettings(target="label", prediction="score")
    profile = profile_frame(frame(50_000, False), settings)
    target = profile.target
    assert target is not None
    assert target.kind == "categorical"
    pipeline = Pipeline(profile, StreamSettings())
    live = pl.concat([frame(30_000, False), frame(30_000, True)])
    payloads = [json.dumps(row).encode() for row in live.to_dicts()]
    alerts = []
    for start in range(0, len(payloads), 5_000):
        got, dead = pipeline.process_payloads(
            "t", 0, payloads[start : start + 5_000], list(range(start, start + 5_000))
        )
        assert dead == []
        alerts += got
    concept = [a for a in alerts if a["type"] == "concept_drift"]
    assert concept
    assert {a["detector"] for a in concept} >= {"ddm"}
    assert 30_000 <= min(a["window"]["last_offset"] for a in concept) <= 30_500


def test_checkpoint_of_another_layout_restarts_the_detectors(
    profile: Profile, caplog: pytest.LogCaptureFixture
) -> None:
    """A checkpoint whose detector state does not fit (another profile, an earlier version)
    keeps the partition's offset and counts; the detectors start afresh, with a warning."""
    other = profile_frame(traffic(20_000, seed=3).drop("id").select("income", "age"))
    old = PartitionMonitor(
        other,
        topic="t",
        partition=0,
        settings=StreamSettings().monitor_settings(),
        alerts=AlertSettings(),
    )
    frame = traffic(5_000, seed=4).drop("id")
    old.process(frame, np.arange(100, 5_100, dtype=np.int64))
    blob = old.checkpoint()
    new = PartitionMonitor(
        profile,
        topic="t",
        partition=0,
        settings=StreamSettings().monitor_settings(),
        alerts=AlertSettings(),
    )
    with caplog.at_level("WARNING", logger="stream_monitor.run"):
        new.restore(blob)
    assert new.next_offset == 5_100
    assert new.rows == 5_000
    assert new.engine.rows == 0
    assert "detectors start afresh" in caplog.text
    same = PartitionMonitor(
        other,
        topic="t",
        partition=0,
        settings=StreamSettings().monitor_settings(),
        alerts=AlertSettings(),
    )
    same.restore(blob)
    assert same.engine.rows == 5_000
