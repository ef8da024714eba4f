"""One batch processed on a worker thread while the loop consumes the next.

``consume()`` costs about as much CPU per record as scoring does, and most of the scoring
(Polars decoding, the Numba kernels) runs without the GIL, so the two overlap. The owner
keeps one rule: nothing but the batch in flight touches the monitors, the checkpoints or
the transaction until ``settle()`` has returned. Rebalance callbacks, checkpoints, the
global tier and error recovery all settle first. And the batch never calls the consumer
(nor opens the transaction, whose sweep does): a rebalance callback holds the consumer
while it waits for the batch.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

__all__ = ["InFlight"]

log = logging.getLogger("stream_monitor.run")


class InFlight:
    """At most one batch at a time, processed on one worker thread."""

    def __init__(self, process: Callable[[list[Any]], None]) -> None:
        self._process = process
        self._pool = ThreadPoolExecutor(1, thread_name_prefix="stream-monitor-batch")
        self._pending: Future[None] | None = None

    @property
    def busy(self) -> bool:
        return self._pending is not None

    def submit(self, messages: list[Any]) -> None:
        """Start processing ``messages``; the previous batch must be settled."""
        if self._pending is not None:
            raise RuntimeError("a batch is still in flight")
        self._pending = self._pool.submit(self._process, messages)

    def settle(self) -> None:
        """Wait for the batch in flight, if any; raise what its processing raised."""
        pending, self._pending = self._pending, None
        if pending is not None:
            pending.result()

    def close(self) -> None:
        """Wait for the batch in flight (the run is ending: an error is only logged) and
        stop the worker."""
        try:
            self.settle()
        except Exception as error:
            log.warning("last batch failed while stopping", extra={"reason": repr(error)})
        self._pool.shutdown(wait=True)
