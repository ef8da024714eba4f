"""Reading data files: formats by extension, projection, batches, and one-line errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl
import pytest
from data_files import write_data
from polars.testing import assert_frame_equal

from stream_monitor.errors import DataFileError
from stream_monitor.io import (
    ACCEPTED_EXTENSIONS,
    collect_columns,
    count_rows,
    csv_null_values,
    iter_batches,
    iter_file_batches,
    scan_data,
)


def _frame(n: int = 50) -> pl.DataFrame:
    rng = np.random.default_rng(7)
    return pl.DataFrame(
        {
            "x": rng.normal(size=n),
            "k": rng.integers(0, 1000, size=n),
            "s": [f"v{i % 3}" for i in range(n)],
            "b": [i % 2 == 0 for i in range(n)],
        }
    )


@pytest.mark.parametrize("suffix", [".csv", ".parquet", ".pq", ".ndjson", ".jsonl", ".json"])
def test_each_accepted_extension_reads_the_same_frame(tmp_path: Path, suffix: str) -> None:
    """Every accepted extension is read with its format and gives back the written frame."""
    frame = _frame()
    path = write_data(frame, tmp_path / f"data{suffix}")
    assert_frame_equal(scan_data(path).collect(), frame)


def test_extension_is_case_insensitive(tmp_path: Path) -> None:
    """An upper-case extension selects the same format as the lower-case one."""
    frame = _frame()
    path = tmp_path / "DATA.CSV"
    frame.write_csv(path)
    assert_frame_equal(scan_data(path).collect(), frame)


def test_unknown_extension_names_the_file_and_the_accepted_ones(tmp_path: Path) -> None:
    """An unknown extension is refused with the file's name and every accepted extension."""
    path = tmp_path / "data.xlsx"
    path.write_bytes(b"")
    with pytest.raises(DataFileError) as caught:
        scan_data(path)
    message = str(caught.value)
    assert message.startswith(f"{path}: unknown file extension '.xlsx'")
    assert all(ext in message for ext in ACCEPTED_EXTENSIONS)


def test_a_file_without_extension_is_refused(tmp_path: Path) -> None:
    """A file name without an extension is refused, naming the file."""
    path = tmp_path / "data"
    path.write_text("a\n1\n")
    with pytest.raises(DataFileError, match="no extension"):
        scan_data(path)


def test_missing_file_is_named(tmp_path: Path) -> None:
    """A missing file is a DataFileError naming it."""
    path = tmp_path / "missing.parquet"
    with pytest.raises(DataFileError, match=f"^{path}: no such file$"):
        scan_data(path)


def test_a_directory_is_not_a_data_file(tmp_path: Path) -> None:
    """A directory with a data extension is refused rather than read."""
    path = tmp_path / "dir.csv"
    path.mkdir()
    with pytest.raises(DataFileError, match="not a regular file"):
        scan_data(path)


def test_corrupt_parquet_is_a_one_line_error(tmp_path: Path) -> None:
    """A file with a Parquet extension that is not Parquet fails at once, in one line."""
    path = tmp_path / "bad.parquet"
    path.write_bytes(b"this is not parquet" * 10)
    with pytest.raises(DataFileError) as caught:
        scan_data(path)
    assert str(caught.value).startswith(f"{path}: cannot read: ")
    assert "\n" not in str(caught.value)


def test_empty_csv_file_is_reported_as_empty(tmp_path: Path) -> None:
    """A zero-byte CSV file is a DataFileError saying the file is empty."""
    path = tmp_path / "empty.csv"
    path.write_bytes(b"")
    with pytest.raises(DataFileError, match=f"^{path}: the file is empty$"):
        scan_data(path)


def test_bad_line_deep_in_a_csv_fails_when_read(tmp_path: Path) -> None:
    """A value that does not parse, past the rows used for type inference, is one line
    naming the file, the column, the row and the value."""
    path = tmp_path / "late.csv"
    path.write_text("a\n" + "1\n" * 20_000 + "oops\n")
    frame = scan_data(path)
    with pytest.raises(DataFileError) as caught:
        collect_columns(frame, ["a"], source=path)
    assert str(caught.value).startswith(f"{path}: column 'a' row 20001: cannot read 'oops' as ")
    assert "--null-values" in str(caught.value)
    assert "\n" not in str(caught.value)


def _unknown_at_15000(path: Path) -> Path:
    """A CSV file whose float column ``x`` holds ``unknown`` at data row 15,001."""
    x = np.random.default_rng(3).normal(size=20_000).astype(str).astype(object)
    x[15_000] = "unknown"
    pl.DataFrame({"x": x.tolist(), "k": range(20_000)}).write_csv(path)
    return path


def test_null_values_read_csv_tokens_as_null(tmp_path: Path) -> None:
    """Tokens named in ``null_values``, given to the call or by ``csv_null_values``, are
    read as nulls in every reader; without them the value is an error naming its row."""
    path = _unknown_at_15000(tmp_path / "unknown.csv")
    with pytest.raises(DataFileError, match=r"column 'x' row 15001: cannot read 'unknown'"):
        collect_columns(scan_data(path), ["x"], source=path)
    given = collect_columns(scan_data(path, null_values=["N/A", "unknown"]), ["x"], source=path)
    with csv_null_values(["unknown"]):
        ambient = collect_columns(scan_data(path), ["x"], source=path)
        batches = pl.concat(iter_file_batches(path, ["x"]))
    for frame in (given, ambient, batches):
        assert frame["x"].dtype == pl.Float64
        assert frame["x"].null_count() == 1
        assert frame["x"][15_000] is None


def test_broken_ndjson_fails_with_the_file_name(tmp_path: Path) -> None:
    """A truncated NDJSON record is a one-line DataFileError naming the file."""
    path = tmp_path / "broken.ndjson"
    path.write_text('{"a": 1}\n{"a": \n')
    with pytest.raises(DataFileError, match=f"^{path}: cannot read: "):
        collect_columns(scan_data(path), ["a"], source=path)


def test_collect_columns_returns_only_those_columns(tmp_path: Path) -> None:
    """``collect_columns`` returns exactly the requested columns, in the requested order."""
    frame = _frame()
    path = write_data(frame, tmp_path / "data.parquet")
    got = collect_columns(scan_data(path), ["s", "x"], source=path)
    assert_frame_equal(got, frame.select("s", "x"))


def test_count_rows(tmp_path: Path) -> None:
    """``count_rows`` counts the rows of CSV and Parquet files."""
    frame = _frame(123)
    for name in ("data.csv", "data.parquet"):
        path = write_data(frame, tmp_path / name)
        assert count_rows(scan_data(path), source=path) == 123


def test_parquet_batches_are_row_groups_in_file_order(tmp_path: Path) -> None:
    """A Parquet file is read one row group at a time, in order, with the expressions applied."""
    frame = _frame(1000)
    path = write_data(frame, tmp_path / "data.parquet", row_group_size=100)
    batches = list(iter_file_batches(path, ["x", pl.col("k").cast(pl.Float64)]))
    assert [b.height for b in batches] == [100] * 10
    expected = frame.select("x", pl.col("k").cast(pl.Float64))
    assert_frame_equal(pl.concat(batches), expected)


@pytest.mark.parametrize("suffix", [".csv", ".ndjson"])
def test_line_formats_stream_in_order(tmp_path: Path, suffix: str) -> None:
    """CSV and NDJSON files stream through Polars and give back every row in order."""
    frame = _frame(3000)
    path = write_data(frame, tmp_path / f"data{suffix}")
    got = pl.concat(list(iter_file_batches(path, ["s", "k"])))
    assert_frame_equal(got, frame.select("s", "k"))


def test_stopping_early_leaves_no_reader_behind(tmp_path: Path) -> None:
    """Leaving the batch loop early closes the reader, and the file can be read again."""
    frame = _frame(1000)
    path = write_data(frame, tmp_path / "data.parquet", row_group_size=100)
    for batch in iter_file_batches(path, ["x"]):
        assert batch.height == 100
        break
    assert sum(b.height for b in iter_file_batches(path, ["x"])) == 1000


def test_iter_batches_of_a_lazy_frame_keeps_order() -> None:
    """Batches of an in-memory LazyFrame come back complete and in order."""
    frame = _frame(5000)
    got = pl.concat(list(iter_batches(frame.lazy(), ["x", "b"], source="<frame>")))
    assert_frame_equal(got, frame.select("x", "b"))
