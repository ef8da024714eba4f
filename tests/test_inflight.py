"""The batch in flight: processed on a worker thread, its error raised where it settles."""

from __future__ import annotations

import threading

import pytest

from stream_monitor.stream.inflight import InFlight


def test_a_batch_runs_on_the_worker_and_settles_in_order() -> None:
    seen: list[tuple[int, list[int]]] = []
    release = threading.Event()

    def process(messages: list[int]) -> None:
        release.wait(5)
        seen.append((threading.get_ident(), messages))

    batch = InFlight(process)
    batch.submit([1, 2, 3])
    assert batch.busy
    with pytest.raises(RuntimeError, match="still in flight"):
        batch.submit([4])
    assert seen == []  # nothing ran past the gate yet
    release.set()
    batch.settle()
    assert not batch.busy
    batch.submit([4])
    batch.settle()
    assert [m for _, m in seen] == [[1, 2, 3], [4]]
    assert {t for t, _ in seen} != {threading.get_ident()}
    batch.close()


def test_the_batch_error_is_raised_by_settle_once() -> None:
    def process(messages: list[int]) -> None:
        raise ValueError(f"bad batch of {len(messages)}")

    batch = InFlight(process)
    batch.submit([1, 2])
    with pytest.raises(ValueError, match="bad batch of 2"):
        batch.settle()
    batch.settle()  # nothing in flight: a no-op
    batch.submit([1])
    batch.close()  # the run is ending: logged, not raised
    assert not batch.busy
