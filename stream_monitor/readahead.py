"""Reading the current file's numeric columns while ``check-drift`` loads its code.

A ``check-drift`` process spends its first half second importing Numba, the compiled
kernels and the rest, on one core; the first thing it needs after that is the current
file's numeric columns (the multivariate drift reads them together, each column's
comparison takes its own from them). Polars reads Parquet without holding the GIL, so the
command line starts that read first (``started``), and it runs on the other core while the
imports go on. Opening the file as data (``stream_monitor._inputs.open_data``) then
``claim``\\s the read, and the comparisons ``take`` its columns from it.

What is read ahead is what the job would read anyway: the numeric columns of a Parquet file
that the reference Parquet file has too, when they fit in ``BUDGET_BYTES``. A read that
fails hands nothing over: the job reads the columns itself, and reports what is wrong as it
always does. A read is claimed only by the same file, unchanged since (path, size, change
time), and dropped when the command ends, claimed or not.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator, Sequence
from concurrent.futures import Future
from contextlib import contextmanager
from pathlib import Path

import polars as pl

__all__ = ["BUDGET_BYTES", "ReadAhead", "claim", "started"]

#: The most memory a read ahead may take (8 bytes a value). The imports it overlaps last
#: about half a second, in which Polars reads 300-500 MB of Parquet on this project's
#: 2-core machines: a larger read would only hold more memory for longer. (It costs
#: ``multivariate: false`` memory: that job reads one current column at a time otherwise.)
BUDGET_BYTES = 256 << 20
_PARQUET = (".parquet", ".pq")


class ReadAhead:
    """Columns of a Parquet file read on a thread of their own; each handed over once."""

    def __init__(self, path: Path, columns: Sequence[str]) -> None:
        self.columns = tuple(columns)
        frame: Future[pl.DataFrame] = Future()
        self._frame: Future[pl.DataFrame] | None = frame
        self._left = set(self.columns)
        self._lock = threading.Lock()
        thread = threading.Thread(
            target=self._read, args=(path, frame), name="stream-monitor-read-ahead", daemon=True
        )
        thread.start()

    def _read(self, path: Path, frame: Future[pl.DataFrame]) -> None:
        try:
            read = pl.scan_parquet(path).select(self.columns).collect()
        except Exception as error:  # the job's own read reports it
            frame.set_exception(error)
        else:
            frame.set_result(read)

    def take(self, names: Sequence[str]) -> pl.DataFrame | None:
        """The columns ``names`` (waiting for the read), each handed over once; None when
        one of them was not read ahead, or already taken, or the read failed."""
        with self._lock:
            future = self._frame
            if future is None or not set(names) <= self._left:
                return None
            self._left -= set(names)
            if not self._left:
                self._frame = None  # let go of the frame once every column is handed over
        try:
            frame = future.result()
        except Exception:
            return None
        return frame.select(names)


_Identity = tuple[str, int, int]
_pending: dict[_Identity, ReadAhead] = {}
_pending_lock = threading.Lock()


def _identity(path: str | os.PathLike[str]) -> _Identity | None:
    try:
        stat = os.stat(path)
        return (os.path.realpath(path), stat.st_size, stat.st_mtime_ns)
    except OSError:
        return None


def _numeric_columns(current: Path, reference: Path) -> list[str] | None:
    """The numeric columns of ``current`` that ``reference`` has too (None: either is not
    Parquet, is a profile, or the columns would not fit ``BUDGET_BYTES``)."""
    from stream_monitor.profile.marker import is_profile_file

    if not all(p.suffix.lower() in _PARQUET and p.is_file() for p in (current, reference)):
        return None
    if is_profile_file(reference):
        return None
    try:
        shared = set(pl.read_parquet_schema(reference))
        schema = pl.read_parquet_schema(current)
        rows = pl.scan_parquet(current).select(pl.len()).collect().item()
    except (pl.exceptions.PolarsError, OSError):
        return None  # the job reports what is wrong with the files
    names = [name for name, dtype in schema.items() if dtype.is_numeric() and name in shared]
    return names if names and rows * len(names) * 8 <= BUDGET_BYTES else None


@contextmanager
def started(current: Path, reference: Path) -> Iterator[None]:
    """Start reading ``current``'s numeric columns ahead, for the block's job to claim; what
    is left unclaimed is dropped when the block ends."""
    identity = _identity(current)
    columns = _numeric_columns(current, reference) if identity is not None else None
    if identity is None or columns is None:
        yield
        return
    with _pending_lock:
        _pending[identity] = ReadAhead(current, columns)
    try:
        yield
    finally:
        with _pending_lock:
            _pending.pop(identity, None)


def claim(path: str | os.PathLike[str]) -> ReadAhead | None:
    """The read started ahead for this very file, unchanged since; None if there is none."""
    if not _pending:
        return None
    identity = _identity(path)
    with _pending_lock:
        return None if identity is None else _pending.pop(identity, None)
