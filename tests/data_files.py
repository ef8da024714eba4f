"""Writing test data files: one frame to CSV, Parquet or NDJSON, by the path's suffix."""

from __future__ import annotations

from pathlib import Path

import polars as pl


def write_data(frame: pl.DataFrame, path: Path, row_group_size: int | None = None) -> Path:
    """Write ``frame`` to ``path`` in the format its suffix names; return ``path``."""
    suffix = path.suffix.lower()
    if suffix == ".csv":
        frame.write_csv(path)
    elif suffix in (".parquet", ".pq"):
        frame.write_parquet(path, row_group_size=row_group_size)
    else:
        frame.write_ndjson(path)
    return path
