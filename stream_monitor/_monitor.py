"""The streaming monitor inside one's own consumer: feed frames, get alerts.

``Monitor`` is a thin shell over the pipeline ``stream-monitor run`` uses
(``stream.pipeline.Pipeline``): the same field checks, detectors, windows, alert ids and
rate limits, with no Kafka and no I/O. Each ``update(frame)`` is one micro-batch of one
partition; a row's offset is its position in that partition's rows so far, so the alerts
of a table fed in any batches are the alerts ``run --source`` raises on it.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from stream_monitor._inputs import to_lazy
from stream_monitor.profile.model import Profile
from stream_monitor.stream.pipeline import Counters, DeadLetter, Pipeline
from stream_monitor.stream.settings import StreamSettings, load_stream_settings

__all__ = ["Alert", "Monitor"]


@dataclass(frozen=True)
class Alert:
    """One alert: the fields of the alert message (``alert.schema.json``, the JSON the
    Kafka path sends), and ``to_dict()``, the message itself."""

    alert_id: str
    monitor: str
    type: str
    feature: str
    detector: str
    score: float | None
    threshold: float | None
    p_value: float | None
    severity: str
    detected_at: str
    window: Mapping[str, Any]
    suppressed_since_last: int
    details: Mapping[str, Any] | None
    _message: Mapping[str, Any] = field(repr=False, compare=False)

    @classmethod
    def from_dict(cls, message: Mapping[str, Any]) -> Alert:
        """The alert of a message (as ``to_dict`` gives, or as read from the alert topic)."""
        return cls(
            alert_id=message["alert_id"],
            monitor=message["monitor"],
            type=message["type"],
            feature=message["feature"],
            detector=message["detector"],
            score=message["score"],
            threshold=message["threshold"],
            p_value=message["p_value"],
            severity=message["severity"],
            detected_at=message["detected_at"],
            window=message["window"],
            suppressed_since_last=message["suppressed_since_last"],
            details=message.get("details"),
            _message=copy.deepcopy(dict(message)),
        )

    def to_dict(self) -> dict[str, Any]:
        """The alert message, as a new JSON-ready dict."""
        return copy.deepcopy(dict(self._message))


class Monitor:
    """The stream's detectors on a reference profile, fed Polars (or pandas, or pyarrow)
    frames by the caller.

    ``profile`` is a ``Profile`` or a profile file. ``config`` is the YAML file of
    ``stream-monitor run`` (its ``stream:`` section: methods, ADWIN and Page-Hinkley
    parameters, ``window_rows``, ``repeat_after_rows``, ...) or ``StreamSettings``;
    ``name`` and ``window_rows`` override it. ``update(frame)`` scores one batch of records
    and returns the alerts it raised. A row that does not fit the profile's schema (a value
    of the wrong type, a required field missing) is not scored: it is kept, with its reason,
    in ``dead_letters`` until the next update, and counted in ``counters``.

    Monitors of different partitions keep separate state, as the stream's do:
    ``update(frame, partition=1)``.
    """

    def __init__(
        self,
        profile: Profile | str | Path,
        *,
        config: str | Path | StreamSettings | None = None,
        name: str | None = None,
        window_rows: int | None = None,
        topic: str | None = None,
    ) -> None:
        if not isinstance(profile, Profile):
            profile = Profile.load(profile)
        flags: dict[str, tuple[object, str]] = {
            "monitor": (name, "Monitor(name=)"),
            "window_rows": (window_rows, "Monitor(window_rows=)"),
        }
        if isinstance(config, StreamSettings):
            given: dict[str, Any] = {k: v for k, (v, _) in flags.items() if v is not None}
            settings = replace(config, **given)
        else:
            settings = load_stream_settings(config, flags)
        self.profile = profile
        self.topic = topic
        self._pipeline = Pipeline(profile, settings)
        self._next: dict[int, int] = {}
        self.dead_letters: list[DeadLetter] = []

    @property
    def settings(self) -> StreamSettings:
        """The stream settings in use."""
        return self._pipeline.settings

    @property
    def counters(self) -> Counters:
        """Records scored and dead-lettered, and alerts raised, so far."""
        return self._pipeline.counters

    def update_dicts(self, frame: Any, *, partition: int = 0) -> list[dict[str, Any]]:
        """Score one batch of records; return the alert messages, exactly as the Kafka path
        sends them (``alert.schema.json``)."""
        if isinstance(frame, pl.DataFrame):
            rows = frame
        else:
            lazy, _ = to_lazy(frame, "frame")
            rows = lazy.collect()
        first = self._next.get(partition, 0)
        offsets = np.arange(first, first + rows.height, dtype=np.int64)
        self._next[partition] = first + rows.height
        alerts, self.dead_letters = self._pipeline.process_rows(
            self.topic, partition, rows, offsets
        )
        return alerts

    def update(self, frame: Any, *, partition: int = 0) -> list[Alert]:
        """Score one batch of records (a Polars, pandas or pyarrow table whose columns are
        the profile's); return the alerts it raised, in order."""
        return [Alert.from_dict(a) for a in self.update_dicts(frame, partition=partition)]
