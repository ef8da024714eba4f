"""Writing and reading a profile as one Parquet file.

The file has one row per profiled column, in source order; arrays are list columns, and
fields that do not apply to a column's kind are null. The metadata is Parquet key-value
metadata under keys starting with ``stream_monitor.``; ``stream_monitor.format_version`` marks
the file as a profile. ``docs/profile-format.md`` describes the layout. Floats are stored as
IEEE doubles, so a profile reads back bit for bit.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from stream_monitor.errors import DataFileError, ProfileFormatError
from stream_monitor.io import write_atomic
from stream_monitor.profile.marker import VERSION_KEY
from stream_monitor.profile.model import (
    PROFILE_FORMAT_VERSION,
    CategoricalColumnProfile,
    ColumnProfile,
    NumericColumnProfile,
    Profile,
    ProfileMetadata,
)
from stream_monitor.profile.multivariate import Reconstruction
from stream_monitor.profile.seasonal import PERIODS, Seasonality

__all__ = ["SCHEMA", "read_profile", "write_profile"]

_KEY = "stream_monitor."

SCHEMA = pa.schema(
    [
        ("name", pa.string()),
        ("kind", pa.string()),
        ("role", pa.string()),
        ("dtype", pa.string()),
        ("count", pa.int64()),
        ("null_count", pa.int64()),
        # numeric columns
        ("nan_count", pa.int64()),
        ("pos_inf_count", pa.int64()),
        ("neg_inf_count", pa.int64()),
        ("min", pa.float64()),
        ("max", pa.float64()),
        ("mean", pa.float64()),
        ("std", pa.float64()),
        ("edges", pa.list_(pa.float64())),
        ("counts", pa.list_(pa.int64())),
        ("quantile_probs", pa.list_(pa.float64())),
        ("quantiles", pa.list_(pa.float64())),
        ("score_bin_of_fine", pa.list_(pa.int64())),
        # categorical and boolean columns
        ("n_distinct", pa.int64()),
        ("categories", pa.list_(pa.string())),
        ("category_counts", pa.list_(pa.int64())),
        ("other_count", pa.int64()),
    ]
)
#: Format 2's optional column: a seasonal profile's per-slot counts, slot by slot, each the
#: length of the column's ``counts`` (categorical: ``category_counts`` then "other").
SLOT_COUNTS = pa.field("slot_counts", pa.list_(pa.int64()))

_NUMERIC_FIELDS = (
    "nan_count",
    "pos_inf_count",
    "neg_inf_count",
    "min",
    "max",
    "mean",
    "std",
    "edges",
    "counts",
    "quantile_probs",
    "quantiles",
    "score_bin_of_fine",
)
_CATEGORICAL_FIELDS = ("n_distinct", "categories", "category_counts", "other_count")
_SETTINGS = ("bins", "sketch_bins", "top_k", "quantile_sample", "quantile_sample_rows", "seed")


def _row(column: ColumnProfile) -> dict[str, Any]:
    row: dict[str, Any] = dict.fromkeys(SCHEMA.names)
    row.update(
        name=column.name,
        kind=column.kind,
        role=column.role,
        dtype=column.dtype,
        count=column.count,
        null_count=column.null_count,
    )
    fields = _NUMERIC_FIELDS if column.kind == "numeric" else _CATEGORICAL_FIELDS
    for name in fields:
        value = getattr(column, name)
        if isinstance(value, np.ndarray):
            value = value.tolist()
        row[name] = list(value) if isinstance(value, tuple) else value
    return row


def _metadata(meta: ProfileMetadata) -> dict[str, str]:
    return {
        VERSION_KEY: str(meta.format_version),
        _KEY + "created_at": meta.created_at,
        _KEY + "source": meta.source,
        _KEY + "row_count": str(meta.row_count),
        _KEY + "settings": json.dumps({name: getattr(meta, name) for name in _SETTINGS}),
        _KEY + "version": meta.stream_monitor_version,
        _KEY + "excluded": json.dumps(dict(meta.excluded)),
    }


def write_profile(profile: Profile, path: str | Path) -> None:
    """Write ``profile`` to the Parquet file ``path``, replacing it atomically."""
    table = pa.Table.from_pylist([_row(c) for c in profile.columns], schema=SCHEMA)
    metadata = _metadata(profile.metadata)
    season = profile.seasonality
    if season is not None:
        flat = [season.counts[c.name].ravel().tolist() for c in profile.columns]
        table = table.append_column(SLOT_COUNTS, pa.array(flat, type=SLOT_COUNTS.type))
        metadata[_KEY + "seasonality"] = json.dumps(
            {"period": season.period, "timestamp": season.timestamp}
        )
    fitted = profile.reconstruction
    if fitted is not None:
        metadata[_KEY + "reconstruction"] = json.dumps(
            {
                "features": list(fitted.features),
                "mean": fitted.mean.tolist(),
                "scale": fitted.scale.tolist(),
                "components": fitted.components.tolist(),
                "residual": fitted.residual.tolist(),
                "error": _row(fitted.error),
            }
        )
    table = table.replace_schema_metadata(metadata)
    write_atomic(path, lambda partial: pq.write_table(table, partial), "profile")


def _read_columns(file: Path, columns: list[str]) -> pa.Table:
    """Some columns of a Parquet file. ``ParquetFile`` rather than ``pq.read_table``: the
    latter imports ``pyarrow.dataset``, which imports pandas when it is installed (0.6 s
    of a monitor's start-up, for a file of a few kilobytes)."""
    with pq.ParquetFile(file) as parquet:
        return parquet.read(columns=columns)


def _not_a_profile(path: str | Path, why: str = "") -> ProfileFormatError:
    return ProfileFormatError(f"{path}: not a stream-monitor profile{why}")


def read_profile(path: str | Path) -> Profile:
    """Read a profile written by ``write_profile``."""
    file = Path(path)
    if not file.is_file():
        raise DataFileError(f"{path}: no such profile file")
    try:
        schema = pq.read_schema(file)
    except (pa.ArrowException, OSError) as error:
        raise _not_a_profile(path) from error
    meta = {k.decode(): v.decode() for k, v in (schema.metadata or {}).items()}
    raw_version = meta.get(VERSION_KEY)
    if raw_version is None or not raw_version.isdigit():
        raise _not_a_profile(path)
    version = int(raw_version)
    if version > PROFILE_FORMAT_VERSION:
        raise ProfileFormatError(
            f"{path}: profile format version {version} is newer than version "
            f"{PROFILE_FORMAT_VERSION}, the newest this stream-monitor reads; upgrade it"
        )
    missing = [name for name in SCHEMA.names if name not in schema.names]
    if missing:
        raise _not_a_profile(path, f" (no column {missing[0]!r})")
    try:
        table = _read_columns(file, SCHEMA.names)
        columns = tuple(_column(row) for row in table.to_pylist())
        settings = json.loads(meta[_KEY + "settings"])
        metadata = ProfileMetadata(
            format_version=version,
            created_at=meta[_KEY + "created_at"],
            source=meta[_KEY + "source"],
            row_count=int(meta[_KEY + "row_count"]),
            stream_monitor_version=meta[_KEY + "version"],
            excluded=json.loads(meta[_KEY + "excluded"]),
            **{name: int(settings[name]) for name in _SETTINGS},
        )
        season = None
        if _KEY + "seasonality" in meta:
            spec = json.loads(meta[_KEY + "seasonality"])
            flat = _read_columns(file, [SLOT_COUNTS.name]).column(0).to_pylist()
            counts = {
                c.name: np.array(f, dtype=np.int64).reshape(PERIODS[spec["period"]], -1)
                for c, f in zip(columns, flat, strict=True)
            }
            season = Seasonality(spec["period"], spec["timestamp"], counts)
        fitted = None
        if _KEY + "reconstruction" in meta:
            spec = json.loads(meta[_KEY + "reconstruction"])
            error_column = _column(spec["error"])
            if not isinstance(error_column, NumericColumnProfile):
                raise ValueError("the reconstruction error is not a numeric column")
            arrays = {
                k: np.array(spec[k], dtype=np.float64)
                for k in ("mean", "scale", "components", "residual")
            }
            fitted = Reconstruction(tuple(spec["features"]), error=error_column, **arrays)
        return Profile(
            columns=columns, metadata=metadata, seasonality=season, reconstruction=fitted
        )
    except (pa.ArrowException, OSError, KeyError, TypeError, ValueError) as error:
        raise ProfileFormatError(f"{path}: corrupt stream-monitor profile: {error}") from error


def _column(row: dict[str, Any]) -> ColumnProfile:
    common = {name: row[name] for name in ("name", "role", "dtype", "count", "null_count")}
    if row["kind"] == "numeric":
        return NumericColumnProfile(**common, **{name: row[name] for name in _NUMERIC_FIELDS})
    if row["kind"] in ("categorical", "boolean"):
        return CategoricalColumnProfile(
            **common, kind=row["kind"], **{name: row[name] for name in _CATEGORICAL_FIELDS}
        )
    raise ValueError(f"column {row['name']!r} has unknown kind {row['kind']!r}")
