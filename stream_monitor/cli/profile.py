"""``stream-monitor profile``: build the reference profile of a data file.

Reads a CSV, Parquet or NDJSON file and writes its profile (see ``docs/profile-format.md``)
to a Parquet file. Settings come from the ``profile:`` section of ``--config``; the flags
override them (``--exclude`` adds to the config's ``exclude`` list). Identifier and timestamp
columns are left out (``stream_monitor.roles``). Prints one summary line on stderr, preceded
by a line per column left out as an identifier or a timestamp, or without being excluded.
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path

from stream_monitor.cli._flags import add_engine_flags, add_null_values_flag, check_output
from stream_monitor.config import load_profile_settings
from stream_monitor.engines import ENGINES
from stream_monitor.profile import Profile, ProfileWarning, read_profile, write_profile
from stream_monitor.roles import ROLES

_PROG = "stream-monitor profile"

# Settings that have a flag: setting name -> flag.
_FLAGS = {
    "target": "--target",
    "prediction": "--prediction",
    "bins": "--bins",
    "sketch_bins": "--sketch-bins",
    "top_k": "--top-k",
    "seasonality": "--seasonality",
    "timestamp": "--timestamp",
}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the ``profile`` subcommand's flags; its ``func`` runs it."""
    parser.description = "Build the reference profile of a CSV, Parquet or NDJSON file."
    parser.add_argument("--data", required=True, type=Path, help="CSV, Parquet or NDJSON file")
    parser.add_argument("--out", required=True, type=Path, help="profile file to write (Parquet)")
    parser.add_argument("--config", type=Path, help="YAML config file; its profile: section")
    parser.add_argument("--target", metavar="COL", help="column holding the target")
    parser.add_argument("--prediction", metavar="COL", help="column holding the prediction")
    parser.add_argument("--bins", type=int, metavar="N", help="score bins (default 10)")
    parser.add_argument(
        "--sketch-bins", type=int, metavar="N", help="fine quantile bins (default 100)"
    )
    parser.add_argument(
        "--top-k", type=int, metavar="K", help="categories kept per column (default 20)"
    )
    parser.add_argument(
        "--seasonality",
        choices=("daily", "weekly"),
        help="also count every column per UTC hour of the day or of the week of --timestamp",
    )
    parser.add_argument("--timestamp", metavar="COL", help="event-time column, for --seasonality")
    parser.add_argument(
        "--exclude",
        action="append",
        metavar="COL",
        help="leave this column out of the profile (repeatable)",
    )
    parser.add_argument(
        "--bins-from",
        type=Path,
        metavar="PROFILE",
        help="count the numeric columns over this profile's bin edges, not quantiles of this data",
    )
    add_engine_flags(parser)
    add_null_values_flag(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Build and write the profile; return the exit code."""
    out: Path = args.out
    check_output(out, "--out")
    flags: dict[str, tuple[object, str]] = {
        key: (getattr(args, key), flag) for key, flag in _FLAGS.items()
    }
    if args.exclude:
        flags["exclude"] = (tuple(args.exclude), "--exclude")
    settings = load_profile_settings(args.config, flags=flags)
    started = time.perf_counter()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ProfileWarning)
        bins_from = None if args.bins_from is None else read_profile(args.bins_from)
        profile = ENGINES[args.engine].profile(args.data, settings, bins_from, args.spark_master)
    for warning in caught:
        if issubclass(warning.category, ProfileWarning):
            print(f"{_PROG}: warning: {warning.message}", file=sys.stderr)
        else:
            warnings.warn_explicit(
                warning.message, warning.category, warning.filename, warning.lineno
            )
    for name, why in profile.metadata.excluded.items():
        if why.partition(":")[0] in ROLES:
            print(f"{_PROG}: column {name!r} left out ({why})", file=sys.stderr)
    write_profile(profile, out)
    elapsed = time.perf_counter() - started
    print(f"{_PROG}: {summary(profile)} -> {out} in {elapsed:.1f} s")
    return 0


def summary(profile: Profile) -> str:
    """One line describing ``profile``: rows, columns by kind, roles, exclusions."""
    meta = profile.metadata
    kinds: dict[str, int] = {}
    for column in profile.columns:
        kinds[column.kind] = kinds.get(column.kind, 0) + 1
    parts = [f"{count} {kind}" for kind, count in kinds.items()]
    roles = [f"{c.role} {c.name}" for c in (profile.target, profile.prediction) if c is not None]
    text = f"{meta.row_count} rows, {len(profile.columns)} columns ({', '.join(parts)})"
    if roles:
        text += f"; {', '.join(roles)}"
    if meta.excluded:
        text += f"; {len(meta.excluded)} excluded"
    if profile.seasonality is not None:
        season = profile.seasonality
        text += f"; {season.period} seasons of {season.timestamp}"
    if not meta.exact_quantiles:
        text += f"; quantiles from a sample of {meta.quantile_sample_rows} rows"
    return text
