"""Where the stream's outputs go: the sink contract, and the sinks that need no broker.

A sink takes one output at a time (``add``) and makes everything added so far durable on
``flush``. The stream has two kinds of output, alerts (dicts, encoded by
``alerts.encode``) and dead letters (``DeadLetter``); a sink is for one kind. The Kafka
sinks are in ``kafka_sinks``; these two need nothing but Python:

- ``JsonLinesSink``: alerts as JSON lines, to a file or a stream such as stdout;
- ``MemorySink``: keeps what it is given, in order, for tests and embedding.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import IO, Any, Generic, Protocol, TypeVar

from stream_monitor.stream.alerts import encode

T = TypeVar("T")
T_contra = TypeVar("T_contra", contravariant=True)


class Sink(Protocol[T_contra]):
    """The contract every sink keeps."""

    def add(self, item: T_contra) -> None:
        """Take one output; it may be buffered until ``flush``."""

    def flush(self) -> None:
        """Make everything added so far durable, or raise."""


class JsonLinesSink:
    """Writes each alert as one JSON line (``alerts.encode``), flushed on ``flush``."""

    def __init__(self, out: IO[str], *, on_alert: Callable[[dict[str, Any]], None] | None = None):
        self.out = out
        self.on_alert = on_alert
        self._owned = False

    @classmethod
    def to_path(cls, path: str | Path) -> JsonLinesSink:
        """A sink appending to the file at ``path``."""
        sink = cls(open(path, "a", encoding="utf-8"))  # noqa: SIM115 - closed by close()
        sink._owned = True
        return sink

    def add(self, alert: dict[str, Any]) -> None:
        """Write one alert."""
        self.out.write(encode(alert).decode() + "\n")
        if self.on_alert is not None:
            self.on_alert(alert)

    def flush(self) -> None:
        """Flush the stream."""
        self.out.flush()

    def close(self) -> None:
        """Flush, and close the file if the sink opened it."""
        self.flush()
        if self._owned:
            self.out.close()


class MemorySink(Generic[T]):
    """Keeps every item it is given; ``flushed`` is how many were there at the last flush."""

    def __init__(self) -> None:
        self.items: list[T] = []
        self.flushed = 0

    def add(self, item: T) -> None:
        """Keep one item."""
        self.items.append(item)

    def flush(self) -> None:
        """Mark everything kept so far as flushed."""
        self.flushed = len(self.items)
