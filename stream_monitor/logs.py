"""Structured JSON logs on stderr: one object per line, with context fields, never payloads.

Fields come from the ``extra`` mapping of each call (topic, partition, offsets, counts). The
formatter drops any field whose name suggests a secret, so a config dict logged by mistake
does not leak a password.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from typing import Any

_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}
_SECRET_HINTS = ("password", "secret", "token", "sasl", "key.pem", "credential")


class JsonFormatter(logging.Formatter):
    """Formats a record as one JSON object."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        for name, value in vars(record).items():
            if name in _STANDARD or name.startswith("_"):
                continue
            if any(hint in name.lower() for hint in _SECRET_HINTS):
                continue
            plain = isinstance(value, str | int | float | bool | None)
            entry[name] = value if plain else str(value)
        if record.exc_info and record.exc_info[0] is not None:
            entry["error"] = record.exc_info[0].__name__
        return json.dumps(entry, separators=(",", ":"))


def setup(level: str = "info") -> None:
    """Send the ``stream_monitor`` loggers to stderr as JSON lines."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("stream_monitor")
    logger.handlers[:] = [handler]
    logger.setLevel(level.upper())
    logger.propagate = False
