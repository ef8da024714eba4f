"""Rate CUSUMs, the randomised transform, and the data-quality channels of the stream."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from scipy import stats

from stream_monitor import scenarios
from stream_monitor.detectors.cusum import BernoulliCUSUM, threshold_for
from stream_monitor.detectors.pit import column_salt, pit_channels, pit_table
from stream_monitor.engine.rates import rise_channel, share_channels, wilson_bound
from stream_monitor.profile.build import profile_frame
from stream_monitor.profile.model import Profile
from stream_monitor.profile.store import write_profile
from stream_monitor.stream.file_source import run_file
from stream_monitor.stream.pipeline import DeadLetter, Pipeline
from stream_monitor.stream.settings import StreamSettings
from stream_monitor.stream.sinks import MemorySink


def brute_cusum(x: np.ndarray, p0: float, p1: float, h: float) -> list[tuple[int, float]]:
    """The CUSUM written out in Python, one value at a time."""
    up, down = math.log(p1 / p0), math.log((1 - p1) / (1 - p0))
    s, out = 0.0, []
    for i, v in enumerate(x.tolist()):
        if v != v:
            continue
        s = max(0.0, s + (up if v else down))
        if s > h:
            out.append((i, s))
            s = 0.0
    return out


def test_cusum_matches_a_plain_loop_and_any_batch_cut() -> None:
    """Signals and statistics equal a per-value loop's, however the stream is cut."""
    rng = np.random.default_rng(3)
    x = (rng.random(60_000) < np.where(np.arange(60_000) < 30_000, 0.05, 0.12)).astype(float)
    x[rng.random(60_000) < 0.01] = np.nan
    expected = brute_cusum(x, 0.05, 0.15, 12.0)
    assert len(expected) > 5
    whole = BernoulliCUSUM([0.05], [0.15], 12.0).update_many(x[None, :])
    assert [(p, round(s, 9)) for _, p, s in whole] == [(p, round(s, 9)) for p, s in expected]
    cut = BernoulliCUSUM([0.05], [0.15], 12.0)
    got = []
    for lo, hi in ((0, 7), (7, 20_001), (20_001, 45_000), (45_000, 60_000)):
        snap = cut.snapshot()
        cut = BernoulliCUSUM([0.05], [0.15], 12.0)
        cut.restore(snap)
        got += [lo + p for _, p, _ in cut.update_many(x[None, lo:hi])]
    assert got == [p for p, _ in expected]


def test_cusum_downward_channel_watches_a_fall() -> None:
    """A channel with p1 < p0 fires when the share falls, never while it holds."""
    rng = np.random.default_rng(5)
    x = (rng.random(40_000) < np.where(np.arange(40_000) < 20_000, 0.3, 0.15)).astype(float)
    hits = BernoulliCUSUM([0.3], [0.2], 15.0).update_many(x[None, :])
    assert hits
    assert min(p for _, p, _ in hits) >= 20_000
    assert [(p, round(s, 9)) for _, p, s in hits] == [
        (p, round(s, 9)) for p, s in brute_cusum(x, 0.3, 0.2, 15.0)
    ]


def test_cusum_false_alarms_stay_under_villes_bound() -> None:
    """At a low threshold the count of false alarms on in-control data stays below N e^-h."""
    rng = np.random.default_rng(11)
    h = 8.0
    channels, n = 50, 200_000
    x = (rng.random((channels, n)) < 0.02).astype(float)
    hits = BernoulliCUSUM([0.02] * channels, [0.06] * channels, h).update_many(x)
    bound = channels * n * math.exp(-h)  # about 3,355
    assert 0 < len(hits) < bound


def test_threshold_for_spends_the_budget() -> None:
    """100 channels over 10M records with 0.1 false alarms: h = ln(1e10)."""
    assert threshold_for(100) == pytest.approx(math.log(1e10))
    assert 100 * 1e7 * math.exp(-threshold_for(100)) == pytest.approx(0.1)


def test_wilson_bounds_against_scipy() -> None:
    """The score interval's ends agree with scipy's binomtest Wilson interval."""
    for k, n in ((0, 120_000), (1_200, 120_000), (37, 900)):
        ci = stats.binomtest(k, n).proportion_ci(confidence_level=1 - 2 * 0.0005, method="wilson")
        assert wilson_bound(k, n, upper=True) == pytest.approx(ci.high, rel=2e-3)
        assert wilson_bound(k, n, upper=False) == pytest.approx(ci.low, rel=2e-3, abs=1e-12)


def test_rate_channels_are_tuned_to_changes_that_matter() -> None:
    """A rise triples a share (or adds two points); a category's channels move it by 30 %."""
    p0, p1 = rise_channel(1_200, 120_000) or (0, 0)
    assert p0 == pytest.approx(wilson_bound(1_200, 120_000, upper=True))
    assert p1 == pytest.approx(3 * p0)
    tiny = rise_channel(0, 120_000)
    assert tiny is not None
    assert tiny[1] == pytest.approx(tiny[0] + 0.02)
    assert rise_channel(120_000, 120_000) is None
    (hi, rise), (lo, fall) = share_channels(24_000, 120_000)
    assert rise == pytest.approx(hi * 1.3)
    assert fall == pytest.approx(lo / 1.3)
    assert lo < 0.2 < hi


def test_randomised_transform_is_uniform_for_any_shape() -> None:
    """Under no drift u is uniform (KS against U(0,1)) for tied, skewed and categorical data."""
    rng = np.random.default_rng(8)
    for counts in ([0, 5_000, 80_000, 15_000, 0], [0] + [1] * 50 + [0], [70, 20, 9, 1]):
        p = np.asarray(counts, dtype=float) / sum(counts)
        lower, width = pit_table(counts)
        bins = rng.choice(len(counts), 100_000, p=p)
        loc, spread = pit_channels(bins, 0, column_salt(3), lower, width)
        u = loc / math.sqrt(12) + 0.5
        assert stats.kstest(u, "uniform").pvalue > 1e-3
        assert abs(loc.mean()) < 0.02
        assert abs(spread.mean()) < 0.02
        assert spread.std() == pytest.approx(1.0, abs=0.02)


def test_randomised_transform_depends_on_the_row_not_the_batch() -> None:
    """The same rows give the same values whether fed whole or from an offset."""
    lower, width = pit_table([10, 20, 30, 40])
    bins = np.array([0, 1, 2, 3, 2, 1, -1, 0])
    whole = pit_channels(bins, 100, column_salt(1), lower, width)
    tail = pit_channels(bins[5:], 105, column_salt(1), lower, width)
    np.testing.assert_array_equal(whole[0][5:], tail[0])
    other = pit_channels(bins, 100, column_salt(2), lower, width)
    assert not np.array_equal(np.nan_to_num(whole[0]), np.nan_to_num(other[0]))


@pytest.fixture(scope="module")
def clean_profile() -> Profile:
    """A profile of a scenario's 120k-row reference (six mixed columns)."""
    return profile_frame(scenarios.make("stationary", 1).reference, source="reference")


def stream(frame: pl.DataFrame, profile: Profile, batch: int = 5_000) -> list[dict[str, object]]:
    """Alerts of the file source's pipeline on ``frame``, fed ``batch`` rows at a time."""
    pipeline = Pipeline(profile, StreamSettings())
    alerts: list[dict[str, object]] = []
    for start in range(0, frame.height, batch):
        part = frame.slice(start, batch)
        offsets = np.arange(start, start + part.height)
        got, _ = pipeline.process_rows("t", 0, part, offsets)
        alerts += got
    return alerts


def first(alerts: list[dict[str, object]], type_: str, feature: str, detector: str) -> int:
    """The offset of the first alert of a kind."""
    offsets = [
        a["window"]["last_offset"]  # type: ignore[index]
        for a in alerts
        if (a["type"], a["feature"], a["detector"]) == (type_, feature, detector)
    ]
    assert offsets, [(a["type"], a["feature"], a["detector"]) for a in alerts]
    return int(min(offsets))  # type: ignore[call-overload]


def test_a_required_column_going_all_null_alerts_within_100_rows(clean_profile: Profile) -> None:
    """Its records are dead-lettered and its null share alerts within 100 records."""
    live = scenarios.make("column all null", 2).live.slice(150_000, 100_000)
    alerts = stream(live, clean_profile)
    at = first(alerts, "data_quality", "normal", "null_share")
    assert 50_000 <= at < 50_100
    quality = [a for a in alerts if a["type"] == "data_quality"]
    assert {a["feature"] for a in quality} == {"normal"}
    details = quality[0]["details"]
    assert details["measure"] == "null_share"  # type: ignore[index]
    assert details["reference_share"] == 0.0  # type: ignore[index]
    assert details["recent_share"] > 0  # type: ignore[index]


def test_null_share_rise_alerts_and_names_the_measure(clean_profile: Profile) -> None:
    """Nulls from 1 % to 10 % in an optional column: a null_share alert within 1,000 rows."""
    live = scenarios.make("nulls 1 % -> 10 %", 3).live.slice(100_000, 200_000)
    alerts = stream(live, clean_profile)
    at = first(alerts, "data_quality", "amount", "null_share")
    assert 100_000 <= at <= 101_000
    assert not [a for a in alerts if a["feature"] != "amount"]


def test_quality_alerts_do_not_depend_on_batch_cuts(clean_profile: Profile) -> None:
    """Dead letters interleaved with rows: the same alert ids for any batch size."""
    live = scenarios.make("column all null", 4).live.slice(190_000, 30_000)
    ids = [sorted(str(a["alert_id"]) for a in stream(live, clean_profile, b)) for b in (997, 5_000)]
    assert ids[0] == ids[1]
    assert ids[0]


def test_wrong_types_in_payloads_alert_on_the_field(clean_profile: Profile) -> None:
    """Kafka payloads whose 'count' field turns to text: type_error_share on 'count'."""
    pipeline = Pipeline(clean_profile, StreamSettings())
    rows = scenarios.make("stationary", 5).live.slice(0, 4_000).to_dicts()
    payloads = []
    for i, row in enumerate(rows):
        if i >= 2_000 and i % 4 == 0:
            row["count"] = "three"
        payloads.append(json.dumps(row).encode())
    alerts, dead = pipeline.process_payloads("t", 0, payloads, list(range(len(payloads))))
    assert len(dead) == 500
    assert {d.reason for d in dead} == {"wrong_type"}
    at = first(alerts, "data_quality", "count", "type_error_share")
    assert 2_000 <= at <= 2_100
    assert pipeline.counters.records == 4_000
    assert pipeline.counters.scored == 3_500


def test_new_category_alerts_as_unseen(clean_profile: Profile) -> None:
    """A brand-new category at 15 %: unseen_category_share within a few dozen rows."""
    live = scenarios.make("new category at 15 %", 6).live.slice(150_000, 100_000)
    at = first(stream(live, clean_profile), "data_quality", "city", "unseen_category_share")
    assert 50_000 <= at <= 50_200


@pytest.mark.parametrize(
    ("name", "feature", "target"),
    [
        ("mean +0.3 sd", "normal", 1_000),
        ("variance x1.5", "normal", 2_000),
        ("spread x1.25, median kept", "amount", 5_000),
        ("binary rate +30 %", "flag", 5_000),
        ("category share doubled", "city", 5_000),
    ],
)
def test_sequential_channels_catch_each_change(
    clean_profile: Profile, name: str, feature: str, target: int
) -> None:
    """The change is caught on its column within the target delay, nothing else fires."""
    live = scenarios.make(name, 7).live.slice(150_000, 100_000)
    alerts = stream(live, clean_profile)
    caught = [a["window"]["last_offset"] for a in alerts if a["feature"] == feature]
    assert caught
    assert 50_000 <= min(caught) <= 50_000 + target  # type: ignore[operator]
    # Besides, only the multivariate error (which every numeric feature feeds), after it.
    others = [a for a in alerts if a["feature"] != feature]
    assert {a["feature"] for a in others} <= {"reconstruction_error"}
    assert all(a["window"]["last_offset"] >= 50_000 for a in others)  # type: ignore[operator]


@pytest.mark.parametrize("variant", [0, 1])
def test_stationary_streams_raise_nothing(variant: int) -> None:
    """400k stationary rows of six mixed columns (two families of shapes): no alert at all."""
    scenario = scenarios.make("stationary", 20 + variant, variant=variant)
    profile = profile_frame(scenario.reference, source="reference")
    assert stream(scenario.live, profile, 20_000) == []


def test_run_source_alerts_on_an_all_null_column(tmp_path: Path, clean_profile: Profile) -> None:
    """Through the real CLI: `run --source` reports the null share and counts dead letters."""
    write_profile(clean_profile, tmp_path / "profile.parquet")
    scenarios.make("column all null", 9).live.slice(190_000, 20_000).write_parquet(
        tmp_path / "live.parquet"
    )
    out = tmp_path / "alerts.jsonl"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "stream_monitor",
            "run",
            "--profile",
            str(tmp_path / "profile.parquet"),
            "--source",
            str(tmp_path / "live.parquet"),
            "--alerts-out",
            str(out),
        ],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ},
    )
    assert done.returncode == 0, done.stderr
    alerts = [json.loads(line) for line in out.read_text().splitlines()]
    at = first(alerts, "data_quality", "normal", "null_share")
    assert 10_000 <= at < 10_100
    assert alerts[0]["schema_version"] == 3


def test_file_source_counts_every_record(tmp_path: Path, clean_profile: Profile) -> None:
    """Rows dead-lettered by the file source's field checks are counted, never lost."""
    live = scenarios.make("column all null", 10).live.slice(195_000, 10_000)
    path = tmp_path / "live.parquet"
    live.write_parquet(path)
    pipeline = Pipeline(clean_profile, StreamSettings())
    dead: MemorySink[DeadLetter] = MemorySink()
    alerts: MemorySink[dict[str, object]] = MemorySink()
    counters = run_file(pipeline, path, alerts, batch_size=3_000, dead_letters=dead)
    assert counters.records == 10_000
    assert counters.dead_lettered == 5_000 == len(dead.items) == dead.flushed
    assert alerts.flushed == len(alerts.items) == counters.alerts > 0
    assert counters.scored == 5_000
    assert counters.dead_letter_reasons == {"missing_field": 5_000}
