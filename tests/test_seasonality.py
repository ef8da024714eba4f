"""Seasonal profiles: per-slot counts, their file format, and scoring records by their slot."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import polars as pl
import pyarrow.parquet as pq
import pytest

from stream_monitor import scenarios
from stream_monitor.config import ProfileSettings
from stream_monitor.profile.build import profile_frame
from stream_monitor.profile.model import NumericColumnProfile, Profile
from stream_monitor.profile.store import read_profile, write_profile
from stream_monitor.stream.pipeline import Pipeline
from stream_monitor.stream.settings import StreamSettings


def seasonal_profile(reference: pl.DataFrame, period: str | None = "daily") -> Profile:
    """A profile of ``reference`` (timestamp ``ts`` left out of the features)."""
    settings = ProfileSettings(
        exclude=("ts",), seasonality=period, timestamp="ts" if period else None
    )
    return profile_frame(reference, settings, source="reference")


def alerts_of(profile: Profile, live: pl.DataFrame) -> list[dict[str, object]]:
    """The stream's alerts over ``live``, 20k rows a batch."""
    pipeline = Pipeline(profile, StreamSettings())
    out: list[dict[str, object]] = []
    for start in range(0, live.height, 20_000):
        part = live.slice(start, 20_000)
        got, _ = pipeline.process_rows("t", 0, part, np.arange(start, start + part.height))
        out += got
    return out


def test_slot_counts_add_up_to_the_overall_counts() -> None:
    """Every value is counted once in its slot, in the column's own bins."""
    reference = scenarios.seasonal(1).reference
    profile = seasonal_profile(reference)
    assert profile.seasonality is not None
    counts = profile.seasonality.counts["load"]
    column = profile.column("load")
    assert isinstance(column, NumericColumnProfile)
    assert counts.shape == (24, column.counts.shape[0])
    np.testing.assert_array_equal(counts.sum(axis=0), column.counts)
    hours = reference["ts"].str.slice(11, 2).cast(pl.Int64).to_numpy()
    np.testing.assert_array_equal(counts.sum(axis=1), np.bincount(hours, minlength=24))
    # The cycle is in the counts: the 06:00 slot sits higher than the 18:00 one.
    mids = np.concatenate(
        [[column.edges[0]], (column.edges[1:] + column.edges[:-1]) / 2, [column.edges[-1]]]
    )
    mean_at = counts @ mids / counts.sum(axis=1)
    assert mean_at[6] > 50 + 8 > 50 - 8 > mean_at[18]


def test_seasonal_profile_round_trips_and_old_files_still_read(tmp_path: Path) -> None:
    """Format 2 keeps the slot counts bit for bit; a format-1 file reads without them."""
    profile = seasonal_profile(scenarios.seasonal(2).reference.slice(0, 30_000), "weekly")
    write_profile(profile, tmp_path / "p.parquet")
    back = read_profile(tmp_path / "p.parquet")
    assert back == profile
    assert back.seasonality == profile.seasonality
    assert back.seasonality is not None
    assert back.seasonality.slots == 168
    plain = seasonal_profile(scenarios.seasonal(2).reference.slice(0, 30_000), None)
    write_profile(plain, tmp_path / "v1.parquet")
    table = pq.read_table(tmp_path / "v1.parquet")
    meta = dict(table.schema.metadata)
    meta[b"stream_monitor.format_version"] = b"1"
    pq.write_table(table.replace_schema_metadata(meta), tmp_path / "v1.parquet")
    old = read_profile(tmp_path / "v1.parquet")
    assert old.seasonality is None
    assert old.columns == plain.columns


@pytest.mark.parametrize("seed", [3, 4])
def test_a_daily_cycle_the_reference_has_raises_nothing(seed: int) -> None:
    """400k records in time order over nine days: silent with seasons, loud without."""
    scenario = scenarios.seasonal(seed)
    assert alerts_of(seasonal_profile(scenario.reference), scenario.live) == []
    loud = alerts_of(seasonal_profile(scenario.reference, None), scenario.live)
    assert "load" in {a["feature"] for a in loud}
    assert {a["feature"] for a in loud} <= {"load", "reconstruction_error"}
    assert min(a["window"]["last_offset"] for a in loud) < 5_000  # type: ignore[index]


def test_a_shift_inside_the_cycle_is_still_caught() -> None:
    """+0.3 sd on top of the cycle from row 200,000: caught within 1,000 rows, nothing before."""
    scenario = scenarios.seasonal(5, shift_sd=0.3)
    alerts = alerts_of(seasonal_profile(scenario.reference), scenario.live)
    offsets = [a["window"]["last_offset"] for a in alerts]
    assert offsets
    assert 200_000 <= min(offsets) <= 201_000  # type: ignore[type-var, operator]
    assert {a["feature"] for a in alerts} == {"load"}


def test_profile_cli_builds_seasons_from_a_csv(tmp_path: Path) -> None:
    """`profile --seasonality weekly --timestamp ts` on a CSV writes 168 slots per column."""
    scenarios.seasonal(6).reference.slice(0, 50_000).write_csv(tmp_path / "ref.csv")
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "stream_monitor",
            "profile",
            "--data",
            str(tmp_path / "ref.csv"),
            "--out",
            str(tmp_path / "p.parquet"),
            "--seasonality",
            "weekly",
            "--timestamp",
            "ts",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "weekly seasons of ts" in done.stdout  # the summary, on stdout
    profile = read_profile(tmp_path / "p.parquet")
    assert profile.seasonality is not None
    slots = {k: v.shape[0] for k, v in profile.seasonality.counts.items()}
    assert slots == dict.fromkeys(profile.names, 168)


def test_seasonality_needs_a_timestamp() -> None:
    """A seasonality without its timestamp column is a configuration error naming it."""
    from stream_monitor.errors import ConfigError

    with pytest.raises(ConfigError, match="seasonality: needs a timestamp column"):
        ProfileSettings(seasonality="daily")
    with pytest.raises(ConfigError, match="must be daily or weekly"):
        ProfileSettings(seasonality="hourly", timestamp="ts")


@pytest.mark.parametrize(
    ("column", "message"),
    [("nope", "timestamp column 'nope' not found"), ("load", "'load' is Float64, not a time")],
)
def test_a_bad_timestamp_column_is_one_line(
    tmp_path: Path, column: str, message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """A timestamp column that is missing, or not a time, is a one-line error (exit 2)."""
    from stream_monitor.cli import main

    data = tmp_path / "ref.parquet"
    scenarios.seasonal(7).reference.slice(0, 5_000).write_parquet(data)
    args = ["profile", "--data", str(data), "--out", str(tmp_path / "p.parquet")]
    assert main([*args, "--seasonality", "daily", "--timestamp", column]) == 2
    err = capsys.readouterr().err
    assert message in err
    assert len(err.strip().splitlines()) == 1
    assert "Traceback" not in err


def test_the_timestamp_is_not_a_feature() -> None:
    """The seasonal timestamp is left out of the features, with the reason."""
    reference = scenarios.seasonal(8).reference.slice(0, 20_000)
    profile = profile_frame(reference, ProfileSettings(seasonality="daily", timestamp="ts"))
    assert "ts" not in profile.names
    assert profile.metadata.excluded["ts"].startswith("timestamp")
