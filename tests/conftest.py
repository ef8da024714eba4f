"""Shared fixtures."""

from __future__ import annotations

import sys
from pathlib import Path

# Make tests/strategies.py importable as a plain module.
sys.path.insert(0, str(Path(__file__).parent))
