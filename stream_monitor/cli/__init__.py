"""The ``stream-monitor`` command line: one subcommand per job.

Each subcommand lives in its own module exposing ``register(subparsers)``, which adds its
parser and sets ``func`` to the function that runs it. A ``UserInputError`` raised by a job is
printed as one line on stderr and exits with code 2, without a traceback.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from stream_monitor import __version__
from stream_monitor.errors import UserInputError

EXIT_OK = 0
EXIT_DRIFT = 1
EXIT_USAGE = 2


class _Parser(argparse.ArgumentParser):
    """An argparse parser whose usage errors are one line, naming the flag."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    """Return the top-level parser with every subcommand registered."""
    from stream_monitor.cli import (
        alerts,
        check_degradation,
        check_drift,
        demo,
        monitor_predictions,
        profile,
        run,
        validate_schema,
    )

    parser = _Parser(prog="stream-monitor", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    for module in (
        profile,
        run,
        alerts,
        check_drift,
        validate_schema,
        check_degradation,
        monitor_predictions,
        demo,
    ):
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the process exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        code: int = args.func(args)
    except UserInputError as error:
        print(f"stream-monitor {args.command}: error: {error}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        return 130
    return code
