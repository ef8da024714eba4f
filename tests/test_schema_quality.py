"""``validate-schema`` reports each checked column's data-quality shares, exactly counted, in
its JSON report and as gauges; they agree with the violations where both count the same rows."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import polars as pl
import pytest
import yaml
from jsonschema import Draft202012Validator
from prometheus_client.parser import text_string_to_metric_families

from stream_monitor.batch.schema import parse_schema, schema_validation_schema, validate
from stream_monitor.cli import EXIT_DRIFT, EXIT_OK, main

VALIDATOR = Draft202012Validator(schema_validation_schema())


def _share(count: int, total: int) -> dict[str, Any]:
    return {"count": count, "total": total, "share": count / total if total else None}


def _run(tmp_path: Path, data: Path, columns: dict[str, Any], *extra: str) -> tuple[int, Any]:
    schema = tmp_path / "schema.yaml"
    schema.write_text(yaml.safe_dump({"columns": columns}), encoding="utf-8")
    out = tmp_path / "report.json"
    argv = ["--data", str(data), "--schema", str(schema), "--json-path", str(out), *extra]
    argv += ["--fail-on", "schema"]
    code = main(["validate-schema", *argv])
    document = json.loads(out.read_text(encoding="utf-8"))
    VALIDATOR.validate(document)
    return code, document


def test_typed_columns_count_null_infinite_out_of_range_and_not_allowed(tmp_path: Path) -> None:
    """A float column with nulls, NaN, an infinity and values outside [min, max], and a text
    column with values outside ``allowed``: every share is the exact count over its total, and
    out-of-range equals the min and max violations together (inf is above max)."""
    age: list[float | None] = [30.0] * 100
    age[0:3] = [None] * 3
    age[3:5] = [math.nan] * 2
    age[5] = math.inf
    age[6:10] = [5.0] * 4
    age[10:15] = [200.0] * 5
    region: list[str | None] = ["n"] * 50 + ["s"] * 35 + ["x"] * 8 + [None] * 7
    data = tmp_path / "d.parquet"
    pl.DataFrame(
        {"age": age, "region": region}, schema={"age": pl.Float64, "region": pl.String}
    ).write_parquet(data)
    columns = {
        "age": {"dtype": "float", "nullable": True, "min": 18, "max": 120},
        "region": {"dtype": "string", "nullable": False, "allowed": ["n", "s"]},
    }
    code, doc = _run(tmp_path, data, columns)
    assert code == EXIT_DRIFT
    assert doc["schema_version"] == 2
    assert doc["data_quality"] == {
        "age": {
            "null": _share(5, 100),
            "infinite": _share(1, 100),
            "type_error": _share(0, 100),
            "out_of_range": _share(10, 95),
            "not_allowed": None,
        },
        "region": {
            "null": _share(7, 100),
            "infinite": None,
            "type_error": _share(0, 100),
            "out_of_range": None,
            "not_allowed": _share(8, 93),
        },
    }
    counts = {(v["column"], v["check"]): v["count"] for v in doc["violations"]}
    assert counts[("age", "min")] + counts[("age", "max")] == 10
    assert counts[("region", "allowed")] == 8
    assert counts[("region", "nullable")] == 7


def test_text_that_does_not_read_as_the_dtype_is_a_type_error(tmp_path: Path) -> None:
    """CSV text against int, boolean and date columns: the values that do not parse are type
    errors among all rows, and the range is checked on those that do; the column-level dtype
    violation stays as it was."""
    data = tmp_path / "d.csv"
    data.write_text(
        "n,flag,day\n"
        "1,true,2024-01-31\n"
        "2,False,2024-02-01\n"
        "abc,yes,not a date\n"
        "-5,true,2024-02-03\n"
        "x1,false,\n"
        "4,,2024-02-05\n"
        ",maybe,2024-02-06\n",
        encoding="utf-8",
    )
    columns = {
        "n": {"dtype": "int", "nullable": True, "min": 0},
        "flag": {"dtype": "boolean", "nullable": True},
        "day": {"dtype": "date", "nullable": True},
    }
    code, doc = _run(tmp_path, data, columns)
    assert code == EXIT_DRIFT
    quality = doc["data_quality"]
    assert quality["n"] == {
        "null": _share(1, 7),
        "infinite": _share(0, 7),
        "type_error": _share(2, 7),
        "out_of_range": _share(1, 4),
        "not_allowed": None,
    }
    assert quality["flag"]["type_error"] == _share(2, 7)
    assert quality["flag"]["null"] == _share(1, 7)
    assert quality["day"]["type_error"] == _share(1, 7)
    checks = {(v["column"], v["check"]): v["count"] for v in doc["violations"]}
    assert checks[("n", "dtype")] == 1  # column level: the column is text
    assert checks[("day", "dtype")] == 1  # row level: one value does not parse


def test_floats_against_int_and_ints_against_string() -> None:
    """A float that is not a whole number (or is infinite) is a type error against ``int``;
    NaN is null; every value of an int column is a type error against ``string``."""
    frame = pl.LazyFrame(
        {
            "k": [1.0, 2.5, 3.0, None, math.nan, math.inf],
            "s": [1, 2, 3, None, 5, 6],
        }
    )
    schema = parse_schema(
        {
            "columns": {
                "k": {"dtype": "int", "nullable": True, "max": 2},
                "s": {"dtype": "string", "nullable": True, "allowed": ["1"]},
            }
        },
        source="inline",
    )
    quality = validate(frame, schema, source="inline").quality
    k, s = quality["k"].to_dict(), quality["s"].to_dict()
    assert k == {
        "null": _share(2, 6),
        "infinite": _share(1, 6),  # also a type error: no integer is infinite
        "type_error": _share(2, 6),
        "out_of_range": _share(1, 2),  # 3.0 of 1.0 and 3.0
        "not_allowed": None,
    }
    assert s["type_error"] == _share(5, 6)
    assert s["not_allowed"] == _share(0, 0)
    assert s["not_allowed"]["share"] is None


def test_shares_are_exported_as_gauges(tmp_path: Path) -> None:
    """``--metrics-path`` holds a ``schema_column_share`` gauge per column and measured
    share; valid data still exits 0."""
    data = tmp_path / "d.parquet"
    pl.DataFrame({"x": [1.0, None, 3.0, 4.0]}).write_parquet(data)
    prom = tmp_path / "m.prom"
    columns = {"x": {"dtype": "float", "nullable": True, "max": 3.5}}
    code, _ = _run(tmp_path, data, columns, "--metrics-path", str(prom))
    assert code == EXIT_DRIFT  # 4.0 is above max
    gauges = {
        s.labels["measure"]: s.value
        for family in text_string_to_metric_families(prom.read_text())
        for s in family.samples
        if s.name == "stream_monitor_schema_column_share"
    }
    assert gauges == pytest.approx(
        {"null": 0.25, "infinite": 0.0, "type_error": 0.0, "out_of_range": 1 / 3}, rel=1e-15
    )
    code, _ = _run(tmp_path, data, {"x": {"dtype": "float", "nullable": True}})
    assert code == EXIT_OK
