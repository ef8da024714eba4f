"""Validate a data file against a column schema, and infer a schema from reference data.

The schema is a YAML document (``docs/schema-validation.md``, ``config/schema.example.yaml``)::

    schema_version: 1
    columns:
      age: {dtype: float, nullable: false, min: 18, max: 120}
      region: {dtype: string, nullable: true, allowed: [north, south, east, west]}
    strict: false

``validate`` runs every check as a Polars expression over a lazy scan that reads only the
columns the schema names: one streaming pass counts the violations of every check, then, for
the checks that failed only, one early-stopping query each fetches the first example row
numbers (``with_row_index`` + ``filter`` + ``head``). The report never holds data values, only
counts and 0-based row numbers, so it can be logged and shipped anywhere.

Checks, named after the schema key they enforce:

==================  ======  ============================================================
check               level   fails when
==================  ======  ============================================================
missing_column      column  a ``required`` column is absent
unexpected_column   column  with ``strict: true``, the data has a column the schema lacks
dtype               column  the column's type does not fit ``dtype`` (row level for text
                            read against ``date``/``datetime``: rows that do not parse)
nullable            row     ``nullable: false`` and the value is null (or NaN)
min / max           row     the value is below ``min`` / above ``max``
allowed             row     the value is not one of ``allowed``
unique              row     ``unique: true`` and the value repeats an earlier row's
==================  ======  ============================================================

A row-level violation counts the rows that fail; a column-level one counts 1.

The job takes no reference, so it cannot judge whether a share *grew* (``check-drift`` and
``monitor-predictions`` do, against a reference); instead every present column's data-quality
shares are reported as numbers (``ColumnQuality``), counted in the same pass, so that they can
be tracked from run to run: ``null`` (null, or NaN in a float column), ``infinite``,
``type_error`` (non-null values that do not read as the declared dtype), ``out_of_range``
(outside ``min``/``max``) and ``not_allowed`` (outside ``allowed``). A measure the schema does
not declare is None.

Examples
--------
>>> import polars as pl
>>> schema = parse_schema(
...     {"columns": {"age": {"dtype": "int", "min": 18}, "zip": {"dtype": "string"}}},
...     source="inline",
... )
>>> report = validate(pl.LazyFrame({"age": [30, 12, 45, 7]}), schema, source="inline")
>>> report.valid, report.rows
(False, 4)
>>> [(v.check, v.column, v.count, v.examples) for v in report.violations]
[('min', 'age', 2, (1, 3)), ('missing_column', 'zip', 1, ())]
"""

from __future__ import annotations

import datetime as dt
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, Final

import polars as pl
import yaml

from stream_monitor.config import read_yaml
from stream_monitor.errors import ConfigError
from stream_monitor.io import reading, write_text_atomic

__all__ = [
    "CHECKS",
    "DTYPES",
    "INFER_MAX_ALLOWED",
    "QUALITY_MEASURES",
    "REPORT_VERSION",
    "SCHEMA_VERSION",
    "ColumnQuality",
    "ColumnSchema",
    "Schema",
    "Share",
    "ValidationReport",
    "Violation",
    "describe",
    "dtype_name",
    "infer_header",
    "infer_schema",
    "parse_schema",
    "read_schema",
    "schema_to_yaml",
    "schema_validation_schema",
    "validate",
]

SCHEMA_VERSION: Final = 1
"""Version of the schema YAML format this build reads and writes."""

REPORT_VERSION: Final = 2
"""Version of the JSON report (``stream_monitor/schemas/schema_validation.schema.json``);
version 2 added ``data_quality``."""

DTYPES: Final = ("int", "float", "string", "boolean", "datetime", "date")
CHECKS: Final = (
    "missing_column",
    "unexpected_column",
    "dtype",
    "nullable",
    "min",
    "max",
    "allowed",
    "unique",
)

QUALITY_MEASURES: Final = ("null", "infinite", "type_error", "out_of_range", "not_allowed")
"""The data-quality shares reported per column, in report order."""

INFER_MAX_ALLOWED: Final = 50
"""A text column with at most this many distinct values gets an inferred ``allowed`` list."""

_TOP_KEYS: Final = ("schema_version", "columns", "strict")
_COLUMN_KEYS: Final = ("dtype", "nullable", "required", "min", "max", "allowed", "unique")
_RANGE_DTYPES: Final = ("int", "float")
_ALLOWED_DTYPES: Final = ("string", "int")

# Name of the row-number column added for the example queries; chosen not to clash with data.
_ROW: Final = "__stream_monitor_row__"


@dataclass(frozen=True)
class ColumnSchema:
    """What one column must satisfy; ``None`` means "not checked"."""

    name: str
    dtype: str | None = None
    nullable: bool = False
    required: bool = True
    min: int | float | None = None
    max: int | float | None = None
    allowed: tuple[str | int, ...] | None = None
    unique: bool = False

    def to_dict(self) -> dict[str, Any]:
        """The column's YAML mapping, without the keys left at their "not checked" value."""
        out: dict[str, Any] = {}
        if self.dtype is not None:
            out["dtype"] = self.dtype
        out["nullable"] = self.nullable
        out["required"] = self.required
        if self.min is not None:
            out["min"] = self.min
        if self.max is not None:
            out["max"] = self.max
        if self.allowed is not None:
            out["allowed"] = list(self.allowed)
        if self.unique:
            out["unique"] = True
        return out


@dataclass(frozen=True)
class Schema:
    """The columns a data file must have, in order, and whether others are allowed."""

    columns: tuple[ColumnSchema, ...]
    strict: bool = False

    def to_dict(self) -> dict[str, Any]:
        """The schema as the YAML document ``read_schema`` reads."""
        return {
            "schema_version": SCHEMA_VERSION,
            "columns": {c.name: c.to_dict() for c in self.columns},
            "strict": self.strict,
        }


@dataclass(frozen=True)
class Violation:
    """One failed check: how many rows (1 for a column-level check) and the first row numbers."""

    column: str
    check: str
    count: int
    examples: tuple[int, ...]
    detail: str

    def to_dict(self) -> dict[str, Any]:
        """The violation as it appears in the JSON report."""
        return {
            "column": self.column,
            "check": self.check,
            "count": self.count,
            "examples": list(self.examples),
            "detail": self.detail,
        }


@dataclass(frozen=True)
class Share:
    """``count`` of ``total`` values failed a data-quality measure."""

    count: int
    total: int

    @property
    def share(self) -> float | None:
        """``count / total``; None when there is no value to count."""
        return self.count / self.total if self.total else None

    def to_dict(self) -> dict[str, Any]:
        """The share as it appears in the JSON report."""
        return {"count": self.count, "total": self.total, "share": self.share}


@dataclass(frozen=True)
class ColumnQuality:
    """A present column's data-quality shares; None where the schema declares nothing to
    measure against.

    ``null``: null values (and NaN in a float column) among the rows. ``infinite``: ±inf
    among the rows (read as text too), for a declared ``int`` or ``float``. ``type_error``:
    among the rows, the non-null values that do not read as the declared ``dtype`` (text
    parsed as a number, a boolean, a date or a datetime; a float that is not a whole number
    against ``int``; any value of another type). ``out_of_range``: among the values read as
    the dtype (NaN aside), those below ``min`` or above ``max``. ``not_allowed``: among the
    values read as the dtype, those outside ``allowed``.
    """

    null: Share
    infinite: Share | None = None
    type_error: Share | None = None
    out_of_range: Share | None = None
    not_allowed: Share | None = None

    def to_dict(self) -> dict[str, Any]:
        """Each measure by name, null when not measured."""
        measures = {name: getattr(self, name) for name in QUALITY_MEASURES}
        return {name: None if m is None else m.to_dict() for name, m in measures.items()}


@dataclass(frozen=True)
class ValidationReport:
    """The outcome of ``validate``: rows read, columns checked, every violation, and each
    checked column's data-quality shares."""

    rows: int
    checked_columns: tuple[str, ...]
    violations: tuple[Violation, ...] = field(default=())
    quality: Mapping[str, ColumnQuality] = field(default_factory=dict)
    #: What was validated against what, as the JSON report names them.
    data: str = ""
    schema: str = ""

    @property
    def valid(self) -> bool:
        """True when no check failed."""
        return not self.violations

    def to_dict(self, *, data: str | None = None, schema: str | None = None) -> dict[str, Any]:
        """The versioned JSON report (``schema_validation.schema.json``); ``data`` and
        ``schema`` replace the names the report holds."""
        return {
            "schema_version": REPORT_VERSION,
            "data": self.data if data is None else data,
            "schema": self.schema if schema is None else schema,
            "valid": self.valid,
            "rows": self.rows,
            "checked_columns": list(self.checked_columns),
            "violations": [v.to_dict() for v in self.violations],
            "data_quality": {name: q.to_dict() for name, q in self.quality.items()},
        }

    def save_json(self, path: str | Path) -> None:
        """Write the JSON report to ``path``, replacing it atomically."""
        write_text_atomic(path, json.dumps(self.to_dict(), indent=2) + "\n", "JSON report")


def schema_validation_schema() -> dict[str, Any]:
    """The JSON Schema every ``ValidationReport.to_dict`` document validates against."""
    text = resources.files("stream_monitor.schemas").joinpath("schema_validation.schema.json")
    schema: dict[str, Any] = json.loads(text.read_text(encoding="utf-8"))
    return schema


# -- reading and writing the schema file ---------------------------------------------------


def read_schema(path: str | Path) -> Schema:
    """Read and check the schema YAML file at ``path``; errors name the file and the key."""
    return parse_schema(read_yaml(Path(path), "schema file"), source=str(path))


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _flag(value: object, label: str) -> bool:
    if not isinstance(value, bool):
        raise ConfigError(f"{label}: must be true or false, got {value!r}")
    return value


def _bound(value: object, label: str) -> int | float:
    if not _is_number(value) or (isinstance(value, float) and math.isnan(value)):
        raise ConfigError(f"{label}: must be a number, got {value!r}")
    assert isinstance(value, int | float)
    return value


def _allowed(value: object, dtype: str, label: str) -> tuple[str | int, ...]:
    if not isinstance(value, list) or not value:
        raise ConfigError(f"{label}: must be a non-empty list of values, got {value!r}")
    out: list[str | int] = []
    for item in value:
        if dtype == "string" and not isinstance(item, str):
            # YAML reads yes/no/on/off as booleans and 01 as a number: say how to keep text.
            raise ConfigError(f"{label}: {item!r} is not text; quote it, e.g. '{item}'")
        if dtype == "int" and (isinstance(item, bool) or not isinstance(item, int)):
            raise ConfigError(f"{label}: {item!r} is not an integer")
        assert isinstance(item, str | int)
        out.append(item)
    return tuple(out)


def _column(name: object, spec: object, label: str) -> ColumnSchema:
    if not isinstance(name, str) or not name:
        raise ConfigError(f"{label}: column name {name!r} must be text; quote it")
    label = f"{label}.{name}"
    if spec is None:
        spec = {}
    if not isinstance(spec, dict):
        raise ConfigError(f"{label}: expected a mapping of checks, got {spec!r}")
    for key in spec:
        if key not in _COLUMN_KEYS:
            raise ConfigError(
                f"{label}.{key}: unknown key; expected one of {', '.join(_COLUMN_KEYS)}"
            )
    dtype = spec.get("dtype")
    if dtype is not None and dtype not in DTYPES:
        raise ConfigError(
            f"{label}.dtype: unknown dtype {dtype!r}; expected one of {', '.join(DTYPES)}"
        )
    low = None if spec.get("min") is None else _bound(spec["min"], f"{label}.min")
    high = None if spec.get("max") is None else _bound(spec["max"], f"{label}.max")
    for key, bound in (("min", low), ("max", high)):
        if bound is not None and dtype not in _RANGE_DTYPES:
            raise ConfigError(f"{label}.{key}: needs dtype int or float")
    if low is not None and high is not None and low > high:
        raise ConfigError(f"{label}: min {low} is greater than max {high}")
    allowed = None
    if spec.get("allowed") is not None:
        if dtype not in _ALLOWED_DTYPES:
            raise ConfigError(f"{label}.allowed: needs dtype string or int")
        assert dtype is not None
        allowed = _allowed(spec["allowed"], dtype, f"{label}.allowed")
    return ColumnSchema(
        name=name,
        dtype=dtype,
        nullable=_flag(spec.get("nullable", False), f"{label}.nullable"),
        required=_flag(spec.get("required", True), f"{label}.required"),
        min=low,
        max=high,
        allowed=allowed,
        unique=_flag(spec.get("unique", False), f"{label}.unique"),
    )


def parse_schema(document: object, *, source: str) -> Schema:
    """Check a schema document already read from YAML; errors start with ``source``."""
    if not isinstance(document, dict):
        raise ConfigError(f"{source}: expected a mapping with a columns: key")
    for key in document:
        if key not in _TOP_KEYS:
            raise ConfigError(
                f"{source}: {key}: unknown key; expected one of {', '.join(_TOP_KEYS)}"
            )
    version = document.get("schema_version", SCHEMA_VERSION)
    if version != SCHEMA_VERSION or isinstance(version, bool):
        raise ConfigError(
            f"{source}: schema_version: this build reads version {SCHEMA_VERSION}, got {version!r}"
        )
    columns = document.get("columns")
    if not isinstance(columns, dict) or not columns:
        raise ConfigError(f"{source}: columns: expected a mapping of column names to checks")
    return Schema(
        columns=tuple(_column(name, spec, f"{source}: columns") for name, spec in columns.items()),
        strict=_flag(document.get("strict", False), f"{source}: strict"),
    )


def schema_to_yaml(schema: Schema, *, header: str = "") -> str:
    """The schema as YAML, one flow mapping per column, after ``header`` as ``#`` comments."""
    lines = [f"# {line}".rstrip() for line in header.splitlines()]
    lines.append(f"schema_version: {SCHEMA_VERSION}")
    lines.append("columns:")
    for column in schema.columns:
        dumped = yaml.safe_dump(
            {column.name: column.to_dict()},
            default_flow_style=True,
            sort_keys=False,
            allow_unicode=True,
            width=math.inf,
        ).strip()
        # safe_dump wraps a top-level flow mapping in braces: drop them to nest it.
        lines.append(f"  {dumped[1:-1]}")
    lines.append(f"strict: {'true' if schema.strict else 'false'}")
    return "\n".join(lines) + "\n"


# -- dtypes ------------------------------------------------------------------------------


def dtype_name(dtype: pl.DataType) -> str | None:
    """The schema dtype of a Polars dtype, or None for types the schema has no name for.

    >>> dtype_name(pl.UInt8()), dtype_name(pl.Categorical()), dtype_name(pl.List(pl.Int64))
    ('int', 'string', None)
    """
    if dtype.is_integer():
        return "int"
    if dtype.is_float() or isinstance(dtype, pl.Decimal):
        return "float"
    if isinstance(dtype, pl.String | pl.Categorical | pl.Enum):
        return "string"
    if isinstance(dtype, pl.Boolean):
        return "boolean"
    if isinstance(dtype, pl.Datetime):
        return "datetime"
    if isinstance(dtype, pl.Date):
        return "date"
    return None


def _fits(expected: str, actual: pl.DataType) -> bool:
    """Whether data of type ``actual`` passes ``dtype: expected`` (integers pass float)."""
    if isinstance(actual, pl.Null):  # an entirely null column has no value of a wrong type
        return True
    found = dtype_name(actual)
    return found == expected or (expected == "float" and found == "int")


def _parses_as(expected: str, actual: pl.DataType) -> bool:
    """Text read against a date or datetime column is checked row by row: CSV has no dates."""
    return expected in ("date", "datetime") and isinstance(actual, pl.String)


def _type_ok(expected: str | None, actual: pl.DataType) -> bool:
    """Whether the column passes the column-level dtype check (row-level parsing aside)."""
    return expected is None or _fits(expected, actual) or _parses_as(expected, actual)


# -- validation ----------------------------------------------------------------------------


@dataclass(frozen=True)
class _Check:
    column: str
    check: str
    mask: pl.Expr  # true on the rows that fail
    detail: str  # with {n} for "1 value" or "<count> values"


def _row_checks(column: ColumnSchema, actual: pl.DataType) -> list[_Check]:
    """The row-level checks of one present column, each a boolean expression."""
    name = column.name
    col = pl.col(name)
    is_float = actual.is_float()
    checks: list[_Check] = []
    if column.dtype is not None and _parses_as(column.dtype, actual):
        parsed = (
            col.str.to_date(strict=False)
            if column.dtype == "date"
            else col.str.to_datetime(strict=False)
        )
        checks.append(
            _Check(
                name,
                "dtype",
                col.is_not_null() & parsed.is_null(),
                f"{{n}} not parseable as {column.dtype}",
            )
        )
    if not column.nullable:
        missing = col.is_null() | col.is_nan() if is_float else col.is_null()
        what = "null or NaN" if is_float else "null"
        checks.append(_Check(name, "nullable", missing, f"{{n}} {what}; nullable: false"))
    if not _type_ok(column.dtype, actual):  # the dtype violation says it all
        return checks
    if column.min is not None:
        checks.append(_Check(name, "min", col < column.min, f"{{n}} below min {column.min}"))
    if column.max is not None:
        above = col > column.max
        if is_float:  # Polars orders NaN above every number; NaN is the nullable check's
            above = above & col.is_not_nan()
        checks.append(_Check(name, "max", above, f"{{n}} above max {column.max}"))
    if column.allowed is not None:
        values = col.cast(pl.String) if isinstance(actual, pl.Categorical | pl.Enum) else col
        size = len(column.allowed)
        checks.append(
            _Check(
                name,
                "allowed",
                values.is_in(list(column.allowed)).not_(),
                f"{{n}} outside the {size} allowed",
            )
        )
    if column.unique:
        checks.append(
            _Check(
                name,
                "unique",
                col.is_first_distinct().not_() & col.is_not_null(),
                "{n} repeating an earlier row's; unique: true",
            )
        )
    return checks


def _typed(expected: str, name: str, actual: pl.DataType) -> pl.Expr | None:
    """The column read as the dtype ``expected``, null where a value does not read as it;
    None when no value of type ``actual`` does."""
    col = pl.col(name)
    if _fits(expected, actual):
        return col
    if isinstance(actual, pl.String):
        text = col.str.strip_chars()
        if expected == "int":
            return text.cast(pl.Int64, strict=False)
        if expected == "float":
            return text.cast(pl.Float64, strict=False)
        if expected == "boolean":
            return text.str.to_lowercase().replace_strict(
                {"true": True, "false": False}, default=None, return_dtype=pl.Boolean
            )
        if expected == "date":
            return col.str.to_date(strict=False)
        if expected == "datetime":
            return col.str.to_datetime(strict=False)
    if expected == "int" and actual.is_float():
        return pl.when(col.is_finite() & (col == col.floor())).then(col)
    return None


def _quality_exprs(column: ColumnSchema, actual: pl.DataType) -> dict[str, tuple[pl.Expr, pl.Expr]]:
    """Per measure, (failing count, total) as expressions over a present column."""
    col = pl.col(column.name)
    missing = col.is_null() | col.is_nan() if actual.is_float() else col.is_null()
    rows = pl.len()
    exprs = {"null": (missing.sum(), rows)}
    if column.dtype is None:
        return exprs
    typed = _typed(column.dtype, column.name, actual)
    none = (pl.lit(0), pl.lit(0))
    numeric = column.dtype in _RANGE_DTYPES
    if numeric:
        if actual.is_float():
            infinite = col.is_infinite()
        elif isinstance(actual, pl.String):
            infinite = col.str.strip_chars().cast(pl.Float64, strict=False).is_infinite()
        else:
            infinite = pl.lit(False)
        exprs["infinite"] = (infinite.fill_null(False).sum(), rows)
    if typed is None:  # every value is a type error; there is nothing to range-check
        exprs["type_error"] = (missing.not_().sum(), rows)
        if column.min is not None or column.max is not None:
            exprs["out_of_range"] = none
        if column.allowed is not None:
            exprs["not_allowed"] = none
        return exprs
    exprs["type_error"] = ((missing.not_() & typed.is_null()).sum(), rows)
    read = typed.is_not_null()
    if numeric:
        # Text reading "NaN" is a float, so no type error, but not a value to range-check.
        read = read & typed.cast(pl.Float64).is_not_nan()
    if column.min is not None or column.max is not None:
        outside = pl.lit(False)
        if column.min is not None:
            outside = outside | (typed < column.min)
        if column.max is not None:
            outside = outside | (typed > column.max)
        exprs["out_of_range"] = ((read & outside).sum(), read.sum())
    if column.allowed is not None:
        values = typed.cast(pl.String) if isinstance(actual, pl.Categorical | pl.Enum) else typed
        unknown = values.is_in(list(column.allowed)).not_()
        exprs["not_allowed"] = ((read & unknown).sum(), read.sum())
    return exprs


def validate(
    frame: pl.LazyFrame, schema: Schema, *, source: str | Path, max_examples: int = 5
) -> ValidationReport:
    """Check ``frame`` against ``schema``; errors reading it become ``DataFileError`` on ``source``.

    Each violation carries up to ``max_examples`` 0-based row numbers, in row order.
    """
    if max_examples < 0:
        raise ValueError(f"max_examples must be non-negative, got {max_examples}")
    with reading(source):
        data_schema = frame.collect_schema()
    found: dict[str, pl.DataType] = dict(data_schema.items())
    listed = {c.name for c in schema.columns}
    column_level: dict[str, list[Violation]] = {}
    row_checks: list[_Check] = []
    checked: list[str] = []
    measures: dict[str, dict[str, tuple[pl.Expr, pl.Expr]]] = {}
    for column in schema.columns:
        actual = found.get(column.name)
        if actual is None:
            if column.required:
                column_level.setdefault(column.name, []).append(
                    Violation(column.name, "missing_column", 1, (), "required column is missing")
                )
            continue
        checked.append(column.name)
        if not _type_ok(column.dtype, actual):
            found_name = dtype_name(actual) or str(actual)
            detail = f"expected {column.dtype}, found {found_name}"
            column_level.setdefault(column.name, []).append(
                Violation(column.name, "dtype", 1, (), detail)
            )
        row_checks.extend(_row_checks(column, actual))
        measures[column.name] = _quality_exprs(column, actual)
    unexpected = [name for name in found if name not in listed] if schema.strict else []

    quality_exprs = [
        (name, measure, count, total)
        for name, by_measure in measures.items()
        for measure, (count, total) in by_measure.items()
    ]
    with reading(source):
        counts = (
            frame.select(
                pl.len().alias("rows"),
                *(c.mask.sum().alias(f"c{i}") for i, c in enumerate(row_checks)),
                *(
                    expr.alias(f"q{i}{side}")
                    for i, (_, _, count, total) in enumerate(quality_exprs)
                    for side, expr in (("n", count), ("t", total))
                ),
            )
            .collect(engine="streaming")
            .row(0)
        )
        rows = int(counts[0])
        check_counts = counts[1 : 1 + len(row_checks)]
        failed = [(c, int(n)) for c, n in zip(row_checks, check_counts, strict=True) if n]
        shares = counts[1 + len(row_checks) :]
        examples: list[pl.DataFrame] = []
        if failed and max_examples:
            indexed = frame.with_row_index(_ROW)
            examples = pl.collect_all(
                [indexed.filter(c.mask).select(_ROW).head(max_examples) for c, _ in failed],
                engine="streaming",
            )
    row_level: dict[str, list[Violation]] = {}
    for i, (check, count) in enumerate(failed):
        rows_of = tuple(int(r) for r in examples[i][_ROW]) if examples else ()
        row_level.setdefault(check.column, []).append(
            Violation(
                check.column,
                check.check,
                count,
                rows_of,
                check.detail.format(n=_count(count, "value")),
            )
        )

    order = {check: i for i, check in enumerate(CHECKS)}
    violations: list[Violation] = []
    for column in schema.columns:
        both = column_level.get(column.name, []) + row_level.get(column.name, [])
        violations.extend(sorted(both, key=lambda v: order[v.check]))
    violations.extend(
        Violation(name, "unexpected_column", 1, (), "column not in the schema; strict: true")
        for name in unexpected
    )
    found_shares: dict[str, dict[str, Share]] = {name: {} for name in measures}
    for i, (name, measure, _, _) in enumerate(quality_exprs):
        found_shares[name][measure] = Share(int(shares[2 * i]), int(shares[2 * i + 1]))
    quality = {name: ColumnQuality(**by_measure) for name, by_measure in found_shares.items()}
    return ValidationReport(
        rows=rows,
        checked_columns=tuple(checked),
        violations=tuple(violations),
        quality=quality,
        data=str(source),
    )


# -- inference ------------------------------------------------------------------------------


def _plain(value: Any, kind: str) -> int | float | None:
    """An observed bound as a plain int or float: YAML cannot hold Decimal scalars."""
    if value is None:
        return None
    return int(value) if kind == "int" else float(value)


def infer_schema(
    frame: pl.LazyFrame, *, source: str | Path, max_allowed: int = INFER_MAX_ALLOWED
) -> tuple[Schema, int]:
    """The schema that ``frame`` satisfies, and its number of rows, read in one pass.

    Every column is required; nullable when it holds a null (or NaN); numbers get their
    observed range as ``min``/``max``; text columns with at most ``max_allowed`` distinct
    values get them, sorted, as ``allowed``. Columns of types the schema cannot name get no
    ``dtype``. The schema is not strict.
    """
    with reading(source):
        data_schema = frame.collect_schema()
    exprs: list[pl.Expr] = [pl.len().alias("rows")]
    for i, (name, dtype) in enumerate(data_schema.items()):
        col = pl.col(name)
        kind = dtype_name(dtype)
        missing = col.is_null().sum()
        if dtype.is_float():
            missing = missing + col.is_nan().sum()
        exprs.append(missing.alias(f"n{i}"))
        if kind in _RANGE_DTYPES:
            finite = col.filter(col.is_not_nan()) if dtype.is_float() else col
            exprs += [finite.min().alias(f"lo{i}"), finite.max().alias(f"hi{i}")]
        elif kind == "string":
            text = col.cast(pl.String).drop_nulls().unique().head(max_allowed + 1)
            exprs.append(text.implode().alias(f"v{i}"))
    with reading(source):
        stats = frame.select(exprs).collect(engine="streaming").row(0, named=True)
    columns: list[ColumnSchema] = []
    for i, (name, dtype) in enumerate(data_schema.items()):
        kind = dtype_name(dtype)
        low = high = None
        if kind in _RANGE_DTYPES:
            assert kind is not None
            low, high = _plain(stats[f"lo{i}"], kind), _plain(stats[f"hi{i}"], kind)
        allowed = None
        if kind == "string":
            values = stats[f"v{i}"]
            if values and len(values) <= max_allowed:
                allowed = tuple(sorted(values))
        columns.append(
            ColumnSchema(
                name=name,
                dtype=kind,
                nullable=bool(stats[f"n{i}"]),
                required=True,
                min=low,
                max=high,
                allowed=allowed,
            )
        )
    return Schema(columns=tuple(columns), strict=False), int(stats["rows"])


def infer_header(source: str | Path, *, rows: int | None = None) -> str:
    """The comment block written above an inferred schema."""
    when = dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")
    size = "" if rows is None else f" ({rows} rows)"
    return (
        f"Inferred by `stream-monitor validate-schema --infer` from {source}{size} at {when}.\n"
        "min/max are the observed range and allowed the observed values: widen them to what\n"
        "production may legitimately send before validating new data against this file.\n"
        "Format: docs/schema-validation.md"
    )


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


def describe(report: ValidationReport, *, limit: int = 20) -> list[str]:
    """A short human summary: one line overall, then one per violation (at most ``limit``)."""
    size = f"{_count(report.rows, 'row')}, {_count(len(report.checked_columns), 'column')} checked"
    if report.valid:
        return [f"valid: {size}"]
    n = len(report.violations)
    lines = [f"invalid: {_count(n, 'violation')} in {size}"]
    for v in report.violations[:limit]:
        where = f"; first rows {', '.join(map(str, v.examples))}" if v.examples else ""
        lines.append(f"  {v.column}: {v.check}: {v.detail}{where}")
    if n > limit:
        lines.append(f"  ... {n - limit} more in the JSON report")
    return lines
