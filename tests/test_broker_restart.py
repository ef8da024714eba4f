"""SIGKILL the broker mid-run and restart it: the monitor reconnects, loses nothing and, in
exactly-once mode, duplicates nothing.

The test runs its own broker (scripts/kafka.sh in a private home and ports), so killing it
does not disturb the other tests. Records keep arriving while the broker is down and while
it comes back, and the monitor keeps running throughout: it is never restarted.
STREAM_MONITOR_SOAK=1 kills the broker six times over 1M records.
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import kafka_support
import pytest
from kafka_support import LocalBroker, free_ports
from test_crash_recovery import (
    SOAK,
    LiveInput,
    assert_every_offset_counted_once,
    assert_same_alerts,
    finish,
    reference_ids,
    write_config,
)

pytestmark = pytest.mark.kafka

BROKER_KILLS = 6 if SOAK else 2


@pytest.fixture(scope="module")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalBroker]:
    """A broker of this module's own, with STREAM_MONITOR_BOOTSTRAP pointing at it."""
    local = LocalBroker(tmp_path_factory.mktemp("broker"), free_ports(2))
    with pytest.MonkeyPatch.context() as patch:
        local.start()
        patch.setenv("STREAM_MONITOR_BOOTSTRAP", local.address)
        try:
            yield local
        finally:
            local.stop()


@pytest.mark.parametrize("guarantee", ["exactly_once", "at_least_once"])
def test_broker_kill_and_restart_mid_run(
    tmp_path: Path, profile_path: Path, broker: LocalBroker, guarantee: str
) -> None:
    """Two broker SIGKILLs while records arrive; one monitor process runs through both."""
    live = LiveInput()
    config = write_config(tmp_path, live.topic, profile_path, guarantee, f"brk-{guarantee[:5]}")
    log_path = tmp_path / "monitor.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "stream_monitor", "run", "--config", str(config)],
            stdout=log,
            stderr=log,
        )
    kafka_support.monitors.append(process)
    try:
        for _ in range(BROKER_KILLS):
            time.sleep(6)
            assert not live.finished(), "the input ended before the broker was killed"
            broker.kill()
            time.sleep(3)
            broker.start()
            assert process.poll() is None, f"the monitor exited with {process.returncode}"
        live.thread.join()
        finish(config, live.topic, process)
    except BaseException:
        process.kill()
        print(log_path.read_text(errors="replace")[-5000:])
        raise
    assert_every_offset_counted_once(config, live.topic)
    assert_same_alerts(config, reference_ids(tmp_path, live, profile_path, guarantee), guarantee)
