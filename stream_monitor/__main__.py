"""Allow ``python -m stream_monitor``."""

import sys

from stream_monitor.cli import run_command

sys.exit(run_command())
