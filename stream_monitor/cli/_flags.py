"""Flags shared by the subcommands."""

from __future__ import annotations

import argparse
from collections.abc import Collection, Mapping
from pathlib import Path
from typing import Any

from stream_monitor.errors import ConfigError


def add_flag(parser: argparse.ArgumentParser | Any, name: str, **kwargs: Any) -> None:
    """Add ``--name`` in both spellings: underscores (as existing scripts use) and dashes.

    >>> parser = argparse.ArgumentParser()
    >>> add_flag(parser, "json_path")
    >>> [parser.parse_args([flag, "x"]).json_path for flag in ("--json-path", "--json_path")]
    ['x', 'x']
    """
    dest = name.replace("-", "_")
    parser.add_argument(f"--{dest}", f"--{dest.replace('_', '-')}", dest=dest, **kwargs)


def add_data_flags(parser: argparse.ArgumentParser) -> None:
    """The reference (data or profile) and current data files a batch job compares."""
    add_flag(
        parser,
        "reference_data_path",
        required=True,
        type=Path,
        metavar="REF",
        help="reference: a CSV, Parquet or NDJSON file, or a profile",
    )
    add_current_flag(parser)


def add_current_flag(parser: argparse.ArgumentParser) -> None:
    """The current data file a batch job scores."""
    add_flag(
        parser,
        "current_data_path",
        required=True,
        type=Path,
        metavar="CUR",
        help="current data: a CSV, Parquet or NDJSON file",
    )


def check_output(path: Path | None, flag: str) -> None:
    """Fail in one line, naming ``flag``, when ``path`` cannot be written for lack of its
    directory (before any work is done)."""
    if path is not None and not path.parent.is_dir():
        raise ConfigError(f"{flag} {path}: directory {path.parent} does not exist")


def add_null_values_flag(parser: argparse.ArgumentParser) -> None:
    """``--null-values``: CSV tokens read as null, for a job that reads data files."""
    parser.add_argument(
        "--null-values",
        action="append",
        metavar="TOKEN[,TOKEN...]",
        help="CSV values read as missing, e.g. unknown,N/A (repeatable; "
        "default: input.null_values of --config)",
    )


def null_values(args: argparse.Namespace) -> tuple[str, ...]:
    """The CSV null tokens: those of ``--null-values``, else the ``input.null_values`` list
    of ``--config``, else none.

    >>> null_values(argparse.Namespace(null_values=["unknown,N/A", "-"], config=None))
    ('unknown', 'N/A', '-')
    """
    if args.null_values is not None:
        return tuple(t for flag in args.null_values for t in flag.split(",") if t)
    config = getattr(args, "config", None)
    if config is None:
        return ()
    from stream_monitor.config import read_null_values

    return read_null_values(config)


def add_fail_on(
    parser: argparse.ArgumentParser,
    choices: Mapping[str, str],
    *,
    alias: tuple[str, str] | None = None,
) -> None:
    """``--fail-on WHAT`` (repeatable), the one way every judging job is told which findings
    exit 1: ``choices`` maps each finding to what it means. ``alias`` is an older
    ``(flag, finding)`` spelling, kept as a shorthand for ``--fail-on finding``.

    >>> parser = argparse.ArgumentParser()
    >>> add_fail_on(parser, {"drift": "any drift"}, alias=("fail_on_drift", "drift"))
    >>> fail_on(parser.parse_args(["--fail_on_drift"]))
    {'drift'}
    """
    described = "; ".join(f"{name}: {meaning}" for name, meaning in choices.items())
    parser.add_argument(
        "--fail-on",
        action="append",
        choices=tuple(choices),
        default=[],
        metavar="WHAT",
        help=f"exit 1 when this is found (repeatable; without it, exit 0): {described}",
    )
    if alias is not None:
        flag, finding = alias
        add_flag(parser, flag, action="store_true", help=f"the same as --fail-on {finding}")
        parser.set_defaults(fail_on_alias=(flag, finding))


def fail_on(args: argparse.Namespace) -> set[str]:
    """The findings ``--fail-on`` (and its alias) named."""
    named = set(args.fail_on)
    alias = getattr(args, "fail_on_alias", None)
    if alias is not None and getattr(args, alias[0]):
        named.add(alias[1])
    return named


def exit_code(args: argparse.Namespace, found: Collection[str]) -> int:
    """1 when a finding ``--fail-on`` named was found, else 0."""
    from stream_monitor.cli import EXIT_DRIFT, EXIT_OK

    return EXIT_DRIFT if fail_on(args) & set(found) else EXIT_OK


def add_engine_flags(parser: argparse.ArgumentParser) -> None:
    """``--engine`` (what reads the data) and ``--spark-master`` (where Spark runs)."""
    parser.add_argument(
        "--engine",
        choices=("polars", "spark"),
        default="polars",
        help="read the data with Polars on this machine (default) or with Spark "
        "(pip install 'stream-monitor[spark]'; see docs/spark.md)",
    )
    add_flag(
        parser,
        "spark_master",
        metavar="URL",
        help="Spark master for --engine spark, e.g. spark://host:7077 or yarn "
        "(default: $SPARK_MASTER, else local[*]; under spark-submit, its own)",
    )
