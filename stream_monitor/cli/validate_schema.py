"""``stream-monitor validate-schema``: check a data file against a column schema.

Validates CSV, Parquet or NDJSON data against a schema YAML file (docs/schema-validation.md),
writes the JSON report to ``--json-path``, prints a short summary on stdout and exits 0, or 1
when violations were found and ``--fail-on schema`` was given (as every job: 1 only for
what ``--fail-on`` names). With ``--infer`` it writes instead the
schema that the data satisfies, to start a schema from reference data, each numeric range
widened by ``--infer-margin`` (see ``widen_ranges``) so that a fresh sample of the same
traffic passes.
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import time
from pathlib import Path

from stream_monitor._api import validate_schema
from stream_monitor.batch.outputs import Metric, add_output_flags, export
from stream_monitor.batch.schema import (
    QUALITY_MEASURES,
    ColumnSchema,
    Schema,
    describe,
    infer_header,
    infer_schema,
    schema_to_yaml,
)
from stream_monitor.cli import EXIT_OK
from stream_monitor.cli._flags import (
    add_fail_on,
    add_flag,
    add_null_values_flag,
    check_output,
    exit_code,
)
from stream_monitor.errors import ConfigError
from stream_monitor.io import scan_data, write_text_atomic

COMMAND = "validate-schema"
_DEFAULT_MAX_EXAMPLES = 5
# Fresh 20,000-row samples of the synthetic credit traffic overshot the ranges inferred from
# another such sample by up to 27 % of their span (heavy tails, small integer counts); at
# 1,000 rows by up to 64 %. A range in a schema guards against impossible values (a unit
# change, a sentinel such as -999, a sign error), not against drift, which the drift jobs
# watch: a loose one costs little, a tight one fails every week.
DEFAULT_INFER_MARGIN = 0.5


#: What ``--fail-on`` can name.
FAIL_ON = {"schema": "any row or column broke a check of the schema"}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the ``validate-schema`` subcommand's flags; its ``func`` runs it."""
    parser.description = (
        "Check a CSV, Parquet or NDJSON file against a schema YAML file. Exit codes: "
        "0 valid, 1 violations found, 2 bad input."
    )
    parser.add_argument("--data", required=True, type=Path, help="CSV, Parquet or NDJSON file")
    parser.add_argument(
        "--schema",
        required=True,
        type=Path,
        metavar="SCHEMA.yaml",
        help="schema to check against; with --infer, the file to write",
    )
    parser.add_argument(
        "--infer",
        action="store_true",
        help="write the schema that --data satisfies to --schema instead of validating",
    )
    add_flag(
        parser,
        "infer_margin",
        type=float,
        default=DEFAULT_INFER_MARGIN,
        metavar="F",
        help="with --infer: widen each numeric range by F times its span on each side, "
        f"never across zero (default {DEFAULT_INFER_MARGIN:g}; 0: the observed range)",
    )
    add_flag(
        parser,
        "json_path",
        type=Path,
        metavar="OUT.json",
        help="write the JSON report here",
    )
    add_flag(
        parser,
        "max_examples",
        type=int,
        metavar="K",
        help=f"example row numbers kept per violation (default {_DEFAULT_MAX_EXAMPLES})",
    )
    add_output_flags(parser)
    add_fail_on(parser, FAIL_ON)
    add_null_values_flag(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Validate (or infer) and report; return the exit code."""
    if args.infer:
        return _infer(args)
    max_examples = _DEFAULT_MAX_EXAMPLES if args.max_examples is None else args.max_examples
    if max_examples < 0:
        raise ConfigError(f"--max-examples: must be a non-negative integer, got {max_examples}")
    check_output(args.json_path, "--json-path")
    check_output(args.metrics_path, "--metrics-path")
    started = time.perf_counter()
    report = validate_schema(args.data, args.schema, max_examples=max_examples)
    elapsed = time.perf_counter() - started
    artifacts: list[Path] = []
    if args.json_path is not None:
        report.save_json(args.json_path)
        artifacts.append(args.json_path)
    lines = describe(report)
    lines[0] += f" in {args.data} against {args.schema} ({elapsed:.1f} s)"
    if args.json_path is not None:
        lines.append(f"report: {args.json_path}")
    print("\n".join(lines))
    metrics = [
        Metric("schema_valid", float(report.valid), help="1 if the data satisfied the schema"),
        Metric("schema_rows", float(report.rows), help="rows validated"),
    ]
    metrics += [
        Metric(
            "schema_violations",
            float(v.count),
            {"column": v.column, "check": v.check},
            help="rows failing a schema check (1 for a column-level check)",
        )
        for v in report.violations
    ]
    metrics += [
        Metric(
            "schema_column_share",
            share.share,
            {"column": column, "measure": measure},
            help="share of a column's values failing a data-quality measure",
        )
        for column, quality in report.quality.items()
        for measure in QUALITY_MEASURES
        if (share := getattr(quality, measure)) is not None and share.share is not None
    ]
    export(
        COMMAND,
        metrics,
        args,
        artifacts=artifacts,
        params={"data": str(args.data), "schema": str(args.schema)},
    )
    return exit_code(args, set() if report.valid else {"schema"})


def _infer(args: argparse.Namespace) -> int:
    """Write the schema inferred from ``--data`` to ``--schema``."""
    unused = [
        flag
        for flag, value in (
            ("--json-path", args.json_path),
            ("--max-examples", args.max_examples),
            ("--metrics-path", args.metrics_path),
            ("--pushgateway", args.pushgateway),
            ("--mlflow", args.mlflow or None),
        )
        if value is not None
    ]
    if unused:
        raise ConfigError(f"{unused[0]}: not used with --infer, which only writes --schema")
    margin = args.infer_margin
    if not (math.isfinite(margin) and margin >= 0):
        raise ConfigError(f"--infer-margin: must be a non-negative number, got {margin}")
    check_output(args.schema, "--schema")
    started = time.perf_counter()
    schema, rows = infer_schema(scan_data(args.data), source=args.data)
    schema = widen_ranges(schema, margin)
    header = infer_header(args.data, rows=rows)
    if margin:
        header = header.replace(
            "min/max are the observed range",
            f"min/max are the observed range widened by {margin:g} x its span (--infer-margin)",
        )
    text = schema_to_yaml(schema, header=header)
    write_text_atomic(args.schema, text, "inferred schema")
    elapsed = time.perf_counter() - started
    print(
        f"inferred {len(schema.columns)} columns from {args.data} ({rows} rows) "
        f"-> {args.schema} in {elapsed:.1f} s"
    )
    return EXIT_OK


def widen_ranges(schema: Schema, margin: float) -> Schema:
    """``schema`` with each finite numeric range widened on both sides by ``margin`` times
    its span, then rounded outward to the power of ten below that padding, so the file reads
    ``max: 130`` rather than ``max: 124.80398779554848`` (whole numbers for ``int``
    columns). A bound never crosses zero: a column observed non-negative stays so, and a
    sentinel such as -999 still fails. A constant column is widened by ``margin`` times its
    value.

    >>> columns = (
    ...     ColumnSchema("x", dtype="float", min=2.5, max=12.25),
    ...     ColumnSchema("n", dtype="int", min=0, max=7),
    ...     ColumnSchema("t", dtype="float", min=-4.0, max=-4.0),
    ...     ColumnSchema("s", dtype="string", allowed=("a",)),
    ... )
    >>> [(c.min, c.max) for c in widen_ranges(Schema(columns, strict=False), 0.5).columns]
    [(0.0, 18.0), (0, 11), (-6.0, -2.0), (None, None)]
    >>> widen_ranges(Schema(columns[:1], strict=False), 0.0).columns[0].max
    12.25
    """
    return dataclasses.replace(schema, columns=tuple(_widen(c, margin) for c in schema.columns))


def _widen(column: ColumnSchema, margin: float) -> ColumnSchema:
    low, high = column.min, column.max
    if low is None or high is None or not (math.isfinite(low) and math.isfinite(high)):
        return column
    pad = margin * ((high - low) or abs(high))
    if pad == 0:
        return column
    exponent = math.floor(math.log10(pad))
    step = 10.0**exponent
    digits = max(0, -exponent)
    new_low = round(math.floor((low - pad) / step) * step, digits)
    new_high = round(math.ceil((high + pad) / step) * step, digits)
    if low >= 0:
        new_low = max(new_low, 0.0)
    if high <= 0:
        new_high = min(new_high, 0.0)
    if column.dtype == "int":
        return dataclasses.replace(column, min=math.floor(new_low), max=math.ceil(new_high))
    return dataclasses.replace(column, min=float(new_low), max=float(new_high))
