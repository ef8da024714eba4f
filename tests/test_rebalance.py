"""Rebalances between instances move partition state with the partitions; no transaction hangs."""

from __future__ import annotations

import random
import signal
import subprocess
import time
from pathlib import Path

import pytest
from test_crash_recovery import (
    SOAK,
    LiveInput,
    assert_every_offset_counted_once,
    assert_same_alerts,
    committed_to_end,
    monitor_logs,
    reference_ids,
    start,
    write_config,
)

pytestmark = pytest.mark.kafka


def wait_until_done(config: Path, topic: str, processes: list[subprocess.Popen[bytes]]) -> None:
    """Wait for the group to commit the end of the input; restart any instance that died."""
    deadline = time.monotonic() + 300
    while not committed_to_end(config, topic):
        assert time.monotonic() < deadline, f"the input was not consumed\n{monitor_logs(config)}"
        time.sleep(1.0)
    for process in processes:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
    for process in processes:
        process.wait(60)


def churn(
    configs: list[Path], live: LiveInput, running: dict[str, subprocess.Popen[bytes]]
) -> list[subprocess.Popen[bytes]]:
    """Soak: until the whole input is produced, every 3 to 8 s an instance joins, leaves with
    SIGTERM or dies with SIGKILL (one to four running); return the ones still running."""
    rng = random.Random(11)
    by_id = {path.stem: path for path in configs}
    events = 0
    while not live.finished():
        time.sleep(rng.uniform(3, 8))
        idle = sorted(set(by_id) - set(running))
        if idle and (len(running) < 2 or rng.random() < 0.5):
            name = rng.choice(idle)
            running[name] = start(by_id[name])
        elif len(running) > 1:
            process = running.pop(rng.choice(sorted(running)))
            kill = rng.random() < 0.5
            process.send_signal(signal.SIGKILL if kill else signal.SIGTERM)
            code = process.wait(60)
            assert kill or code == 0, f"a clean stop exited with {code}"
        events += 1
    assert events >= 10
    return list(running.values())


@pytest.mark.parametrize("guarantee", ["exactly_once", "at_least_once"])
def test_rebalances_move_state_with_partitions(
    tmp_path: Path,
    profile_path: Path,
    guarantee: str,
) -> None:
    """Two instances, then a third joins, one stops and one is killed: the alerts equal a
    single instance's, partition state having moved with each partition. Soak: then a
    rebalance every few seconds, with instances joining, leaving and dying, over 1M records."""
    live = LiveInput(partitions=6)
    name = f"group-{guarantee[:5]}"
    configs = [
        write_config(tmp_path, live.topic, profile_path, guarantee, name, instance=i)
        for i in ("a", "b", "c", *(("d",) if SOAK else ()))
    ]
    a, b = start(configs[0]), start(configs[1])
    time.sleep(6)
    c = start(configs[2])  # joins: partitions move to it
    time.sleep(6)
    a.send_signal(signal.SIGTERM)  # leaves cleanly: its partitions move
    assert a.wait(60) == 0
    time.sleep(4)
    b.send_signal(signal.SIGKILL)  # dies: its partitions move after the session timeout
    b.wait(60)
    running = churn(configs, live, {"c": c}) if SOAK else [c]
    live.thread.join()
    wait_until_done(configs[2], live.topic, running)
    assert_every_offset_counted_once(configs[2], live.topic)
    expected = reference_ids(tmp_path, live, profile_path, guarantee)
    assert_same_alerts(configs[2], expected, guarantee)
