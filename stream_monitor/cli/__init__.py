"""The ``stream-monitor`` command line: one subcommand per job.

Each subcommand lives in its own module exposing ``add_arguments(parser)``, which adds its
flags (and description) and sets ``func`` to the function that runs it. ``COMMANDS`` lists
them with their one-line help, so ``--help`` lists every subcommand without importing any
of them, and only the chosen subcommand's module (with the libraries it needs) is imported.
A ``UserInputError`` raised by a job is printed as one line on stderr and exits with code
2, without a traceback. When the reader of stdout goes away (``stream-monitor ... | head``)
the command stops quietly with code 141, as a Unix tool killed by SIGPIPE does: a pipeline
run with ``set -o pipefail`` then cannot take a cut-short output for a complete one.
"""

from __future__ import annotations

import argparse
import gc
import importlib
import os
import sys
from collections.abc import Sequence
from typing import NamedTuple

from stream_monitor import __version__
from stream_monitor.errors import UserInputError

EXIT_OK = 0
EXIT_DRIFT = 1
EXIT_USAGE = 2
# 128 + SIGPIPE: what the shell reports for a process the closed pipe killed. Python ignores
# SIGPIPE (the write raises BrokenPipeError instead), and restoring its default action would
# let a client that hangs up on the metrics endpoint kill the monitor.
EXIT_BROKEN_PIPE = 141


class _Parser(argparse.ArgumentParser):
    """An argparse parser whose usage errors are one line, naming the flag."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message}\n")


class Command(NamedTuple):  # not a dataclass: importing dataclasses doubles --help's imports
    """A subcommand: its name, the module that adds its flags and runs it, its help line."""

    name: str
    module: str
    help: str


COMMANDS = (
    Command("profile", "stream_monitor.cli.profile", "build the reference profile of a data file"),
    Command("run", "stream_monitor.cli.run", "monitor a Kafka topic (or a file with --source)"),
    Command("alerts", "stream_monitor.cli.alerts", "tail the alert topic"),
    Command(
        "check-drift",
        "stream_monitor.cli.check_drift",
        "drift report of a data file against reference data or a profile",
    ),
    Command(
        "validate-schema",
        "stream_monitor.cli.validate_schema",
        "check a data file against a column schema (or infer one)",
    ),
    Command(
        "check-degradation",
        "stream_monitor.cli.check_degradation",
        "compare model metrics on current data with a baseline",
    ),
    Command(
        "monitor-predictions",
        "stream_monitor.cli.monitor_predictions",
        "prediction drift over time windows of a data file",
    ),
    Command("demo", "stream_monitor.cli.demo", "run the monitor on synthetic traffic (no Kafka)"),
)


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """Return the top-level parser listing every subcommand, with the flags of ``command``
    (whose module this imports); the other subcommands get no flags."""
    parser = _Parser(prog="stream-monitor", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    for entry in COMMANDS:
        subparser = sub.add_parser(entry.name, help=entry.help)
        if entry.name == command:
            importlib.import_module(entry.module).add_arguments(subparser)
    return parser


def _chosen(argv: Sequence[str]) -> str | None:
    """The subcommand named in ``argv``: its first word that is not an option (the top-level
    options take no value)."""
    return next((arg for arg in argv if not arg.startswith("-")), None)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the process exit code."""
    if argv is None:
        argv = sys.argv[1:]
    try:
        try:
            code = _run(argv)
        finally:  # after --help's SystemExit too
            sys.stdout.flush()  # a closed pipe shows here at the latest, not at exit
    except BrokenPipeError:
        _discard_stdout()
        return EXIT_BROKEN_PIPE
    return code


def run_command() -> int:
    """The ``stream-monitor`` process: ``main``, then the exit code.

    The objects left are frozen out of the garbage collector first: the interpreter's last
    collection at exit walks every object the imports made (Numba makes many), which took
    0.3-0.4 s after a ``check-drift`` of a million rows, a sixth of the job. Objects are
    still released as the interpreter shuts down; only the cyclic collection's walk is
    skipped. Not done in ``main``, which tests and embedding programs call in a process that
    goes on.

    OpenBLAS runs one thread unless the environment says otherwise: the jobs' only BLAS
    calls are tiny (a 20 x 20 eigendecomposition), and the threads it starts with numpy
    (one per core) only compete with the jobs' own on a small machine (numpy's import
    88 -> 77 ms at the median on 2 cores).
    """
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    try:
        return main()
    finally:  # after --help's and a usage error's SystemExit too
        gc.freeze()


def _run(argv: Sequence[str]) -> int:
    args = build_parser(_chosen(argv)).parse_args(argv)
    try:
        if hasattr(args, "null_values"):  # a job that reads data files
            from stream_monitor.cli._flags import null_values
            from stream_monitor.io import csv_null_values

            with csv_null_values(null_values(args)):
                code: int = args.func(args)
        else:
            code = args.func(args)
    except UserInputError as error:
        print(f"stream-monitor {args.command}: error: {error}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        return 130
    return code


def _discard_stdout() -> None:
    """Point stdout at /dev/null, so that flushing what is still buffered at exit does not
    raise again (Python would print "Exception ignored ... BrokenPipeError")."""
    try:
        fd = sys.stdout.fileno()
    except (AttributeError, OSError, ValueError):  # replaced by a stream without a descriptor
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, fd)
    os.close(devnull)
