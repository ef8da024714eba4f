"""One poll's messages through the pipeline, their outputs into the sinks.

With global windows on, what tier 2 is to be sent (window reports and the alerts it folds
into incidents, as ``(column, record)`` pairs) goes to the ``partials`` sink.

The processor is the part of a run every source and sink share: it skips messages it must
not process again, scores each ``Part`` with the pipeline, hands alerts and dead letters
to their sinks and counts everything in the metrics. It does no I/O of its own; the sinks
do, and durability is the caller's (a checkpoint flushes them).
"""

from __future__ import annotations

import bisect
import collections
import logging
import time
from collections.abc import Callable
from typing import Any

from stream_monitor.metrics import StreamMetrics
from stream_monitor.stream.pipeline import DeadLetter, Pipeline
from stream_monitor.stream.sinks import Sink
from stream_monitor.stream.sources import Part, Partition

log = logging.getLogger("stream_monitor.run")


def _everything(_: Partition) -> bool:
    return True


class Processor:
    """Scores parts and hands their outputs to the sinks."""

    def __init__(
        self,
        pipeline: Pipeline,
        alerts: Sink[dict[str, Any]],
        dead_letters: Sink[DeadLetter],
        metrics: StreamMetrics,
        *,
        owns: Callable[[Partition], bool] = _everything,
        partials: Sink[tuple[str, dict[str, Any]]] | None = None,
    ) -> None:
        self.pipeline = pipeline
        self.partials = partials
        self.alerts = alerts
        self.dead_letters = dead_letters
        self.metrics = metrics
        self.owns = owns

    def process(self, parts: list[Part]) -> list[Partition]:
        """Score the parts; return the partitions that advanced."""
        started = time.perf_counter()
        advanced = []
        for part in parts:
            part = self._unseen(part)
            if not part.offsets:
                continue
            topic, partition = part.partition
            alerts, dead = self.pipeline.process_payloads(
                topic, partition, part.payloads, part.offsets, part.keys, part.timestamps
            )
            if self.partials is not None:
                for record in self.pipeline.monitor(topic, partition).take_outbox():
                    self.partials.add(record)
            for letter in dead:
                self.dead_letters.add(letter)
                self.metrics.dead_lettered(topic, partition, letter.reason)
            if dead:
                _log_dead(part, dead)
            for alert in alerts:
                self.alerts.add(alert)
                self.metrics.alert(alert["type"])
            self._export_scores(topic, partition)
            self.metrics.consumed(topic, partition, len(part.offsets))
            self.metrics.scored(topic, partition, len(part.offsets) - len(dead))
            advanced.append(part.partition)
        self.metrics.batch_seconds(time.perf_counter() - started)
        return advanced

    def _unseen(self, part: Part) -> Part:
        """The part of a partition's messages this instance has to process.

        Messages of a partition it no longer owns, or below the partition's next offset, were
        fetched before a rebalance or a rewind; processing them would publish alerts or
        state for records that are another owner's or already counted. librdkafka drops
        such messages itself since 2.0.2 (confluentinc/librdkafka#4117); this check keeps
        the guarantee independent of that.
        """
        topic, partition = part.partition
        if not self.owns(part.partition):
            skip = len(part.offsets)
        else:
            next_offset = self.pipeline.monitor(topic, partition).next_offset
            skip = 0 if next_offset is None else bisect.bisect_left(part.offsets, next_offset)
        if not skip:
            return part
        self.metrics.stale(topic, partition, skip)
        log.warning(
            "skipped messages fetched before a rebalance or rewind",
            extra={"topic": topic, "partition": partition, "count": skip},
        )
        return part.skip(skip)

    def _export_scores(self, topic: str, partition: int) -> None:
        """Set the drift-score gauges to each column's latest window scores."""
        engine = self.pipeline.monitor(topic, partition).engine
        for name, column in engine.columns.items():
            for method, (value, drifted) in column.last_scores.items():
                self.metrics.score(name, method, partition, value, drifted)


def _log_dead(part: Part, dead: list[DeadLetter]) -> None:
    topic, partition = part.partition
    reasons = collections.Counter(letter.reason for letter in dead)
    log.warning(
        "dead-lettered records",
        extra={
            "topic": topic,
            "partition": partition,
            "first_offset": part.offsets[0],
            "last_offset": part.offsets[-1],
            "count": len(dead),
            "reasons": ",".join(f"{r}={n}" for r, n in sorted(reasons.items())),
        },
    )
