"""Decode, score and alert: the part of the stream every source shares. No I/O here.

Sources (a Kafka consumer, a file) hand the pipeline one partition's batch at a time: raw
payloads with their offsets, or already-decoded rows. The pipeline returns the alert
messages and the dead letters; sinks deliver them.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import polars as pl
from numpy.typing import NDArray

from stream_monitor.engine.column import QUALITY_NONE, QUALITY_NULL, QUALITY_TYPE
from stream_monitor.engine.dataset import ConceptMonitor, Interleaved
from stream_monitor.engine.partials import WindowSpec
from stream_monitor.profile.model import NumericColumnProfile, Profile
from stream_monitor.stream.decode import (
    MISSING_FIELD,
    WRONG_TYPE,
    BadRecord,
    DecodedBatch,
    Decoder,
)
from stream_monitor.stream.flatjson import BOOLEAN, NUMBER, TEXT, FlatJsonDecoder
from stream_monitor.stream.partition import AlertSettings, PartitionMonitor
from stream_monitor.stream.settings import StreamSettings

#: The quality code a dead-lettered record gives the fields it names, by its reason.
_FIELD_CODES = {MISSING_FIELD: QUALITY_NULL, WRONG_TYPE: QUALITY_TYPE}


@dataclass
class Counters:
    """What went through the pipeline. ``records == scored + dead_lettered`` always holds."""

    messages: int = 0
    records: int = 0
    scored: int = 0
    dead_lettered: int = 0
    alerts: int = 0
    dead_letter_reasons: Counter[str] = field(default_factory=Counter)


@dataclass(frozen=True, slots=True)
class DeadLetter:
    """A payload that could not be scored, with where it came from and why."""

    topic: str | None
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    reason: str
    detail: str


def input_schema(profile: Profile, timestamp_field: str | None) -> dict[str, pl.DataType]:
    """The Polars schema records are decoded with: numbers as Float64, categories as text."""
    schema: dict[str, pl.DataType] = {}
    for column in profile.columns:
        if isinstance(column, NumericColumnProfile):
            schema[column.name] = pl.Float64()
        elif column.kind == "boolean":
            schema[column.name] = pl.Boolean()
        else:
            schema[column.name] = pl.String()
    if timestamp_field is not None:
        schema[timestamp_field] = pl.String()
    return schema


def default_required(profile: Profile) -> list[str]:
    """Features the reference never left empty: a record without one is a schema violation."""
    required = []
    for column in profile.features:
        empty = column.null_count + (
            column.nan_count if isinstance(column, NumericColumnProfile) else 0
        )
        if empty == 0:
            required.append(column.name)
    return required


def flat_decoder(profile: Profile, settings: StreamSettings) -> FlatJsonDecoder | None:
    """The compiled decoder into column arrays, when the monitors need nothing else: no
    event-time field (seasonal slots and window times read it from a frame), and a concept
    monitor, if any, that reads arrays (``ConceptMonitor.reads_arrays``)."""
    if settings.timestamp_field is not None:
        return None
    target, prediction = profile.target, profile.prediction
    monitors = settings.monitor_settings()
    concept = monitors.concept_drift and target is not None and prediction is not None
    if concept and not ConceptMonitor.reads_arrays(target, prediction):  # type: ignore[arg-type]
        return None
    fields = [
        (c.name, NUMBER, ())
        if isinstance(c, NumericColumnProfile)
        else (c.name, BOOLEAN if c.kind == "boolean" else TEXT, tuple(c.categories))
        for c in profile.columns
    ]
    return FlatJsonDecoder(fields)


class Pipeline:
    """Per-partition monitors behind one decoder."""

    def __init__(self, profile: Profile, settings: StreamSettings) -> None:
        self.profile = profile
        if settings.timestamp_field is None and profile.seasonality is not None:
            # A seasonal profile scores records by their event time: read the same field.
            settings = replace(settings, timestamp_field=profile.seasonality.timestamp)
        self.settings = settings
        required = (
            list(settings.required_fields)
            if settings.required_fields is not None
            else default_required(profile)
        )
        self.decoder = Decoder(
            input_schema(profile, settings.timestamp_field),
            required=required,
            max_bytes=settings.max_payload_bytes,
            flat=flat_decoder(profile, settings),
        )
        self.monitors: dict[tuple[str | None, int], PartitionMonitor] = {}
        self._column_index = {c.name: i for i, c in enumerate(profile.columns)}
        self.counters = Counters()
        g = settings.global_windows
        self._windows = None if g is None else WindowSpec(g.window_ms, g.lateness_ms)
        self._alert_settings = AlertSettings(
            settings.monitor,
            settings.repeat_after_rows,
            settings.dead_letter_alert_share,
            settings.window_rows,
        )

    def monitor(self, topic: str | None, partition: int) -> PartitionMonitor:
        """The monitor of a partition, created fresh on first use."""
        key = (topic, partition)
        found = self.monitors.get(key)
        if found is None:
            found = PartitionMonitor(
                self.profile,
                topic=topic,
                partition=partition,
                settings=self.settings.monitor_settings(),
                alerts=self._alert_settings,
                timestamp_field=self.settings.timestamp_field,
                windows=self._windows,
            )
            self.monitors[key] = found
        return found

    def drop(self, topic: str | None, partition: int) -> None:
        """Forget a partition's monitor (after its partition was revoked)."""
        self.monitors.pop((topic, partition), None)

    def process_payloads(
        self,
        topic: str | None,
        partition: int,
        payloads: Sequence[bytes | None],
        offsets: Sequence[int],
        keys: Sequence[bytes | None] | None = None,
        timestamps: Sequence[int] | None = None,
    ) -> tuple[list[dict[str, Any]], list[DeadLetter]]:
        """Decode and score one partition's batch of messages (``timestamps``: their Kafka
        timestamps in ms, the event time of global windows without a timestamp field)."""
        batch = self.decoder.decode(payloads)
        return self.process_decoded(topic, partition, batch, payloads, offsets, keys, timestamps)

    def process_rows(
        self,
        topic: str | None,
        partition: int,
        frame: pl.DataFrame,
        offsets: Sequence[int] | NDArray[np.int64],
    ) -> tuple[list[dict[str, Any]], list[DeadLetter]]:
        """Check and score one partition's batch of typed rows (from a file), one record per
        row, with the same field checks as payloads get."""
        batch = self.decoder.decode_frame(frame)
        return self.process_decoded(topic, partition, batch, [None] * frame.height, offsets)

    def process_decoded(
        self,
        topic: str | None,
        partition: int,
        batch: DecodedBatch,
        payloads: Sequence[bytes | None],
        offsets: Sequence[int] | NDArray[np.int64],
        keys: Sequence[bytes | None] | None = None,
        timestamps: Sequence[int] | None = None,
    ) -> tuple[list[dict[str, Any]], list[DeadLetter]]:
        """Score one partition's decoded batch; ``payloads[i]`` is message ``i``'s bytes."""
        dead = [self._dead_letter(topic, partition, b, payloads, offsets, keys) for b in batch.bad]
        self.counters.messages += len(payloads)
        self.counters.dead_lettered += len(dead)
        self.counters.records += len(dead)
        self.counters.dead_letter_reasons.update(d.reason for d in dead)
        offsets_array = np.asarray(offsets, dtype=np.int64)
        if not len(offsets_array):
            return [], dead
        monitor = self.monitor(topic, partition)
        bad = np.zeros(len(payloads), dtype=np.bool_)
        bad[[b.index for b in batch.bad]] = True
        quality = monitor.check_quality(bad, offsets_array)
        self.counters.alerts += len(quality)
        times = None if timestamps is None else np.asarray(timestamps, dtype=np.int64)
        if not batch.bad and batch.height == len(offsets_array):
            # One row per payload, in order: the rows' offsets are the batch's.
            row_offsets = offsets_array
            interleaved, record_offsets = None, None
        else:
            row_source = np.asarray(batch.row_source, dtype=np.int64)
            row_offsets = offsets_array[row_source]
            times = None if times is None else times[row_source]
            interleaved, record_offsets = self._interleave(row_source, batch.bad, offsets_array)
        self.counters.records += batch.height
        self.counters.scored += batch.height
        alerts = monitor.process(batch.rows, row_offsets, interleaved, record_offsets, times)
        self.counters.alerts += len(alerts)
        monitor.next_offset = int(offsets_array[-1]) + 1
        return quality + alerts, dead

    def _interleave(
        self, row_source: NDArray[np.int64], bad: Sequence[BadRecord], offsets: NDArray[np.int64]
    ) -> tuple[Interleaved | None, NDArray[np.int64] | None]:
        """Place the dead-lettered records among the rows, in payload order, with the quality
        code each gives its fields (a required field absent, a field of the wrong type)."""
        if not bad:
            return None, None
        dead_source = np.array([b.index for b in bad], dtype=np.int64)
        keys = np.concatenate([row_source, dead_source])
        order = np.argsort(keys, kind="stable")
        slot = np.empty_like(order)
        slot[order] = np.arange(order.shape[0])
        n_rows = row_source.shape[0]
        codes = np.full((len(self._column_index), len(bad)), QUALITY_NONE, dtype=np.int8)
        for j, record in enumerate(bad):
            code = _FIELD_CODES.get(record.reason)
            if code is None:
                continue
            for name in record.fields:
                column = self._column_index.get(name)
                if column is not None:
                    codes[column, j] = code
        interleaved = Interleaved(slot[:n_rows], slot[n_rows:], codes)
        return interleaved, offsets[keys[order]]

    def process_frame(
        self,
        topic: str | None,
        partition: int,
        frame: pl.DataFrame,
        offsets: NDArray[np.int64],
        *,
        counted: bool = True,
    ) -> list[dict[str, Any]]:
        """Score decoded rows of one partition (``offsets[i]`` is row ``i``'s offset)."""
        if counted:
            self.counters.messages += frame.height
        self.counters.records += frame.height
        self.counters.scored += frame.height
        alerts = self.monitor(topic, partition).process(frame, offsets)
        self.counters.alerts += len(alerts)
        return alerts

    @staticmethod
    def _dead_letter(
        topic: str | None,
        partition: int,
        bad: BadRecord,
        payloads: Sequence[bytes | None],
        offsets: Sequence[int] | NDArray[np.int64],
        keys: Sequence[bytes | None] | None,
    ) -> DeadLetter:
        return DeadLetter(
            topic,
            partition,
            int(offsets[bad.index]),
            None if keys is None else keys[bad.index],
            payloads[bad.index],
            bad.reason,
            bad.detail,
        )
