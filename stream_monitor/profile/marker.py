"""Whether a file is a stored profile: a Parquet file whose key-value metadata carries the
profile's marker (``profile.store`` writes it). Polars reads the footer; pyarrow, which
reading the profile itself needs, is not imported to tell."""

from __future__ import annotations

from pathlib import Path

import polars as pl

__all__ = ["VERSION_KEY", "is_profile_file"]

#: The metadata key marking a profile (its value is the format version).
VERSION_KEY = "stream_monitor.format_version"
_SUFFIXES = (".parquet", ".pq")


def is_profile_file(path: str | Path) -> bool:
    """Whether ``path`` is a Parquet file carrying a profile's marker. A file that cannot be
    read is not one: reading it as data then says what is wrong with it."""
    file = Path(path)
    if file.suffix.lower() not in _SUFFIXES or not file.is_file():
        return False
    try:
        metadata = pl.read_parquet_metadata(file)
    except (pl.exceptions.PolarsError, OSError):
        return False
    return VERSION_KEY in metadata
