"""One input partition's monitor: decoded rows and their offsets in, alert messages out.

Partitions are random shards of the traffic, so each is a valid sample and gets detectors of
its own. Everything here is a function of the partition's records alone (never of batch
boundaries or wall-clock time, except ``detected_at``), so a restart from a checkpoint gives
the same alerts, with the same ids, as an uninterrupted run.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl
from numpy.typing import NDArray

from stream_monitor.engine import DriftEvent
from stream_monitor.engine.dataset import ColumnArrays, DatasetMonitor, Interleaved, MonitorSettings
from stream_monitor.engine.global_windows import Report
from stream_monitor.engine.partials import (
    PartitionWindows,
    WindowSpec,
    column_values,
    event_times_ms,
)
from stream_monitor.errors import StateError
from stream_monitor.profile.model import Profile
from stream_monitor.stream import checkpoint
from stream_monitor.stream.alerts import RateLimiter, WindowInfo, build_alert

log = logging.getLogger("stream_monitor.run")

#: Alert types that global windows fold into incidents (their feature's tier-2 owner
#: decides what is published); the others are published as they are.
FOLDED = frozenset(
    {"feature_drift", "label_drift", "prediction_drift", "data_quality", "concept_drift"}
)


@dataclass(frozen=True)
class AlertSettings:
    """How alerts are named and rate-limited, and when bad records become an alert."""

    monitor: str = "stream-monitor"
    repeat_after_rows: int = 100_000
    dead_letter_share: float = 0.05
    quality_window: int = 10_000


class PartitionMonitor:
    """The detectors of one partition, and where in the partition they stand."""

    def __init__(
        self,
        profile: Profile,
        *,
        topic: str | None,
        partition: int,
        settings: MonitorSettings,
        alerts: AlertSettings,
        timestamp_field: str | None = None,
        windows: WindowSpec | None = None,
    ) -> None:
        self.topic = topic
        self.partition = partition
        self.settings = settings
        self.alerts = alerts
        self.timestamp_field = timestamp_field
        self.engine = DatasetMonitor(profile, settings)
        self.limiter = RateLimiter(alerts.repeat_after_rows)
        self.rows = 0  # rows scored in this partition
        self.messages = 0  # messages read from this partition (each offset counted once)
        self.dead_lettered = 0  # of which dead-lettered
        self.next_offset: int | None = None
        self.window_first_offset: int | None = None
        self.window_time: tuple[str | None, str | None] = (None, None)
        # Tumbling windows over every message (scored or dead-lettered), for the share of
        # bad records: messages so far in the open window, bad ones, and its first offset.
        self.quality_seen = 0
        self.quality_bad = 0
        self.quality_first_offset: int | None = None
        # Global windows (tier 1): this partition's window partials, and what tier 2 is to
        # be sent after the batch: (column, record) pairs, reports and folded alerts.
        self.windows = None if windows is None else PartitionWindows(profile, windows)
        self.reported_through = self.windows.closed_through if self.windows else 0
        self.outbox: list[tuple[str, dict[str, Any]]] = []

    def process(
        self,
        frame: pl.DataFrame | ColumnArrays,
        offsets: NDArray[np.int64],
        interleaved: Interleaved | None = None,
        record_offsets: NDArray[np.int64] | None = None,
        record_times: NDArray[np.int64] | None = None,
    ) -> list[dict[str, Any]]:
        """Score decoded rows (``offsets[i]`` is row ``i``'s offset); return new alerts.

        ``interleaved`` places the batch's dead-lettered records among the rows (their
        offsets, in order, are ``record_offsets``), for the data-quality measures.
        ``record_times`` are the rows' Kafka timestamps (ms), the event time of global
        windows when no timestamp field is configured.
        """
        n = frame.height
        if n == 0 and interleaved is None:
            return []
        events = self.engine.update(frame, interleaved)
        event_ms = self._count_windows(frame, record_times) if n else None
        window = self.settings.window
        times = self._times(frame)
        row_of_record = None
        if interleaved is not None and record_offsets is not None:
            row_of_record = np.full(record_offsets.shape[0], -1, dtype=np.int64)
            row_of_record[interleaved.row_slots] = np.arange(n)
        alerts = []
        for event in events:
            pos = event.position
            if event.type == "data_quality" and row_of_record is not None:
                assert record_offsets is not None
                offset = int(record_offsets[pos])
                row = int(row_of_record[pos])
                t = None if times is None or row < 0 else times[row]
                t = t if isinstance(t, str) else None
                info = WindowInfo(1, offset, offset, self.partition, self.topic, t, t)
            elif event.window_rows > 1:
                start = pos - window + 1
                first = int(offsets[start]) if start >= 0 else self.window_first_offset
                t0, t1 = self._window_times(times, max(start, 0), pos, carried=start < 0)
                info = WindowInfo(
                    rows=event.window_rows,
                    first_offset=int(first if first is not None else offsets[0]),
                    last_offset=int(offsets[pos]),
                    partition=self.partition,
                    topic=self.topic,
                    event_time_start=t0,
                    event_time_end=t1,
                )
            else:
                t = None if times is None else times[pos]
                t = t if isinstance(t, str) else None
                info = WindowInfo(
                    1, int(offsets[pos]), int(offsets[pos]), self.partition, self.topic, t, t
                )
            held = self.limiter.admit((event.type, event.feature, event.detector), self.rows + pos)
            if held is not None:
                alert = build_alert(self.alerts.monitor, event, info, suppressed_since_last=held)
                if event_ms is not None and event.type in FOLDED and event.feature != "*":
                    row = pos
                    if event.type == "data_quality" and row_of_record is not None:
                        row = int(row_of_record[: pos + 1].max())  # the row at or before it
                    at = int(event_ms[min(max(row, 0), n - 1)])
                    self.outbox.append(
                        (event.feature, {"kind": "alert", "event_ms": at, "alert": alert})
                    )
                else:
                    alerts.append(alert)
        if event_ms is not None:
            self._report()
        if n:
            self._advance_window(offsets, times)
            self.next_offset = int(offsets[-1]) + 1
        self.rows += n
        return alerts

    def check_quality(
        self, bad: NDArray[np.bool_], offsets: NDArray[np.int64]
    ) -> list[dict[str, Any]]:
        """Count a batch of messages (``bad[i]``: message ``i`` was dead-lettered); return a
        ``schema_violation`` alert for each closed window whose bad share exceeds the limit.

        Windows close every ``quality_window`` messages, wherever the batches were cut. Call
        it before ``process`` scores the batch's rows.
        """
        alerts: list[dict[str, Any]] = []
        window = self.alerts.quality_window
        pos = 0
        n = bad.shape[0]
        self.messages += n
        self.dead_lettered += int(bad.sum())
        while pos < n:
            if self.quality_seen == 0:
                self.quality_first_offset = int(offsets[pos])
            take = min(n - pos, window - self.quality_seen)
            self.quality_bad += int(bad[pos : pos + take].sum())
            self.quality_seen += take
            pos += take
            if self.quality_seen < window:
                break
            share = self.quality_bad / window
            if share > self.alerts.dead_letter_share:
                event = DriftEvent(
                    "schema_violation",
                    "*",
                    "dead_letter_share",
                    share,
                    self.alerts.dead_letter_share,
                    pos - 1,
                    window,
                )
                first = self.quality_first_offset
                info = WindowInfo(
                    window,
                    int(first if first is not None else offsets[0]),
                    int(offsets[pos - 1]),
                    self.partition,
                    self.topic,
                )
                key = (event.type, event.feature, event.detector)
                held = self.limiter.admit(key, self.rows + pos - 1)
                if held is not None:
                    alerts.append(
                        build_alert(self.alerts.monitor, event, info, suppressed_since_last=held)
                    )
            self.quality_seen = 0
            self.quality_bad = 0
            self.quality_first_offset = None
        return alerts

    # -- global windows (tier 1) ------------------------------------------------------------
    def _count_windows(
        self, frame: pl.DataFrame | ColumnArrays, record_times: NDArray[np.int64] | None
    ) -> NDArray[np.int64] | None:
        """Count the rows into their event-time windows; return their event times."""
        if self.windows is None:
            return None
        if self.timestamp_field is not None and isinstance(frame, pl.DataFrame):
            event_ms = event_times_ms(frame.get_column(self.timestamp_field), record_times)
        elif record_times is not None:
            event_ms = record_times
        else:
            raise ValueError("global windows need event times: a timestamp field or record times")
        self.windows.update(column_values(self.engine.profile, frame), event_ms)
        return event_ms

    def _report(self) -> None:
        """Queue a report per column when windows closed or the closed time advanced."""
        assert self.windows is not None
        closed = self.windows.take_closed()
        through = self.windows.closed_through
        if not closed and through <= self.reported_through:
            return
        self.reported_through = through
        partition = (self.topic or "", self.partition)
        for i, column in enumerate(self.engine.profile.columns):
            report = Report(partition, through, tuple(window[i] for window in closed))
            self.outbox.append((column.name, {"kind": "report", **report.to_json()}))

    def take_outbox(self) -> list[tuple[str, dict[str, Any]]]:
        """What tier 2 is to be sent, oldest first; the outbox is emptied."""
        out, self.outbox = self.outbox, []
        return out

    # -- window bookkeeping across batches ------------------------------------------------
    def _times(self, frame: pl.DataFrame | ColumnArrays) -> pl.Series | None:
        if (
            self.timestamp_field is None
            or isinstance(frame, ColumnArrays)
            or self.timestamp_field not in frame.columns
        ):
            return None
        return frame.get_column(self.timestamp_field).cast(pl.String)

    def _window_times(
        self, times: pl.Series | None, lo: int, hi: int, *, carried: bool
    ) -> tuple[str | None, str | None]:
        """Earliest and latest event time of rows ``lo..hi`` (ISO strings compare as times),
        with the open window's range from earlier batches when ``carried``."""
        if times is None:
            return None, None
        span = times.slice(lo, hi - lo + 1)
        found = [span.min(), span.max()]
        if carried:
            found += list(self.window_time)
        seen = [t for t in found if isinstance(t, str)]
        return (min(seen), max(seen)) if seen else (None, None)

    def _advance_window(self, offsets: NDArray[np.int64], times: pl.Series | None) -> None:
        """Remember where the window left open by this batch began, and its time range."""
        open_rows = self._rows_in_open_window()
        n = offsets.shape[0]
        if open_rows == 0:
            self.window_first_offset = None
            self.window_time = (None, None)
        elif open_rows <= n:
            self.window_first_offset = int(offsets[n - open_rows])
            self.window_time = self._window_times(times, n - open_rows, n - 1, carried=False)
        else:
            if self.window_first_offset is None:
                self.window_first_offset = int(offsets[0])
            self.window_time = self._window_times(times, 0, n - 1, carried=True)

    def _rows_in_open_window(self) -> int:
        monitors = self.engine.columns.values()
        return next(iter(monitors)).histogram.rows_in_window if monitors else 0

    # -- checkpoints ----------------------------------------------------------------------
    def checkpoint(self) -> bytes:
        """The partition's whole state, for ``restore``."""
        meta = {
            "topic": self.topic,
            "partition": self.partition,
            "next_offset": self.next_offset,
            "rows": self.rows,
            "messages": self.messages,
            "dead_lettered": self.dead_lettered,
            "window_first_offset": self.window_first_offset,
            "window_time": list(self.window_time),
            "limiter": self.limiter.state(),
            "quality": [self.quality_seen, self.quality_bad, self.quality_first_offset],
            "reported_through": self.reported_through,
        }
        arrays = self.engine.snapshot()
        if self.windows is not None:
            arrays |= {f"global.{k}": v for k, v in self.windows.snapshot().items()}
        return checkpoint.encode(arrays, meta)

    def restore(self, blob: bytes) -> None:
        """Continue from a ``checkpoint()``.

        A checkpoint whose detector state does not fit this monitor (written by an earlier
        version, or with another profile or other settings) still gives the partition's
        position and counts; its detectors then start afresh from that offset, with a
        warning, rather than stopping the run.
        """
        arrays, meta = checkpoint.decode(blob)
        self.next_offset = meta["next_offset"]
        self.rows = int(meta["rows"])
        self.messages = int(meta.get("messages", 0))
        self.dead_lettered = int(meta.get("dead_lettered", 0))
        self.limiter.restore(meta["limiter"])
        self.quality_seen, self.quality_bad, self.quality_first_offset = meta["quality"]
        windows = {k[7:]: arrays.pop(k) for k in list(arrays) if k.startswith("global.")}
        if self.windows is not None and windows:
            self.windows.restore(windows)
            self.reported_through = int(meta.get("reported_through", self.reported_through))
        try:
            self.engine.restore(arrays)
        except (KeyError, ValueError, IndexError, StateError) as error:
            log.warning(
                "detector state does not fit this monitor; detectors start afresh",
                extra={
                    "topic": self.topic,
                    "partition": self.partition,
                    "offset": self.next_offset,
                    "checkpoint_version": meta.get("version"),
                    "error": type(error).__name__,
                },
            )
            self.engine = DatasetMonitor(self.engine.profile, self.settings)
            self.window_first_offset = None
            self.window_time = (None, None)
            return
        self.window_first_offset = meta["window_first_offset"]
        t0, t1 = meta["window_time"]
        self.window_time = (t0, t1)
