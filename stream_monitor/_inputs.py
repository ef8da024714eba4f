"""What the Python API accepts as data: a path, or a table held in memory.

A path (``str`` or ``os.PathLike``) names a CSV, Parquet or NDJSON file, read exactly as the
command line reads it (``stream_monitor.io``). A table is a Polars DataFrame or LazyFrame, a
pyarrow Table or RecordBatch, or a pandas DataFrame. pandas is not a dependency: an object
can only be a pandas DataFrame when pandas has been imported already, so it is recognised
through ``sys.modules`` and converted with ``polars.from_pandas`` (through pyarrow), and this
module never imports pandas itself. Tables are named in errors and reports by their role
and type, e.g. ``<current pandas.DataFrame>``.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import polars as pl

from stream_monitor.batch.drift import Data
from stream_monitor.io import scan_data
from stream_monitor.profile.marker import is_profile_file
from stream_monitor.profile.model import Profile
from stream_monitor.readahead import claim

__all__ = [
    "is_path",
    "open_data",
    "open_reference",
    "to_lazy",
]

_PARQUET = (".parquet", ".pq")


def is_path(data: object) -> bool:
    """Whether ``data`` names a file (rather than holding a table)."""
    return isinstance(data, str | os.PathLike)


def _arrow_table(data: object) -> bool:
    pyarrow = sys.modules.get("pyarrow")  # a table of it means it was imported
    return pyarrow is not None and isinstance(data, pyarrow.Table | pyarrow.RecordBatch)


def _pandas_frame(data: object) -> bool:
    pandas = sys.modules.get("pandas")
    return pandas is not None and isinstance(data, pandas.DataFrame)


def to_lazy(data: object, role: str) -> tuple[pl.LazyFrame, str]:
    """A table held in memory as a LazyFrame, and the name it goes by (``role`` and type).

    >>> frame, name = to_lazy(pl.DataFrame({"x": [1.0]}), "current")
    >>> name, frame.collect().height
    ('<current polars.DataFrame>', 1)
    >>> to_lazy([1, 2], "current")
    Traceback (most recent call last):
    ...
    TypeError: current: expected a file path, a Polars DataFrame or LazyFrame, ... got list
    """
    if isinstance(data, pl.LazyFrame):
        return data, f"<{role} polars.LazyFrame>"
    if isinstance(data, pl.DataFrame):
        return data.lazy(), f"<{role} polars.DataFrame>"
    if _arrow_table(data):
        frame = pl.from_arrow(data)
        assert isinstance(frame, pl.DataFrame)  # a table, not a single array
        return frame.lazy(), f"<{role} pyarrow.{type(data).__name__}>"
    if _pandas_frame(data):
        return pl.from_pandas(data).lazy(), f"<{role} pandas.DataFrame>"
    raise TypeError(
        f"{role}: expected a file path, a Polars DataFrame or LazyFrame, a pyarrow Table or "
        f"a pandas DataFrame, got {type(data).__name__}"
    )


def open_data(path: str | Path) -> Data:
    """A data file to compare, read lazily (dates parsed, as ``check-drift`` reads them),
    with the columns read ahead for it if the command line started that (``readahead``)."""
    frame = scan_data(path, parse_dates=True)
    columnar = Path(path).suffix.lower() in _PARQUET
    return Data(frame, str(path), columnar=columnar, ahead=claim(path) if columnar else None)


def open_reference(path: str | Path) -> Data | Profile:
    """The reference: a profile if ``path`` is a Parquet file with a profile's marker, else
    a data file."""
    if is_profile_file(path):
        from stream_monitor.profile.store import read_profile

        return read_profile(path)
    return open_data(path)
