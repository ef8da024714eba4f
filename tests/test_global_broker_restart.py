"""Global windows through a broker SIGKILL and restart (exactly once): the monitor runs on
throughout, and publishes the global alerts of an uninterrupted run, alert id for alert id.

The module runs its own broker (as tests/test_broker_restart.py does), so killing it does
not disturb the other tests."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from kafka_support import LocalBroker, free_ports, new_topic
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
    view,
    wait_resolved,
)

pytestmark = pytest.mark.kafka

__all__ = ["deployment"]  # the data and profile fixture, shared with test_global_kafka


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


def test_a_broker_restart_mid_stream_changes_no_global_alert(
    broker: LocalBroker, deployment: dict[str, Any]
) -> None:
    run = uuid.uuid4().hex[:8]
    rows = deployment["rows"]
    whole = new_topic("global-whole", partitions=PARTITIONS)
    produce_rows(whole, rows, 0, ROWS)
    reference = config(deployment, f"ref-{run}", "a", whole)
    process = start(reference)
    wait_resolved(f"ref-{run}-alerts", [reference])
    stop([process])

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
    assert view(global_alerts(f"brk-{run}-alerts")) == view(global_alerts(f"ref-{run}-alerts"))
    assert len(view(global_alerts(f"ref-{run}-alerts"))) == 2  # the alert and the resolution
