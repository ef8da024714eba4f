"""Identifier and timestamp columns: found in every file format, excluded from ``profile`` and
``check-drift`` by default and listed with why, and ``--exclude`` for any other column."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from data_files import write_data

from stream_monitor.batch.drift import Data, check_drift
from stream_monitor.batch.settings import DriftSettings
from stream_monitor.cli import EXIT_OK, EXIT_USAGE, main
from stream_monitor.errors import ColumnError
from stream_monitor.io import scan_data
from stream_monitor.profile import build_profile, read_profile, write_profile
from stream_monitor.roles import detect_roles

ROWS = 3000


def _frame(seed: int, rows: int = ROWS) -> pl.DataFrame:
    """Rows with an integer id, a text id, an event time, a day, and three features."""
    rng = np.random.default_rng(seed)
    start = dt.datetime(2024, 5, 1) + dt.timedelta(days=seed)
    return pl.DataFrame(
        {
            "id": np.arange(seed * rows, (seed + 1) * rows, dtype=np.int64),
            "request": [f"req-{seed}-{i:06d}" for i in range(rows)],
            "ts": [start + dt.timedelta(seconds=7 * i) for i in range(rows)],
            "day": [(start + dt.timedelta(days=i % 3)).date() for i in range(rows)],
            "x": rng.normal(0, 1, rows),
            "n": rng.integers(0, 40, rows),
            "region": rng.choice(["north", "south", "east"], rows),
        }
    )


EXPECTED_EXCLUDED = ["id", "request", "ts", "day"]


@pytest.mark.parametrize("suffix", [".parquet", ".csv", ".ndjson"])
def test_every_format_gives_the_same_features(tmp_path: Path, suffix: str) -> None:
    """Parquet, CSV and NDJSON of the same rows profile the same features and exclude the
    same identifier and timestamp columns, with the reason's kind."""
    profile = build_profile(write_data(_frame(0), tmp_path / f"ref{suffix}"))
    assert profile.names == ("x", "n", "region")
    excluded = profile.metadata.excluded
    assert list(excluded) == EXPECTED_EXCLUDED
    assert excluded["id"] == "identifier: 100.0% of its 3,000 values are distinct"
    assert excluded["request"] == "identifier: 100.0% of its 3,000 values are distinct"
    assert excluded["ts"].startswith("timestamp: ")
    assert excluded["day"].startswith("timestamp: ")


def test_csv_dates_are_read_as_parquet_stores_them(tmp_path: Path) -> None:
    """With parse_dates a CSV file's datetimes and dates come back with Parquet's types; by
    default they stay text."""
    frame = _frame(0, rows=5)
    csv = write_data(frame, tmp_path / "d.csv")
    parquet = write_data(frame, tmp_path / "d.parquet")
    parsed = scan_data(csv, parse_dates=True).collect_schema()
    assert parsed["ts"] == pl.Datetime("us") == scan_data(parquet).collect_schema()["ts"]
    assert parsed["day"] == pl.Date
    assert scan_data(csv).collect_schema()["ts"] == pl.String


def test_identifier_needs_enough_rows_and_distinct_values() -> None:
    """An integer or text column is an identifier from 1000 non-null values of which 95%
    are distinct; fewer rows, fewer distinct values or a float column are features."""
    frame = pl.DataFrame(
        {
            "unique_999": [*range(999), None],
            "share_95": [i if i < 950 else 0 for i in range(1000)],
            "share_94": [i if i < 940 else 0 for i in range(1000)],
            "text_95": [f"k{i if i < 951 else 0}" for i in range(1000)],
            "float_unique": [i / 7 for i in range(1000)],
        }
    )
    found = detect_roles(frame.lazy(), source="mem")
    # 0..949 then 0 again: 950 distinct of 1000, the bound itself; the text column has 951.
    assert found == {
        "share_95": "identifier: 95.0% of its 1,000 values are distinct",
        "text_95": "identifier: 95.1% of its 1,000 values are distinct",
    }


def test_text_dates_need_every_sampled_value_to_parse() -> None:
    """A text column is a timestamp only when all its non-null values read as dates."""
    frame = pl.DataFrame(
        {
            "iso": ["2024-05-01T10:00:00", None, "2024-05-02T11:30:00"],
            "mixed": ["2024-05-01", "soon", "2024-05-03"],
            "words": ["a", "b", "c"],
        }
    )
    assert detect_roles(frame.lazy(), source="mem") == {
        "iso": "timestamp: its values are text dates or datetimes"
    }


def test_named_columns_are_never_guessed(tmp_path: Path) -> None:
    """A column given a kind, a method or a role is compared even if it looks like an id."""
    ref, cur = _frame(0), _frame(1)
    settings = DriftSettings(kinds={"n": "numeric", "id": "numeric"}, target="request")
    result = check_drift(Data(ref.lazy(), "ref"), Data(cur.lazy(), "cur"), settings)
    assert [f.name for f in result.features] == ["id", "x", "n", "region"]
    assert result.label is not None
    assert result.label.name == "request"
    assert list(result.excluded) == ["ts", "day"]


def _check_drift(tmp_path: Path, *extra: str) -> tuple[int, dict[str, object]]:
    ref = write_data(_frame(0), tmp_path / "ref.csv")
    cur = write_data(_frame(1), tmp_path / "cur.ndjson")
    out = tmp_path / "report.json"
    code = main(
        [
            "check-drift",
            "--reference_data_path",
            str(ref),
            "--current_data_path",
            str(cur),
            "--report_path",
            str(tmp_path / "report.html"),
            "--json_path",
            str(out),
            *extra,
        ]
    )
    return code, json.loads(out.read_text()) if out.exists() else {}


def test_check_drift_lists_excluded_columns_with_why(tmp_path: Path) -> None:
    """check-drift of a CSV reference against NDJSON compares only the features, and the
    report and the page list the excluded columns with their reasons."""
    code, report = _check_drift(tmp_path, "--exclude", "n")
    assert code == EXIT_OK
    assert list(report["features"]) == ["x", "region"]  # type: ignore[call-overload]
    excluded = report["excluded"]
    assert isinstance(excluded, dict)
    assert list(excluded) == ["id", "request", "ts", "day", "n"]
    assert excluded["n"] == "excluded by configuration"
    assert excluded["id"] == "identifier: 100.0% of its 3,000 values are distinct"
    assert excluded["ts"] == "timestamp: its type is Datetime(time_unit='us', time_zone=None)"
    page = (tmp_path / "report.html").read_text()
    assert "<li><code>ts</code>: timestamp: its type is Datetime(" in page


def test_check_drift_with_a_profile_lists_the_profile_exclusions(tmp_path: Path) -> None:
    """Against a profile, the profile's excluded columns are the report's."""
    profile = tmp_path / "ref.profile.parquet"
    write_profile(build_profile(write_data(_frame(0), tmp_path / "ref.parquet")), profile)
    cur = write_data(_frame(1), tmp_path / "cur.parquet")
    code = main(
        [
            "check-drift",
            f"--reference_data_path={profile}",
            f"--current_data_path={cur}",
            f"--report_path={tmp_path / 'r.html'}",
            f"--json_path={tmp_path / 'r.json'}",
        ]
    )
    assert code == EXIT_OK
    report = json.loads((tmp_path / "r.json").read_text())
    assert list(report["features"]) == ["x", "n", "region"]
    assert list(report["excluded"]) == EXPECTED_EXCLUDED


def test_unknown_excluded_column_is_one_line_and_exit_2(tmp_path: Path) -> None:
    """``--exclude`` of a name that is no column fails in one line naming it, through the
    installed command line, for check-drift and profile alike."""
    ref = write_data(_frame(0, rows=10), tmp_path / "ref.parquet")
    runs = {
        "check-drift": [
            f"--reference_data_path={ref}",
            f"--current_data_path={ref}",
            f"--report_path={tmp_path / 'r.html'}",
        ],
        "profile": ["--data", str(ref), "--out", str(tmp_path / "p.parquet")],
    }
    for command, argv in runs.items():
        done = subprocess.run(
            [sys.executable, "-m", "stream_monitor", command, *argv, "--exclude", "nope"],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert done.returncode == EXIT_USAGE
        lines = done.stderr.strip().splitlines()
        assert len(lines) == 1, done.stderr
        assert lines[0].startswith(f"stream-monitor {command}: error: {ref}: excluded column")
        assert "'nope' not found" in lines[0]
        assert "Traceback" not in done.stderr


def test_excluded_name_check_comes_before_reading() -> None:
    """The name check raises ColumnError from the settings alone."""
    ref = Data(_frame(0, rows=10).lazy(), "ref.parquet")
    with pytest.raises(ColumnError, match=r"^ref\.parquet: excluded column 'nope' not found$"):
        check_drift(ref, ref, DriftSettings(exclude=("x", "nope")))


def test_profile_flag_adds_to_the_config_exclusions(tmp_path: Path) -> None:
    """``profile --exclude`` adds to the config's exclude list."""
    data = write_data(_frame(0), tmp_path / "d.parquet")
    config = tmp_path / "c.yaml"
    config.write_text("profile:\n  exclude: [x]\n")
    out = tmp_path / "p.parquet"
    argv = ["--data", str(data), "--out", str(out), "--config", str(config), "--exclude", "n"]
    code = main(["profile", *argv])
    assert code == EXIT_OK
    profile = read_profile(out)
    assert profile.names == ("region",)
    assert profile.metadata.excluded["x"] == "excluded by configuration"
    assert profile.metadata.excluded["n"] == "excluded by configuration"
