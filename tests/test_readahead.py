"""Reading the current file's numeric columns ahead (``stream_monitor.readahead``): what is
read, that each column is handed over once and only to the same unchanged file, that a
failed read hands nothing over, and that ``check-drift`` reports the same with it."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from stream_monitor import readahead
from stream_monitor._api import check_drift
from stream_monitor._inputs import open_data
from stream_monitor.cli import main
from stream_monitor.profile import profile_frame, write_profile


@pytest.fixture
def files(tmp_path: Path) -> tuple[Path, Path]:
    rng = np.random.default_rng(5)

    def frame(shift: float) -> pl.DataFrame:
        n = 3_000
        return pl.DataFrame(
            {
                "a": rng.normal(shift, 1.0, n),
                "b": rng.integers(0, 9, n),
                "c": rng.normal(0.0, 1.0 + shift, n),
                "only_current": rng.normal(size=n),
                "city": rng.choice(["x", "y", "z"], n),
            }
        )

    reference, current = tmp_path / "ref.parquet", tmp_path / "cur.parquet"
    frame(0.0).drop("only_current").write_parquet(reference)
    frame(0.4).write_parquet(current)
    return reference, current


def test_the_numeric_columns_both_files_have_are_read_and_each_taken_once(
    files: tuple[Path, Path],
) -> None:
    reference, current = files
    with readahead.started(current, reference):
        ahead = readahead.claim(current)
        assert ahead is not None
        assert ahead.columns == ("a", "b", "c")
        assert readahead.claim(current) is None  # claimed once
        expected = pl.read_parquet(current)
        taken = ahead.take(["c", "a"])
        assert taken is not None
        assert taken.equals(expected.select("c", "a"))
        assert ahead.take(["a"]) is None  # already handed over
        assert ahead.take(["city"]) is None  # not numeric: not read ahead
        b = ahead.take(["b"])
        assert b is not None
        assert b.equals(expected.select("b"))
        assert ahead.take(["b"]) is None


def test_nothing_is_read_ahead_for_a_profile_a_csv_file_or_beyond_the_budget(
    files: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    reference, current = files
    profile = tmp_path / "profile.parquet"
    write_profile(profile_frame(pl.read_parquet(reference)), profile)
    csv = tmp_path / "cur.csv"
    pl.read_parquet(current).write_csv(csv)
    for ref, cur in ((profile, current), (reference, csv), (csv, current)):
        with readahead.started(cur, ref):
            assert readahead.claim(cur) is None
    # 3,000 rows of 3 columns are 72,000 bytes.
    monkeypatch.setattr(readahead, "BUDGET_BYTES", 71_999)
    with readahead.started(current, reference):
        assert readahead.claim(current) is None
    monkeypatch.setattr(readahead, "BUDGET_BYTES", 72_000)
    with readahead.started(current, reference):
        assert readahead.claim(current) is not None


def test_a_read_is_left_to_the_same_unchanged_file_and_dropped_unclaimed(
    files: tuple[Path, Path], tmp_path: Path
) -> None:
    reference, current = files
    with readahead.started(current, reference):
        assert readahead.claim(reference) is None  # another file
        assert readahead.claim(tmp_path / "missing.parquet") is None
        stat = current.stat()
        os.utime(current, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
        assert readahead.claim(current) is None  # changed since
    with readahead.started(current, reference):
        pass
    assert readahead.claim(current) is None  # the block ended unclaimed: dropped
    assert not readahead._pending


def test_a_failed_read_hands_nothing_over(files: tuple[Path, Path], tmp_path: Path) -> None:
    # The file changed between the plan and the read: cut short, or gone.
    _, current = files
    cut = tmp_path / "cut.parquet"
    cut.write_bytes(current.read_bytes()[: current.stat().st_size // 2])
    for path in (cut, tmp_path / "gone.parquet"):
        assert readahead.ReadAhead(path, ["a"]).take(["a"]) is None
    whole = readahead.ReadAhead(current, ["a"]).take(["a"])
    assert whole is not None
    assert whole.equals(pl.read_parquet(current, columns=["a"]))


def test_check_drift_reports_the_same_with_the_columns_read_ahead(
    files: tuple[Path, Path], tmp_path: Path
) -> None:
    reference, current = files
    out = tmp_path / "cli.json"
    taken: list[tuple[str, ...]] = []
    original = readahead.ReadAhead.take

    def take(self: readahead.ReadAhead, names: list[str]) -> pl.DataFrame | None:
        found = original(self, names)
        if found is not None:
            taken.append(tuple(names))
        return found

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(readahead.ReadAhead, "take", take)
        code = main(
            [
                "check-drift",
                "--reference-data-path",
                str(reference),
                "--current-data-path",
                str(current),
                "--json-path",
                str(out),
            ]
        )
    assert code == 0
    # The multivariate drift took the numeric features together.
    assert taken == [("a", "b", "c")]
    assert open_data(current).ahead is None  # nothing left over
    report = json.loads(out.read_text())
    direct = check_drift(reference, current).to_dict()
    for document in (report, direct):
        document.pop("generated_at")
    assert report == direct
