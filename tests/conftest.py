"""Shared fixtures."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from stream_monitor.batch.drift import SELF_CHECK_ENV
from stream_monitor.config import ProfileSettings
from stream_monitor.profile.build import build_profile
from stream_monitor.profile.store import write_profile
from stream_monitor.synthetic import traffic

# Make tests/strategies.py importable as a plain module.
sys.path.insert(0, str(Path(__file__).parent))

# Every drift report the tests make, in this process or a child's, is held to its schema.
os.environ[SELF_CHECK_ENV] = "1"


@pytest.fixture(autouse=True)
def _no_stray_monitors() -> Iterator[None]:
    """Kill monitor processes a failed test left running, so that they neither disturb the
    next tests nor surface there as a ResourceWarning."""
    import kafka_support

    yield
    while kafka_support.monitors:
        process = kafka_support.monitors.pop()
        if process.poll() is None:
            process.kill()
            process.wait(30)


@pytest.fixture(scope="session")
def profile_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A reference profile on disk, as a deployment would have it."""
    folder = tmp_path_factory.mktemp("crash")
    data = folder / "reference.parquet"
    traffic(100_000, seed=1).drop("id").write_parquet(data)
    path = folder / "profile.parquet"
    write_profile(build_profile(data, ProfileSettings()), path)
    return path


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """One headless Chromium (``tests/browser.py``) for a module's page tests."""
    from browser import Browser, BrowserMissingError

    try:
        driver = Browser()
    except BrowserMissingError as error:
        pytest.fail(str(error), pytrace=False)
    yield driver
    driver.close()
