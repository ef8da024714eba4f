"""Columns that describe rows rather than measure them: identifiers and timestamps.

An identifier changes with every row and a timestamp moves forward with time, so both "drift"
between any two data sets without anything having gone wrong. ``profile`` and
``check-drift`` leave them out of the comparison by default, and say which and why:

- **timestamp**: a ``Date`` or ``Datetime`` column, or a text column whose non-null values
  all read as dates or datetimes (NDJSON has no date type; checked on the first
  ``TEXT_DATE_SAMPLE`` non-null values);
- **identifier**: an integer or text column with at least ``ID_MIN_ROWS`` non-null values,
  of which at least ``ID_UNIQUE_SHARE`` are distinct.

A column the user gave a role, a kind or a method to is never guessed about: naming a column
says it is meant to be compared.

>>> frame = pl.DataFrame({
...     "id": range(2000), "when": ["2024-05-01 12:00:00"] * 2000,
...     "group": [i % 7 for i in range(2000)], "x": [i / 3 for i in range(2000)]})
>>> for name, why in detect_roles(frame.lazy(), source="mem").items():
...     print(f"{name}: {why}")
id: identifier: 100.0% of its 2,000 values are distinct
when: timestamp: its values are text dates or datetimes
"""

from __future__ import annotations

from collections.abc import Collection, Mapping

import polars as pl

from stream_monitor.errors import ColumnError
from stream_monitor.io import reading

__all__ = [
    "ID_MIN_ROWS",
    "ID_UNIQUE_SHARE",
    "ROLES",
    "TEXT_DATE_SAMPLE",
    "check_excluded",
    "detect_roles",
    "is_identifier",
]

#: An identifier has at least this many non-null values ...
ID_MIN_ROWS = 1000
#: ... of which at least this share are distinct. A continuous measure stored as an integer
#: (income in cents) can pass this too; naming it in ``kinds`` or ``columns`` keeps it.
ID_UNIQUE_SHARE = 0.95
#: The roles found; each reason given starts with one of them and a colon.
ROLES = ("identifier", "timestamp")
#: Text values read to decide whether a text column holds dates.
TEXT_DATE_SAMPLE = 1000


def is_identifier(n_values: int, n_distinct: int) -> bool:
    """Whether ``n_values`` non-null values with ``n_distinct`` distinct ones look like ids.

    >>> is_identifier(1000, 950), is_identifier(1000, 949), is_identifier(999, 999)
    (True, False, False)
    """
    return n_values >= ID_MIN_ROWS and n_distinct >= ID_UNIQUE_SHARE * n_values


def _is_id_type(dtype: pl.DataType) -> bool:
    return dtype.is_integer() or isinstance(dtype, pl.String | pl.Categorical)


def _text_dates(values: pl.Series) -> bool:
    """Whether every value of a non-empty text series reads as a date or a datetime, in one
    format Polars infers from the values."""
    if not values.len():
        return False
    try:
        parsed = values.str.to_datetime(strict=False)
    except pl.exceptions.PolarsError:  # no date format fits the first value
        return False
    return parsed.null_count() == 0


def detect_roles(frame: pl.LazyFrame, *, source: str, skip: Collection[str] = ()) -> dict[str, str]:
    """The identifier and timestamp columns of ``frame``, each with why, in column order.

    Columns in ``skip`` (those with a role, kind or method given by the user, or excluded
    already) are not examined. One query counts the distinct values of the integer and text
    columns; one more per text column reads its first non-null values.
    """
    with reading(source):
        schema = frame.collect_schema()
    found: dict[str, str] = {}
    ids: list[str] = []
    texts: list[str] = []
    for name, dtype in schema.items():
        if name in skip:
            continue
        if isinstance(dtype, pl.Date | pl.Datetime):
            found[name] = f"timestamp: its type is {dtype}"
        elif _is_id_type(dtype):
            ids.append(name)
            if dtype == pl.String:
                texts.append(name)
    if ids:
        exprs = [pl.col(name).count().alias(f"n:{name}") for name in ids]
        exprs += [pl.col(name).drop_nulls().n_unique().alias(f"u:{name}") for name in ids]
        with reading(source):
            counts = frame.select(exprs).collect().row(0, named=True)
            heads = {
                name: frame.select(pl.col(name).drop_nulls().head(TEXT_DATE_SAMPLE))
                .collect()
                .get_column(name)
                for name in texts
            }
        for name in ids:
            if name in heads and _text_dates(heads[name]):
                found[name] = "timestamp: its values are text dates or datetimes"
            elif is_identifier(counts[f"n:{name}"], counts[f"u:{name}"]):
                n, u = counts[f"n:{name}"], counts[f"u:{name}"]
                found[name] = f"identifier: {u / n:.1%} of its {n:,} values are distinct"
    return {name: found[name] for name in schema if name in found}


def check_excluded(
    excluded: Collection[str], columns: Mapping[str, object] | Collection[str], source: str
) -> None:
    """Raise ``ColumnError`` naming the first excluded name that is not a column of
    ``source``."""
    for name in excluded:
        if name not in columns:
            raise ColumnError(f"{source}: excluded column {name!r} not found")
