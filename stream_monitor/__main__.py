"""Allow ``python -m stream_monitor``."""

import sys

from stream_monitor.cli import main

sys.exit(main())
