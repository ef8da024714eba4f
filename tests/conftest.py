"""Shared fixtures."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from stream_monitor.config import ProfileSettings
from stream_monitor.profile.build import build_profile
from stream_monitor.profile.store import write_profile
from stream_monitor.synthetic import traffic

# Make tests/strategies.py importable as a plain module.
sys.path.insert(0, str(Path(__file__).parent))


@pytest.fixture(scope="session")
def profile_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A reference profile on disk, as a deployment would have it."""
    folder = tmp_path_factory.mktemp("crash")
    data = folder / "reference.parquet"
    traffic(100_000, seed=1).drop("id").write_parquet(data)
    path = folder / "profile.parquet"
    write_profile(build_profile(data, ProfileSettings()), path)
    return path
