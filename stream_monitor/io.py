"""Reading data files as Polars LazyFrames, with one-line errors that name the file.

The format follows the file's extension (case-insensitive)::

    .csv                      CSV with a header row
    .parquet, .pq             Parquet
    .ndjson, .jsonl, .json    newline-delimited JSON, one object per line

Nothing is read until a query runs, and a query reads only the columns it selects. Any Polars
or OS error met while reading becomes a ``DataFileError`` whose message starts with the path.

With ``parse_dates=True`` a CSV column of ISO dates or datetimes is read as ``Date`` or
``Datetime``, the types Parquet stores them as, so that the drift jobs see the same columns in
either format. It is off by default: jobs that check text dates row by row (``validate-schema``)
or pass event times on as text (the stream's file source) read the text itself.

CSV files often spell a missing value with a word (``unknown``, ``N/A``, ``-``). Such tokens
are read as null when named in ``null_values`` (an empty field always is). Every function here
takes ``null_values``; left out, it is the value set by the innermost ``with
csv_null_values(...)`` block, which is how the command line applies ``--null-values`` to
whatever files a job reads without threading it through each job. A value that still does
not parse is a ``DataFileError`` naming the file, the column, the row and the value.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import TypeVar

import polars as pl

from stream_monitor.errors import DataFileError

__all__ = [
    "ACCEPTED_EXTENSIONS",
    "collect_columns",
    "count_rows",
    "csv_null_values",
    "iter_batches",
    "iter_file_batches",
    "reading",
    "scan_data",
    "write_atomic",
    "write_text_atomic",
]

# Type inference looks further than Polars' default of 100 rows, so that a column of integers
# that turns into floats after the first rows is read as floats instead of failing mid-file.
_INFER_SCHEMA_LENGTH = 10_000

# Rows per batch when Polars streams a file: large enough that per-batch overheads vanish,
# small enough to keep little of the file in memory.
_BATCH_ROWS = 262_144

_Scanner = Callable[[Path, bool, tuple[str, ...]], pl.LazyFrame]
_T = TypeVar("_T")

_NULL_VALUES: ContextVar[tuple[str, ...]] = ContextVar("null_values", default=())


@contextmanager
def csv_null_values(tokens: Sequence[str]) -> Iterator[None]:
    """Within the block, CSV files are read with ``tokens`` as nulls unless a call says
    otherwise.

    Examples
    --------
    >>> with csv_null_values(["unknown", "N/A"]):
    ...     _null_values(None)
    ('unknown', 'N/A')
    >>> _null_values(None)
    ()
    """
    reset = _NULL_VALUES.set(tuple(tokens))
    try:
        yield
    finally:
        _NULL_VALUES.reset(reset)


def _null_values(given: Sequence[str] | None) -> tuple[str, ...]:
    return _NULL_VALUES.get() if given is None else tuple(given)


def _scan_csv(path: Path, parse_dates: bool, null_values: tuple[str, ...]) -> pl.LazyFrame:
    return pl.scan_csv(
        path,
        infer_schema_length=_INFER_SCHEMA_LENGTH,
        try_parse_dates=parse_dates,
        null_values=list(null_values) or None,
    )


def _scan_parquet(path: Path, parse_dates: bool, null_values: tuple[str, ...]) -> pl.LazyFrame:
    return pl.scan_parquet(path)


def _scan_ndjson(path: Path, parse_dates: bool, null_values: tuple[str, ...]) -> pl.LazyFrame:
    # NDJSON has no date type and Polars' reader no date inference: dates stay text (the drift
    # jobs recognise text dates by their values, stream_monitor.roles).
    return pl.scan_ndjson(path, infer_schema_length=_INFER_SCHEMA_LENGTH)


_SCANNERS: dict[str, _Scanner] = {
    ".csv": _scan_csv,
    ".parquet": _scan_parquet,
    ".pq": _scan_parquet,
    ".ndjson": _scan_ndjson,
    ".jsonl": _scan_ndjson,
    ".json": _scan_ndjson,
}

ACCEPTED_EXTENSIONS: tuple[str, ...] = tuple(_SCANNERS)


def _reason(error: BaseException) -> str:
    """Return the first non-empty line of an error's message, or its type name."""
    for line in str(error).splitlines():
        if line.strip():
            return line.strip()
    return type(error).__name__


# Polars' message when a CSV field does not parse as the column's inferred type.
_UNPARSED = re.compile(
    r"could not parse `(?P<value>.*?)` as dtype `(?P<dtype>[^`]+)` at column '(?P<column>[^']+)'"
)


def _unparsed_value(source: str | Path, error: BaseException) -> str | None:
    """For a CSV field that did not parse: where it is, and what to do about it."""
    found = _UNPARSED.search(str(error))
    if found is None or Path(source).suffix.lower() != ".csv":
        return None
    value, column = found["value"], found["column"]
    where = ""
    try:  # the row: read that column as text and find the value (only on this error path)
        text = pl.scan_csv(source, infer_schema=False)
        rows = (
            text.select(pl.col(column))
            .with_row_index("row", offset=1)
            .filter(pl.col(column) == value)
            .select("row")
            .head(1)
            .collect()
        )
        if rows.height:
            where = f" row {rows.item()}"
    except (pl.exceptions.PolarsError, OSError):
        pass
    return (
        f"{source}: column {column!r}{where}: cannot read {value!r} as {found['dtype']}; "
        f"if it stands for a missing value, name it in --null-values (or input.null_values)"
    )


def _arrow_errors() -> tuple[type[Exception], ...]:
    """pyarrow's error class, if pyarrow was imported (it is left out of a job that does not
    read Parquet row groups with it: 30 ms of start-up); evaluated only when an error is."""
    arrow = sys.modules.get("pyarrow")
    return () if arrow is None else (arrow.ArrowException,)


@contextmanager
def reading(source: str | Path) -> Iterator[None]:
    """Turn a Polars or OS error raised in the block into a ``DataFileError`` naming ``source``."""
    try:
        yield
    except pl.exceptions.NoDataError as error:
        raise DataFileError(f"{source}: the file is empty") from error
    except Exception as error:
        if not isinstance(error, (pl.exceptions.PolarsError, OSError, *_arrow_errors())):
            raise
        message = _unparsed_value(source, error) or f"{source}: cannot read: {_reason(error)}"
        raise DataFileError(message) from error


def scan_data(
    path: str | Path, *, parse_dates: bool = False, null_values: Sequence[str] | None = None
) -> pl.LazyFrame:
    """Return a LazyFrame over a CSV, Parquet or NDJSON file, chosen by its extension.

    The schema is read here, so that a missing, corrupt or empty file fails at once.
    ``parse_dates`` reads a CSV file's ISO dates and datetimes as dates (see above);
    ``null_values``, CSV tokens read as null (None: those of ``csv_null_values``).

    Examples
    --------
    >>> scan_data("data.xlsx")
    Traceback (most recent call last):
    ...
    stream_monitor.errors.DataFileError: data.xlsx: unknown file extension '.xlsx'; expected one ...
    """
    file = Path(path)
    scanner = _SCANNERS.get(file.suffix.lower())
    if scanner is None:
        suffix = f"extension {file.suffix!r}" if file.suffix else "no extension"
        raise DataFileError(
            f"{path}: unknown file {suffix}; expected one of {', '.join(ACCEPTED_EXTENSIONS)}"
        )
    if not file.exists():
        raise DataFileError(f"{path}: no such file")
    if not file.is_file():
        raise DataFileError(f"{path}: not a regular file")
    with reading(path):
        frame = scanner(file, parse_dates, _null_values(null_values))
        frame.collect_schema()
    return frame


def count_rows(frame: pl.LazyFrame, *, source: str | Path) -> int:
    """Return the number of rows of ``frame`` (Parquet answers from its footer)."""
    with reading(source):
        return int(frame.select(pl.len()).collect().item())


def collect_columns(
    frame: pl.LazyFrame, columns: Sequence[str], *, source: str | Path
) -> pl.DataFrame:
    """Read only ``columns`` of ``frame`` into memory."""
    with reading(source):
        return frame.select(columns).collect()


def iter_batches(
    frame: pl.LazyFrame, columns: Sequence[pl.Expr | str], *, source: str | Path
) -> Iterator[pl.DataFrame]:
    """Yield ``frame.select(columns)`` as DataFrames of consecutive rows, in order.

    Polars' streaming engine reads ahead on its own threads, and only the selected columns
    are read. It may read far ahead of the caller; ``iter_file_batches`` bounds that for
    Parquet files.
    """
    with reading(source):
        yield from frame.select(columns).collect_batches(
            chunk_size=_BATCH_ROWS, maintain_order=True
        )


def iter_file_batches(
    path: str | Path,
    columns: Sequence[pl.Expr | str],
    *,
    categorical: Sequence[str] = (),
    parse_dates: bool = False,
    null_values: Sequence[str] | None = None,
) -> Iterator[pl.DataFrame]:
    """Yield the file's rows in order as DataFrames of ``columns``, reading only what they use.

    A Parquet file is read one row group at a time with pyarrow, the next row group being
    decoded on a background thread while the caller works on the current one: memory holds
    at most two row groups of the selected columns. The string columns named in
    ``categorical`` come as Polars categoricals straight from Parquet's dictionary pages,
    which spares building every string. Other formats stream through Polars, reading a CSV
    file's dates and null tokens as ``scan_data`` does with ``parse_dates`` and
    ``null_values``.
    """
    file = Path(path)
    if _SCANNERS.get(file.suffix.lower()) is not _scan_parquet:
        frame = scan_data(path, parse_dates=parse_dates, null_values=null_values)
        yield from iter_batches(frame, columns, source=path)
        return
    exprs = [pl.col(c) if isinstance(c, str) else c for c in columns]
    names = list(dict.fromkeys(name for e in exprs for name in e.meta.root_names()))
    import pyarrow.parquet as pq

    with reading(path):
        parquet = pq.ParquetFile(file, read_dictionary=[c for c in categorical if c in names])
        groups = (
            parquet.read_row_group(i, columns=names, use_threads=True)
            for i in range(parquet.num_row_groups)
        )
        for table in _read_ahead(groups):
            yield pl.DataFrame(table).select(exprs)


def _read_ahead(items: Iterator[_T]) -> Iterator[_T]:
    """Yield ``items``, computing the next one on a background thread meanwhile."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        pending = pool.submit(next, items, None)
        while (item := pending.result()) is not None:
            pending = pool.submit(next, items, None)
            yield item


def write_atomic(path: str | Path, write: Callable[[Path], object], what: str) -> None:
    """Call ``write(partial)`` to write a file next to ``path``, then move it onto ``path``:
    a reader sees the old file or the new one, never part of it. ``what`` names the file
    in the ``DataFileError`` raised when it cannot be written."""
    target = Path(path)
    partial = target.with_name(f".{target.name}.{os.getpid()}.partial")
    try:
        write(partial)
        os.replace(partial, target)
    except OSError as error:
        partial.unlink(missing_ok=True)
        raise DataFileError(
            f"{path}: cannot write the {what}: {error.strerror or error}"
        ) from error


def write_text_atomic(path: str | Path, text: str, what: str) -> None:
    """Write ``text`` to ``path`` with ``write_atomic``.

    >>> write_text_atomic("/no/such/dir/report.json", "{}", "JSON report")
    Traceback (most recent call last):
    ...
    stream_monitor.errors.DataFileError: /no/such/dir/report.json: cannot write the JSON report: ...
    """
    write_atomic(path, lambda partial: partial.write_text(text, encoding="utf-8"), what)
