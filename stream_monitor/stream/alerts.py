"""Alerts: the JSON messages other services subscribe to.

An alert is built from a drift event and the stream position it happened at. Its format is
versioned (``ALERT_SCHEMA_VERSION``) and shipped as ``stream_monitor/schemas/alert.schema.json``.
``alert_id`` is derived from the monitor, type, feature, detector, partition and offsets only,
so the same drift at the same records always gets the same id: a subscriber drops
duplicates (after a restart in at-least-once mode) by id.

Repeats of an ongoing drift are rate-limited per (type, feature, detector): after an alert,
further alerts of the same key within ``repeat_after_rows`` rows are held back and counted,
and the next alert that goes out carries that count in ``suppressed_since_last``. Counting in
rows, not seconds, keeps the alert stream a function of the input alone.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import resources
from typing import Any

import numpy as np

from stream_monitor.engine import DriftEvent

#: Version 2 added the ``data_quality`` and ``multivariate_drift`` types and the optional
#: ``details`` object; version 3 the ``scope`` (``partition`` or ``global``), global windows
#: and ``incident`` (docs/alerts.md).
ALERT_SCHEMA_VERSION = 3
ALERT_TYPES = (
    "feature_drift",
    "label_drift",
    "prediction_drift",
    "concept_drift",
    "performance_degradation",
    "schema_violation",
    "data_quality",
    "multivariate_drift",
)


def encode(alert: dict[str, Any]) -> bytes:
    """An alert as every sink writes it: compact JSON on one line, UTF-8.

    >>> encode({"feature": "age", "score": 0.5})
    b'{"feature":"age","score":0.5}'
    """
    return json.dumps(alert, separators=(",", ":")).encode()


def alert_schema() -> dict[str, Any]:
    """The JSON Schema every alert validates against."""
    text = resources.files("stream_monitor.schemas").joinpath("alert.schema.json").read_text()
    schema: dict[str, Any] = json.loads(text)
    return schema


@dataclass(frozen=True, slots=True)
class WindowInfo:
    """The records an alert is about, in one input partition."""

    rows: int
    first_offset: int
    last_offset: int
    partition: int
    topic: str | None = None
    event_time_start: str | None = None
    event_time_end: str | None = None


def alert_id(monitor: str, type_: str, feature: str, detector: str, window: WindowInfo) -> str:
    """A stable id from what the alert is about, never from when it was raised.

    >>> w = WindowInfo(rows=10, first_offset=0, last_offset=9, partition=2, topic="t")
    >>> alert_id("m", "feature_drift", "x", "psi", w)
    'f81d2e1ba3b193d267203d6419ba51f0'
    >>> alert_id("m", "feature_drift", "x", "ks", w)
    'f387d04646c13c087fb81a39a8397a61'
    """
    key = json.dumps(
        [
            monitor,
            type_,
            feature,
            detector,
            window.topic,
            window.partition,
            window.first_offset,
            window.last_offset,
        ],
        separators=(",", ":"),
    )
    return hashlib.sha256(key.encode()).hexdigest()[:32]


def severity(event: DriftEvent) -> str:
    """``critical`` for a change far past its threshold, ``warning`` otherwise.

    Sequential detectors: a recent mean channel value (or error rate) of at least 1;
    rate CUSUMs: a share at least 10 points (quality) or 50 % (category share) off the
    reference's.
    """
    details = event.details or {}
    if "recent_mean" in details or event.detector == "ddm":
        recent = details.get("recent_mean", event.score)
        return "critical" if recent is not None and abs(recent) >= 1.0 else "warning"
    if "recent_share" in details:
        recent, ref = details["recent_share"], details["reference_share"]
        if recent is None:
            return "warning"
        if event.type == "data_quality":
            return "critical" if recent - ref >= 0.1 else "warning"
        return "critical" if abs(recent - ref) >= 0.5 * ref else "warning"
    if event.detector in ("adwin", "page_hinkley"):
        return "critical" if abs(event.score) >= 1.0 else "warning"
    if event.p_value is not None:
        return "critical" if event.p_value < event.threshold / 10 else "warning"
    return "critical" if event.score >= 2 * event.threshold else "warning"


def _finite(x: float) -> float | None:
    return float(x) if np.isfinite(x) else None


def build_alert(
    monitor: str,
    event: DriftEvent,
    window: WindowInfo,
    *,
    suppressed_since_last: int = 0,
    detected_at: datetime | None = None,
) -> dict[str, Any]:
    """The alert message for ``event``, as a JSON-ready dict."""
    win: dict[str, Any] = {
        "rows": window.rows,
        "first_offset": window.first_offset,
        "last_offset": window.last_offset,
        "partition": window.partition,
        "topic": window.topic,
    }
    if window.event_time_start is not None:
        win["event_time_start"] = window.event_time_start
        win["event_time_end"] = window.event_time_end
    key = alert_id(monitor, event.type, event.feature, event.detector, window)
    return _message(monitor, event, key, win, "partition", suppressed_since_last, detected_at)


def _message(
    monitor: str,
    event: DriftEvent,
    key: str,
    window: dict[str, Any],
    scope: str,
    suppressed_since_last: int,
    detected_at: datetime | None,
) -> dict[str, Any]:
    """The alert message every scope shares the layout of (``incident`` added later)."""
    when = detected_at or datetime.now(UTC)
    return {
        "schema_version": ALERT_SCHEMA_VERSION,
        "alert_id": key,
        "monitor": monitor,
        "type": event.type,
        "feature": event.feature,
        "detector": event.detector,
        "score": _finite(event.score),
        "threshold": _finite(event.threshold),
        "p_value": None if event.p_value is None else _finite(event.p_value),
        "severity": severity(event),
        "detected_at": when.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "window": window,
        "suppressed_since_last": suppressed_since_last,
        "scope": scope,
        "incident": None,
        **({"details": _details(event.details)} if event.details else {}),
    }


def _details(details: Any) -> dict[str, Any]:
    """Event details as JSON values: non-finite floats become null."""
    return {
        k: (_finite(v) if isinstance(v, float) else v.item() if isinstance(v, np.generic) else v)
        for k, v in details.items()
    }


class RateLimiter:
    """Holds back repeats of the same (type, feature, detector) within a number of rows.

    >>> limiter = RateLimiter(repeat_after_rows=100)
    >>> [limiter.admit(("feature_drift", "x", "psi"), row) for row in (0, 50, 99, 100, 150)]
    [0, None, None, 2, None]
    """

    def __init__(self, repeat_after_rows: int) -> None:
        self.repeat_after_rows = repeat_after_rows
        self.last_row: dict[tuple[str, str, str], int] = {}
        self.held: dict[tuple[str, str, str], int] = {}

    def admit(self, key: tuple[str, str, str], row: int) -> int | None:
        """``None`` to hold the alert back; else the number held back since the last one."""
        last = self.last_row.get(key)
        if last is not None and row - last < self.repeat_after_rows:
            self.held[key] = self.held.get(key, 0) + 1
            return None
        self.last_row[key] = row
        return self.held.pop(key, 0)

    def state(self) -> list[list[Any]]:
        """JSON-ready state, for checkpoints."""
        return [[*k, self.last_row[k], self.held.get(k, 0)] for k in sorted(self.last_row)]

    def restore(self, state: list[list[Any]]) -> None:
        """Restore from ``state()``."""
        self.last_row = {(t, f, d): int(row) for t, f, d, row, _ in state}
        self.held = {(t, f, d): int(n) for t, f, d, _, n in state if n}


def iso_ms(ms: int) -> str:
    """Epoch milliseconds as an ISO 8601 UTC time.

    >>> iso_ms(1767571200500)
    '2026-01-05T00:00:00.500Z'
    """
    when = datetime.fromtimestamp(ms / 1000, tz=UTC)
    return when.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _hash(parts: list[Any]) -> str:
    key = json.dumps(parts, separators=(",", ":"))
    return hashlib.sha256(key.encode()).hexdigest()[:32]


def build_global_alert(
    monitor: str,
    event: DriftEvent,
    *,
    start_ms: int,
    end_ms: int,
    rows: int,
    partitions: int,
    late_rows: int,
    detected_at: datetime | None = None,
) -> dict[str, Any]:
    """The alert message for a verdict of a merged global window ``[start_ms, end_ms)``.

    Its id is derived from the monitor, type, feature, detector and the window alone.
    """
    key = _hash([monitor, event.type, event.feature, event.detector, "global", start_ms, end_ms])
    window = _global_window(rows, partitions, late_rows, start_ms, end_ms)
    return _message(monitor, event, key, window, "global", 0, detected_at)


def _global_window(rows: int, partitions: int, late: int, start: int, end: int) -> dict[str, Any]:
    return {
        "rows": rows,
        "partitions": partitions,
        "late_rows": late,
        "event_time_start": iso_ms(start),
        "event_time_end": iso_ms(end),
    }


def with_incident(
    alert: dict[str, Any], incident: str, status: str, sequence: int, members: int, folded: int
) -> dict[str, Any]:
    """The alert as a message about an incident: ``status`` is ``open``, ``update`` or
    ``resolved``, ``sequence`` its place among the incident's messages."""
    return {
        **alert,
        "incident": {
            "id": incident,
            "status": status,
            "sequence": sequence,
            "members": members,
            "folded": folded,
        },
    }


def resolution_alert(
    monitor: str,
    type_: str,
    feature: str,
    incident: str,
    *,
    start_ms: int,
    end_ms: int,
    clean_windows: int,
    detected_at: datetime | None = None,
) -> dict[str, Any]:
    """The message that resolves an incident, after ``clean_windows`` clean global windows
    (the last of them ``[start_ms, end_ms)``)."""
    when = detected_at or datetime.now(UTC)
    return {
        "schema_version": ALERT_SCHEMA_VERSION,
        "alert_id": _hash([monitor, incident, "resolved"]),
        "monitor": monitor,
        "type": type_,
        "feature": feature,
        "detector": "incident",
        "score": None,
        "threshold": clean_windows,
        "p_value": None,
        "severity": "info",
        "detected_at": when.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "window": _global_window(0, 0, 0, start_ms, end_ms),
        "suppressed_since_last": 0,
        "scope": "global",
        "incident": None,
    }
