"""Flags shared by the subcommands."""

from __future__ import annotations

import argparse
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
