"""Where alerts go when they do not go to Kafka: a JSON-lines file, or a stream like stdout."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any


class JsonLinesSink:
    """Writes each alert as one JSON line, flushed per batch."""

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

    def send(self, alerts: list[dict[str, Any]]) -> None:
        """Write a batch's alerts."""
        for alert in alerts:
            self.out.write(json.dumps(alert, separators=(",", ":")) + "\n")
            if self.on_alert is not None:
                self.on_alert(alert)
        if alerts:
            self.out.flush()

    def close(self) -> None:
        """Flush, and close the file if the sink opened it."""
        self.out.flush()
        if self._owned:
            self.out.close()
