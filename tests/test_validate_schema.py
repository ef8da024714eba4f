"""``stream-monitor validate-schema``: every check on real files, inference, report, CLI."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import re
from pathlib import Path

import polars as pl
import pytest
import yaml
from data_files import write_data
from jsonschema import Draft202012Validator

from stream_monitor.batch.schema import (
    CHECKS,
    DTYPES,
    INFER_MAX_ALLOWED,
    ColumnSchema,
    Schema,
    infer_schema,
    parse_schema,
    read_schema,
    schema_to_yaml,
    schema_validation_schema,
    validate,
)
from stream_monitor.cli import EXIT_DRIFT, EXIT_OK, build_parser
from stream_monitor.errors import ConfigError, DataFileError, UserInputError
from stream_monitor.io import scan_data
from stream_monitor.synthetic import traffic

ROOT = Path(__file__).resolve().parents[1]
FORMATS = (".csv", ".parquet", ".ndjson")
VALIDATOR = Draft202012Validator(schema_validation_schema())


# -- helpers -----------------------------------------------------------------------------


def _write_yaml(path: Path, document: object) -> Path:
    path.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
    return path


def _parse(*argv: str) -> argparse.Namespace:
    """Parse ``validate-schema`` flags with the command line's parser."""
    return build_parser("validate-schema").parse_args(["validate-schema", *argv])


def _run(*argv: str) -> int:
    args = _parse(*argv)
    code: int = args.func(args)
    return code


def _found(report_violations: object) -> list[tuple[str, str, int, list[int]]]:
    assert isinstance(report_violations, list)
    return [(v["column"], v["check"], v["count"], v["examples"]) for v in report_violations]


# Twelve rows with known faults: age 12 and 7 below min (rows 2, 7), 130 above max (row 5),
# null (row 9); region "up" and "down" outside allowed (rows 3, 10), null allowed (row 4);
# id repeats rows 1 and 0 at rows 6 and 11; score is text; comment is not in the schema.
DATA = pl.DataFrame(
    {
        "age": [30.0, 41.0, 12.0, 55.0, 19.0, 130.0, 66.0, 7.0, 18.0, None, 120.0, 33.5],
        "region": [
            "north",
            "south",
            "east",
            "up",
            None,
            "west",
            "north",
            "south",
            "east",
            "west",
            "down",
            "north",
        ],
        "id": [1, 2, 3, 4, 5, 6, 2, 8, 9, 10, 11, 1],
        "score": ["a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k", "l"],
        "approved": [True, False] * 6,
        "signup": [dt.datetime(2024, 1, 1) + dt.timedelta(hours=i) for i in range(12)],
        "comment": ["x"] * 12,
    }
)

SCHEMA = {
    "schema_version": 1,
    "columns": {
        "age": {"dtype": "float", "nullable": False, "min": 18, "max": 120},
        "region": {
            "dtype": "string",
            "nullable": True,
            "allowed": ["north", "south", "east", "west"],
        },
        "id": {"dtype": "int", "unique": True},
        "score": {"dtype": "float"},
        "income": {"dtype": "float", "required": True},
        "approved": {"dtype": "boolean"},
        "signup": {"dtype": "datetime"},
        "optional": {"dtype": "string", "required": False},
    },
    "strict": True,
}

EXPECTED = [
    ("age", "nullable", 1, [9]),
    ("age", "min", 2, [2, 7]),
    ("age", "max", 1, [5]),
    ("region", "allowed", 2, [3, 10]),
    ("id", "unique", 2, [6, 11]),
    ("score", "dtype", 1, []),
    ("income", "missing_column", 1, []),
    ("comment", "unexpected_column", 1, []),
]


# -- checks ------------------------------------------------------------------------------


@pytest.mark.parametrize("suffix", FORMATS)
def test_every_check_counts_rows_and_names_example_rows(tmp_path: Path, suffix: str) -> None:
    """Each check type reports its exact count and 0-based example rows in CSV, Parquet, NDJSON."""
    data = write_data(DATA, tmp_path / f"data{suffix}")
    report = validate(scan_data(data), parse_schema(SCHEMA, source="s"), source=data)
    document = report.to_dict(data=str(data), schema="s")
    VALIDATOR.validate(document)
    assert _found(document["violations"]) == EXPECTED
    assert report.rows == 12
    assert not report.valid
    assert report.checked_columns == ("age", "region", "id", "score", "approved", "signup")


def test_violation_details_name_bounds_but_never_data_values(tmp_path: Path) -> None:
    """Details quote the schema's bounds and counts; no data value appears in the report."""
    data = write_data(DATA, tmp_path / "data.parquet")
    report = validate(scan_data(data), parse_schema(SCHEMA, source="s"), source=data)
    details = {(v.column, v.check): v.detail for v in report.violations}
    assert details[("age", "min")] == "2 values below min 18"
    assert details[("age", "max")] == "1 value above max 120"
    assert details[("score", "dtype")] == "expected float, found string"
    text = json.dumps(report.to_dict(data="d", schema="s"))
    for value in ("up", "down", "130", "12.0"):
        assert f'"{value}"' not in text
        assert f" {value}," not in text


def test_max_examples_limits_the_rows_listed_but_not_the_count(tmp_path: Path) -> None:
    """--max-examples keeps the first K failing rows; 0 keeps none and still counts them."""
    data = write_data(DATA, tmp_path / "data.parquet")
    schema = parse_schema(SCHEMA, source="s")
    one = validate(scan_data(data), schema, source=data, max_examples=1)
    none = validate(scan_data(data), schema, source=data, max_examples=0)
    assert [(v.check, v.count, v.examples) for v in one.violations[:3]] == [
        ("nullable", 1, (9,)),
        ("min", 2, (2,)),
        ("max", 1, (5,)),
    ]
    assert all(v.examples == () for v in none.violations)
    assert [v.count for v in none.violations] == [c for _, _, c, _ in EXPECTED]


def test_examples_are_found_far_into_a_large_file(tmp_path: Path) -> None:
    """Row numbers stay exact past Polars' batch boundaries (faults at rows 300 001 and 599 998)."""
    n = 600_000
    values = pl.Series("x", range(n), dtype=pl.Int64)
    frame = pl.DataFrame({"x": values.scatter([300_001, 599_998], [-1, -5])})
    data = write_data(frame, tmp_path / "big.parquet")
    schema = parse_schema({"columns": {"x": {"dtype": "int", "min": 0}}}, source="s")
    report = validate(scan_data(data), schema, source=data)
    assert [(v.check, v.count, v.examples) for v in report.violations] == [
        ("min", 2, (300_001, 599_998))
    ]


def test_nan_is_a_null_and_never_out_of_range(tmp_path: Path) -> None:
    """NaN fails nullable: false, and counts against neither min nor max; inf is above max."""
    frame = pl.DataFrame({"x": [1.0, float("nan"), 2.0, float("inf"), None]})
    data = write_data(frame, tmp_path / "nan.parquet")
    schema = parse_schema({"columns": {"x": {"dtype": "float", "min": 0, "max": 10}}}, source="s")
    report = validate(scan_data(data), schema, source=data)
    assert [(v.check, v.count, v.examples) for v in report.violations] == [
        ("nullable", 2, (1, 4)),
        ("max", 1, (3,)),
    ]


def test_integers_pass_float_and_an_all_null_column_passes_any_dtype(tmp_path: Path) -> None:
    """Integer data satisfies dtype float; an NDJSON column of nulls only fits every dtype."""
    data = tmp_path / "ints.ndjson"
    data.write_text('{"n": 1, "empty": null}\n{"n": 2, "empty": null}\n', encoding="utf-8")
    assert scan_data(data).collect_schema()["empty"] == pl.Null
    schema = parse_schema(
        {"columns": {"n": {"dtype": "float"}, "empty": {"dtype": "date", "nullable": True}}},
        source="s",
    )
    assert validate(scan_data(data), schema, source=data).valid


@pytest.mark.parametrize(
    ("dtype", "data_dtype", "found"),
    [
        ("int", pl.Float64, "float"),
        ("boolean", pl.Int64, "int"),
        ("datetime", pl.Int32, "int"),
        ("date", pl.Boolean, "boolean"),
        ("string", pl.Float32, "float"),
    ],
)
def test_dtype_mismatch_is_one_column_level_violation(
    tmp_path: Path, dtype: str, data_dtype: pl.DataType, found: str
) -> None:
    """A column of the wrong type is one dtype violation, and its value checks are skipped."""
    frame = pl.DataFrame({"c": pl.Series([0, 1, 1], dtype=pl.Int64).cast(data_dtype)})
    data = write_data(frame, tmp_path / "d.parquet")
    spec: dict[str, object] = {"dtype": dtype, "unique": True}
    report = validate(
        scan_data(data), parse_schema({"columns": {"c": spec}}, source="s"), source=data
    )
    assert [v.to_dict() for v in report.violations] == [
        {
            "column": "c",
            "check": "dtype",
            "count": 1,
            "examples": [],
            "detail": f"expected {dtype}, found {found}",
        }
    ]


def test_text_dates_in_csv_are_parsed_row_by_row(tmp_path: Path) -> None:
    """CSV has no dates: text read against date/datetime fails only on rows that do not parse."""
    data = tmp_path / "dates.csv"
    data.write_text(
        "day,at\n2024-01-01,2024-01-01 10:00:00\n2024-02-30,2024-01-02T11:30:00\n"
        "soon,yesterday\n2024-03-01,\n",
        encoding="utf-8",
    )
    schema = parse_schema(
        {"columns": {"day": {"dtype": "date"}, "at": {"dtype": "datetime", "nullable": True}}},
        source="s",
    )
    report = validate(scan_data(data), schema, source=data)
    assert [(v.column, v.check, v.count, v.examples) for v in report.violations] == [
        ("day", "dtype", 2, (1, 2)),
        ("at", "dtype", 1, (2,)),
    ]
    assert report.violations[0].detail == "2 values not parseable as date"


def test_allowed_works_on_categorical_and_integer_columns(tmp_path: Path) -> None:
    """allowed checks Polars categoricals as text, and integer codes as integers; nulls pass."""
    frame = pl.DataFrame(
        {
            "cat": pl.Series(["a", "b", "zz", None, "a"], dtype=pl.Categorical),
            "code": [1, 2, 3, 9, None],
        }
    )
    data = write_data(frame, tmp_path / "c.parquet")
    schema = parse_schema(
        {
            "columns": {
                "cat": {"dtype": "string", "nullable": True, "allowed": ["a", "b"]},
                "code": {"dtype": "int", "nullable": True, "allowed": [1, 2, 3]},
            }
        },
        source="s",
    )
    report = validate(scan_data(data), schema, source=data)
    assert [(v.column, v.check, v.count, v.examples) for v in report.violations] == [
        ("cat", "allowed", 1, (2,)),
        ("code", "allowed", 1, (3,)),
    ]


def test_unique_ignores_nulls_and_flags_every_repeat_after_the_first(tmp_path: Path) -> None:
    """unique: true counts each later occurrence of a value; repeated nulls are not duplicates."""
    frame = pl.DataFrame({"k": ["a", None, "a", "b", None, "a", "b"]})
    data = write_data(frame, tmp_path / "u.csv")
    spec = {"columns": {"k": {"dtype": "string", "nullable": True, "unique": True}}}
    report = validate(scan_data(data), parse_schema(spec, source="s"), source=data)
    assert [(v.check, v.count, v.examples) for v in report.violations] == [("unique", 3, (2, 5, 6))]


def test_not_strict_ignores_extra_columns_and_optional_columns_may_be_absent(
    tmp_path: Path,
) -> None:
    """Without strict, unlisted columns are fine; required: false columns may be missing."""
    data = write_data(pl.DataFrame({"a": [1, 2], "b": ["x", "y"]}), tmp_path / "d.parquet")
    schema = parse_schema(
        {"columns": {"a": {"dtype": "int"}, "c": {"required": False}}}, source="s"
    )
    report = validate(scan_data(data), schema, source=data)
    assert report.valid
    assert report.checked_columns == ("a",)


# -- inference ---------------------------------------------------------------------------


@pytest.mark.parametrize("suffix", FORMATS)
def test_inferred_schema_validates_its_own_data(tmp_path: Path, suffix: str) -> None:
    """Infer from a file, write the YAML, read it back: the same file is valid against it."""
    frame = DATA.drop("comment").with_columns(
        pl.Series("ratio", [0.1, 7.75, 1e-9, 3.0, 2.5, 0.0, 1, 2, 3, 4, 5, -6.25])
    )
    data = write_data(frame, tmp_path / f"ref{suffix}")
    schema, rows = infer_schema(scan_data(data), source=data)
    assert rows == 12
    path = tmp_path / "schema.yaml"
    path.write_text(schema_to_yaml(schema, header="inferred"), encoding="utf-8")
    back = read_schema(path)
    assert back == schema
    report = validate(scan_data(data), back, source=data)
    assert report.valid, report.violations
    by_name = {c.name: c for c in back.columns}
    assert by_name["age"] == ColumnSchema(
        "age", dtype="float", nullable=True, required=True, min=7.0, max=130.0
    )
    assert by_name["id"] == ColumnSchema("id", dtype="int", nullable=False, min=1, max=11)
    assert by_name["region"].allowed == ("down", "east", "north", "south", "up", "west")
    assert by_name["region"].nullable
    assert by_name["approved"].dtype == "boolean"
    assert (by_name["ratio"].min, by_name["ratio"].max) == (-6.25, 7.75)


def test_inferred_float_range_keeps_infinities_and_ignores_nan(tmp_path: Path) -> None:
    """An observed -inf/inf becomes the bound (written .inf in YAML); NaN makes it nullable."""
    frame = pl.DataFrame({"x": [1.0, float("nan"), float("-inf"), 2.0, float("inf")]})
    data = write_data(frame, tmp_path / "x.parquet")
    schema, _ = infer_schema(scan_data(data), source=data)
    (column,) = schema.columns
    assert (column.min, column.max, column.nullable) == (float("-inf"), float("inf"), True)
    assert "min: -.inf, max: .inf" in schema_to_yaml(schema)
    assert validate(scan_data(data), schema, source=data).valid


def test_inferred_allowed_stops_at_the_limit_of_distinct_values(tmp_path: Path) -> None:
    """A text column gets allowed with 50 distinct values, not with 51; dates get no range."""
    frame = pl.DataFrame(
        {
            "fifty": [f"v{i % INFER_MAX_ALLOWED}" for i in range(200)],
            "fifty_one": [f"v{i % (INFER_MAX_ALLOWED + 1)}" for i in range(200)],
            "day": [dt.date(2024, 1, 1) + dt.timedelta(days=i) for i in range(200)],
        }
    )
    data = write_data(frame, tmp_path / "d.parquet")
    schema, _ = infer_schema(scan_data(data), source=data)
    fifty, fifty_one, day = schema.columns
    assert fifty.allowed is not None
    assert len(fifty.allowed) == INFER_MAX_ALLOWED
    assert fifty_one.allowed is None
    assert (day.dtype, day.min, day.max) == ("date", None, None)


def test_inferred_yaml_is_one_flow_mapping_per_column_after_the_header() -> None:
    """The written schema starts with # comments and nests one {...} line per column."""
    schema = Schema(
        (
            ColumnSchema("age", dtype="float", min=18.0, max=99.5),
            ColumnSchema("yes", dtype="string", nullable=True, allowed=("no", "yes", "on")),
        )
    )
    text = schema_to_yaml(schema, header="line one\nline two")
    assert text.splitlines() == [
        "# line one",
        "# line two",
        "schema_version: 1",
        "columns:",
        "  age: {dtype: float, nullable: false, required: true, min: 18.0, max: 99.5}",
        "  'yes': {dtype: string, nullable: true, required: true, allowed: ['no', 'yes', 'on']}",
        "strict: false",
    ]
    assert parse_schema(yaml.safe_load(text), source="s") == schema


# -- schema file errors ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ({"columns": {"a": {"dtype": "floaty"}}}, r"s: columns\.a\.dtype: unknown dtype 'floaty'"),
        ({"columns": {"a": {"dtyp": "int"}}}, r"s: columns\.a\.dtyp: unknown key; expected one"),
        ({"columns": {"a": {"dtype": "int", "min": 5, "max": 1}}}, r"columns\.a: min 5 is greater"),
        ({"columns": {"a": {"dtype": "string", "min": 1}}}, r"columns\.a\.min: needs dtype int"),
        ({"columns": {"a": {"dtype": "int", "max": "ten"}}}, r"columns\.a\.max: must be a number"),
        (
            {"columns": {"a": {"dtype": "string", "allowed": [True, "x"]}}},
            r"columns\.a\.allowed: True is not text; quote it",
        ),
        ({"columns": {"a": {"allowed": ["x"]}}}, r"columns\.a\.allowed: needs dtype string or int"),
        ({"columns": {"a": {"nullable": "no"}}}, r"columns\.a\.nullable: must be true or false"),
        ({"columns": {True: {"dtype": "int"}}}, r"s: columns: column name True must be text"),
        ({"columns": {}}, r"s: columns: expected a mapping"),
        ({"columns": {"a": {}}, "strict": "yes"}, r"s: strict: must be true or false"),
        ({"columns": {"a": {}}, "schema_version": 2}, r"s: schema_version: this build reads"),
        ({"columns": {"a": {}}, "colums": {}}, r"s: colums: unknown key"),
        (["a"], r"s: expected a mapping with a columns: key"),
    ],
)
def test_bad_schema_documents_are_one_line_errors_naming_the_key(
    document: object, message: str
) -> None:
    """Every malformed schema is a ConfigError naming the file and the offending key."""
    with pytest.raises(ConfigError, match=message) as caught:
        parse_schema(document, source="s")
    assert "\n" not in str(caught.value)


def test_yaml_yes_in_allowed_becomes_a_quoting_hint(tmp_path: Path) -> None:
    """YAML 1.1 reads an unquoted yes as a boolean; the error says to quote it."""
    path = tmp_path / "s.yaml"
    path.write_text("columns:\n  answer: {dtype: string, allowed: [yes, no]}\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"allowed: True is not text; quote it, e\.g\. 'True'"):
        read_schema(path)


def test_invalid_yaml_names_the_file_and_the_line(tmp_path: Path) -> None:
    """A YAML syntax error is reported with the file, line and column."""
    path = tmp_path / "bad.yaml"
    path.write_text("columns:\n  a: {dtype: int\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=rf"^{re.escape(str(path))}: invalid YAML: .* at line 3"):
        read_schema(path)


def test_example_schema_config_is_valid() -> None:
    """config/schema.example.yaml parses, with every dtype and check key it documents."""
    schema = read_schema(ROOT / "config" / "schema.example.yaml")
    dtypes = {c.dtype for c in schema.columns}
    assert dtypes == set(DTYPES)
    assert any(c.unique for c in schema.columns)
    assert any(c.allowed for c in schema.columns)


def test_docs_name_every_check_and_dtype() -> None:
    """docs/schema-validation.md documents every check name and dtype the code knows."""
    text = (ROOT / "docs" / "schema-validation.md").read_text(encoding="utf-8")
    for name in (*CHECKS, *DTYPES):
        assert f"`{name}`" in text, name


# -- command line ------------------------------------------------------------------------


def test_cli_valid_data_exits_0_with_a_summary_and_a_report(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Valid data exits 0, prints 'valid:' and writes a report that fits the JSON Schema."""
    data = write_data(pl.DataFrame({"a": [1, 2, 3]}), tmp_path / "d.csv")
    schema = _write_yaml(tmp_path / "s.yaml", {"columns": {"a": {"dtype": "int", "min": 1}}})
    out = tmp_path / "report.json"
    assert _run("--data", str(data), "--schema", str(schema), "--json_path", str(out)) == EXIT_OK
    document = json.loads(out.read_text(encoding="utf-8"))
    VALIDATOR.validate(document)
    none = {"count": 0, "total": 3, "share": 0.0}
    assert document == {
        "schema_version": 2,
        "data": str(data),
        "schema": str(schema),
        "valid": True,
        "rows": 3,
        "checked_columns": ["a"],
        "violations": [],
        "data_quality": {
            "a": {
                "null": none,
                "infinite": none,
                "type_error": none,
                "out_of_range": none,
                "not_allowed": None,
            }
        },
    }
    assert capsys.readouterr().out.startswith("valid: 3 rows, 1 column checked in ")


def test_cli_violations_exit_1_and_export_metrics(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Violations exit 1 (EXIT_DRIFT) with --fail-on schema, 0 without it; the textfile holds
    schema_valid 0 and each count."""
    data = write_data(DATA, tmp_path / "d.parquet")
    schema = _write_yaml(tmp_path / "s.yaml", SCHEMA)
    out, prom = tmp_path / "r.json", tmp_path / "m.prom"
    code = _run(
        "--data", str(data), "--schema", str(schema), "--json-path", str(out),
        "--max-examples", "1", "--metrics-path", str(prom), "--fail-on", "schema",
    )  # fmt: skip
    assert code == EXIT_DRIFT
    assert _run("--data", str(data), "--schema", str(schema)) == EXIT_OK
    document = json.loads(out.read_text(encoding="utf-8"))
    VALIDATOR.validate(document)
    assert [e for *_, e in _found(document["violations"])][:2] == [[9], [2]]
    text = prom.read_text(encoding="utf-8")
    assert (
        'stream_monitor_schema_valid{command="validate-schema",model="default",'
        'monitor="stream-monitor"} 0.0' in text
    )
    assert (
        'stream_monitor_schema_violations{check="min",column="age",command="validate-schema",'
        'model="default",monitor="stream-monitor"} 2.0' in text
    )
    assert (
        'stream_monitor_schema_rows{command="validate-schema",model="default",'
        'monitor="stream-monitor"} 12.0' in text
    )
    stdout = capsys.readouterr().out
    assert stdout.startswith("invalid: 8 violations in 12 rows, 6 columns checked")
    assert "  age: min: 2 values below min 18; first rows 2\n" in stdout
    assert "report: " in stdout


def test_cli_infer_writes_a_schema_the_data_then_satisfies(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """--infer writes a commented schema; validating the same file against it exits 0."""
    data = write_data(DATA, tmp_path / "ref.ndjson")
    schema = tmp_path / "inferred.yaml"
    assert _run("--data", str(data), "--schema", str(schema), "--infer") == EXIT_OK
    assert capsys.readouterr().out.startswith(f"inferred 7 columns from {data} (12 rows)")
    text = schema.read_text(encoding="utf-8")
    assert text.startswith("# Inferred by `stream-monitor validate-schema --infer` from ")
    assert _run("--data", str(data), "--schema", str(schema)) == EXIT_OK


@pytest.mark.parametrize(
    ("argv", "error", "message"),
    [
        (
            ["--data", "{tmp}/nope.csv", "--schema", "{schema}"],
            DataFileError,
            r"nope\.csv: no such",
        ),
        (["--data", "{data}", "--schema", "{tmp}/none.yaml"], ConfigError, r"none\.yaml: no such"),
        (
            ["--data", "{data}", "--schema", "{schema}", "--json-path", "{tmp}/no/r.json"],
            ConfigError,
            r"^--json-path .*r\.json: directory .*no does not exist",
        ),
        (
            ["--data", "{data}", "--schema", "{schema}", "--max-examples", "-1"],
            ConfigError,
            r"^--max-examples: must be a non-negative integer, got -1",
        ),
        (
            ["--data", "{data}", "--schema", "{tmp}/out.yaml", "--infer", "--json-path", "r.json"],
            ConfigError,
            r"^--json-path: not used with --infer",
        ),
        (
            ["--data", "{data}", "--schema", "{tmp}/no/out.yaml", "--infer"],
            ConfigError,
            r"^--schema .*out\.yaml: directory .*no does not exist",
        ),
        (["--data", "{tmp}/d.xlsx", "--schema", "{schema}"], DataFileError, r"unknown file ext"),
    ],
)
def test_cli_bad_input_is_a_one_line_error_naming_the_file_or_flag(
    tmp_path: Path, argv: list[str], error: type[UserInputError], message: str
) -> None:
    """Missing files, bad flags and unwritable outputs raise one-line UserInputErrors (exit 2)."""
    data = write_data(pl.DataFrame({"a": [1]}), tmp_path / "d.csv")
    schema = _write_yaml(tmp_path / "s.yaml", {"columns": {"a": {"dtype": "int"}}})
    names = {"tmp": str(tmp_path), "data": str(data), "schema": str(schema)}
    with pytest.raises(error, match=message) as caught:
        _run(*(arg.format(**names) for arg in argv))
    assert "\n" not in str(caught.value)


def test_cli_accepts_dash_and_underscore_spellings() -> None:
    """--json_path/--json-path and --max-examples/--max_examples set the same options."""
    a = _parse(
        "--data", "d.csv", "--schema", "s.yaml", "--json_path", "r.json", "--max_examples", "2"
    )
    b = _parse(
        "--data", "d.csv", "--schema", "s.yaml", "--json-path", "r.json", "--max-examples", "2"
    )
    assert (a.json_path, a.max_examples) == (b.json_path, b.max_examples) == (Path("r.json"), 2)


def test_cli_infer_margin_lets_a_fresh_sample_pass(tmp_path: Path) -> None:
    """A schema inferred with the default --infer-margin accepts a fresh sample of the same
    traffic, which the exact observed ranges (--infer-margin 0) reject; a negative margin
    is a usage error."""
    reference = write_data(traffic(20_000, seed=1).drop("id"), tmp_path / "reference.parquet")
    fresh = write_data(traffic(20_000, seed=2).drop("id"), tmp_path / "fresh.parquet")
    widened, exact = tmp_path / "widened.yaml", tmp_path / "exact.yaml"
    assert _run("--data", str(reference), "--schema", str(widened), "--infer") == EXIT_OK
    assert "--infer-margin" in widened.read_text(encoding="utf-8")
    assert _run("--data", str(fresh), "--schema", str(widened)) == EXIT_OK
    args = ["--data", str(reference), "--schema", str(exact), "--infer", "--infer-margin", "0"]
    assert _run(*args) == EXIT_OK
    assert _run("--data", str(fresh), "--schema", str(exact), "--fail-on", "schema") == 1
    by_name = {c.name: c for c in read_schema(widened).columns}
    assert by_name["income"].min == 0.0  # never below zero for a non-negative column
    with pytest.raises(ConfigError, match=r"^--infer-margin: must be a non-negative number"):
        _run(*args[:-1], "-0.1")
