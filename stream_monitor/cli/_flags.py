"""Flags shared by the subcommands."""

from __future__ import annotations

import argparse
from typing import Any


def add_flag(parser: argparse.ArgumentParser | Any, name: str, **kwargs: Any) -> None:
    """Add ``--name`` in both spellings: underscores (as existing scripts use) and dashes.

    >>> parser = argparse.ArgumentParser()
    >>> add_flag(parser, "json_path")
    >>> [parser.parse_args([flag, "x"]).json_path for flag in ("--json-path", "--json_path")]
    ['x', 'x']
    """
    dest = name.replace("-", "_")
    parser.add_argument(f"--{dest}", f"--{dest.replace('_', '-')}", dest=dest, **kwargs)
