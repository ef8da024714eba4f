"""The false-alarm budget: stationary traffic of 20 mixed columns raises no alert at all.

The budget is at most 0.1 expected false alarms per 10M stationary records per monitor,
over every feature, channel, detector and partition. This test streams 1M records (10M with
STREAM_MONITOR_SOAK=1) over three partitions through the pipeline and expects none.
"""

from __future__ import annotations

import math
import os

import numpy as np
import polars as pl
import pytest

from stream_monitor import scenarios
from stream_monitor.detectors.cusum import threshold_for
from stream_monitor.engine.dataset import DatasetMonitor
from stream_monitor.profile.build import profile_frame
from stream_monitor.stream.pipeline import Pipeline
from stream_monitor.stream.settings import StreamSettings

RECORDS = 10_000_000 if os.environ.get("STREAM_MONITOR_SOAK") == "1" else 1_000_000
CHUNK = 60_000


def test_stationary_wide_traffic_raises_no_alert() -> None:
    """RECORDS stationary records of 20 mixed columns, 3 partitions: zero alerts, every
    record scored or counted."""
    rng = np.random.default_rng(2026)
    profile = profile_frame(scenarios.wide(rng, 200_000), source="reference")
    assert len(profile.columns) == 20
    assert profile.reconstruction is not None
    pipeline = Pipeline(profile, StreamSettings())
    alerts: list[dict[str, object]] = []
    sent = 0
    while sent < RECORDS:
        chunk = scenarios.wide(rng, CHUNK)
        third = CHUNK // 3
        for p in range(3):
            part = chunk.slice(p * third, third)
            offsets = np.arange(sent // 3, sent // 3 + part.height)
            got, dead = pipeline.process_rows("t", p, part, offsets)
            assert dead == []
            alerts += got
        sent += CHUNK
    assert pipeline.counters.scored == sent
    assert [(a["type"], a["feature"], a["detector"]) for a in alerts] == []


def test_every_rate_channel_shares_one_threshold() -> None:
    """The rate CUSUMs' threshold spends exactly the budget over all of them."""
    rng = np.random.default_rng(1)
    profile = profile_frame(scenarios.wide(rng, 50_000), source="reference")
    monitor = DatasetMonitor(profile)
    channels = len(monitor.quality.channels) + sum(len(m.shares) for m in monitor.columns.values())
    assert channels > 40
    assert monitor.rate_threshold == threshold_for(channels)
    # Ville's bound: channels x 1e7 records x e^-h = 0.1.
    assert channels * 1e7 * math.exp(-monitor.rate_threshold) == pytest.approx(0.1)
    assert isinstance(scenarios.wide(rng, 10), pl.DataFrame)
