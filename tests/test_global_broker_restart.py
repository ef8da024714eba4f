"""Global windows through a broker SIGKILL and restart (exactly once): the monitor runs on
throughout, and publishes the global alerts of an uninterrupted run, alert id for alert id.

The module runs a broker of its own (the fixture of tests/test_broker_restart.py), so
killing it does not disturb the other tests. Without the sweep (stream/sweep.py) this
failed now and then: the broker, just restarted, aborted the transaction that had timed
out while it was down but skipped the alert partition's marker, and the monitor's next
commit there published the aborted global alert beside the one it produced again."""

from __future__ import annotations

import time
import uuid
from typing import Any

import pytest
from kafka_support import LocalBroker, new_topic
from test_broker_restart import broker
from test_global_kafka import (
    PARTITIONS,
    ROWS,
    committed,
    config,
    deployment,
    global_alerts,
    produce_rows,
    start,
    stop,
    uninterrupted,
    view,
    wait_resolved,
)

pytestmark = pytest.mark.kafka

# The module's own broker (test_broker_restart), and the data and profile (test_global_kafka).
__all__ = ["broker", "deployment"]


def test_a_broker_restart_mid_stream_changes_no_global_alert(
    broker: LocalBroker, deployment: dict[str, Any]
) -> None:
    run = uuid.uuid4().hex[:8]
    rows = deployment["rows"]
    expected = view(global_alerts(uninterrupted(deployment, f"ref-{run}", "global-whole")))

    split = new_topic("global-split", partitions=PARTITIONS)
    produce_rows(split, rows, 0, ROWS // 2)
    path = config(deployment, f"brk-{run}", "a", split)
    process = start(path)
    deadline = time.monotonic() + 180
    while committed(path, split) < PARTITIONS * (ROWS // 2 - ROWS // 10):
        assert time.monotonic() < deadline, "the monitor did not get going"
        time.sleep(0.5)
    broker.kill()
    time.sleep(3)
    broker.start()
    assert process.poll() is None, f"the monitor exited with {process.returncode}"
    produce_rows(split, rows, ROWS // 2, ROWS)
    wait_resolved(f"brk-{run}-alerts", [path])
    stop([process])
    assert view(global_alerts(f"brk-{run}-alerts")) == expected
    assert len(expected) == 2  # the alert and the resolution
